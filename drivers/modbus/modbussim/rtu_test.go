package modbussim

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/internal/frame"
	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// startRTU serves srv on the master side of a fresh pty until the test ends and returns the
// slave side opened as a serial port.
func startRTU(t *testing.T, srv *Server) serialport.Port {
	t.Helper()
	if testing.Short() {
		t.Skip("real pty with timing")
	}
	pty, err := serialport.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	p, err := serialport.Open(pty.SlavePath, serialport.Config{Baud: 19200, ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		pty.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeRTU(ctx, pty.Master) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("ServeRTU = %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("ServeRTU did not stop with its context")
		}
		p.Close()
		pty.Close()
	})
	return p
}

// collect reads until the line has been quiet for quiet, or total elapsed.
func collect(t *testing.T, p serialport.Port, quiet, total time.Duration) []byte {
	t.Helper()
	var out []byte
	end := time.Now().Add(total)
	p.SetReadTimeout(quiet)
	buf := make([]byte, 300)
	for time.Now().Before(end) {
		n, err := p.Read(buf)
		out = append(out, buf[:n]...)
		if n == 0 && err != nil {
			if isTimeout(err) && len(out) == 0 && quiet < total {
				continue // nothing yet: keep waiting up to total
			}
			break
		}
	}
	return out
}

func send(t *testing.T, p serialport.Port, b []byte) {
	t.Helper()
	if _, err := p.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestRTUAnswersOnlyItsUnits(t *testing.T) {
	srv, _ := newTestServer()
	b2 := NewBank(0, 4)
	b2.SetHolding(0, 42)
	srv.Add(2, b2)
	p := startRTU(t, srv)

	send(t, p, frame.AppendCRC([]byte{1, 3, 0, 0, 0, 2}))
	want := frame.AppendCRC([]byte{1, 3, 4, 0, 1, 0, 10})
	if got := collect(t, p, 50*time.Millisecond, 2*time.Second); !bytes.Equal(got, want) {
		t.Fatalf("unit 1 read: % x, want % x", got, want)
	}
	send(t, p, frame.AppendCRC([]byte{7, 3, 0, 0, 0, 2}))
	if got := collect(t, p, 200*time.Millisecond, 200*time.Millisecond); len(got) != 0 {
		t.Fatalf("a frame for unit 7 was answered: % x", got)
	}
	// Two requests back to back in one write (no gap): both answered, in order.
	send(t, p, append(frame.AppendCRC([]byte{2, 3, 0, 0, 0, 1}), frame.AppendCRC([]byte{1, 4, 0, 0, 0, 1})...))
	want = append(frame.AppendCRC([]byte{2, 3, 2, 0, 42}), frame.AppendCRC([]byte{1, 4, 2, 0, 215})...)
	if got := collect(t, p, 50*time.Millisecond, 2*time.Second); !bytes.Equal(got, want) {
		t.Fatalf("back-to-back: % x, want % x", got, want)
	}
}

func TestRTUBadCRCAndResync(t *testing.T) {
	srv, _ := newTestServer()
	p := startRTU(t, srv)
	good := frame.AppendCRC([]byte{1, 3, 0, 0, 0, 1})
	reply := frame.AppendCRC([]byte{1, 3, 2, 0, 1})

	bad := append([]byte(nil), good...)
	bad[7] ^= 0x55
	send(t, p, bad)
	if got := collect(t, p, 150*time.Millisecond, 150*time.Millisecond); len(got) != 0 {
		t.Fatalf("a frame with a bad CRC was answered: % x", got)
	}
	if srv.DroppedFrames() != 1 {
		t.Fatalf("dropped = %d, want 1", srv.DroppedFrames())
	}

	// A truncated write-multiple header claims 2 more data bytes and a CRC. Without the
	// silence rule the next request would be swallowed as its tail.
	send(t, p, []byte{1, 16, 0, 0, 0, 1, 2})
	waitFor(t, func() bool { return srv.DroppedFrames() == 2 }, "the partial frame to be dropped at silence")
	send(t, p, good)
	if got := collect(t, p, 50*time.Millisecond, 2*time.Second); !bytes.Equal(got, reply) {
		t.Fatalf("after resync: % x, want % x", got, reply)
	}

	// A function the server cannot size ends at silence and gets illegal function.
	send(t, p, frame.AppendCRC([]byte{1, 0x2B, 0x0E, 1, 0}))
	if got, want := collect(t, p, 50*time.Millisecond, 2*time.Second), frame.AppendCRC([]byte{1, 0xAB, 1}); !bytes.Equal(got, want) {
		t.Fatalf("unknown function: % x, want % x", got, want)
	}
}

func TestRTUFaults(t *testing.T) {
	srv, _ := newTestServer()
	p := startRTU(t, srv)
	req := frame.AppendCRC([]byte{1, 3, 0, 0, 0, 1})

	srv.SetFault(1, Fault{Busy: true})
	send(t, p, req)
	if got, want := collect(t, p, 50*time.Millisecond, 2*time.Second), frame.AppendCRC([]byte{1, 0x83, 6}); !bytes.Equal(got, want) {
		t.Fatalf("busy: % x, want % x", got, want)
	}
	srv.SetFault(1, Fault{Corrupt: true})
	send(t, p, req)
	if got := collect(t, p, 50*time.Millisecond, 2*time.Second); len(got) != 7 || frame.CheckCRC(got) {
		t.Fatalf("corrupt: % x, want 7 bytes with a bad CRC", got)
	}
	srv.SetFault(1, Fault{NoAnswer: true})
	send(t, p, req)
	if got := collect(t, p, 200*time.Millisecond, 200*time.Millisecond); len(got) != 0 {
		t.Fatalf("no answer: % x", got)
	}
	srv.SetFault(1, Fault{Split: 100 * time.Millisecond, Busy: true})
	send(t, p, req)
	first := collect(t, p, 30*time.Millisecond, 2*time.Second)
	rest := collect(t, p, 50*time.Millisecond, 2*time.Second)
	if len(first) != 4 || len(rest) != 1 || !frame.CheckCRC(append(first, rest...)) {
		t.Fatalf("split exception: pieces % x | % x, want 4 + 1 bytes of one frame", first, rest)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
