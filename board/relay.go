package board

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3/gpio"
)

// Relay is the RS-485 bus-transfer relay: energised only while this board controls the units,
// so that a board that stops (crash, reboot, power loss, Close) drops off the bus by itself and
// the standby board's relay (or the units' BMS fallback) takes over. A Relay without a pin does
// nothing. Safe for concurrent use.
type Relay struct {
	pin       gpio.PinOut
	activeLow bool
	// pulse: while controlling the pin toggles on every Tick instead of holding a level, for a
	// coil driven through a retriggerable timer (a monostable, a charge pump): a process that
	// dies stops the pulses and the relay drops within the timer's time, whatever level the
	// pin was left at. A level-driven relay stays energised after a crash until the watchdog
	// resets the board.
	pulse bool
	phase bool

	mu          sync.Mutex
	controlling bool
	closed      bool
}

// NewRelay drives pin to the de-energised level at once and returns the relay.
func NewRelay(pin gpio.PinOut, activeLow bool) (*Relay, error) {
	r := &Relay{pin: pin, activeLow: activeLow}
	if err := r.write(false); err != nil {
		return nil, err
	}
	return r, nil
}

// SetPulse selects pulse drive (see Relay) before the relay is first energised.
func (r *Relay) SetPulse(on bool) {
	r.mu.Lock()
	r.pulse = on
	r.mu.Unlock()
}

// Tick toggles a pulse-driven relay that is energised; a level-driven one, or one at rest,
// is left alone.
func (r *Relay) Tick() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.pulse || !r.controlling || r.closed {
		return nil
	}
	r.phase = !r.phase
	return r.write(r.phase)
}

// Present reports whether the relay has a pin.
func (r *Relay) Present() bool { return r.pin != nil }

// SetControlling energises the relay when on (this board controls) and de-energises it
// otherwise. After Close it refuses to energise.
func (r *Relay) SetControlling(on bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed && on {
		return fmt.Errorf("board: relay: closed: %w", ErrClosed)
	}
	if err := r.write(on); err != nil {
		return err
	}
	r.controlling, r.phase = on, on
	return nil
}

// Controlling reports whether the relay is energised.
func (r *Relay) Controlling() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.controlling
}

// Close de-energises the relay for good.
func (r *Relay) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.controlling = false
	return r.write(false)
}

func (r *Relay) write(on bool) error {
	if r.pin == nil {
		return nil
	}
	if err := r.pin.Out(level(on, r.activeLow)); err != nil {
		return fmt.Errorf("board: relay: %w", err)
	}
	return nil
}
