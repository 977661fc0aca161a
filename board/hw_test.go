package board

import (
	"errors"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2025, 11, 23, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingPin records every write on top of gpiotest's fake.
type countingPin struct {
	*gpiotest.Pin
	writes int
	fail   bool
}

func (p *countingPin) Out(l gpio.Level) error {
	if p.fail {
		return errors.New("gpio: write failed")
	}
	p.writes++
	return p.Pin.Out(l)
}

func newPin(name string) *countingPin {
	return &countingPin{Pin: &gpiotest.Pin{N: name, L: gpio.Low}}
}

func TestLEDFollowsPattern(t *testing.T) {
	clk := newClock()
	pin := newPin("GPIO17")
	l := NewLED("role", pin, false)
	l.Set(Slow, clk.Now())
	var trace []gpio.Level
	for range 40 { // 2 s in 50 ms ticks
		if err := l.Tick(clk.Now()); err != nil {
			t.Fatal(err)
		}
		trace = append(trace, pin.Read())
		clk.Advance(50 * time.Millisecond)
	}
	for i, lv := range trace {
		want := gpio.Level((i*50)%1000 < 500)
		if lv != want {
			t.Fatalf("tick %d (%d ms): %v, want %v", i, i*50, lv, want)
		}
	}
	// The pin is written only on changes: 4 edges in 2 s (plus the first write).
	if pin.writes != 4 {
		t.Fatalf("%d pin writes for 2 s of slow blink, want 4", pin.writes)
	}
	// A new pattern restarts its phase at once.
	l.Set(Off, clk.Now())
	l.Tick(clk.Now())
	if pin.Read() != gpio.Low || l.Lit() {
		t.Fatal("Off did not darken the LED")
	}
	// Setting the same pattern again does not restart it.
	l.Set(Heartbeat, clk.Now())
	clk.Advance(150 * time.Millisecond)
	l.Set(Heartbeat, clk.Now())
	l.Tick(clk.Now())
	if l.Lit() {
		t.Fatal("re-setting the same pattern restarted its phase")
	}
}

func TestLEDActiveLowAndErrors(t *testing.T) {
	clk := newClock()
	pin := newPin("GPIO5")
	l := NewLED("health", pin, true)
	l.Set(On, clk.Now())
	l.Tick(clk.Now())
	if pin.Read() != gpio.Low {
		t.Fatal("active-low LED lit with a high level")
	}
	pin.fail = true
	l.Set(Off, clk.Now())
	if err := l.Tick(clk.Now()); err == nil {
		t.Fatal("a failing pin reported no error")
	}
	pin.fail = false
	if err := l.Tick(clk.Now()); err != nil || pin.Read() != gpio.High {
		t.Fatalf("the write was not retried on the next tick: %v %v", err, pin.Read())
	}
	none := NewLED("field", nil, false)
	none.Set(Fast, clk.Now())
	if err := none.Tick(clk.Now()); err != nil || none.Present() {
		t.Fatal("a LED without a pin must be a silent no-op")
	}
}

func TestRelay(t *testing.T) {
	pin := newPin("GPIO23")
	pin.L = gpio.High // whatever the pin was left at, NewRelay de-energises it
	r, err := NewRelay(pin, false)
	if err != nil {
		t.Fatal(err)
	}
	if pin.Read() != gpio.Low || r.Controlling() {
		t.Fatal("a new relay is energised")
	}
	if err := r.SetControlling(true); err != nil || pin.Read() != gpio.High || !r.Controlling() {
		t.Fatalf("SetControlling(true): %v, pin %v", err, pin.Read())
	}
	if err := r.SetControlling(false); err != nil || pin.Read() != gpio.Low {
		t.Fatalf("SetControlling(false): %v, pin %v", err, pin.Read())
	}
	r.SetControlling(true)
	if err := r.Close(); err != nil || pin.Read() != gpio.Low || r.Controlling() {
		t.Fatalf("Close left the relay energised: %v", err)
	}
	if err := r.SetControlling(true); !errors.Is(err, ErrClosed) || pin.Read() != gpio.Low {
		t.Fatalf("SetControlling after Close: %v, pin %v", err, pin.Read())
	}
	// Active low: energised = low.
	lp := newPin("GPIO24")
	lr, _ := NewRelay(lp, true)
	if lp.Read() != gpio.High {
		t.Fatal("active-low relay energised at creation")
	}
	lr.SetControlling(true)
	if lp.Read() != gpio.Low {
		t.Fatal("active-low relay not energised")
	}
	lr.Close()
	// A failing pin keeps the recorded state honest.
	fp := newPin("GPIO25")
	fr, _ := NewRelay(fp, false)
	fp.fail = true
	if err := fr.SetControlling(true); err == nil || fr.Controlling() {
		t.Fatal("a failed write was recorded as controlling")
	}
}

// A pulse-driven relay toggles its pin on every tick while controlling and rests de-energised
// otherwise: the coil's retriggerable timer drops it when the pulses stop (a killed process).
func TestRelayPulse(t *testing.T) {
	pin := newPin("GPIO23")
	r, _ := NewRelay(pin, false)
	r.SetPulse(true)
	if err := r.Tick(); err != nil || pin.Read() != gpio.Low {
		t.Fatal("a relay at rest pulsed")
	}
	r.SetControlling(true)
	var levels []gpio.Level
	for range 4 {
		if err := r.Tick(); err != nil {
			t.Fatal(err)
		}
		levels = append(levels, pin.Read())
	}
	if levels[0] == levels[1] || levels[1] == levels[2] || levels[2] == levels[3] {
		t.Fatalf("pulses: %v", levels)
	}
	r.SetControlling(false)
	r.Tick()
	if pin.Read() != gpio.Low {
		t.Fatal("the relay did not rest de-energised")
	}
}
