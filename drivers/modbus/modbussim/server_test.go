package modbussim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/internal/frame"
)

// startTCP serves srv on a loopback port until the test ends and returns the address.
func startTCP(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeTCP(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("ServeTCP returned %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("ServeTCP did not stop with its context")
		}
	})
	return ln.Addr().String()
}

func mbap(tid uint16, unit byte, pdu ...byte) []byte {
	b := make([]byte, 7, 7+len(pdu))
	binary.BigEndian.PutUint16(b, tid)
	binary.BigEndian.PutUint16(b[4:], uint16(len(pdu)+1))
	b[6] = unit
	return append(b, pdu...)
}

// exchange sends one MBAP request and returns the reply PDU, or nil if nothing came in wait.
func exchange(t *testing.T, c net.Conn, tid uint16, unit byte, pdu []byte, wait time.Duration) []byte {
	t.Helper()
	if _, err := c.Write(mbap(tid, unit, pdu...)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	var hdr [7]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		if isTimeout(err) {
			return nil
		}
		t.Fatalf("read header: %v", err)
	}
	if got := binary.BigEndian.Uint16(hdr[:]); got != tid {
		t.Fatalf("transaction id %d, want %d", got, tid)
	}
	if hdr[6] != unit {
		t.Fatalf("unit %d, want %d", hdr[6], unit)
	}
	body := make([]byte, int(binary.BigEndian.Uint16(hdr[4:]))-1)
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatalf("read body: %v", err)
	}
	return body
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func u16s(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint16(b, x)
	}
	return b
}

func pdu(fc byte, rest ...[]byte) []byte {
	b := []byte{fc}
	for _, r := range rest {
		b = append(b, r...)
	}
	return b
}

func newTestServer() (*Server, *Bank) {
	srv := NewServer()
	bank := NewBank(10, 16)
	bank.SetInput(0, 215, 180, 1000, 500)
	bank.SetHolding(0, 1, 10, 1000, 180, 300)
	srv.Add(1, bank)
	return srv, bank
}

func TestTCPFunctionsAndLimits(t *testing.T) {
	srv, bank := newTestServer()
	c := dial(t, startTCP(t, srv))
	// 124 registers cannot fit a PDU with a consistent byte count; the count alone must be refused.
	writes124 := pdu(16, u16s(0, 124), []byte{246}, make([]byte, 246))
	cases := []struct {
		name string
		unit byte
		req  []byte
		want []byte
	}{
		{"read holding", 1, pdu(3, u16s(0, 2)), pdu(3, []byte{4}, u16s(1, 10))},
		{"read input", 1, pdu(4, u16s(1, 3)), pdu(4, []byte{6}, u16s(180, 1000, 500))},
		{"write single", 1, pdu(6, u16s(13, 650)), pdu(6, u16s(13, 650))},
		{"write multiple", 1, pdu(16, u16s(10, 2), []byte{4}, u16s(7, 9)), pdu(16, u16s(10, 2))},
		{"read count 0", 1, pdu(3, u16s(0, 0)), []byte{0x83, 0x03}},
		{"read count 126", 1, pdu(3, u16s(0, 126)), []byte{0x83, 0x03}},
		{"read past 65535", 1, pdu(4, u16s(65535, 2)), []byte{0x84, 0x02}},
		{"read past the bank", 1, pdu(3, u16s(14, 4)), []byte{0x83, 0x02}},
		{"read short pdu", 1, pdu(3, []byte{0, 0, 0}), []byte{0x83, 0x03}},
		{"write 124 registers", 1, writes124, []byte{0x90, 0x03}},
		{"write byte count mismatch", 1, pdu(16, u16s(0, 2), []byte{2}, u16s(1)), []byte{0x90, 0x03}},
		{"write missing data", 1, pdu(16, u16s(0, 2), []byte{4}, u16s(1)), []byte{0x90, 0x03}},
		{"write past the bank", 1, pdu(6, u16s(16, 1)), []byte{0x86, 0x02}},
		{"coils unsupported", 1, pdu(1, u16s(0, 8)), []byte{0x81, 0x01}},
		{"unknown function", 1, pdu(0x2B, []byte{0x0E, 1, 0}), []byte{0xAB, 0x01}},
		{"unit without device", 9, pdu(3, u16s(0, 1)), []byte{0x83, 0x0A}},
	}
	for i, tc := range cases {
		got := exchange(t, c, uint16(i+1), tc.unit, tc.req, 2*time.Second)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%s: reply % x, want % x", tc.name, got, tc.want)
		}
	}
	if got := bank.Holding(10, 4); got[0] != 7 || got[1] != 9 || got[3] != 650 {
		t.Errorf("holding 10..13 = %v, want [7 9 _ 650]", got)
	}
	if st := srv.Stats(1); st.Requests != 15 || st.Exceptions != 11 {
		t.Errorf("stats %+v, want 15 requests, 11 exceptions", st)
	}
}

