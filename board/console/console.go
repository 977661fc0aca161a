package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/coldaisle/coldaisle/control/site"
)

// The factory account: its first login forces a new password.
const (
	FactoryUser     = "admin"
	FactoryPassword = "coldaisle"
)

// Options tune a Console; zero values take the defaults.
type Options struct {
	Clock          Clock         // default SystemClock
	IdleTimeout    time.Duration // a session with no key for this long logs out; default 15m, < 0 never
	MaxFailures    int           // failed logins in a row that lock the console; default 3
	LockoutFor     time.Duration // default 30s
	MinPasswordLen int           // default 8
	KDF            KDFParams     // password hashing cost; default DefaultKDF
	WatchEvery     time.Duration // refresh period of watch sensors, units and loops; default 2s
}

func (o *Options) fill() {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 15 * time.Minute
	}
	if o.IdleTimeout < 0 {
		o.IdleTimeout = 0
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 3
	}
	if o.LockoutFor <= 0 {
		o.LockoutFor = 30 * time.Second
	}
	if o.MinPasswordLen <= 0 {
		o.MinPasswordLen = 8
	}
	if o.KDF == (KDFParams{}) {
		o.KDF = DefaultKDF
	}
	if o.WatchEvery <= 0 {
		o.WatchEvery = 2 * time.Second
	}
}

// ErrInternal is returned by Serve when it recovered from a panic in a session (a bug); the
// error carries the panic and its stack. The caller logs it and may serve the line again.
var ErrInternal = errors.New("console: internal error")

// Console is the serial console of one controller. One Console may serve several lines at once
// (Serve per line); the login lockout and a pending commit confirmed are shared by all of them.
type Console struct {
	b Backend
	o Options

	dummyOnce sync.Once
	dummy     string // hash checked for unknown users, so they cost the same time as known ones

	mu          sync.Mutex
	failures    int
	lockedUntil time.Time
	pending     *pendingConfirm
	resumeOnce  sync.Once // a stored pending commit is re-armed by the first Serve
	sessions    map[*session]bool
}

// New returns a console over b.
func New(b Backend, o Options) *Console {
	o.fill()
	return &Console{b: b, o: o, sessions: map[*session]bool{}}
}

// Serve runs the console on rw (a serial port, a pseudo-terminal or stdio) until ctx ends or rw
// reaches end of file: login, the session, logout, login again. A terminal file is put in raw mode
// for the duration. It returns ctx.Err() when stopped, nil at end of file.
//
// Reads happen in a goroutine of Serve. When rw has SetReadDeadline (an *os.File of a tty or pty
// does) Serve uses it to stop that goroutine before returning; otherwise the goroutine ends at the
// next Read that returns, so the caller should close rw after Serve. A commit confirmed still
// pending when Serve returns is rolled back at once: the safe side.
func (c *Console) Serve(ctx context.Context, rw io.ReadWriter) error {
	if restore := makeRaw(rw); restore != nil {
		defer restore()
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan chunk)
	pumpDone := make(chan struct{})
	go func() {
		defer close(pumpDone)
		pump(ctx, rw, ch)
	}()
	var timers sync.WaitGroup
	defer func() {
		cancel()
		timers.Wait()
		if d, ok := rw.(interface{ SetReadDeadline(time.Time) error }); ok {
			if d.SetReadDeadline(time.Now()) == nil {
				<-pumpDone
				_ = d.SetReadDeadline(time.Time{})
			}
		}
	}()
	in := &input{ctx: ctx, clk: c.o.Clock, ch: ch}
	c.resumePending(ctx, &timers)
	size := termSize(rw)
	if err := c.ensureFactory(ctx); err != nil {
		fmt.Fprintf(rw, "console: user store: %s\r\n", oneLine(err.Error()))
	}
	for {
		s := &session{c: c, ctx: ctx, in: in, w: rw, timers: &timers, size: size, width: defaultWidth}
		err := runSession(s)
		if err == nil {
			continue
		}
		if errors.Is(err, ErrInternal) {
			fmt.Fprintf(rw, "\r\n%% console: internal error, session closed; control goes on\r\n")
			return err
		}
		if parent.Err() != nil {
			return parent.Err()
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("console: %w", err)
	}
}

// runSession runs one session and turns a panic in it into ErrInternal: the console lives in
// the controller's process, beside the control loop, and a bug in it (or in x/term) must close
// the session, never stop the fans' controller.
func runSession(s *session) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v\n%s", ErrInternal, r, debug.Stack())
		}
	}()
	return s.run()
}

