package ops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ServerOptions bound the HTTP server. Zero fields take the defaults noted.
type ServerOptions struct {
	Addr string // listen address, e.g. "127.0.0.1:9100"; Serve takes its own listener

	MaxConns          int           // open connections at once; more are closed at accept (64)
	MaxBusy           int           // requests being answered at once; the rest wait, then get 503 (1: a core stays the loop's)
	BusyWait          time.Duration // how long a request waits for its turn (2 s)
	MaxHeaderBytes    int           // request line and headers (8 KiB)
	ReadHeaderTimeout time.Duration // a client that sends no complete header is dropped (5 s)
	ReadTimeout       time.Duration // (10 s)
	WriteTimeout      time.Duration // a client that does not take its answer is dropped (15 s)
	IdleTimeout       time.Duration // keep-alive connections (60 s)
	ShutdownTimeout   time.Duration // Serve's graceful shutdown before it closes what is left (5 s)
	Refresh           time.Duration // the status page's self-refresh (5 s)

	// Now is the clock for "how old" figures on the page (time.Now); for tests.
	Now func() time.Time
}

func (o ServerOptions) withDefaults() ServerOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 64
	}
	if o.MaxBusy <= 0 {
		o.MaxBusy = 1
	}
	def(&o.BusyWait, 2*time.Second)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 8 << 10
	}
	def(&o.ReadHeaderTimeout, 5*time.Second)
	def(&o.ReadTimeout, 10*time.Second)
	def(&o.WriteTimeout, 15*time.Second)
	def(&o.IdleTimeout, 60*time.Second)
	def(&o.ShutdownTimeout, 5*time.Second)
	def(&o.Refresh, 5*time.Second)
	if o.Refresh < time.Second {
		o.Refresh = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Server serves /metrics, /api/status, /api/trend and the status page / from a Publisher. It only
// reads published Views.
type Server struct {
	p       *Publisher
	o       ServerOptions
	handler http.Handler
	page    *page
	busy    chan struct{} // a slot per request being answered

	refused atomic.Uint64 // connections closed at accept for being over MaxConns
}

// NewServer builds a server on p.
func NewServer(p *Publisher, o ServerOptions) *Server {
	o = o.withDefaults()
	s := &Server{p: p, o: o, page: newPage(o.Refresh), busy: make(chan struct{}, o.MaxBusy)}

	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(p, o.Now))
	reg.MustRegister(collectors.NewGoCollector())
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError, // one bad series must not hide the rest
	})

	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.HandleFunc("/api/status", s.serveStatus)
	mux.HandleFunc("/api/trend", s.serveTrend)
	mux.HandleFunc("/{$}", s.servePage)
	s.handler = guard(s.turn(mux))
	return s
}

// Handler is the server's handler with its method, body and header rules, for tests and for
// mounting behind another server.
func (s *Server) Handler() http.Handler { return s.handler }

// Refused is how many connections were closed at accept for being over MaxConns.
func (s *Server) Refused() uint64 { return s.refused.Load() }

// Serve serves on ln until ctx ends, then shuts down gracefully within ShutdownTimeout and closes
// whatever is left. It returns nil when stopped by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Addr:              s.o.Addr,
		Handler:           s.handler,
		MaxHeaderBytes:    s.o.MaxHeaderBytes,
		ReadHeaderTimeout: s.o.ReadHeaderTimeout,
		ReadTimeout:       s.o.ReadTimeout,
		WriteTimeout:      s.o.WriteTimeout,
		IdleTimeout:       s.o.IdleTimeout,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	lim := &limitListener{Listener: ln, max: int64(s.o.MaxConns), refused: &s.refused}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(lim) }()
	select {
	case err := <-errc:
		return fmt.Errorf("ops: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		_ = hs.Close() // the stragglers go now
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("ops: serve: %w", serr)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("ops: shutdown: %w", err)
	}
	return nil
}

// guard enforces the rules every request meets before any handler: GET and HEAD only, no body,
// and the security headers.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store") // everything here is live data
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Content-Security-Policy", cspStrict) // the page replaces it with its own
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "ops: read-only: only GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
			h.Set("Connection", "close") // the unread body would poison the connection
			http.Error(w, "ops: a request body is not accepted", http.StatusRequestEntityTooLarge)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// turn answers a request only when one of MaxBusy slots is free. Answers cost CPU (a scrape of a
// big hall, a page render), and the control loop shares the board's cores with them: with a
// hundred clients at once, a hundred runnable goroutines would make the loop's own goroutine
// wait its turn in the scheduler. Waiting requests are parked, not runnable. The answer is built
// in memory inside the slot and sent after it, so a client that reads slowly holds only its own
// connection (until WriteTimeout), never a slot.
func (s *Server) turn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.busy <- struct{}{}:
		default:
			t := time.NewTimer(s.o.BusyWait)
			defer t.Stop()
			select {
			case s.busy <- struct{}{}:
			case <-t.C:
				w.Header().Set("Retry-After", "5")
				http.Error(w, "ops: busy, try again", http.StatusServiceUnavailable)
				return
			case <-r.Context().Done():
				return
			}
		}
		bw := &bufferedWriter{header: w.Header(), code: http.StatusOK}
		func() {
			defer func() { <-s.busy }()
			next.ServeHTTP(bw, r)
		}()
		w.WriteHeader(bw.code)
		_, _ = w.Write(bw.body.Bytes())
	})
}

// bufferedWriter holds an answer in memory. It shares the real writer's header map, which nothing
// sends before WriteHeader.
type bufferedWriter struct {
	header http.Header
	code   int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if !b.wrote {
		b.code, b.wrote = code, true
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

// cspStrict is the policy for everything but the page: nothing may load or run.
const cspStrict = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	v := s.p.Latest()
	if v == nil {
		writeJSON(w, r, http.StatusServiceUnavailable, map[string]string{"error": "ops: no view published yet"})
		return
	}
	writeJSON(w, r, http.StatusOK, statusJSON(v))
}

func (s *Server) serveTrend(w http.ResponseWriter, r *http.Request) {
	minutes, err := trendMinutes(r)
	if err != nil {
		writeJSON(w, r, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, r, http.StatusOK, trendJSON(minutes, s.p.Trend(s.trendSince(minutes))))
}

// trendSince counts back from the latest View's time, not the wall clock: the trend is stamped
// with View times, and a board's clock may be off.
func (s *Server) trendSince(minutes int) time.Time {
	end := s.o.Now()
	if v := s.p.Latest(); v != nil && !v.Time.IsZero() {
		end = v.Time
	}
	return end.Add(-time.Duration(minutes) * time.Minute)
}

func errorf(format string, a ...any) error { return fmt.Errorf("ops: "+format, a...) }

// limitListener caps open connections: over the cap a connection is accepted and closed at once,
// so the kernel's backlog never fills with clients waiting for a slot.
type limitListener struct {
	net.Listener
	max     int64
	open    atomic.Int64
	refused *atomic.Uint64
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			l.refused.Add(1)
			// Reset rather than FIN: the client sees the refusal at once, and no TIME_WAIT.
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			continue
		}
		return &limitConn{Conn: c, l: l}, nil
	}
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}
