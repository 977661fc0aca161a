package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	gb "github.com/goburrow/modbus"
)

// lineStats counts line-level events (not tied to one unit).
type lineStats struct {
	connects  atomic.Uint64 // TCP connections opened
	drops     atomic.Uint64 // TCP connections dropped after an error
	resyncs   atomic.Uint64 // RTU resynchronisations (discard until silent)
	discarded atomic.Uint64 // RTU bytes thrown away while resynchronising
}

// tcpTransport is a goburrow Transporter for Modbus TCP that keeps no state across an error: any
// error or timeout closes the connection, so a reply that arrives late can only land on a
// socket nobody reads, never on the next request. It also checks the MBAP header of every
// reply (transaction id, protocol id, unit id, length) and the function code.
type tcpTransport struct {
	addr  string
	stats *lineStats

	deadline time.Time // of the current transaction; set by the bus goroutine before Send

	// Reconnect backoff: after a failed connect, requests fail fast until retryAt so an
	// unreachable gateway costs one connect timeout per backoff, not one per request.
	retryAt  time.Time
	backoff  time.Duration
	lastDial error

	mu   sync.Mutex // guards conn against interrupt from other goroutines
	conn net.Conn
}

const (
	tcpBackoffMin = 100 * time.Millisecond
	tcpBackoffMax = 2 * time.Second
)

func newTCPTransport(addr string, stats *lineStats) *tcpTransport {
	return &tcpTransport{addr: addr, stats: stats}
}

func (t *tcpTransport) setDeadline(d time.Time) { t.deadline = d }

func (t *tcpTransport) packager(unit byte) gb.Packager {
	h := gb.NewTCPClientHandler("")
	h.SlaveId = unit
	return h
}

func (t *tcpTransport) connect() (net.Conn, error) {
	t.mu.Lock()
	c := t.conn
	t.mu.Unlock()
	if c != nil {
		return c, nil
	}
	if !t.retryAt.IsZero() && time.Until(t.retryAt) > 0 {
		return nil, t.lastDial
	}
	ctx, cancel := context.WithDeadline(context.Background(), t.deadline)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		t.backoff = min(max(2*t.backoff, tcpBackoffMin), tcpBackoffMax)
		t.retryAt = time.Now().Add(t.backoff)
		t.lastDial = fmt.Errorf("%w: %s: %w", ErrConnect, t.addr, err)
		return nil, t.lastDial
	}
	t.backoff, t.retryAt, t.lastDial = 0, time.Time{}, nil
	t.stats.connects.Add(1)
	t.mu.Lock()
	t.conn = c
	t.mu.Unlock()
	return c, nil
}

// drop closes the connection after an error, abortively: a request the kernel still holds
// (unacknowledged, say on a link that went down) is discarded with a reset, never delivered
// later. A write that timed out here must not land on the unit after another controller took it.
func (t *tcpTransport) drop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn != nil {
		if tc, ok := t.conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		t.conn.Close()
		t.conn = nil
		t.stats.drops.Add(1)
	}
}

// interrupt makes a Send in progress return at once; safe from any goroutine.
func (t *tcpTransport) interrupt() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn != nil {
		_ = t.conn.SetDeadline(time.Unix(1, 0))
	}
}

func (t *tcpTransport) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn != nil {
		err := t.conn.Close()
		t.conn = nil
		return err
	}
	return nil
}

// Send implements gb.Transporter.
func (t *tcpTransport) Send(req []byte) ([]byte, error) {
	resp, err := t.send(req)
	if err != nil {
		t.drop()
	}
	return resp, err
}

func (t *tcpTransport) send(req []byte) ([]byte, error) {
	if len(req) < 8 {
		return nil, fmt.Errorf("%w: request of %d bytes", ErrProtocol, len(req))
	}
	c, err := t.connect()
	if err != nil {
		return nil, err
	}
	if err := c.SetDeadline(t.deadline); err != nil {
		return nil, t.ioError("set deadline", req[6], err)
	}
	if _, err := c.Write(req); err != nil {
		return nil, t.ioError("write", req[6], err)
	}
	var hdr [7]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, t.ioError("read header", req[6], err)
	}
	tid, pid := binary.BigEndian.Uint16(hdr[0:]), binary.BigEndian.Uint16(hdr[2:])
	length := int(binary.BigEndian.Uint16(hdr[4:]))
	switch {
	case tid != binary.BigEndian.Uint16(req[0:]):
		return nil, fmt.Errorf("%w: transaction id %d in reply to request %d", ErrProtocol, tid, binary.BigEndian.Uint16(req[0:]))
	case pid != 0:
		return nil, fmt.Errorf("%w: protocol id %d, want 0", ErrProtocol, pid)
	case length < 3 || length > 254:
		return nil, fmt.Errorf("%w: mbap length %d not in 3..254", ErrProtocol, length)
	case hdr[6] != req[6]:
		return nil, fmt.Errorf("%w: reply from unit %d to a request for unit %d", ErrProtocol, hdr[6], req[6])
	}
	resp := make([]byte, 6+length)
	copy(resp, hdr[:])
	if _, err := io.ReadFull(c, resp[7:]); err != nil {
		return nil, t.ioError("read body", req[6], err)
	}
	fc := resp[7]
	switch {
	case fc == req[7]:
	case fc == req[7]|0x80 && length == 3:
	default:
		return nil, fmt.Errorf("%w: function 0x%02x (pdu %d bytes) in reply to function %d", ErrProtocol, fc, length-1, req[7])
	}
	return resp, nil
}

func (t *tcpTransport) ioError(op string, unit byte, err error) error {
	if isDeadline(err) {
		return timeoutError(fmt.Sprintf("no reply from %s unit %d", t.addr, unit), err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: %s: connection closed by peer (%s)", ErrConnect, t.addr, op)
	}
	return fmt.Errorf("%w: %s: %s: %w", ErrConnect, t.addr, op, err)
}
