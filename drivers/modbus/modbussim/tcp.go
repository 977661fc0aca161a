package modbussim

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
)

// ServeTCP accepts Modbus TCP connections on ln until ctx ends, serving every unit id added to
// the server (a gateway). Requests on one connection are answered in order; connections are
// served concurrently. A request for a unit id with no device gets exception 0x0A (gateway path
// unavailable). A malformed MBAP header closes the connection. ServeTCP closes ln and every
// connection when ctx ends, waits for its goroutines and returns ctx.Err().
func (s *Server) ServeTCP(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	wg.Add(1)
	go func() { // owner of shutdown: unblocks Accept and every connection's Read
		defer wg.Done()
		<-ctx.Done()
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	var err error
	for {
		c, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("modbussim: accept: %w", aerr)
			}
			break
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			tc := s.addConn(c)
			s.serveConn(ctx, tc)
			s.removeConn(tc)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		}()
	}
	cancel()
	wg.Wait()
	if err != nil {
		return err
	}
	return ctx.Err()
}

func (s *Server) serveConn(ctx context.Context, tc *tcpConn) {
	c, client := tc.c, tc.remote
	var hdr [7]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		tid := binary.BigEndian.Uint16(hdr[0:])
		pid := binary.BigEndian.Uint16(hdr[2:])
		length := int(binary.BigEndian.Uint16(hdr[4:]))
		unit := hdr[6]
		// length counts the unit id and the PDU; a PDU is 1..253 bytes.
		if pid != 0 || length < 2 || length > 254 {
			return
		}
		pdu := make([]byte, length-1)
		if _, err := io.ReadFull(c, pdu); err != nil {
			return
		}
		switch s.admit(tc, pdu) {
		case connCut:
			reset(c)
			return
		case connStall:
			continue
		}
		r, known := s.process(unit, client, pdu)
		if !known {
			r = reply{pdu: exceptionPDU(pdu[0], ExGatewayPathUnavailable)}
		}
		if r.pdu == nil {
			continue
		}
		if !sleepCtx(ctx, r.delay) {
			return
		}
		out := make([]byte, 7, 7+len(r.pdu))
		binary.BigEndian.PutUint16(out[0:], tid)
		binary.BigEndian.PutUint16(out[4:], uint16(len(r.pdu)+1))
		out[6] = unit
		out = append(out, r.pdu...)
		if err := writeSplit(ctx, c, out, r.split); err != nil {
			return // the client hung up, for instance after its own timeout
		}
	}
}
