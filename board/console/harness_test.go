package console_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/console/consoletest"
	"github.com/coldaisle/coldaisle/control/site"
)

// cheapKDF keeps logins fast in tests; TestDefaultKDF checks the real cost.
var cheapKDF = console.KDFParams{MemoryKiB: 64, Time: 1, Threads: 1}

var start = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

// openPTY opens a pseudo-terminal pair: the console serves the slave (like the board's serial
// port) and the test types into the master (like picocom on the technician's laptop).
func openPTY() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	rc, err := m.SyscallConn()
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr == nil {
			n, ierr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
		}
	}); err != nil || ierr != nil {
		m.Close()
		return nil, nil, fmt.Errorf("pty: %v %v", err, ierr)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}

// screen is a tiny VT100 emulator: enough of x/term's output (cursor moves, erase to end of line,
// wrap at 80, clear screen) to show what a technician sees, scrollback included.
type screen struct {
	cols      int // 80 unless set
	lines     [][]rune
	row, col  int
	base      int // first row of the current page (after a clear screen)
	esc       []byte
	pendingUT []byte
}

func (s *screen) line() []rune {
	for len(s.lines) <= s.row {
		s.lines = append(s.lines, nil)
	}
	return s.lines[s.row]
}

func (s *screen) width() int {
	if s.cols > 0 {
		return s.cols
	}
	return 80
}

func (s *screen) put(r rune) {
	if s.col >= s.width() {
		s.row++
		s.col = 0
	}
	l := s.line()
	for len(l) <= s.col {
		l = append(l, ' ')
	}
	l[s.col] = r
	s.lines[s.row] = l
	s.col++
}

func (s *screen) write(b []byte) {
	b = append(s.pendingUT, b...)
	s.pendingUT = nil
	for len(b) > 0 {
		if s.esc != nil {
			s.esc = append(s.esc, b[0])
			b = b[1:]
			c := s.esc[len(s.esc)-1]
			if len(s.esc) == 2 && c != '[' {
				s.esc = nil
				continue
			}
			if len(s.esc) > 2 && (c >= 0x40 && c <= 0x7e) {
				s.csi(string(s.esc[2:len(s.esc)-1]), c)
				s.esc = nil
			}
			continue
		}
		switch b[0] {
		case 0x1b:
			s.esc = []byte{0x1b}
			b = b[1:]
			continue
		case '\r':
			s.col = 0
		case '\n':
			s.row++
			s.line()
		case '\b':
			if s.col > 0 {
				s.col--
			}
		case 0x07:
		default:
			if b[0] < 0x20 {
				break
			}
			if !utf8.FullRune(b) {
				s.pendingUT = append([]byte(nil), b...)
				return
			}
			r, n := utf8.DecodeRune(b)
			s.put(r)
			b = b[n:]
			continue
		}
		b = b[1:]
	}
}

func (s *screen) csi(args string, cmd byte) {
	n := 1
	if v, err := strconv.Atoi(args); err == nil && v > 0 {
		n = v
	}
	switch cmd {
	case 'A':
		s.row = max(s.base, s.row-n)
	case 'B':
		s.row += n
	case 'C':
		s.col = min(s.width()-1, s.col+n)
	case 'D':
		s.col = max(0, s.col-n)
	case 'K':
		l := s.line()
		if s.col < len(l) {
			s.lines[s.row] = l[:s.col]
		}
	case 'H':
		s.row, s.col = s.base, 0
	case 'J':
		if args == "2" {
			s.base = len(s.lines)
			if s.row >= s.base {
				s.base = s.row
			}
		}
	}
}

