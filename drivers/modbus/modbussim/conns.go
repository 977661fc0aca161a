package modbussim

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/internal/frame"
)

// ConnInfo describes one live Modbus TCP connection.
type ConnInfo struct {
	ID       uint64    // 1, 2, ... in accept order, for MatchConn
	Remote   string    // the client's address (host:port), as Device writes and the write log name it
	Port     int       // the client's source port, for MatchPort
	Owner    int       // the owner id last written on the connection (SetOwnerRegister); -1 none yet
	Since    time.Time // accepted at
	Requests uint64    // well-formed requests read on it
	Dropped  uint64    // requests not answered because of a connection fault (stall or cut)
}

// ConnMatch selects TCP connections for CutConns, StallConns and HealConns. Make one with
// MatchPort, MatchOwner, MatchConn or MatchAll; the zero ConnMatch matches nothing.
type ConnMatch struct {
	kind byte // 'p' port, 'o' owner, 'c' connection id, 'a' all
	v    uint64
}

// MatchPort selects the connections whose client source port is port (the port the client
// came from, its local port).
func MatchPort(port int) ConnMatch { return ConnMatch{kind: 'p', v: uint64(port)} }

// MatchOwner selects the connections on which owner id was the last owner written (see
// SetOwnerRegister). A connection matches from its first request that writes that owner on:
// a client that reconnects is unknown (its reads are answered) until it writes again.
func MatchOwner(id int) ConnMatch { return ConnMatch{kind: 'o', v: uint64(id)} }

// MatchConn selects one connection by its ConnInfo.ID.
func MatchConn(id uint64) ConnMatch { return ConnMatch{kind: 'c', v: id} }

// MatchAll selects every connection, present and future.
func MatchAll() ConnMatch { return ConnMatch{kind: 'a'} }

func (m ConnMatch) String() string {
	switch m.kind {
	case 'p':
		return "port " + strconv.FormatUint(m.v, 10)
	case 'o':
		return "owner " + strconv.FormatUint(m.v, 10)
	case 'c':
		return "connection " + strconv.FormatUint(m.v, 10)
	case 'a':
		return "all connections"
	}
	return "nothing"
}

func (m ConnMatch) matches(c *tcpConn) bool {
	switch m.kind {
	case 'p':
		return uint64(c.port) == m.v && c.port >= 0
	case 'o':
		return c.owner >= 0 && uint64(c.owner) == m.v
	case 'c':
		return c.id == m.v
	case 'a':
		return true
	}
	return false
}

// connRule is one connection fault in force.
type connRule struct {
	m     ConnMatch
	cut   bool      // false: stall
	until time.Time // zero: until healed
}

// tcpConn is the server's record of a live connection; guarded by Server.mu.
type tcpConn struct {
	id       uint64
	c        net.Conn
	remote   string
	port     int
	owner    int
	since    time.Time
	requests uint64
	dropped  uint64
}

func (c *tcpConn) info() ConnInfo {
	return ConnInfo{ID: c.id, Remote: c.remote, Port: c.port, Owner: c.owner, Since: c.since, Requests: c.requests, Dropped: c.dropped}
}

// SetOwnerRegister names the holding register whose written value identifies a connection's
// client (crah-generic: 10, the owner node id): every write (function 6 or 16) covering it sets
// the connection's owner, whatever the unit answers, for MatchOwner, Conns and ConnOwner.
// addr < 0 turns it off (the default).
func (s *Server) SetOwnerRegister(addr int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if addr > 0xFFFF {
		addr = -1
	}
	s.ownerReg = addr
}

// Conns lists the live TCP connections in accept order.
func (s *Server) Conns() []ConnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ConnInfo, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c.info())
	}
	sortConns(out)
	return out
}

