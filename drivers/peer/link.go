package peer

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// MaxPaths is how many peer-link paths a Link runs at most.
const MaxPaths = 2

// Options configure a Link. NodeID, Key, Listen and Peers are required.
type Options struct {
	NodeID     uint16   // this board, 1..65535
	PeerNodeID uint16   // the other board; 0: the first node that completes the boot handshake
	Key        []byte   // pre-shared, at least MinKeyLen bytes (copied)
	Listen     []string // one "ip:port" per path: UDP and, for bulk, TCP
	Peers      []string // the other board's "ip:port" on each path, same order
	Software   string   // release, printable ASCII, at most 32 bytes

	BootID      uint64        // 0: random (crypto/rand); tests set it
	MaxDatagram int           // frames up to this go over UDP, larger ones over TCP; default 1400
	SendQueue   int           // frames queued per path and transport; default 64
	RecvQueue   int           // messages buffered for Recv; default 256
	MaxConns    int           // bulk connections accepted at once per path; default 4
	Hold        time.Duration // a heard peer boot is echoed until it is silent this long; default 2 s
	DialTimeout time.Duration // bulk connect and write timeout; default 2 s
	Logf        func(format string, args ...any)
}

// State is what every message says about its sender, set by the pair state machine.
type State struct {
	Role          Role
	Epoch         uint64
	ConfigVersion uint64
	ConfigHash    [32]byte
}

// Received is one accepted message.
type Received struct {
	Message Message
	Path    int       // index of the path (Options.Listen) it arrived on
	At      time.Time // arrival, with the monotonic reading: compare with time.Since, not wall time
	Late    bool      // a newer message of the same peer boot was delivered before it
	TCP     bool      // came over a bulk connection
}

// Link is one board's end of the peer link. New binds its sockets; Run serves them until its
// context ends; Send and Recv may be used from any goroutine, before Run too.
type Link struct {
	opt   Options
	codec *Codec
	boot  uint64
	seq   atomic.Uint64
	peers []*net.UDPAddr
	udp   []*net.UDPConn
	tcp   []*net.TCPListener
	udpQ  []chan []byte
	tcpQ  []chan []byte
	recv  chan Received
	cnt   counters

	stateMu sync.Mutex
	state   State

	mu       sync.Mutex
	peerNode uint16              // pinned peer node (Options.PeerNodeID, or the first confirmed)
	echo     uint64              // peer boot we put into PeerBoot
	sess     *session            // the peer's current boot, once confirmed
	retired  map[uint64]struct{} // peer boots replaced during this boot of ours
	retOrder []uint64
	heard    []time.Time // per path: last accepted message

	runOnce atomic.Bool
	closed  atomic.Bool
}

type session struct {
	boot     uint64
	paths    [MaxPaths]Window // replay, per path: a copy is accepted once on each path
	msgs     Window           // delivery: a message is delivered once, from whichever path is first
	lastSeen time.Time
}

const maxRetired = 1024