func (s *screen) text() string {
	var out []string
	for _, l := range s.lines {
		out = append(out, strings.TrimRight(string(l), " "))
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}

// currentLine is the line the cursor is on (the prompt and what is typed).
func (s *screen) currentLine() string {
	if s.row >= len(s.lines) {
		return ""
	}
	// Up to the cursor at least: a completed word ends in a space the cursor sits after.
	l := []rune(strings.TrimRight(string(s.lines[s.row]), " "))
	for len(l) < s.col {
		l = append(l, ' ')
	}
	return string(l)
}

// tech is a technician at a terminal program.
type tech struct {
	t      *testing.T
	kb     io.Writer
	clk    *consoletest.Clock
	b      *consoletest.Backend
	pair   *consoletest.Pair // nil: the board runs alone
	con    *console.Console
	wire   string
	done   chan error
	cancel context.CancelFunc

	mu    sync.Mutex
	raw   []byte          // every byte the console wrote
	plain strings.Builder // output without escape sequences and CRs, for Expect
	scr   screen
	seen  int
	escSt int
}

type setup struct {
	opts      console.Options
	cfg       *site.Config
	password  string // "" = the factory account (first login forces a change)
	realClock bool   // the console runs on SystemClock instead of the fake
	cols      int    // the pty's size in columns (TIOCSWINSZ); 0 leaves it unset (0x0, as a serial line)
	configure func(b *consoletest.Backend)
	pair      *consoletest.Pair // the backend runs in a 2N pair (consoletest.PairBackend)
}

func smallSite(t testing.TB) *site.Config {
	t.Helper()
	c, err := site.Load("../../control/site/testdata/small.toml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newTech starts a console on a pty (a net.Pipe under -short) and a technician at the other end.
func newTech(t *testing.T, st setup) *tech {
	t.Helper()
	clk := consoletest.NewClock(start)
	if st.cfg == nil {
		st.cfg = smallSite(t)
	}
	b := consoletest.NewBackend(st.cfg, clk)
	if st.configure != nil {
		st.configure(b)
	}
	if st.password != "" {
		h, err := console.HashPassword(st.password, cheapKDF)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.SaveUser(context.Background(), console.User{Name: "admin", Hash: h}); err != nil {
			t.Fatal(err)
		}
	}
	if !st.realClock {
		st.opts.Clock = clk
	}
	if st.opts.KDF == (console.KDFParams{}) {
		st.opts.KDF = cheapKDF
	}
	var be console.Backend = b
	if st.pair != nil {
		be = consoletest.PairBackend{Backend: b, Pair: st.pair}
	}
	con := console.New(be, st.opts)
	var server, client io.ReadWriteCloser
	wire := "net.Pipe"
	if !testing.Short() {
		m, s, err := openPTY()
		if err != nil {
			t.Logf("no pty (%v): using net.Pipe", err)
		} else {
			server, client, wire = s, m, "pty"
			if st.cols > 0 {
				setPTYSize(t, m, st.cols, 40)
			}
		}
	}
	if server == nil {
		a, c := net.Pipe()
		server, client = a, c
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &tech{t: t, kb: client, clk: clk, b: b, pair: st.pair, con: con, wire: wire, done: make(chan error, 1), cancel: cancel}
	h.scr.cols = st.cols
	go func() { h.done <- con.Serve(ctx, server) }()
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 4096)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				h.feed(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-h.done:
			if err != nil && err != context.Canceled {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not stop with its context")
		}
		server.Close()
		client.Close()
		<-readerDone
	})
	return h
}

func (h *tech) feed(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.raw = append(h.raw, b...)
	h.scr.write(b)
	for _, c := range b {
		switch h.escSt {
		case 1:
			if c == '[' {
				h.escSt = 2
			} else {
				h.escSt = 0
			}
			continue
		case 2:
			if c >= 0x40 && c <= 0x7e {
				h.escSt = 0
			}
			continue
		}
		switch c {
		case 0x1b:
			h.escSt = 1
		case '\r', 0x07:
		default:
			h.plain.WriteByte(c)
		}
	}
}

// Type sends keys.
func (h *tech) Type(keys string) {
	h.t.Helper()
	if _, err := io.WriteString(h.kb, keys); err != nil {
		h.t.Fatalf("typing %q: %v", keys, err)
	}
}

// Expect waits until want appears in the output after the previous expectation.
func (h *tech) Expect(want string) string {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		out := h.plain.String()
		rest := out[h.seen:]
		if i := strings.Index(rest, want); i >= 0 {
			h.seen += i + len(want)
			h.mu.Unlock()
			return rest[:i+len(want)]
		}
		h.mu.Unlock()
		if time.Now().After(deadline) {
			h.t.Fatalf("waited 10s for %q; output since the last expectation:\n%s", want, rest)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Run types a command line and returns its output up to the next prompt.
func (h *tech) Run(line, prompt string) string {
	h.t.Helper()
	h.Type(line + "\r")
	out := h.Expect(prompt)
	// Drop the echoed line itself.
	if i := strings.Index(out, "\n"); i >= 0 {
		out = out[i+1:]
	}
	return strings.TrimSuffix(out, prompt)
}

// Raw is every byte the console wrote, escape sequences included.
func (h *tech) Raw() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.raw)
}

// setPTYSize gives the pty a window size, as a terminal program does on the technician's laptop.
func setPTYSize(t *testing.T, master *os.File, cols, rows int) {
	t.Helper()
	rc, err := master.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(cols), Row: uint16(rows)})
	}); err != nil || ierr != nil {
		t.Fatalf("pty size: %v %v", err, ierr)
	}
}

// Screen is what the terminal shows, scrollback included.
func (h *tech) Screen() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.scr.text()
}

// Line is the terminal's current line.
func (h *tech) Line() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.scr.currentLine()
}

// WaitLine waits until the current line of the screen is want (after a Tab, a redraw); later
// expectations start after it.
func (h *tech) WaitLine(want string) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.Line() != want {
		if time.Now().After(deadline) {
			h.t.Fatalf("current line is %q, want %q", h.Line(), want)
		}
		time.Sleep(2 * time.Millisecond)
	}
	h.skip()
}

func (h *tech) skip() {
	h.mu.Lock()
	h.seen = h.plain.Len()
	h.mu.Unlock()
}

// Ask types keys that print above the line being typed (? or a Tab with several choices) and
// waits until the screen shows every want and the line is back to line; it returns the screen
// from the row where the keys were typed.
func (h *tech) Ask(keys, line string, wants ...string) string {
	h.t.Helper()
	h.mu.Lock()
	mark := h.scr.row
	h.mu.Unlock()
	h.Type(keys)
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		rows := strings.Split(h.scr.text(), "\n")
		cur := h.scr.currentLine()
		h.mu.Unlock()
		got := strings.Join(rows[min(mark, len(rows)):], "\n")
		ok := cur == line
		for _, w := range wants {
			ok = ok && strings.Contains(got, w)
		}
		if ok {
			h.skip()
			return got
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("after typing %q: line %q (want %q); screen:\n%s\nwant all of %q", keys, cur, line, got, wants)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

const (
	opPrompt  = "admin@crah-room-1> "
	cfgPrompt = "admin@crah-room-1# "
)

// login logs in as admin with a password that needs no change.
func (h *tech) login(pw string) {
	h.t.Helper()
	h.Expect("login: ")
	h.Type("admin\r")
	h.Expect("Password: ")
	h.Type(pw + "\r")
	h.Expect(opPrompt)
}

// eventually polls cond until it holds (for effects of asynchronous work).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