func sortConns(cs []ConnInfo) {
	for i := 1; i < len(cs); i++ { // few connections: insertion sort
		for j := i; j > 0 && cs[j].ID < cs[j-1].ID; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// ConnOwner is the owner last written on the live connection whose client address is remote
// (Device's client argument), if any.
func (s *Server) ConnOwner(remote string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c.remote == remote && c.owner >= 0 {
			return c.owner, true
		}
	}
	return 0, false
}

// CutConns cuts the matching connections until HealConns: each one matching now is reset (TCP
// RST: the client's next read or write fails), and any connection that comes to match later
// (a request from that port, or one that writes that owner) is reset at that request, which
// is not executed. It returns how many connections it reset now.
func (s *Server) CutConns(m ConnMatch) int {
	s.mu.Lock()
	s.rules = append(s.rules, connRule{m: m, cut: true})
	var hit []net.Conn
	for _, c := range s.conns {
		if m.matches(c) {
			hit = append(hit, c.c)
		}
	}
	s.mu.Unlock()
	for _, c := range hit {
		reset(c)
	}
	return len(hit)
}

// StallConns makes the matching connections swallow their requests for d (d <= 0: until
// HealConns): requests are read and neither executed nor answered, as through a network path
// that went dark; the connection stays open and the client times out. Requests after d are
// served again.
func (s *Server) StallConns(m ConnMatch, d time.Duration) {
	r := connRule{m: m}
	if d > 0 {
		r.until = time.Now().Add(d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, r)
}

// HealConns removes every cut and stall set with this match; it returns how many it removed.
func (s *Server) HealConns(m ConnMatch) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.rules[:0]
	n := 0
	for _, r := range s.rules {
		if r.m == m {
			n++
			continue
		}
		kept = append(kept, r)
	}
	clear(s.rules[len(kept):])
	s.rules = kept
	return n
}

// HealAllConns removes every connection fault.
func (s *Server) HealAllConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

// ConnFaults is a textual list of the connection faults in force ("cut owner 1", "stall port
// 40312 for 1.5s"), for logs.
func (s *Server) ConnFaults() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var out []string
	for _, r := range s.rules {
		switch {
		case r.cut:
			out = append(out, "cut "+r.m.String())
		case r.until.IsZero():
			out = append(out, "stall "+r.m.String())
		case r.until.After(now):
			out = append(out, fmt.Sprintf("stall %s for %v", r.m, r.until.Sub(now).Round(time.Millisecond)))
		}
	}
	return out
}

// reset closes c with an RST rather than a FIN, as a cut link or a rebooted switch does.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// addConn registers an accepted connection.
func (s *Server) addConn(c net.Conn) *tcpConn {
	remote := c.RemoteAddr().String()
	port := -1
	if _, p, err := net.SplitHostPort(remote); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextConn++
	tc := &tcpConn{id: s.nextConn, c: c, remote: remote, port: port, owner: -1, since: time.Now()}
	if s.conns == nil {
		s.conns = map[uint64]*tcpConn{}
	}
	s.conns[tc.id] = tc
	return tc
}

func (s *Server) removeConn(tc *tcpConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, tc.id)
}

// connAction is what a connection fault makes of one request.
type connAction int

const (
	connServe connAction = iota
	connStall
	connCut
)

// admit records one request on tc (its owner, when it writes the owner register) and says
// whether a connection fault stops it. A cut wins over a stall.
func (s *Server) admit(tc *tcpConn, pdu []byte) connAction {
	s.mu.Lock()
	defer s.mu.Unlock()
	tc.requests++
	if s.ownerReg >= 0 {
		if v, ok := writtenValue(pdu, uint16(s.ownerReg)); ok {
			tc.owner = int(v)
		}
	}
	now := time.Now()
	act := connServe
	kept := s.rules[:0]
	for _, r := range s.rules {
		if !r.cut && !r.until.IsZero() && !r.until.After(now) {
			continue // an expired stall
		}
		kept = append(kept, r)
		if r.m.matches(tc) {
			if r.cut {
				act = connCut
			} else if act == connServe {
				act = connStall
			}
		}
	}
	clear(s.rules[len(kept):])
	s.rules = kept
	if act != connServe {
		tc.dropped++
	}
	return act
}

// writtenValue is the value a write request PDU (function 6 or 16) puts in holding register
// reg, if it covers it and is well formed.
func writtenValue(pdu []byte, reg uint16) (uint16, bool) {
	if len(pdu) < 5 {
		return 0, false
	}
	data := pdu[1:]
	addr := binary.BigEndian.Uint16(data)
	switch pdu[0] {
	case frame.FuncWriteSingle:
		if len(data) == 4 && addr == reg {
			return binary.BigEndian.Uint16(data[2:]), true
		}
	case frame.FuncWriteMultiple:
		if len(data) < 5 {
			return 0, false
		}
		count, bc := int(binary.BigEndian.Uint16(data[2:])), int(data[4])
		if count < 1 || count > frame.MaxWriteCount || bc != 2*count || len(data) != 5+bc {
			return 0, false
		}
		if i := int(reg) - int(addr); i >= 0 && i < count {
			return binary.BigEndian.Uint16(data[5+2*i:]), true
		}
	}
	return 0, false
}