// makeRaw puts a terminal file in raw mode (without Fd, which would make it blocking and break
// SetReadDeadline) and returns the restore function, or nil.
func makeRaw(rw io.ReadWriter) func() {
	sc, ok := rw.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var state *term.State
	_ = raw.Control(func(fd uintptr) {
		if term.IsTerminal(int(fd)) {
			state, _ = term.MakeRaw(int(fd))
		}
	})
	if state == nil {
		return nil
	}
	return func() { _ = raw.Control(func(fd uintptr) { _ = term.Restore(int(fd), state) }) }
}

// termSize returns how to ask rw for its terminal's size (columns, rows): a tty or pty knows it
// (TIOCGWINSZ); anything else, or a serial line that says 0, gives ok false.
func termSize(rw io.ReadWriter) func() (w, h int, ok bool) {
	sc, isConn := rw.(syscall.Conn)
	if !isConn {
		return func() (int, int, bool) { return 0, 0, false }
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return func() (int, int, bool) { return 0, 0, false }
	}
	return func() (int, int, bool) {
		var w, h int
		var gerr error = errors.New("no terminal")
		_ = raw.Control(func(fd uintptr) { w, h, gerr = term.GetSize(int(fd)) })
		return w, h, gerr == nil && w > 0
	}
}

func (c *Console) ensureFactory(ctx context.Context) error {
	names, err := c.b.ListUsers(ctx)
	if err != nil || len(names) > 0 {
		return err
	}
	h, err := HashPassword(FactoryPassword, c.o.KDF)
	if err != nil {
		return err
	}
	return c.b.SaveUser(ctx, User{Name: FactoryUser, Hash: h, MustChange: true})
}

func (c *Console) dummyHash() string {
	c.dummyOnce.Do(func() { c.dummy, _ = HashPassword("not a password", c.o.KDF) })
	return c.dummy
}

// verify checks a login; unknown users cost one hash too, so timing does not tell who exists.
func (c *Console) verify(ctx context.Context, name, pw string) (User, bool, error) {
	u, err := c.b.LookupUser(ctx, name)
	if errors.Is(err, ErrNoUser) {
		CheckPassword(c.dummyHash(), pw)
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, err
	}
	return u, CheckPassword(u.Hash, pw), nil
}

// failed counts a failed login; it returns true when the console is now locked.
func (c *Console) failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures++
	if c.failures < c.o.MaxFailures {
		return false
	}
	c.failures = 0
	c.lockedUntil = c.o.Clock.Now().Add(c.o.LockoutFor)
	return true
}

func (c *Console) succeeded() {
	c.mu.Lock()
	c.failures = 0
	c.mu.Unlock()
}

func (c *Console) lockDeadline() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lockedUntil
}

// notify shows an asynchronous message (an automatic rollback) to every logged-in session at
// once, and queues n (if any) for each session to apply before its next command.
func (c *Console) notify(msg string, n *rollbackNotice) {
	c.mu.Lock()
	var ss []*session
	for s := range c.sessions {
		ss = append(ss, s)
	}
	c.mu.Unlock()
	for _, s := range ss {
		if n != nil {
			s.nmu.Lock()
			s.notices = append(s.notices, *n)
			s.nmu.Unlock()
		}
		s.write(msg)
	}
}

func (c *Console) logEvent(ctx context.Context, e Event) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if e.Time.IsZero() {
		e.Time = c.o.Clock.Now()
	}
	return c.b.LogEvent(ctx, e)
}

// session is one login on one line. Its fields belong to the goroutine running Serve, except
// what the terminal's own lock protects (writes).
type session struct {
	c      *Console
	ctx    context.Context
	in     *input
	w      io.Writer
	timers *sync.WaitGroup
	// term is replaced by the session goroutine (newTerm) and read by the commit-confirmed timer
	// (notify); tmu orders the two. The session goroutine itself reads it without the lock.
	tmu  sync.Mutex
	term *term.Terminal

	nmu     sync.Mutex // notices are queued by the commit-confirmed timer
	notices []rollbackNotice

	size   func() (w, h int, ok bool)
	width  int // columns of the terminal, defaultWidth when it does not say
	height int

	user     User
	cfgMode  bool
	running  *site.Config
	runVer   ConfigVersion
	cand     *site.Config
	candBase int
	literal  bool
}

