package appliance

import (
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// terminal is the technician's end of the console cable: it types into the pty master and keeps
// everything the console prints.
type terminal struct {
	t    *testing.T
	m    *os.File
	mu   sync.Mutex
	out  strings.Builder
	mark int // expect searches from here
}

// consolePTY opens a pseudo-terminal for a console test: the App serves the slave side, the
// technician's terminal types and reads on the master. Both close at cleanup.
func consolePTY(t *testing.T) (*os.File, *terminal) {
	t.Helper()
	pty, err := serialport.OpenPTY()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	slave, err := os.OpenFile(pty.SlavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		pty.Close()
		t.Fatal(err)
	}
	tm := newTerminal(t, pty.Master)
	t.Cleanup(func() {
		slave.Close()
		pty.Close()
	})
	return slave, tm
}

func newTerminal(t *testing.T, m *os.File) *terminal {
	tm := &terminal{t: t, m: m}
	done := make(chan struct{})
	go func() { // ends when the master is closed (cleanup)
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { <-done })
	return tm
}

func (tm *terminal) typeLine(s string) {
	tm.t.Helper()
	if _, err := tm.m.Write([]byte(s + "\r")); err != nil {
		tm.t.Fatalf("type %q: %v", s, err)
	}
}

// expect waits for want in what the console printed since the last expect, and returns that text.
func (tm *terminal) expect(want string) string {
	tm.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		tm.mu.Lock()
		all := tm.out.String()
		tm.mu.Unlock()
		if i := strings.Index(all[tm.mark:], want); i >= 0 {
			seen := all[tm.mark : tm.mark+i+len(want)]
			tm.mark += i + len(want)
			return seen
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the console never printed %q; it printed:\n%s", want, all[tm.mark:])
		}
		time.Sleep(5 * time.Millisecond) // polling the screen, not synchronising on time
	}
}

// TestConsoleOnPTY is a technician's session on the real console over a pseudo-terminal, against
// the App running on a simulated CRAH: login, forced password change, live view, a manual fan
// that reaches the unit's register, a configuration commit that reaches the engine.
func TestConsoleOnPTY(t *testing.T) {
	// No timing in here (every step awaits the console's output with a generous deadline), so it
	// runs with -short too: about 1 s on the host, 2-3 s under qemu-arm.
	// Cleanups run last-in first-out: the App stops (startRig's), then the pty closes, then the
	// terminal's reader ends.
	slave, tm := consolePTY(t)
	r := startRig(t, func(o *Options) { o.Console = slave })

	tm.expect("login: ")
	tm.typeLine("admin")
	tm.expect("Password: ")
	tm.typeLine("coldaisle")
	tm.expect("must be changed")
	tm.expect("New password: ")
	tm.typeLine("n3w-secret")
	tm.expect("Retype new password: ")
	tm.typeLine("n3w-secret")
	tm.expect("password changed")
	tm.expect("configuration version 1")
	tm.expect("admin@test-room> ")

	tm.typeLine("show units")
	out := tm.expect("admin@test-room> ")
	if !strings.Contains(out, "crah-1") || !strings.Contains(out, "bms") {
		t.Fatalf("show units:\n%s", out)
	}

	tm.typeLine("loop crah-1 manual 60")
	tm.expect("fan held at 60%")
	waitFor(t, 10*time.Second, "the unit's fan command register at 600", func() bool { return holding(r.crah, ahusim.CRAHFanCmd) == 600 })
	tm.typeLine("loop crah-1 auto")
	tm.expect("loop crah-1: automatic")
	if st := r.a.eng.State().Units["crah-1"]; st.Manual {
		t.Fatal("the engine still holds crah-1 in manual")
	}

	tm.typeLine("configure")
	tm.expect("editing a candidate copy of version 1")
	tm.expect("admin@test-room# ")
	tm.typeLine("set control setpoint_c 2x4")
	tm.expect("admin@test-room# ")
	tm.typeLine("set contrl setpoint_c 24")
	tm.expect("admin@test-room# ")
	tm.typeLine("show diff")
	if out := tm.expect("admin@test-room# "); !strings.Contains(out, "no changes") {
		t.Fatalf("typos changed the candidate:\n%s", out)
	}
	tm.typeLine("set control setpoint_c 24")
	tm.expect("admin@test-room# ")
	tm.typeLine("set zone z1 setpoint_c 24")
	tm.expect("admin@test-room# ")
	tm.typeLine("commit")
	tm.expect("commit: version 2 committed and applied")
	tm.typeLine("exit")
	tm.expect("admin@test-room> ")
	tm.typeLine("show log 30")
	out = tm.expect("admin@test-room> ")
	for _, w := range []string{"login", "password", "loop", "commit"} {
		if !strings.Contains(out, w) {
			t.Errorf("show log lacks %q:\n%s", w, out)
		}
	}
	tm.typeLine("exit")
	tm.expect("logged out")
	tm.expect("login: ")

	cv, err := r.a.db.ConfigVersionN(2)
	if err != nil || cv.Who != "admin" {
		t.Fatalf("stored version 2: who %q, %v", cv.Who, err)
	}
	if _, err := r.a.db.ConfigVersionN(3); err == nil {
		t.Fatal("more versions than commits")
	}
	if sp := r.a.eng.Config().Control.SetpointC; sp != 24 {
		t.Fatalf("engine control.setpoint_c %g", sp)
	}
	if sp := r.a.eng.Snapshot().Zones[0].SetpointC; sp != 24 {
		t.Fatalf("engine zone setpoint %g", sp)
	}
	if os.Getenv("DUMP_TRANSCRIPT") != "" {
		tm.mu.Lock()
		t.Logf("transcript:\n%s", tm.out.String())
		tm.mu.Unlock()
	}
	u, err := r.a.db.User("admin")
	if err != nil || u.MustChange || !strings.HasPrefix(string(u.Hash), "$argon2id$") {
		t.Fatalf("admin after the forced change: %+v %v", u, err)
	}
}
