package serialport

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func needPTY(t *testing.T) *PTY {
	t.Helper()
	if testing.Short() {
		t.Skip("real pty test; skipped in -short")
	}
	p, err := OpenPTY()
	if err != nil {
		t.Fatalf("OpenPTY: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func openSlave(t *testing.T, p *PTY, cfg Config) Port {
	t.Helper()
	port, err := Open(p.SlavePath, cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", p.SlavePath, err)
	}
	t.Cleanup(func() { port.Close() })
	return port
}

func readMaster(t *testing.T, p *PTY, n int) []byte {
	t.Helper()
	if err := p.Master.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatalf("master deadline: %v", err)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(p.Master, buf); err != nil {
		t.Fatalf("read master: %v", err)
	}
	return buf
}

func TestPTYExchangeRawBytes(t *testing.T) {
	p := needPTY(t)
	port := openSlave(t, p, Config{Baud: 115200, ReadTimeout: 5 * time.Second})

	// Bytes a line discipline would mangle: CR, LF, ^C, ^D, DEL, NUL, 0x7E/0x7D and high bytes.
	down := []byte{0x7e, 0x7d, '\r', '\n', 0x03, 0x04, 0x7f, 0x00, 0xff, 0x11, 0x13, 'x'}
	if _, err := p.Master.Write(down); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(down))
	if _, err := io.ReadFull(port, got); err != nil {
		t.Fatalf("slave read: %v", err)
	}
	if !bytes.Equal(got, down) {
		t.Fatalf("slave read % x, want % x", got, down)
	}

	// With echo on, the master would read its own bytes back before these.
	up := []byte{'\n', 0x00, 0x80, 0x7e, 'y'}
	if _, err := port.Write(up); err != nil {
		t.Fatal(err)
	}
	if got := readMaster(t, p, len(up)); !bytes.Equal(got, up) {
		t.Fatalf("master read % x, want % x (echo or output processing on?)", got, up)
	}
}

func TestReadTimeout(t *testing.T) {
	p := needPTY(t)
	port := openSlave(t, p, Config{ReadTimeout: 50 * time.Millisecond})
	start := time.Now()
	n, err := port.Read(make([]byte, 16))
	el := time.Since(start)
	if n != 0 || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Read = %d, %v; want 0, ErrTimeout", n, err)
	}
	var to interface{ Timeout() bool }
	if !errors.As(err, &to) || !to.Timeout() {
		t.Fatalf("timeout error %v has no Timeout() == true", err)
	}
	if !strings.Contains(err.Error(), p.SlavePath) {
		t.Errorf("error %q does not name the device", err)
	}
	if el < 40*time.Millisecond || el > 5*time.Second {
		t.Errorf("timeout after %v, want about 50ms", el)
	}

	// SetReadTimeout changes it; data still arrives normally afterwards.
	if err := port.SetReadTimeout(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := port.SetReadTimeout(-time.Second); !errors.Is(err, ErrConfig) {
		t.Errorf("negative timeout: %v, want ErrConfig", err)
	}
	p.Master.Write([]byte("ok"))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(port, buf); err != nil || string(buf) != "ok" {
		t.Fatalf("read after timeout: %q %v", buf, err)
	}
}

func TestResetInputBufferDropsPending(t *testing.T) {
	p := needPTY(t)
	port := openSlave(t, p, Config{ReadTimeout: 5 * time.Second})
	if _, err := p.Master.Write([]byte("stale")); err != nil {
		t.Fatal(err)
	}
	// Wait until the kernel has queued the bytes on the slave side (the pty flip buffer is
	// pushed asynchronously), so the flush really has something to drop.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := unix.IoctlGetInt(p.slave, unix.TIOCINQ)
		if err != nil {
			t.Fatalf("TIOCINQ: %v", err)
		}
		if n >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d bytes queued after 5s", n)
		}
		time.Sleep(time.Millisecond)
	}
	if err := port.ResetInputBuffer(); err != nil {
		t.Fatalf("ResetInputBuffer: %v", err)
	}
	p.Master.Write([]byte("fresh"))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(port, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != "fresh" {
		t.Fatalf("read %q after reset, want %q", buf, "fresh")
	}
}

func TestOpenMissingPath(t *testing.T) {
	_, err := Open("/dev/coldaisle-no-such-tty", Config{})
	if err == nil {
		t.Fatal("Open of a missing path succeeded")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v is not fs.ErrNotExist", err)
	}
	for _, want := range []string{"serialport:", "/dev/coldaisle-no-such-tty", "no such file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestBadConfigRejectedBeforeOpen(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Parity: 'X'}, "parity"},
		{Config{DataBits: 9}, "data bits 9"},
		{Config{StopBits: 3}, "stop bits 3"},
		{Config{Baud: -1}, "baud -1"},
		{Config{ReadTimeout: -1}, "read timeout"},
	}
	for _, c := range cases {
		// The path exists but must not even be opened: the config check comes first.
		_, err := Open("/dev/null", c.cfg)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%+v) = %v; want ErrConfig mentioning %q", c.cfg, err, c.want)
		}
	}
}

func TestNotATerminal(t *testing.T) {
	_, err := Open("/dev/null", Config{})
	if err == nil || !strings.Contains(err.Error(), "/dev/null") {
		t.Fatalf("Open(/dev/null) = %v; want an error naming the path", err)
	}
}

func TestParityRefusedOnPTY(t *testing.T) {
	p := needPTY(t)
	port, err := Open(p.SlavePath, Config{Parity: ParityEven})
	if err == nil {
		port.Close()
		t.Skip("this kernel accepts parity on ptys")
	}
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "parity") {
		t.Fatalf("parity error %q is not a clear ErrConfig about parity", err)
	}
}

func TestCloseUnblocksReadAndHangup(t *testing.T) {
	p := needPTY(t)
	port := openSlave(t, p, Config{})
	done := make(chan error, 1)
	go func() {
		_, err := port.Read(make([]byte, 8))
		done <- err
	}()
	port.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Read after Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	if _, err := port.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}

	// The other end vanishing is an error, not a timeout.
	port2 := openSlave(t, p, Config{ReadTimeout: 5 * time.Second})
	p.Close()
	_, err := port2.Read(make([]byte, 8))
	if err == nil || errors.Is(err, ErrTimeout) {
		t.Fatalf("Read after hang-up: %v, want a non-timeout error", err)
	}
}
