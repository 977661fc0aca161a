package console_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/console/consoletest"
	"github.com/coldaisle/coldaisle/control/site"
)

// script is a line that types a fixed text, then reaches end of file. Each Read returns at most
// one line (through its '\r'), as a technician types: the console starts a fresh terminal after
// login, and text a terminal had already read past its line would go with the old one.
type script struct {
	r  *strings.Reader
	mu sync.Mutex
	w  bytes.Buffer
}

func (s *script) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, err := s.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
		p[n] = c
		n++
		if c == '\r' {
			break
		}
	}
	return n, nil
}
func (s *script) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// adminHash is pw under cheapKDF, hashed once for all the scripted sessions.
var adminHash = sync.OnceValues(func() (string, error) { return console.HashPassword(pw, cheapKDF) })

// adminBackend is a fake backend over cfg whose admin account has the password pw (no forced
// change), for sessions typed by a script.
func adminBackend(t testing.TB, cfg *site.Config, clk *consoletest.Clock) *consoletest.Backend {
	t.Helper()
	hash, err := adminHash()
	if err != nil {
		t.Fatal(err)
	}
	b := consoletest.NewBackend(cfg, clk)
	if err := b.SaveUser(context.Background(), console.User{Name: "admin", Hash: hash}); err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzCommandLine types an arbitrary line (any bytes: control keys, ?, Tab, quotes) in
// operational and in configuration mode, through the whole stack (x/term, completion, the parser,
// the commands, site paths), on a board in a 2N pair whose names from the wire are the line. Nothing may panic or hang, and a session always ends cleanly.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{
		"show status", "sh sen", "loop crah-1 manual 60", "loop crah-1 manual 1e400", "loop crah-9 auto",
		"tune crah-1 valve", "test unit crah-2", "watch sensors", "watch units", "watch loops", "reboot",
		"show trend row-a minutes 5 ascii", "show trend crah-1 ascii minutes 60", "show trend row-a minutes 61", "show log 99999999999999999999",
		"modbus read crah-1 --table input --addr 6 --count 2 --type float32 --order DCBA --scale -0.1",
		"modbus read --unit 0 --target tcp://x", "modbus read crah-1 --count", "modbus read -- --",
		"set unit crah-1 min_fan_pct 35", "set unit.crah-1.fan_tuning.kp 3", "set unit crah-3 line bms",
		"set zone row-a sensors add 00-17-0d-00-00-38-0a-21/4", "delete zone row-a influence crah-1",
		"set line bms target \"rtu:///dev/ttyS1?baud=19200\"", "set site \"unterminated", "commit confirmed 1",
		"commit check", "rollback 1", "rollback 0", "delete unit", "set unit.", "set ..", "show diff", "run show units",
		"?", "show ?", "set unit crah-1 ?", "set unit.crah-1.min_f\t", "lo\t", "\x16?", "\x03", "\x04",
		"\x1b[A\x1b[B\x1b[D\x1b[C", "\x1b[3~", "\x17\x15\x0b", "exit", "logout", "password", "help",
		"show pair", "request switchover", "pair hold active", "pair hold standby", "pair hold off", "pair hold bogus",
		"pair hold ?", "run request switchover", "sh pai", "req sw", "pair hold \x1b[31m",
		"set zone row-a influence \"\" 0.5", "set unit crah-1 name \"\"", "délète ünit", strings.Repeat("a ", 300),
	} {
		f.Add(s)
	}
	cfg := smallSite(f)
	f.Fuzz(func(t *testing.T, line string) {
		clk := consoletest.NewClock(start)
		b := adminBackend(t, cfg, clk)
		// The board runs in a pair whose names from the wire are the fuzzed line itself.
		st := consoletest.ActivePairStatus()
		st.Witness[0].Unit, st.Paths[0].Remote, st.Peer.Software = line, line, line
		st.Alarms = []string{line}
		st.Counters[line] = uint64(len(line))
		con := console.New(consoletest.PairBackend{Backend: b, Pair: consoletest.NewPair(st)}, console.Options{Clock: clk, KDF: cheapKDF})
		in := "admin\r" + pw + "\r" + line + "\r" + "configure\r" + line + "\r" + "exit\r"
		rw := &script{r: strings.NewReader(in)}
		done := make(chan error, 1)
		go func() { done <- con.Serve(context.Background(), rw) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Serve hung on %q; output:\n%s", line, rw.w.String())
		}
	})
}

// unitsPanic is a backend whose Units panics the first time (a bug somewhere below the console).
type unitsPanic struct {
	*consoletest.Backend
	done *atomic.Bool
}

func (b unitsPanic) Units(ctx context.Context) ([]console.UnitStatus, error) {
	if b.done.CompareAndSwap(false, true) {
		panic("units: boom")
	}
	return b.Backend.Units(ctx)
}

// A panic inside a session closes that session with ErrInternal (the stack attached) and a line
// to the technician; it does not unwind through Serve into the controller's process. The line
// can be served again.
func TestServeRecoversFromSessionPanic(t *testing.T) {
	clk := consoletest.NewClock(start)
	b := adminBackend(t, smallSite(t), clk)
	con := console.New(unitsPanic{b, new(atomic.Bool)}, console.Options{Clock: clk, KDF: cheapKDF})
	rw := &script{r: strings.NewReader("admin\r" + pw + "\rshow units\r")}
	err := con.Serve(context.Background(), rw)
	if !errors.Is(err, console.ErrInternal) || !strings.Contains(err.Error(), "units: boom") || !strings.Contains(err.Error(), "goroutine") {
		t.Fatalf("Serve after a panic: %v\n%s", err, rw.w.String())
	}
	if out := rw.w.String(); !strings.Contains(out, "% console: internal error, session closed; control goes on") {
		t.Fatalf("the technician was not told:\n%s", out)
	}
	rw = &script{r: strings.NewReader("admin\r" + pw + "\rshow status\rexit\r")}
	if err := con.Serve(context.Background(), rw); err != nil {
		t.Fatalf("serving again: %v", err)
	}
	if out := rw.w.String(); !strings.Contains(out, "controlling") {
		t.Fatalf("second session:\n%s", out)
	}
}

// paste is a line that delivers its whole text in one read, as a terminal emulator pastes.
type paste struct {
	script
	once bool
}

func (p *paste) Read(b []byte) (int, error) {
	if p.once {
		return 0, io.EOF
	}
	p.once = true
	return p.r.Read(b)
}

// A pasted login, password and commands arrive in one read: the commands after the password
// are run, not dropped with the login prompt's terminal.
func TestPastedLoginKeepsTypeAhead(t *testing.T) {
	clk := consoletest.NewClock(start)
	b := adminBackend(t, smallSite(t), clk)
	con := console.New(b, console.Options{Clock: clk, KDF: cheapKDF})
	rw := &paste{script: script{r: strings.NewReader("admin\r" + pw + "\rshow status\rexit\r")}}
	if err := con.Serve(context.Background(), rw); err != nil {
		t.Fatal(err)
	}
	if out := rw.w.String(); !strings.Contains(out, "controlling") || !strings.Contains(out, "logged out") {
		t.Fatalf("pasted commands after the password were lost:\n%s", out)
	}
}