// history is the terminal's line history, one per login (a new user never sees the last one's).
type history struct{ lines []string }

func (h *history) Add(s string) {
	if strings.TrimSpace(s) == "" || (len(h.lines) > 0 && h.lines[len(h.lines)-1] == s) {
		return
	}
	h.lines = append(h.lines, s)
	if len(h.lines) > 100 {
		h.lines = h.lines[1:]
	}
}
func (h *history) Len() int        { return len(h.lines) }
func (h *history) At(i int) string { return h.lines[len(h.lines)-1-i] }

// newTerm starts a fresh terminal: after an error x/term keeps the half-typed line (a half-typed
// password included), which must never reach the next prompt. The line history is kept unless
// fresh (a login starts with an empty one: no peeking at the last user's commands, nor at the
// name typed at the login prompt).
func (s *session) newTerm(fresh bool) {
	var hist term.History = &history{}
	if s.term != nil && !fresh {
		hist = s.term.History
	}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{s.in, s.w}, "")
	t.History = hist
	if s.width != defaultWidth || s.height != 0 {
		_ = t.SetSize(s.width, max(s.height, 24))
	}
	if s.user.Name != "" {
		t.AutoCompleteCallback = s.onKey
	}
	s.tmu.Lock()
	s.term = t
	s.tmu.Unlock()
}

// resize asks the terminal for its size (before each prompt: a window may have been resized) and
// tells x/term, which wraps the line being typed at that width.
func (s *session) resize() {
	w, h, ok := s.size()
	if !ok {
		w, h = defaultWidth, 0
	}
	w = min(max(w, 20), 1000)
	if w == s.width && h == s.height {
		return
	}
	s.width, s.height = w, h
	s.tmu.Lock()
	t := s.term
	s.tmu.Unlock()
	if t != nil {
		_ = t.SetSize(w, max(h, 24))
	}
}

// write shows text through the terminal, which redraws the prompt and the line being typed.
// terminalText is the last guard: no control character reaches the terminal but a newline.
func (s *session) write(text string) { s.writeControl(terminalText(text)) }

// writeControl writes the console's own terminal sequences (watch clears the screen).
func (s *session) writeControl(text string) {
	s.tmu.Lock()
	t := s.term
	s.tmu.Unlock()
	_, _ = t.Write([]byte(text))
}

// printf formats a message of the console: the format is the console's, and every string or
// error argument is text from outside (a name, an error) shown printable, on one line.
func (s *session) printf(format string, args ...any) {
	for i, a := range args {
		switch v := a.(type) {
		case string:
			args[i] = printable(v)
		case error:
			args[i] = oneLine(v.Error())
		}
	}
	s.write(fmt.Sprintf(format, args...))
}

// raw writes past the terminal (end of a session: the terminal is dropped, nothing to redraw).
func (s *session) raw(text string) {
	_, _ = io.WriteString(s.w, strings.ReplaceAll(terminalText(text), "\n", "\r\n"))
}

func (s *session) logEvent(kind, text string) {
	if err := s.c.logEvent(s.ctx, Event{User: s.user.Name, Kind: kind, Text: text}); err != nil && s.term != nil {
		s.printf("warning: event log: %s\n", oneLine(err.Error()))
	}
}

func (s *session) now() time.Time { return s.c.o.Clock.Now() }

// siteName is the site's name, printable (it is in the prompt: a raw newline there could draw
// a fake prompt line).
func (s *session) siteName() string {
	if s.running != nil && s.running.Site != "" {
		return printable(s.running.Site)
	}
	return "coldaisle"
}

func (s *session) prompt() string {
	if s.cfgMode {
		return printable(s.user.Name) + "@" + s.siteName() + "# "
	}
	return printable(s.user.Name) + "@" + s.siteName() + "> "
}