// New checks opts and binds a UDP socket and a TCP listener on every Listen address.
func New(opts Options) (*Link, error) {
	if opts.NodeID == 0 {
		return nil, errors.New("peer: node id must be 1..65535")
	}
	if opts.PeerNodeID == opts.NodeID {
		return nil, fmt.Errorf("peer: peer node id %d is our own", opts.NodeID)
	}
	if len(opts.Listen) < 1 || len(opts.Listen) > MaxPaths || len(opts.Peers) != len(opts.Listen) {
		return nil, fmt.Errorf("peer: %d listen and %d peer addresses: want 1 or 2 of each, in pairs", len(opts.Listen), len(opts.Peers))
	}
	if err := checkSoftware([]byte(opts.Software)); err != nil {
		return nil, err
	}
	codec, err := NewCodec(opts.Key)
	if err != nil {
		return nil, err
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.MaxDatagram, 1400)
	opts.MaxDatagram = min(max(opts.MaxDatagram, minFrame+64), 65000)
	def(&opts.SendQueue, 64)
	def(&opts.RecvQueue, 256)
	def(&opts.MaxConns, 4)
	if opts.Hold <= 0 {
		opts.Hold = 2 * time.Second
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 2 * time.Second
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	opts.Key = nil // the codec has its copy
	l := &Link{opt: opts, codec: codec, boot: opts.BootID, peerNode: opts.PeerNodeID,
		recv: make(chan Received, opts.RecvQueue), retired: map[uint64]struct{}{},
		heard: make([]time.Time, len(opts.Listen))}
	for l.boot == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("peer: boot id: %w", err)
		}
		l.boot = binary.BigEndian.Uint64(b[:])
	}
	for i, p := range opts.Peers {
		ap, err := netip.ParseAddrPort(p)
		if err != nil || ap.Port() == 0 || !ap.Addr().IsValid() || ap.Addr().IsUnspecified() {
			return nil, fmt.Errorf("peer: peers[%d] %q: want ip:port", i, p)
		}
		l.peers = append(l.peers, net.UDPAddrFromAddrPort(ap))
	}
	for i, a := range opts.Listen {
		ua, err := net.ResolveUDPAddr("udp", a)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("peer: listen[%d] %q: %w", i, a, err)
		}
		uc, err := net.ListenUDP("udp", ua)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("peer: listen[%d]: %w", i, err)
		}
		uc.SetReadBuffer(1 << 20) // best effort (capped by the kernel): a burst of readings must not overflow it
		l.udp = append(l.udp, uc)
		ta := &net.TCPAddr{IP: ua.IP, Port: uc.LocalAddr().(*net.UDPAddr).Port, Zone: ua.Zone}
		tl, err := net.ListenTCP("tcp", ta)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("peer: listen[%d] (tcp): %w", i, err)
		}
		l.tcp = append(l.tcp, tl)
		l.udpQ = append(l.udpQ, make(chan []byte, opts.SendQueue))
		l.tcpQ = append(l.tcpQ, make(chan []byte, opts.SendQueue))
	}
	return l, nil
}

// Close releases the sockets of a Link that was never Run (Run closes them itself).
func (l *Link) Close() {
	if !l.closed.CompareAndSwap(false, true) {
		return
	}
	for _, c := range l.udp {
		c.Close()
	}
	for _, t := range l.tcp {
		t.Close()
	}
}

// BootID is this Link's boot id.
func (l *Link) BootID() uint64 { return l.boot }

// Addrs returns the bound UDP address of each path.
func (l *Link) Addrs() []string {
	out := make([]string, len(l.udp))
	for i, c := range l.udp {
		out[i] = c.LocalAddr().String()
	}
	return out
}

// SetState sets what the following messages say about this board.
func (l *Link) SetState(s State) {
	l.stateMu.Lock()
	l.state = s
	l.stateMu.Unlock()
}

// Recv delivers accepted messages. It is never closed; stop reading when Run's context ends.
func (l *Link) Recv() <-chan Received { return l.recv }

// Counters returns every count by name (Counter.String).
func (l *Link) Counters() map[string]uint64 { return l.cnt.snapshot() }

// Count returns one count.
func (l *Link) Count(c Counter) uint64 { return l.cnt[c].Load() }

// LastHeard returns, per path, when a message of the peer was last accepted on it (the zero
// time: never). A path hears a message even when its copy came second and was not delivered.
func (l *Link) LastHeard() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.heard...)
}

// Peer returns the peer's node id and current boot id once a boot handshake has completed.
func (l *Link) Peer() (node uint16, boot uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sess == nil {
		return l.peerNode, 0, false
	}
	return l.peerNode, l.sess.boot, true
}

// Send seals m once per path and queues it; it never blocks. The Link sets the header (node,
// boot, seq, path, peer boot, software, and the State); a heartbeat's AckSeq is filled too.
// A full queue drops the frame (counted send_drops); an error is returned only for a message
// that cannot be sealed (unknown type, payload over MaxFrame).
func (l *Link) Send(m Message) error {
	_, err := l.SendSeq(m)
	return err
}