func TestTCPFaults(t *testing.T) {
	srv, _ := newTestServer()
	addr := startTCP(t, srv)
	c := dial(t, addr)
	read := pdu(3, u16s(0, 1))

	srv.SetFault(1, Fault{NoAnswer: true})
	if got := exchange(t, c, 1, 1, read, 200*time.Millisecond); got != nil {
		t.Fatalf("NoAnswer: got reply % x", got)
	}
	if srv.Requests(1) != 1 {
		t.Fatalf("NoAnswer: request not counted")
	}
	c = dial(t, addr) // the unanswered connection is left for dead, as a client would

	srv.SetFault(1, Fault{Busy: true})
	if got := exchange(t, c, 2, 1, read, 2*time.Second); !bytes.Equal(got, []byte{0x83, 0x06}) {
		t.Fatalf("Busy: reply % x, want 83 06", got)
	}

	srv.SetFault(1, Fault{Delay: 150 * time.Millisecond})
	start := time.Now()
	got := exchange(t, c, 3, 1, read, 3*time.Second)
	if el := time.Since(start); el < 150*time.Millisecond || got == nil {
		t.Fatalf("Delay: reply % x after %v, want one after >= 150ms", got, el)
	}

	srv.SetFault(1, Fault{Split: 50 * time.Millisecond})
	if got := exchange(t, c, 4, 1, read, 3*time.Second); !bytes.Equal(got, pdu(3, []byte{2}, u16s(1))) {
		t.Fatalf("Split: reply % x", got)
	}

	srv.SetFault(1, Fault{})
	if got := exchange(t, c, 5, 1, read, 2*time.Second); got == nil || got[0] != 3 {
		t.Fatalf("healed: reply % x", got)
	}
}

func TestTCPManyConnections(t *testing.T) {
	srv := NewServer()
	for u := byte(1); u <= 4; u++ {
		b := NewBank(0, 4)
		b.SetHolding(0, uint16(u)*100)
		srv.Add(u, b)
	}
	addr := startTCP(t, srv)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for n := range 20 {
				unit := byte(1 + (i+n)%4)
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write(mbap(uint16(n), unit, pdu(3, u16s(0, 1))...)); err != nil {
					errs <- err
					return
				}
				resp := make([]byte, 11)
				if _, err := io.ReadFull(c, resp); err != nil {
					errs <- err
					return
				}
				if resp[6] != unit || binary.BigEndian.Uint16(resp[9:]) != uint16(unit)*100 {
					errs <- errors.New("wrong reply " + string(resp))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestTCPBadHeaderClosesConnection(t *testing.T) {
	srv, _ := newTestServer()
	c := dial(t, startTCP(t, srv))
	req := mbap(1, 1, pdu(3, u16s(0, 1))...)
	req[2] = 1 // protocol id 0x0100
	c.Write(req)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	// EOF or a reset (the unread rest of the request is discarded): closed either way.
	if _, err := c.Read(make([]byte, 16)); err == nil || isTimeout(err) {
		t.Fatalf("read after a bad protocol id: %v, want the connection closed", err)
	}
}

func TestTCPStopsWithContext(t *testing.T) {
	srv, _ := newTestServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeTCP(ctx, ln) }()
	c := dial(t, ln.Addr().String())
	srv.SetFault(1, Fault{Delay: time.Hour})
	c.Write(mbap(1, 1, pdu(3, u16s(0, 1))...))
	// Wait until the request is inside its delay, then stop.
	deadline := time.Now().Add(5 * time.Second)
	for srv.Requests(1) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ServeTCP = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeTCP still running 5s after cancel")
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 16)); !errors.Is(err, io.EOF) {
		t.Fatalf("client read after stop: %v, want EOF", err)
	}
}