// refresh reloads the running configuration (unit names, limits) before each command.
func (s *session) refresh() {
	cfg, v, err := s.c.b.RunningConfig(s.ctx)
	if err == nil && cfg != nil {
		s.running, s.runVer = cfg, v
	}
	if s.running == nil {
		s.running = &site.Config{}
	}
}

// run is one login-to-logout cycle. A nil error means "back to the login prompt".
func (s *session) run() error {
	s.resize()
	s.newTerm(true)
	s.refresh()
	u, err := s.login()
	if err != nil {
		return err
	}
	s.user = u
	// The same terminal, so a pasted "password<CR>command<CR>" keeps its command (the terminal
	// has already read it), with a fresh history and completion for the user.
	s.tmu.Lock()
	s.term.History = &history{}
	s.term.AutoCompleteCallback = s.onKey
	s.tmu.Unlock()
	s.in.idle, s.in.last = s.c.o.IdleTimeout, s.now()
	defer func() { s.in.idle = 0 }()
	if u.MustChange {
		if err := s.changePassword(true); err != nil {
			return s.end(err)
		}
	}
	s.refresh()
	st, _ := s.c.b.Status(s.ctx)
	s.printf("coldaisle %s on %s, configuration version %d; ? for help\n", st.Software, s.siteName(), s.runVer.N)
	s.c.mu.Lock()
	s.c.sessions[s] = true
	s.c.mu.Unlock()
	defer func() {
		s.c.mu.Lock()
		delete(s.c.sessions, s)
		s.c.mu.Unlock()
	}()
	for {
		s.resize()
		s.takeNotices()
		s.term.SetPrompt(s.prompt())
		line, err := s.term.ReadLine()
		if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
			return s.end(err)
		}
		if s.exec(line) {
			s.logEvent(EventLogout, "logged out")
			s.write("logged out\n")
			return nil
		}
	}
}

// end closes a session that stopped on err. Only the end of the line (or of Serve) is returned;
// anything else (idle, Ctrl-D, a store that failed to save a password) goes back to the login
// prompt.
func (s *session) end(err error) error {
	s.c.mu.Lock()
	delete(s.c.sessions, s)
	s.c.mu.Unlock()
	if s.in.err != nil || s.ctx.Err() != nil {
		s.logEvent(EventLogout, "line closed")
		return err
	}
	switch {
	case errors.Is(err, errIdle):
		s.raw(fmt.Sprintf("\nidle for %v: logged out\n", s.c.o.IdleTimeout))
		s.logEvent(EventLogout, "idle timeout")
	case errors.Is(err, io.EOF):
		s.raw("\nlogged out\n") // Ctrl-D
		s.logEvent(EventLogout, "logged out (ctrl-d)")
	default:
		s.raw("\n" + oneLine(err.Error()) + "\nlogged out\n")
		s.logEvent(EventLogout, "logged out: "+oneLine(err.Error()))
	}
	return nil
}

func (s *session) login() (User, error) {
	for {
		if err := s.waitLockout(); err != nil {
			return User{}, err
		}
		s.in.idle = 0
		s.term.SetPrompt("login: ")
		name, err := s.term.ReadLine()
		if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
			if s.in.err != nil || s.ctx.Err() != nil {
				return User{}, err
			}
			s.newTerm(false)
			continue
		}
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		s.in.idle, s.in.last = s.c.o.IdleTimeout, s.now()
		pw, err := s.term.ReadPassword("Password: ")
		if err != nil {
			if s.in.err != nil || s.ctx.Err() != nil {
				return User{}, err
			}
			s.raw("\n")
			s.newTerm(false)
			continue
		}
		u, ok, err := s.c.verify(s.ctx, name, pw)
		if err != nil {
			s.printf("login: user store unavailable: %s\n", oneLine(err.Error()))
			continue
		}
		if ok {
			s.c.succeeded()
			s.user = u
			s.logEvent(EventLogin, "login on the console")
			if p, err := HashParams(u.Hash); err == nil && p != s.c.o.KDF {
				if h, err := HashPassword(pw, s.c.o.KDF); err == nil {
					u.Hash = h
					_ = s.c.b.SaveUser(s.ctx, u) // re-hash with the current cost; the old hash still works
				}
			}
			return u, nil
		}
		_ = s.c.logEvent(s.ctx, Event{User: name, Kind: EventLoginFailed, Text: "failed login on the console"})
		s.write("Login incorrect\n")
		if s.c.failed() {
			_ = s.c.logEvent(s.ctx, Event{User: name, Kind: EventLockout,
				Text: fmt.Sprintf("%d failed logins: console locked for %v", s.c.o.MaxFailures, s.c.o.LockoutFor)})
			s.printf("%d failed logins: console locked for %v\n", s.c.o.MaxFailures, s.c.o.LockoutFor)
		}
	}
}