// SendSeq is Send, returning the sequence number m went with (what the peer's heartbeats
// acknowledge in AckSeq: the caller can tell how fresh the peer's word is).
func (l *Link) SendSeq(m Message) (uint64, error) {
	l.stateMu.Lock()
	st := l.state
	l.stateMu.Unlock()
	l.mu.Lock()
	echo := l.echo
	var ack uint64
	if l.sess != nil {
		ack = l.sess.msgs.High
	}
	l.mu.Unlock()
	h := &m.Header
	h.NodeID, h.BootID, h.PeerBoot = l.opt.NodeID, l.boot, echo
	h.Seq = l.seq.Add(1)
	h.Software = l.opt.Software
	h.Role, h.Epoch, h.ConfigVersion, h.ConfigHash = st.Role, st.Epoch, st.ConfigVersion, st.ConfigHash
	if h.Type == TypeHeartbeat {
		m.Heartbeat.AckSeq = ack
	}
	for p := range l.udp {
		h.Path = uint8(p)
		frame, err := l.codec.Seal(nil, &m)
		if err != nil {
			return h.Seq, err
		}
		q := l.udpQ[p]
		if len(frame) > l.opt.MaxDatagram {
			q = l.tcpQ[p]
		}
		select {
		case q <- frame:
		default:
			l.cnt.inc(CountSendDrops)
		}
	}
	return h.Seq, nil
}

// Queued is the number of frames waiting to be written, on every path and transport.
func (l *Link) Queued() int {
	n := 0
	for p := range l.udpQ {
		n += len(l.udpQ[p]) + len(l.tcpQ[p])
	}
	return n
}

// Run serves the sockets until ctx ends, then closes them and returns ctx.Err(). It may be
// called once.
func (l *Link) Run(ctx context.Context) error {
	if !l.runOnce.CompareAndSwap(false, true) {
		return errors.New("peer: Run called twice")
	}
	if l.closed.Load() {
		return errors.New("peer: link closed")
	}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for p := range l.udp {
		wg.Add(4)
		go func() { defer wg.Done(); l.readUDP(p) }()
		go func() { defer wg.Done(); l.writeUDP(ctx, p) }()
		go func() { defer wg.Done(); l.acceptTCP(ctx, p) }()
		go func() { defer wg.Done(); l.writeTCP(ctx, p) }()
	}
	<-ctx.Done()
	l.Close() // unblocks the readers and the accept loops
	wg.Wait()
	return ctx.Err()
}

func (l *Link) readUDP(p int) {
	buf := make([]byte, 65536)
	c := l.udp[p]
	for {
		n, _, err := c.ReadFromUDPAddrPort(buf) // the source address is never used: no replies
		if err != nil {
			if l.closed.Load() {
				return
			}
			l.opt.Logf("peer: path %d: read: %v", p, err)
			time.Sleep(10 * time.Millisecond) // a transient error must not spin
			continue
		}
		at := time.Now()
		l.handle(append([]byte(nil), buf[:n]...), p, at, false)
	}
}

func (l *Link) writeUDP(ctx context.Context, p int) {
	c, to := l.udp[p], l.peers[p]
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-l.udpQ[p]:
			if _, err := c.WriteToUDP(f, to); err != nil {
				l.cnt.inc(CountSendErrors)
				continue
			}
			l.cnt.inc(CountSent)
		}
	}
}

// writeTCP sends bulk frames on one connection per path to the configured peer address,
// dialled when needed; a failed write drops the frame and the connection.
func (l *Link) writeTCP(ctx context.Context, p int) {
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	d := net.Dialer{Timeout: l.opt.DialTimeout}
	to := l.peers[p].String()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-l.tcpQ[p]:
			if conn == nil {
				c, err := d.DialContext(ctx, "tcp", to)
				if err != nil {
					l.cnt.inc(CountSendErrors)
					continue
				}
				conn = c
			}
			conn.SetWriteDeadline(time.Now().Add(l.opt.DialTimeout))
			if _, err := conn.Write(f); err != nil {
				l.cnt.inc(CountSendErrors)
				conn.Close()
				conn = nil
				continue
			}
			l.cnt.inc(CountSent)
		}
	}
}

func (l *Link) acceptTCP(ctx context.Context, p int) {
	sem := make(chan struct{}, l.opt.MaxConns)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.tcp[p].Accept()
		if err != nil {
			if l.closed.Load() {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			l.cnt.inc(CountTCPRefused)
			c.Close()
			continue
		}
		l.cnt.inc(CountTCPConns)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			defer c.Close()
			l.readTCP(c, p) // never written to: a bulk connection is one way
		}()
	}
}

