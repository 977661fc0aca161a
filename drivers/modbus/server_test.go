package modbus

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"testing"
	"time"
)

// sliceImage serves n registers per table: holding i reads i, input i reads 1000+i.
type sliceImage struct{ n int }

func (m sliceImage) Registers(table Table, addr, count uint16) ([]uint16, error) {
	if int(addr)+int(count) > m.n {
		return nil, ExceptionError{Function: 3, Code: ExIllegalDataAddress}
	}
	out := make([]uint16, count)
	for i := range out {
		out[i] = addr + uint16(i)
		if table == Input {
			out[i] += 1000
		}
	}
	return out, nil
}

type imageFunc func(Table, uint16, uint16) ([]uint16, error)

func (f imageFunc) Registers(t Table, a, c uint16) ([]uint16, error) { return f(t, a, c) }

// startServer serves img on loopback until the test ends; it returns the address and the
// channel Serve's result arrives on.
func startServer(t *testing.T, img Image, o ServerOptions) (*Server, string, context.CancelFunc, <-chan error) {
	t.Helper()
	s, err := NewServer(img, o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("serve: %v", err)
		}
	})
	return s, ln.Addr().String(), cancel, done
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mbap(tid uint16, unit byte, pdu ...byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, tid)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(pdu)+1))
	return append(append(b, unit), pdu...)
}

func readPDU(fc byte, addr, count uint16) []byte {
	return []byte{fc, byte(addr >> 8), byte(addr), byte(count >> 8), byte(count)}
}

// roundTrip sends one frame and reads one reply frame; it returns the unit and the reply PDU.
func roundTrip(t *testing.T, c net.Conn, req []byte) (uint16, byte, []byte) {
	t.Helper()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	return readFrame(t, c)
}

func readFrame(t *testing.T, c net.Conn) (uint16, byte, []byte) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [7]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	n := int(binary.BigEndian.Uint16(hdr[4:]))
	if binary.BigEndian.Uint16(hdr[2:]) != 0 || n < 2 {
		t.Fatalf("reply header % x", hdr)
	}
	pdu := make([]byte, n-1)
	if _, err := io.ReadFull(c, pdu); err != nil {
		t.Fatalf("reading the reply pdu: %v", err)
	}
	return binary.BigEndian.Uint16(hdr[0:]), hdr[6], pdu
}

// awaitClosed waits until the server closes c (a read returns EOF or a reset).
func awaitClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, c) // returns nil on EOF
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", within)
	}
}

func TestServerReadsAndRefusals(t *testing.T) {
	s, addr, _, _ := startServer(t, sliceImage{n: 200}, ServerOptions{UnitID: 7})
	c := dialRaw(t, addr)

	tid, unit, pdu := roundTrip(t, c, mbap(0x1234, 7, readPDU(3, 10, 3)...))
	if tid != 0x1234 || unit != 7 || !bytes.Equal(pdu, []byte{3, 6, 0, 10, 0, 11, 0, 12}) {
		t.Fatalf("read holding: tid %#x unit %d pdu % x", tid, unit, pdu)
	}
	if _, _, pdu = roundTrip(t, c, mbap(2, 7, readPDU(4, 199, 1)...)); !bytes.Equal(pdu, []byte{4, 2, 0x04, 0xAF}) {
		t.Fatalf("read input 199: % x, want 1199", pdu)
	}
	for _, tc := range []struct {
		name string
		pdu  []byte
		want []byte
	}{
		{"read coils", readPDU(1, 0, 8), []byte{0x81, 1}},
		{"read discrete", readPDU(2, 0, 8), []byte{0x82, 1}},
		{"write coil", []byte{5, 0, 1, 0xFF, 0}, []byte{0x85, 1}},
		{"write single", []byte{6, 0, 1, 0, 9}, []byte{0x86, 1}},
		{"write coils", []byte{15, 0, 0, 0, 8, 1, 0xFF}, []byte{0x8F, 1}},
		{"write multiple", []byte{16, 0, 1, 0, 1, 2, 0, 9}, []byte{0x90, 1}},
		{"mask write", []byte{22, 0, 1, 0, 0, 0, 0}, []byte{0x96, 1}},
		{"read/write multiple", []byte{23, 0, 0, 0, 1, 0, 1, 0, 1, 2, 0, 9}, []byte{0x97, 1}},
		{"unknown function", []byte{0x2B, 0x0E, 1, 0}, []byte{0xAB, 1}},
		{"count 0", readPDU(3, 0, 0), []byte{0x83, 3}},
		{"count 126", readPDU(4, 0, 126), []byte{0x84, 3}},
		{"short pdu", []byte{3, 0, 0, 1}, []byte{0x83, 3}},
		{"long pdu", append(readPDU(3, 0, 1), 0), []byte{0x83, 3}},
		{"past the image", readPDU(3, 190, 11), []byte{0x83, 2}},
		{"past 65535", readPDU(4, 0xFFFF, 2), []byte{0x84, 2}},
	} {
		if _, _, pdu := roundTrip(t, c, mbap(9, 7, tc.pdu...)); !bytes.Equal(pdu, tc.want) {
			t.Errorf("%s: % x, want % x", tc.name, pdu, tc.want)
		}
	}

	// Another unit id: no answer, and the stream stays in step (the next reply is the next
	// request's). 0 and 255 mean this device.
	if _, err := c.Write(mbap(50, 8, readPDU(3, 0, 1)...)); err != nil {
		t.Fatal(err)
	}
	for _, u := range []byte{0, 0xFF} {
		tid, unit, pdu := roundTrip(t, c, mbap(51, u, readPDU(3, 5, 1)...))
		if tid != 51 || unit != u || !bytes.Equal(pdu, []byte{3, 2, 0, 5}) {
			t.Fatalf("unit %d: tid %d unit %d pdu % x", u, tid, unit, pdu)
		}
	}
	if st := s.Stats(); st.OtherUnit != 1 || st.Requests != 4 || st.Exceptions != 15 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}

	// Our own client reads it too, and names the refusal.
	bus := dialTCP(t, addr, Options{Timeout: time.Second})
	got, err := bus.ReadInput(context.Background(), 7, 0, 125)
	if err != nil || len(got) != 125 || got[124] != 1124 {
		t.Fatalf("client read: %v %v", got, err)
	}
	var ex ExceptionError
	if err := bus.WriteSingle(context.Background(), 7, 0, 1); !errors.As(err, &ex) || ex.Code != ExIllegalFunction {
		t.Fatalf("client write: %v, want exception 0x01", err)
	}
}

