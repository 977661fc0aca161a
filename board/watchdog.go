package board

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// wdDevice is the seam between the Watchdog's logic and the kernel's /dev/watchdog (the real
// one is in watchdog_linux.go; tests use a fake).
type wdDevice interface {
	SetTimeout(time.Duration) error  // WDIOC_SETTIMEOUT, whole seconds
	Timeout() (time.Duration, error) // WDIOC_GETTIMEOUT: what the hardware really uses
	KeepAlive() error                // WDIOC_KEEPALIVE
	MagicClose() error               // write 'V' then close: disarms drivers that honour it
	Close() error                    // close without 'V': the watchdog stays armed
}

// WatchdogConfig sets up a Watchdog.
type WatchdogConfig struct {
	// Timeout is the hardware timeout (whole seconds): the board resets this long after the
	// last kick.
	Timeout time.Duration
	// MaxAge is how recent the last completed control period must be for the supervisor to
	// kick: a loop that stalls longer stops the kicks. Typically 3 control periods. It must leave
	// room for the kick interval inside Timeout.
	MaxAge time.Duration
	// KickEvery is the spacing of kicks while the loop is healthy; 0 means Timeout/4.
	KickEvery time.Duration
	// StartupGrace lets the first period take this long after Open before the kicks stop.
	StartupGrace time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Watchdog kicks the hardware watchdog only while the control loop completes its periods on
// time: the loop calls Pet after each period, and Tick (the supervisor, run by Run or by the
// caller) kicks the device only when the last Pet is at most MaxAge old. A stalled loop
// therefore lets the board reset, while a stalled supervisor does too. Close disarms the
// device with the magic 'V' on a clean shutdown. Safe for concurrent use.
type Watchdog struct {
	dev      wdDevice
	timeout  time.Duration
	maxAge   time.Duration
	kickEach time.Duration
	now      func() time.Time

	mu       sync.Mutex
	lastPet  time.Time
	lastKick time.Time
	kicked   bool
	closed   bool
	kicks    uint64
	starved  uint64 // ticks that found the loop too late and did not kick
}

// WatchdogStats counts the supervisor's decisions.
type WatchdogStats struct {
	Kicks   uint64
	Starved uint64 // supervisor ticks that withheld the kick because the loop was late
	Timeout time.Duration
}

func newWatchdog(dev wdDevice, cfg WatchdogConfig) (*Watchdog, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout < time.Second || cfg.Timeout%time.Second != 0 {
		return nil, fmt.Errorf("board: watchdog timeout %v must be a whole number of seconds, at least 1 s: %w", cfg.Timeout, ErrConfig)
	}
	if cfg.KickEvery <= 0 {
		cfg.KickEvery = cfg.Timeout / 4
	}
	if cfg.MaxAge <= 0 {
		return nil, fmt.Errorf("board: watchdog max age %v must be positive: %w", cfg.MaxAge, ErrConfig)
	}
	if cfg.MaxAge+cfg.KickEvery >= cfg.Timeout {
		return nil, fmt.Errorf("board: watchdog max age %v plus kick interval %v must be shorter than the timeout %v, or a healthy loop could still be reset: %w",
			cfg.MaxAge, cfg.KickEvery, cfg.Timeout, ErrConfig)
	}
	if err := dev.SetTimeout(cfg.Timeout); err != nil {
		return nil, fmt.Errorf("board: watchdog: set timeout %v: %w", cfg.Timeout, err)
	}
	got, err := dev.Timeout()
	if err != nil {
		return nil, fmt.Errorf("board: watchdog: read timeout: %w", err)
	}
	if got != cfg.Timeout {
		// Some hardware rounds to what it supports; kick as often as the shorter needs.
		if got < cfg.MaxAge+cfg.KickEvery {
			return nil, fmt.Errorf("board: watchdog: the hardware chose a timeout of %v for the %v asked, too short for max age %v: %w", got, cfg.Timeout, cfg.MaxAge, ErrConfig)
		}
	}
	w := &Watchdog{dev: dev, timeout: got, maxAge: cfg.MaxAge, kickEach: cfg.KickEvery, now: cfg.Now}
	w.lastPet = cfg.Now().Add(cfg.StartupGrace)
	if err := dev.KeepAlive(); err != nil {
		return nil, fmt.Errorf("board: watchdog: first kick: %w", err)
	}
	w.kicked, w.lastKick, w.kicks = true, cfg.Now(), 1
	return w, nil
}

// OpenWatchdog opens the watchdog device at path (arming it) and sets its timeout. Callers that
// may run without one should treat an error wrapping ErrNoDevice as "no watchdog".
func OpenWatchdog(path string, cfg WatchdogConfig) (*Watchdog, error) {
	dev, err := openDevice(path)
	if err != nil {
		return nil, err
	}
	w, err := newWatchdog(dev, cfg)
	if err != nil {
		// Disarm what we armed: a bad configuration must not reset the board.
		dev.MagicClose()
		return nil, err
	}
	return w, nil
}

// Timeout is the hardware timeout in force.
func (w *Watchdog) Timeout() time.Duration { return w.timeout }

// Pet records that a control period completed at periodDone (on the same clock as Now). An
// older time than the last one is ignored.
func (w *Watchdog) Pet(periodDone time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if periodDone.After(w.lastPet) {
		w.lastPet = periodDone
	}
}

// Healthy reports whether the last completed period is recent enough for a kick.
func (w *Watchdog) Healthy() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now().Sub(w.lastPet) <= w.maxAge
}

// Tick is one supervisor step: it kicks the device if the loop is healthy and a kick is due.
// It reports whether it kicked.
func (w *Watchdog) Tick() (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false, ErrClosed
	}
	now := w.now()
	if now.Sub(w.lastPet) > w.maxAge {
		w.starved++
		return false, nil
	}
	if w.kicked && now.Sub(w.lastKick) < w.kickEach {
		return false, nil
	}
	if err := w.dev.KeepAlive(); err != nil {
		return false, fmt.Errorf("board: watchdog kick: %w", err)
	}
	w.kicked, w.lastKick = true, now
	w.kicks++
	return true, nil
}

// Run calls Tick every interval (KickEvery/4, at least 10 ms, when interval <= 0) until ctx
// ends, and returns ctx.Err(). It does not close the watchdog: the owner calls Close on a clean
// shutdown, and a crash leaves it armed, which is the point.
func (w *Watchdog) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = max(w.kickEach/4, 10*time.Millisecond)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if _, err := w.Tick(); err != nil && !errors.Is(err, ErrClosed) {
				// A failing kick will reset the board; nothing better to do than keep trying.
				continue
			}
		}
	}
}

// Stats returns the supervisor's counts.
func (w *Watchdog) Stats() WatchdogStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return WatchdogStats{Kicks: w.kicks, Starved: w.starved, Timeout: w.timeout}
}

// Close disarms the watchdog with the magic close: for a clean shutdown only.
func (w *Watchdog) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.dev.MagicClose(); err != nil {
		return fmt.Errorf("board: watchdog magic close: %w", err)
	}
	return nil
}

// Abandon closes the device without the magic character: the hardware stays armed and resets
// the board after its timeout (use it when giving up on a fatal error).
func (w *Watchdog) Abandon() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return w.dev.Close()
}
