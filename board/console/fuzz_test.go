package console_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/console/consoletest"
)

// script is a line that types a fixed text, then reaches end of file.
type script struct {
	r  io.Reader
	mu sync.Mutex
	w  bytes.Buffer
}

func (s *script) Read(p []byte) (int, error) { return s.r.Read(p) }
func (s *script) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// FuzzCommandLine types an arbitrary line (any bytes: control keys, ?, Tab, quotes) in
// operational and in configuration mode, through the whole stack (x/term, completion, the parser,
// the commands, site paths). Nothing may panic or hang, and a session always ends cleanly.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{
		"show status", "sh sen", "loop crah-1 manual 60", "loop crah-1 manual 1e400", "loop crah-9 auto",
		"tune crah-1 valve", "test unit crah-2", "watch sensors", "reboot", "show log 99999999999999999999",
		"modbus read crah-1 --table input --addr 6 --count 2 --type float32 --order DCBA --scale -0.1",
		"modbus read --unit 0 --target tcp://x", "modbus read crah-1 --count", "modbus read -- --",
		"set unit crah-1 min_fan_pct 35", "set unit.crah-1.fan_tuning.kp 3", "set unit crah-3 line bms",
		"set zone row-a sensors add 00-17-0d-00-00-38-0a-21/4", "delete zone row-a influence crah-1",
		"set line bms target \"rtu:///dev/ttyS1?baud=19200\"", "set site \"unterminated", "commit confirmed 1",
		"commit check", "rollback 1", "rollback 0", "delete unit", "set unit.", "set ..", "show diff", "run show units",
		"?", "show ?", "set unit crah-1 ?", "set unit.crah-1.min_f\t", "lo\t", "\x16?", "\x03", "\x04",
		"\x1b[A\x1b[B\x1b[D\x1b[C", "\x1b[3~", "\x17\x15\x0b", "exit", "logout", "password", "help",
		"set zone row-a influence \"\" 0.5", "set unit crah-1 name \"\"", "délète ünit", strings.Repeat("a ", 300),
	} {
		f.Add(s)
	}
	cfg := smallSite(f)
	hash, err := console.HashPassword(pw, cheapKDF)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		clk := consoletest.NewClock(start)
		b := consoletest.NewBackend(cfg, clk)
		if err := b.SaveUser(context.Background(), console.User{Name: "admin", Hash: hash}); err != nil {
			t.Fatal(err)
		}
		con := console.New(b, console.Options{Clock: clk, KDF: cheapKDF})
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