func TestServerImageErrors(t *testing.T) {
	var fail error
	img := imageFunc(func(_ Table, _, count uint16) ([]uint16, error) {
		if fail != nil {
			return nil, fail
		}
		return make([]uint16, count-1), nil // one short
	})
	s, err := NewServer(img, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	in := slices.Concat(mbap(1, 1, readPDU(3, 0, 2)...))
	s.serveStream(struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(in), &out})
	fail = ExceptionError{Code: ExServerDeviceBusy}
	s.serveStream(struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(in), &out})
	fail = errors.New("broken")
	s.serveStream(struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(in), &out})
	want := slices.Concat(mbap(1, 1, 0x83, 4), mbap(1, 1, 0x83, 6), mbap(1, 1, 0x83, 4))
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("replies % x, want % x", out.Bytes(), want)
	}
}

func TestNewServerChecksOptions(t *testing.T) {
	for _, o := range []ServerOptions{{UnitID: 248}, {UnitID: 255}, {MaxConns: -1}, {IdleTimeout: -time.Second}} {
		if _, err := NewServer(sliceImage{}, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := NewServer(nil, ServerOptions{}); err == nil {
		t.Error("nil image accepted")
	}
	s, err := NewServer(sliceImage{}, ServerOptions{})
	if err != nil || s.opts.UnitID != 1 || s.opts.MaxConns != 8 || s.opts.IdleTimeout != time.Minute {
		t.Fatalf("defaults %+v %v", s.opts, err)
	}
}

func TestServerMalformedHeaderClosesConnection(t *testing.T) {
	s, addr, _, _ := startServer(t, sliceImage{n: 10}, ServerOptions{})
	for i, hdr := range [][]byte{
		{0, 1, 0, 1, 0, 6, 1},    // protocol id 1
		{0, 1, 0, 0, 0, 1, 1},    // length 1: no PDU
		{0, 1, 0, 0, 0, 0, 1},    // length 0
		{0, 1, 0, 0, 0, 255, 1},  // PDU of 254 bytes
		{0, 1, 0, 0, 0xFF, 0xFF}, // 64 KiB announced: refused from the header, not read
	} {
		c := dialRaw(t, addr)
		if _, err := c.Write(hdr); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			c.Write([]byte{1}) // completes the header; the 65534 bytes never come
		}
		awaitClosed(t, c, 5*time.Second)
	}
	waitUntil(t, func() bool { return s.Stats().Malformed == 5 }, "5 malformed headers counted")
	// A PDU of the full 253 bytes is still a frame (answered, here with illegal function).
	c := dialRaw(t, addr)
	big := make([]byte, 253)
	big[0] = 0x42
	if _, _, pdu := roundTrip(t, c, mbap(3, 1, big...)); !bytes.Equal(pdu, []byte{0xC2, 1}) {
		t.Fatalf("253-byte pdu: % x", pdu)
	}
}

func TestServerMaxConns(t *testing.T) {
	s, addr, _, _ := startServer(t, sliceImage{n: 10}, ServerOptions{MaxConns: 2})
	a, b := dialRaw(t, addr), dialRaw(t, addr)
	for _, c := range []net.Conn{a, b} { // both served: they hold the two places
		roundTrip(t, c, mbap(1, 1, readPDU(3, 0, 1)...))
	}
	extra := dialRaw(t, addr)
	awaitClosed(t, extra, 5*time.Second)
	if st := s.Stats(); st.Refused != 1 || st.Accepted != 2 {
		t.Fatalf("stats %+v", st)
	}
	a.Close()
	// Once a's goroutine has gone, a new connection is served again.
	waitUntil(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer c.Close()
		c.Write(mbap(1, 1, readPDU(3, 0, 1)...))
		c.SetReadDeadline(time.Now().Add(time.Second))
		var hdr [9]byte
		_, err = io.ReadFull(c, hdr[:])
		return err == nil
	}, "a place freed by a closed connection")
	roundTrip(t, b, mbap(2, 1, readPDU(4, 0, 1)...)) // b untouched
}