func (l *Link) readTCP(c net.Conn, p int) {
	for {
		c.SetReadDeadline(time.Now().Add(time.Minute)) // an idle or stalled sender is let go
		f, err := ReadFrame(c, MaxFrame)
		if err != nil {
			if errors.Is(err, ErrMalformed) {
				l.cnt.inc(CountMalformed)
			}
			return
		}
		if !l.handle(f, p, time.Now(), true) {
			return // a stream that carried one bad frame is not trusted further
		}
	}
}

// handle checks one frame that arrived on path p and delivers it if it passes. It reports
// whether the frame was authentic and well formed (a TCP stream is dropped otherwise).
func (l *Link) handle(frame []byte, p int, at time.Time, tcp bool) bool {
	var m Message
	if err := l.codec.Open(frame, &m); err != nil {
		switch {
		case errors.Is(err, ErrBadMAC):
			l.cnt.inc(CountBadMAC)
			return false
		case errors.Is(err, ErrWrongVersion):
			l.cnt.inc(CountWrongVersion)
		case errors.Is(err, ErrUnknownType):
			l.cnt.inc(CountUnknownType)
			return true
		default:
			l.cnt.inc(CountMalformed)
		}
		return false
	}
	h := &m.Header
	if h.NodeID == l.opt.NodeID || h.BootID == l.boot {
		l.cnt.inc(CountSelf)
		return true
	}
	if int(h.Path) != p {
		l.cnt.inc(CountWrongPath)
		return true
	}
	l.mu.Lock()
	if l.peerNode != 0 && h.NodeID != l.peerNode {
		l.mu.Unlock()
		l.cnt.inc(CountForeignNode)
		return true
	}
	if _, ok := l.retired[h.BootID]; ok {
		l.mu.Unlock()
		l.cnt.inc(CountReplay)
		return true
	}
	if h.PeerBoot != l.boot {
		// Authentic, but made before the sender heard this boot of ours, or replayed from an
		// earlier one: nothing in it can be shown fresh. Learn its boot id to echo (so that
		// its next message can be), unless the confirmed session is still talking.
		if l.sess == nil || h.BootID == l.sess.boot || at.Sub(l.sess.lastSeen) > l.opt.Hold {
			l.echo = h.BootID
		}
		l.mu.Unlock()
		l.cnt.inc(CountUnconfirmed)
		return true
	}
	// It names this boot of ours, so it was made during it: a new boot of the peer replaces
	// the old, which is never accepted again.
	if l.sess == nil || l.sess.boot != h.BootID {
		if l.sess != nil {
			l.retire(l.sess.boot)
		}
		l.sess = &session{boot: h.BootID}
		l.peerNode = h.NodeID
		l.cnt.inc(CountSessions)
	}
	s := l.sess
	switch s.paths[p].Accept(h.Seq) {
	case Seen:
		l.mu.Unlock()
		l.cnt.inc(CountReplay)
		return true
	case Old:
		l.mu.Unlock()
		l.cnt.inc(CountTooOld)
		return true
	}
	l.heard[p] = at
	s.lastSeen = at
	l.echo = h.BootID
	v := s.msgs.Accept(h.Seq)
	l.mu.Unlock()
	switch v {
	case Seen:
		l.cnt.inc(CountDuplicate)
		return true
	case Old:
		l.cnt.inc(CountTooOld)
		return true
	}
	r := Received{Message: m, Path: p, At: at, Late: v == Late, TCP: tcp}
	select {
	case l.recv <- r:
		l.cnt.inc(CountAccepted)
		if r.Late {
			l.cnt.inc(CountLate)
		}
	default:
		l.cnt.inc(CountRecvOverflow)
	}
	return true
}

func (l *Link) retire(boot uint64) {
	if len(l.retOrder) >= maxRetired {
		delete(l.retired, l.retOrder[0])
		l.retOrder = l.retOrder[1:]
	}
	l.retired[boot] = struct{}{}
	l.retOrder = append(l.retOrder, boot)
}
