package board

import (
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// LED drives one status LED with a blink pattern. It is tick-driven: Set chooses the pattern,
// Tick (called every few tens of milliseconds with the current time) writes the pin when the
// level changes. A LED without a pin does nothing. Safe for concurrent use.
type LED struct {
	name      string
	pin       gpio.PinOut // nil: no LED on this board
	activeLow bool

	mu      sync.Mutex
	pattern Pattern
	since   time.Time
	lit     bool
	written bool // the pin has been written at least once
	err     error
}

// NewLED returns a LED on pin (nil for none), dark until the first Tick.
func NewLED(name string, pin gpio.PinOut, activeLow bool) *LED {
	return &LED{name: name, pin: pin, activeLow: activeLow}
}

// Name is the LED's role ("role", "health", "field").
func (l *LED) Name() string { return l.name }

// Present reports whether the LED has a pin.
func (l *LED) Present() bool { return l.pin != nil }

// Set selects the pattern; the pattern's phase restarts at now when it changes.
func (l *LED) Set(p Pattern, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p != l.pattern {
		l.pattern, l.since = p, now
	}
}

// Pattern is the pattern selected.
func (l *LED) Pattern() Pattern {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pattern
}

// Lit reports the level last written.
func (l *LED) Lit() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lit
}

// Tick writes the level the pattern gives at now, if it changed. It returns the pin's error.
func (l *LED) Tick(now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writeLocked(l.pattern.Level(now.Sub(l.since)))
}

func (l *LED) writeLocked(lit bool) error {
	if l.written && lit == l.lit {
		return nil
	}
	l.lit, l.written = lit, true
	if l.pin == nil {
		return nil
	}
	if err := l.pin.Out(level(lit, l.activeLow)); err != nil {
		l.written = false // try again on the next tick
		return fmt.Errorf("board: %s LED: %w", l.name, err)
	}
	return nil
}

// off darkens the LED (on close).
func (l *LED) off() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pattern = Off
	l.written = false
	return l.writeLocked(false)
}

func level(on, activeLow bool) gpio.Level {
	if on != activeLow {
		return gpio.High
	}
	return gpio.Low
}
