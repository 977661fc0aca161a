package modbussim

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/internal/peertest"
	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// mbpoll (Debian's Modbus master) against our server: proof that the server speaks the
// protocol as a third-party master expects, over TCP and over RTU on a socat pty pair.

// fcRecorder remembers the function code of the last accepted write.
type fcRecorder struct {
	*Bank
	mu   sync.Mutex
	last byte
}

func (r *fcRecorder) WriteHoldingRegisters(client string, fc byte, addr uint16, values []uint16) error {
	err := r.Bank.WriteHoldingRegisters(client, fc, addr, values)
	r.mu.Lock()
	r.last = fc
	r.mu.Unlock()
	return err
}

func (r *fcRecorder) lastFC() byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func newMbpollServer() (*Server, *fcRecorder) {
	srv, bank := newTestServer()
	rec := &fcRecorder{Bank: bank}
	srv.Add(1, rec)
	return srv, rec
}

func mbpollScenario(t *testing.T, bank *fcRecorder, conn []string) {
	// -0: references are PDU addresses; -1: poll once.
	base := append([]string{"-0", "-1", "-o", "2"}, conn...)
	out, code := peertest.Mbpoll(t, append([]string{"-a", "1", "-t", "3", "-r", "0", "-c", "4"}, base...)...)
	if code != 0 {
		t.Fatalf("read input: exit %d", code)
	}
	if got := peertest.Registers(out); got[0] != 215 || got[1] != 180 || got[2] != 1000 || got[3] != 500 {
		t.Fatalf("read input 0..3: %v, want 215 180 1000 500", got)
	}
	// Write two holding registers (function 16), then read them back.
	if _, code := peertest.Mbpoll(t, append(append([]string{"-a", "1", "-t", "4", "-r", "13"}, base...), "650", "420")...); code != 0 {
		t.Fatalf("write holding: exit %d", code)
	}
	if got := bank.Holding(13, 2); got[0] != 650 || got[1] != 420 || bank.lastFC() != 16 {
		t.Fatalf("holding 13..14 after mbpoll's write = %v via function %d, want [650 420] via 16", got, bank.lastFC())
	}
	// One value: mbpoll uses function 6.
	if _, code := peertest.Mbpoll(t, append(append([]string{"-a", "1", "-t", "4", "-r", "12"}, base...), "777")...); code != 0 {
		t.Fatalf("write single: exit %d", code)
	}
	if bank.lastFC() != 6 {
		t.Fatalf("mbpoll's single write arrived as function %d, want 6", bank.lastFC())
	}
	out, code = peertest.Mbpoll(t, append([]string{"-a", "1", "-t", "4", "-r", "12", "-c", "3"}, base...)...)
	if got := peertest.Registers(out); code != 0 || got[12] != 777 || got[13] != 650 || got[14] != 420 {
		t.Fatalf("read back: exit %d, %v", code, got)
	}
	// Past the end of the bank: exception 0x02, which mbpoll names.
	out, code = peertest.Mbpoll(t, append([]string{"-a", "1", "-t", "4", "-r", "14", "-c", "4"}, base...)...)
	if code == 0 || !regexp.MustCompile(`(?i)illegal data address`).MatchString(out) {
		t.Fatalf("read past the end: exit %d, output lacks 'Illegal data address'", code)
	}
}

func TestMbpollTCP(t *testing.T) {
	peertest.Need(t, "mbpoll")
	srv, bank := newMbpollServer()
	addr := startTCP(t, srv)
	host, port, _ := net.SplitHostPort(addr)
	mbpollScenario(t, bank, []string{"-m", "tcp", "-p", port, host})
}

func TestMbpollRTU(t *testing.T) {
	peertest.Need(t, "mbpoll")
	peertest.Need(t, "socat")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "A"), filepath.Join(dir, "B")
	ctx, cancel := context.WithCancel(context.Background())
	socat := exec.CommandContext(ctx, "socat", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	if err := socat.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); socat.Wait() })
	waitFor(t, func() bool {
		_, ea := os.Stat(a)
		_, eb := os.Stat(b)
		return ea == nil && eb == nil
	}, "socat's pty links")

	srv, bank := newMbpollServer()
	p, err := serialport.Open(b, serialport.Config{Baud: 19200, ReadTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeRTU(sctx, p) }()
	t.Cleanup(func() {
		scancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("ServeRTU = %v", err)
		}
		p.Close()
	})
	// Linux ptys refuse parity, so the line is 8N1 (mbpoll's default is even parity).
	mbpollScenario(t, bank, []string{"-m", "rtu", "-b", "19200", "-P", "none", a})
}
