package mesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Client. Zero fields take the defaults.
type Options struct {
	// UnackData, RetryInterval, MaxRetries, KeepAlive: see SessionConfig.
	UnackData     bool
	RetryInterval time.Duration
	MaxRetries    int
	KeepAlive     time.Duration

	// ReopenMin and ReopenMax bound the back-off between attempts to (re)open the port
	// (defaults 100 ms and 5 s; doubling after each failure).
	ReopenMin, ReopenMax time.Duration

	// Clock drives every timer (default SystemClock).
	Clock Clock

	// Logf, if set, is told about port failures and reopen attempts.
	Logf func(format string, args ...any)
}

// Client is the controller side of the mesh gateway link over a port it opens itself (and
// reopens when it fails). One goroutine (Run's) owns the session; a second one, owned by Run,
// reads the port.
type Client struct {
	open    func() (io.ReadWriteCloser, error)
	opts    Options
	cnt     Counters
	running atomic.Bool
	up      atomic.Bool
}

// ErrRunning is returned by Run when the Client is already running.
var ErrRunning = errors.New("mesh: client already running")

// NewClient returns a Client that gets its port from open. Close on the port must unblock a
// pending Read (true of serialport ports, *os.File with a poller, and net.Conn).
func NewClient(open func() (io.ReadWriteCloser, error), opts Options) *Client {
	if opts.ReopenMin <= 0 {
		opts.ReopenMin = 100 * time.Millisecond
	}
	if opts.ReopenMax < opts.ReopenMin {
		opts.ReopenMax = max(5*time.Second, opts.ReopenMin)
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	return &Client{open: open, opts: opts}
}

// Counters returns a snapshot of every counter by name. Safe to call at any time.
func (c *Client) Counters() map[string]uint64 { return c.cnt.Snapshot() }

// Up reports whether a session is subscribed right now.
func (c *Client) Up() bool { return c.up.Load() }

func (c *Client) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf(format, args...)
	}
}

// Run opens the port, runs sessions and passes each reading to deliver (on Run's goroutine,
// so deliver should be quick). A port that fails is closed and reopened; an open that fails
// is retried with back-off. Run returns ctx.Err() when ctx ends.
func (c *Client) Run(ctx context.Context, deliver func(Reading)) error {
	if !c.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer c.running.Store(false)
	defer c.up.Store(false)

	var backoff time.Duration // 0: open at once
	for {
		if backoff > 0 {
			if err := c.sleep(ctx, backoff); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		port, err := c.open()
		if err == nil && port == nil {
			err = errors.New("mesh: open returned no port")
		}
		if err != nil {
			c.cnt.Add(CountOpenFailures)
			backoff = c.nextBackoff(backoff)
			c.logf("mesh: open port: %v (retry in %v)", err, backoff)
			continue
		}
		c.cnt.Add(CountPortOpens)
		wasUp, err := c.serve(ctx, port, deliver)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		c.cnt.Add(CountPortErrors)
		if wasUp {
			backoff = c.opts.ReopenMin
		} else {
			backoff = c.nextBackoff(backoff)
		}
		c.logf("mesh: port failed: %v (reopen in %v)", err, backoff)
	}
}

func (c *Client) nextBackoff(b time.Duration) time.Duration {
	if b <= 0 {
		return c.opts.ReopenMin
	}
	return min(2*b, c.opts.ReopenMax)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	t := c.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

const (
	readBufSize = 512
	readBufs    = 4
	// maxEmptyReads turns a reader stuck returning (0, nil) into an error instead of a spin.
	maxEmptyReads = 100
)

// serve runs sessions on one open port until the port fails or ctx ends; it closes the port
// and waits for its reader before returning. wasUp reports whether a session got subscribed.
func (c *Client) serve(ctx context.Context, port io.ReadWriteCloser, deliver func(Reading)) (wasUp bool, err error) {
	clock := c.opts.Clock
	sess := NewSession(SessionConfig{
		RetryInterval: c.opts.RetryInterval,
		MaxRetries:    c.opts.MaxRetries,
		KeepAlive:     c.opts.KeepAlive,
		UnackData:     c.opts.UnackData,
	}, &c.cnt, deliver)

	free := make(chan []byte, readBufs)
	for range readBufs {
		free <- make([]byte, readBufSize)
	}
	data := make(chan []byte)
	rerr := make(chan error, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.reader(port, free, data, rerr, stop)
	}()
	var closeOnce sync.Once
	closePort := func() { closeOnce.Do(func() { port.Close() }) }
	defer func() {
		close(stop)
		closePort() // unblocks the reader's Read
		wg.Wait()
		c.up.Store(false)
	}()

	var werr error
	write := func(b []byte) {
		if werr != nil || len(b) == 0 {
			return
		}
		if _, err := port.Write(b); err != nil {
			werr = fmt.Errorf("mesh: write: %w", err)
		}
	}
	var now time.Time
	df := NewDeframer(func(frame []byte) { write(sess.Step(frame, now)) }, c.cnt.Add)

	timer := clock.NewTimer(time.Hour)
	defer timer.Stop()
	arm := func() {
		if sess.Up() {
			wasUp = true
		}
		c.up.Store(sess.Up())
		d := sess.Deadline()
		if d.IsZero() {
			timer.Reset(time.Hour)
			return
		}
		timer.Reset(max(0, d.Sub(clock.Now())))
	}

	write(sess.Start(clock.Now()))
	arm()
	for werr == nil {
		select {
		case <-ctx.Done():
			return wasUp, ctx.Err()
		case buf := <-data:
			now = clock.Now()
			df.Feed(buf)
			free <- buf
		case err := <-rerr:
			return wasUp, err
		case <-timer.C():
			write(sess.Tick(clock.Now()))
		}
		arm()
	}
	return wasUp, werr
}

// reader reads the port into free buffers and hands them over on data until the port fails
// (error on rerr) or stop is closed. Read timeouts are not failures.
func (c *Client) reader(port io.Reader, free chan []byte, data chan<- []byte, rerr chan<- error, stop <-chan struct{}) {
	empty := 0
	for {
		var buf []byte
		select {
		case buf = <-free:
		case <-stop:
			return
		}
		n, err := port.Read(buf[:cap(buf)])
		if n > 0 {
			empty = 0
			select {
			case data <- buf[:n]:
			case <-stop:
				return
			}
		} else {
			free <- buf
		}
		if err != nil {
			if isTimeout(err) {
				continue
			}
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("mesh: read: port closed by the other end: %w", err)
			} else {
				err = fmt.Errorf("mesh: read: %w", err)
			}
			select {
			case rerr <- err:
			case <-stop:
			}
			return
		}
		if n == 0 {
			if empty++; empty >= maxEmptyReads {
				select {
				case rerr <- fmt.Errorf("mesh: read: %w", io.ErrNoProgress):
				case <-stop:
				}
				return
			}
		}
	}
}

// isTimeout recognises read timeouts (serialport.ErrTimeout, os.ErrDeadlineExceeded) without
// importing the port's package.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