func TestBankUnmap(t *testing.T) {
	b := NewBank(0, 16)
	b.Unmap(true, 5, 5)
	if _, err := b.ReadHoldingRegisters(0, 5); err != nil {
		t.Fatal(err)
	}
	for _, rg := range [][2]uint16{{0, 6}, {9, 2}, {4, 12}} {
		if _, err := b.ReadHoldingRegisters(rg[0], rg[1]); err != ExIllegalAddress {
			t.Errorf("read %v: %v, want illegal address", rg, err)
		}
	}
	if err := b.WriteHoldingRegisters("t", 16, 8, []uint16{1}); err != ExIllegalAddress {
		t.Errorf("write into a hole: %v", err)
	}
}

// FuzzExecute: no request PDU makes the server panic, and every reply is the request's
// function (or its exception form with a code) with a consistent shape.
func FuzzExecute(f *testing.F) {
	f.Add([]byte{3, 0, 0, 0, 2})
	f.Add([]byte{16, 0, 1, 0, 2, 4, 0, 1, 0, 2})
	f.Add([]byte{6, 0, 15, 0xff, 0xff})
	f.Add([]byte{0x2b})
	f.Fuzz(func(t *testing.T, p []byte) {
		if len(p) == 0 {
			return
		}
		b := NewBank(10, 16)
		out := execute(b, "fuzz", p)
		switch {
		case out[0] == p[0]|frame.ExceptionBit && p[0]&frame.ExceptionBit == 0:
			if len(out) != 2 || out[1] == 0 {
				t.Fatalf("exception reply % x to % x", out, p)
			}
		case out[0] == p[0]:
			if (p[0] == 3 || p[0] == 4) && len(out) != 2+int(out[1]) {
				t.Fatalf("read reply % x has a bad byte count", out)
			}
		default:
			t.Fatalf("reply % x to request % x", out, p)
		}
	})
}

// FuzzRTUStream: arbitrary line bytes never panic the RTU framer and never produce a reply
// that is not a well-formed frame with a good CRC.
func FuzzRTUStream(f *testing.F) {
	f.Add(frame.AppendCRC([]byte{1, 3, 0, 0, 0, 2}))
	f.Add([]byte{1, 16, 0, 0, 0, 1, 2, 0, 5, 0, 0})
	f.Add([]byte{1, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, line []byte) {
		srv, _ := newTestServer()
		var out bytes.Buffer
		buf := append([]byte(nil), line...)
		for range 4 {
			rest, bad, err := srv.takeFrames(context.Background(), &out, buf)
			if err != nil {
				t.Fatal(err)
			}
			if bad || len(rest) == len(buf) {
				break
			}
			buf = rest
		}
		o := out.Bytes()
		for len(o) > 0 {
			n := frame.RTUResponseLen(o[1]&^frame.ExceptionBit, o)
			if n < 0 || n > len(o) || !frame.CheckCRC(o[:n]) {
				t.Fatalf("malformed reply stream % x", out.Bytes())
			}
			o = o[n:]
		}
	})
}