// waitLockout holds the login prompt back while the console is locked; keys are dropped, each
// burst answered with the time left.
func (s *session) waitLockout() error {
	for {
		until := s.c.lockDeadline()
		if !s.now().Before(until) {
			return nil
		}
		t := s.c.o.Clock.TimerAt(until)
		pressed, err := s.in.key(t.C())
		t.Stop()
		if err != nil {
			return err
		}
		if s.in.err != nil {
			return s.in.err
		}
		if pressed {
			left := until.Sub(s.now()).Round(time.Second)
			s.printf("console locked: try again in %v\n", max(left, time.Second))
		}
	}
}

func (s *session) readPassword(prompt string) (string, error) {
	pw, err := s.term.ReadPassword(prompt)
	if err != nil {
		if s.in.err == nil && s.ctx.Err() == nil && !errors.Is(err, errIdle) {
			s.raw("\n")
		}
		s.newTerm(false)
	}
	return pw, err
}

// changePassword sets a new password for the session's user, asked twice. forced is the first
// login of the factory account: there is no way around it but logging out.
func (s *session) changePassword(forced bool) error {
	minLen := s.c.o.MinPasswordLen
	if forced {
		s.printf("The password of %s must be changed before going on (at least %d characters).\n", s.user.Name, minLen)
	} else {
		cur, err := s.readPassword("Current password: ")
		if err != nil {
			return err
		}
		if !CheckPassword(s.user.Hash, cur) {
			return &userError{"password: the current password is wrong; nothing changed"}
		}
	}
	for {
		p1, err := s.readPassword("New password: ")
		if err != nil {
			return err
		}
		switch {
		case utf8.RuneCountInString(p1) < minLen:
			s.printf("password: too short: at least %d characters\n", minLen)
			continue
		case p1 == FactoryPassword || CheckPassword(s.user.Hash, p1):
			s.write("password: must differ from the current and the factory password\n")
			continue
		}
		p2, err := s.readPassword("Retype new password: ")
		if err != nil {
			return err
		}
		if p1 != p2 {
			s.write("password: the two entries differ; try again\n")
			continue
		}
		h, err := HashPassword(p1, s.c.o.KDF)
		if err != nil {
			return err
		}
		u := s.user
		u.Hash, u.MustChange = h, false
		if err := s.c.b.SaveUser(s.ctx, u); err != nil {
			return &userError{"password: not saved: " + oneLine(err.Error())}
		}
		s.user = u
		s.logEvent(EventPassword, "password changed")
		s.write("password changed\n")
		return nil
	}
}

var errLogout = errors.New("logout")

// exec runs one command line; true means log out.
func (s *session) exec(line string) bool {
	toks, open := tokenize(line)
	if open {
		s.printf("%s\n", errOpenQuote)
		return false
	}
	words := texts(toks)
	if len(words) == 0 {
		return false
	}
	s.refresh()
	s.takeNotices()
	n, args, err := s.parse(s.root(), words)
	if err == nil {
		err = n.run(s, args)
	}
	if errors.Is(err, errLogout) {
		return true
	}
	if err != nil {
		s.printf("%s\n", oneLine(err.Error()))
	}
	return false
}

// abortable runs fn until it returns or a key is pressed, which cancels it; it then waits for fn
// (the backend puts the unit back) before returning.
func (s *session) abortable(fn func(ctx context.Context) error) (aborted bool, err error) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	s.in.drain()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	if s.in.err != nil {
		cancel()
		return true, <-done
	}
	select {
	case err := <-done:
		return false, err
	case c := <-s.in.ch:
		if c.err != nil {
			s.in.err = c.err
		}
		s.in.last = s.now()
	case <-s.ctx.Done():
	}
	cancel()
	return true, <-done
}
