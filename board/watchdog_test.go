package board

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDevice is the watchdog seam's test double: it records the ioctls and, like the hardware,
// knows when it would have reset the board.
type fakeDevice struct {
	mu        sync.Mutex
	clk       *fakeClock
	timeout   time.Duration
	round     time.Duration // what the hardware really applies, 0 = as asked
	lastKick  time.Time
	kicks     int
	magic     bool
	closed    bool
	failKicks bool
}

func (d *fakeDevice) SetTimeout(t time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.timeout = t
	if d.round != 0 {
		d.timeout = d.round
	}
	return nil
}

func (d *fakeDevice) Timeout() (time.Duration, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.timeout, nil
}

func (d *fakeDevice) KeepAlive() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failKicks {
		return errors.New("EIO")
	}
	d.kicks++
	d.lastKick = d.clk.Now()
	return nil
}

func (d *fakeDevice) MagicClose() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.magic, d.closed = true, true
	return nil
}

func (d *fakeDevice) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// expired reports whether the hardware would have reset the board by now.
func (d *fakeDevice) expired() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.magic && d.clk.Now().Sub(d.lastKick) > d.timeout
}

func TestWatchdogKicksOnlyWhileTheLoopRuns(t *testing.T) {
	clk := newClock()
	dev := &fakeDevice{clk: clk}
	w, err := newWatchdog(dev, WatchdogConfig{Timeout: 10 * time.Second, MaxAge: 3 * time.Second, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if dev.timeout != 10*time.Second || dev.kicks != 1 {
		t.Fatalf("device timeout %v, kicks %d after open", dev.timeout, dev.kicks)
	}
	// A healthy loop (period 1 s) for a minute, supervisor ticking every 100 ms.
	for i := range 600 {
		clk.Advance(100 * time.Millisecond)
		if i%10 == 0 {
			w.Pet(clk.Now())
		}
		if _, err := w.Tick(); err != nil {
			t.Fatal(err)
		}
		if dev.expired() {
			t.Fatalf("the board would reset at %d ms with a healthy loop", i*100)
		}
	}
	// Kicks are spaced at Timeout/4, not at every tick.
	if dev.kicks < 20 || dev.kicks > 26 {
		t.Fatalf("%d kicks in 60 s at a 2.5 s spacing", dev.kicks)
	}
	// The loop stalls: no more kicks after MaxAge, and the hardware expires.
	stall := clk.Now()
	for !dev.expired() {
		clk.Advance(100 * time.Millisecond)
		w.Tick()
		if clk.Now().Sub(stall) > time.Minute {
			t.Fatal("the watchdog kept the board alive with a stalled loop")
		}
	}
	resetAfter := clk.Now().Sub(stall)
	if resetAfter > 3*time.Second+10*time.Second+100*time.Millisecond {
		t.Fatalf("reset %v after the stall, want at most MaxAge + Timeout", resetAfter)
	}
	if w.Healthy() || w.Stats().Starved == 0 {
		t.Fatalf("Healthy %v, stats %+v", w.Healthy(), w.Stats())
	}
	// A pet from the past does not revive it.
	w.Pet(stall.Add(-time.Hour))
	if w.Healthy() {
		t.Fatal("an old Pet made the loop healthy")
	}
}

func TestWatchdogCloseAndAbandon(t *testing.T) {
	clk := newClock()
	dev := &fakeDevice{clk: clk}
	w, _ := newWatchdog(dev, WatchdogConfig{Timeout: 5 * time.Second, MaxAge: 2 * time.Second, Now: clk.Now})
	if err := w.Close(); err != nil || !dev.magic || !dev.closed {
		t.Fatalf("Close: %v, magic %v", err, dev.magic)
	}
	if _, err := w.Tick(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Tick after Close: %v", err)
	}
	w.Close() // twice is fine

	dev2 := &fakeDevice{clk: clk}
	w2, _ := newWatchdog(dev2, WatchdogConfig{Timeout: 5 * time.Second, MaxAge: 2 * time.Second, Now: clk.Now})
	if err := w2.Abandon(); err != nil || dev2.magic || !dev2.closed {
		t.Fatalf("Abandon must close without the magic character: magic %v", dev2.magic)
	}
}

func TestWatchdogStartupGraceAndErrors(t *testing.T) {
	clk := newClock()
	dev := &fakeDevice{clk: clk}
	w, _ := newWatchdog(dev, WatchdogConfig{Timeout: 20 * time.Second, MaxAge: 3 * time.Second, StartupGrace: 10 * time.Second, Now: clk.Now})
	clk.Advance(12 * time.Second)
	if !w.Healthy() {
		t.Fatal("no grace for the first period")
	}
	clk.Advance(2 * time.Second)
	if w.Healthy() {
		t.Fatal("grace longer than StartupGrace + MaxAge")
	}
	dev.failKicks = true
	w.Pet(clk.Now())
	if _, err := w.Tick(); err == nil || !strings.Contains(err.Error(), "kick") {
		t.Fatalf("a failing kick: %v", err)
	}

	bad := []WatchdogConfig{
		{Timeout: 1500 * time.Millisecond, MaxAge: time.Second},
		{Timeout: 0, MaxAge: time.Second},
		{Timeout: 10 * time.Second, MaxAge: 0},
		{Timeout: 10 * time.Second, MaxAge: 8 * time.Second}, // + 2.5 s kick spacing > 10 s
	}
	for _, cfg := range bad {
		cfg.Now = clk.Now
		if _, err := newWatchdog(&fakeDevice{clk: clk}, cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("newWatchdog(%+v): %v, want ErrConfig", cfg, err)
		}
	}
	// Hardware that rounds the timeout down below what the loop needs is refused.
	if _, err := newWatchdog(&fakeDevice{clk: clk, round: 2 * time.Second}, WatchdogConfig{Timeout: 10 * time.Second, MaxAge: 3 * time.Second, Now: clk.Now}); !errors.Is(err, ErrConfig) {
		t.Errorf("rounded-down hardware timeout: %v", err)
	}
	w2, err := newWatchdog(&fakeDevice{clk: clk, round: 16 * time.Second}, WatchdogConfig{Timeout: 15 * time.Second, MaxAge: 3 * time.Second, Now: clk.Now})
	if err != nil || w2.Timeout() != 16*time.Second {
		t.Errorf("rounded-up hardware timeout: %v, %v", w2, err)
	}
}

func TestWatchdogRunStopsWithContext(t *testing.T) {
	dev := &fakeDevice{clk: newClock()}
	w, err := newWatchdog(dev, WatchdogConfig{Timeout: time.Second * 4, MaxAge: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, 5*time.Millisecond) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

func TestOpenWatchdogWithoutDevice(t *testing.T) {
	_, err := OpenWatchdog(t.TempDir()+"/watchdog", WatchdogConfig{Timeout: 10 * time.Second, MaxAge: time.Second})
	if !errors.Is(err, ErrNoDevice) || strings.Count(err.Error(), "board:") != 1 {
		t.Fatalf("OpenWatchdog of a missing device: %v", err)
	}
	// A regular file answers no watchdog ioctl: refused as "not a watchdog device".
	f := t.TempDir() + "/not-a-watchdog"
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = OpenWatchdog(f, WatchdogConfig{Timeout: 10 * time.Second, MaxAge: time.Second})
	if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "not a watchdog device") {
		t.Fatalf("OpenWatchdog of a regular file: %v", err)
	}
}

func TestValidateTimeouts(t *testing.T) {
	s := time.Second
	if err := ValidateTimeouts(s, 10*s, 15*s); err != nil {
		t.Fatalf("a good ordering: %v", err)
	}
	for _, c := range []struct {
		p, b, w time.Duration
		want    string
	}{
		{0, 10 * s, 15 * s, "control period"},
		{s, 0, 15 * s, "BMS timeout 0s must be positive"},
		{s, 10 * s, 0, "watchdog timeout 0s must be positive"},
		{10 * s, 10 * s, 15 * s, "control period 10s must be shorter than the unit BMS timeout 10s"},
		{s, 15 * s, 15 * s, "unit BMS timeout 15s must be shorter than the watchdog timeout 15s"},
		{s, 20 * s, 15 * s, "must be shorter than the watchdog timeout"},
	} {
		err := ValidateTimeouts(c.p, c.b, c.w)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ValidateTimeouts(%v, %v, %v) = %v, want %q", c.p, c.b, c.w, err, c.want)
		}
	}
}