func TestServerIdleTimeout(t *testing.T) {
	s, addr, _, _ := startServer(t, sliceImage{n: 10}, ServerOptions{IdleTimeout: 150 * time.Millisecond})
	silent := dialRaw(t, addr)
	trickle := dialRaw(t, addr)
	start := time.Now()
	trickle.Write(mbap(1, 1, readPDU(3, 0, 1)...)[:4]) // half a header, then nothing
	awaitClosed(t, silent, 5*time.Second)
	awaitClosed(t, trickle, 5*time.Second)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("closed after %v, before the idle timeout", d)
	}
	waitUntil(t, func() bool { return s.Stats().IdleClosed == 2 }, "two idle closes counted")
}

func TestServerCancelStopsEverything(t *testing.T) {
	base := runtime.NumGoroutine()
	s, err := NewServer(sliceImage{n: 10}, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var conns []net.Conn
	for range 3 {
		c := dialRaw(t, ln.Addr().String())
		roundTrip(t, c, mbap(1, 1, readPDU(3, 0, 1)...))
		conns = append(conns, c)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return after cancel")
	}
	for _, c := range conns {
		awaitClosed(t, c, time.Second)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("listener still accepts")
	}
	waitUntil(t, func() bool { return runtime.NumGoroutine() <= base }, "goroutines back to the baseline")
}

func TestServerListenerClosedUnderIt(t *testing.T) {
	s, _ := NewServer(sliceImage{n: 10}, ServerOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := s.Serve(context.Background(), ln); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("serve on a closed listener: %v", err)
	}
}

// FuzzServerStream feeds any bytes to one connection's loop: it never panics, every reply is a
// well-formed MBAP frame answering a request of this unit, in order, and there are never more
// replies than requests.
func FuzzServerStream(f *testing.F) {
	f.Add(mbap(1, 1, readPDU(3, 0, 4)...))
	f.Add(slices.Concat(mbap(1, 1, readPDU(4, 8, 125)...), mbap(2, 9, readPDU(3, 0, 1)...), mbap(3, 0xFF, 6, 0, 1, 0, 1)))
	f.Add([]byte{0, 1, 0, 0, 0xFF, 0xFF, 1, 3})
	f.Add(mbap(1, 1, 3))
	f.Add(mbap(7, 1, readPDU(3, 0xFFFF, 125)...))
	s, err := NewServer(sliceImage{n: 300}, ServerOptions{UnitID: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		s.serveStream(struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), &out})
		// The requests the server could have read, with their transaction ids and units.
		type req struct {
			tid  uint16
			unit byte
			fc   byte
		}
		var reqs []req
		for b := in; len(b) >= 8; {
			n := int(binary.BigEndian.Uint16(b[4:]))
			if binary.BigEndian.Uint16(b[2:]) != 0 || n < 2 || n > 254 || len(b) < 6+n {
				break
			}
			if u := b[6]; u == 1 || u == 0 || u == 0xFF {
				reqs = append(reqs, req{binary.BigEndian.Uint16(b), u, b[7]})
			}
			b = b[6+n:]
		}
		o := out.Bytes()
		for i := 0; len(o) > 0; i++ {
			if i >= len(reqs) {
				t.Fatalf("reply %d with only %d requests", i+1, len(reqs))
			}
			if len(o) < 9 || binary.BigEndian.Uint16(o[2:]) != 0 {
				t.Fatalf("reply % x", o)
			}
			n := int(binary.BigEndian.Uint16(o[4:]))
			if len(o) < 6+n || n < 3 {
				t.Fatalf("reply length %d in % x", n, o)
			}
			r := reqs[i]
			if binary.BigEndian.Uint16(o) != r.tid || o[6] != r.unit || o[7]&^0x80 != r.fc&^0x80 {
				t.Fatalf("reply % x to request %+v", o[:8], r)
			}
			if o[7]&0x80 == 0 && (int(o[8])+3 != n || o[8] == 0 || o[8] > 250) {
				t.Fatalf("data reply byte count %d in length %d", o[8], n)
			}
			o = o[6+n:]
		}
	})
}
