package board

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// Options tune Open beyond the profile.
type Options struct {
	// ControlPeriod sets the watchdog's MaxAge to 3 periods; 0 means 1 s.
	ControlPeriod time.Duration
	// Now is the clock for LEDs and the watchdog; nil means time.Now.
	Now func() time.Time

	// Seams for tests: the pin lookup (default: periph's gpioreg.ByName after host.Init) and the
	// watchdog opener.
	lookup     func(string) gpio.PinIO
	openDevice func(string) (wdDevice, error)
	hostInit   func() error
}

// Board is the gateway's hardware: status LEDs, the bus-transfer relay and the watchdog. Parts
// the board does not have, or that cannot be found (no GPIO, no /dev/watchdog: every CI
// machine), are no-ops, each with a warning in Warnings.
type Board struct {
	Profile  Profile
	Role     *LED
	Health   *LED
	Field    *LED
	Relay    *Relay
	Watchdog *Watchdog // nil when there is none

	now      func() time.Time
	warnings []string
	healthMu sync.Mutex
	health   Health // what the caller reported; Tick overrides it while the loop is stalled
	closeMu  sync.Mutex
	closed   bool
}

// Open initialises periph's host drivers and the parts named by p. A missing part is a warning
// (see Warnings), or an error wrapping ErrNoDevice when p.Strict. The watchdog, when opened, is
// armed: run Board.Run (or Watchdog.Run) and Pet it from the control loop.
func Open(p Profile, opts *Options) (*Board, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ControlPeriod <= 0 {
		o.ControlPeriod = time.Second
	}
	if o.hostInit == nil {
		o.hostInit = func() error { _, err := host.Init(); return err }
	}
	if o.lookup == nil {
		o.lookup = gpioreg.ByName
	}
	if o.openDevice == nil {
		o.openDevice = openDevice
	}
	b := &Board{Profile: p, now: o.Now}
	missing := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if p.Strict {
			return fmt.Errorf("%s: %w", msg, ErrNoDevice)
		}
		b.warnings = append(b.warnings, msg)
		return nil
	}

	needGPIO := p.LEDRole != "" || p.LEDHealth != "" || p.LEDField != "" || p.Relay != ""
	gpioOK := true
	if needGPIO {
		if err := o.hostInit(); err != nil {
			gpioOK = false
			if err := missing("board: periph host init failed (%v): LEDs and relay disabled", err); err != nil {
				return nil, err
			}
		}
	}
	pin := func(what, name string) (gpio.PinOut, error) {
		if name == "" || !gpioOK {
			return nil, nil
		}
		pp := o.lookup(name)
		if pp == nil {
			return nil, missing("board: %s pin %q not found (no such GPIO on this machine): %s disabled", what, name, what)
		}
		return pp, nil
	}
	var leds [3]gpio.PinOut
	for i, u := range []struct{ what, name string }{{"role LED", p.LEDRole}, {"health LED", p.LEDHealth}, {"field LED", p.LEDField}} {
		pp, err := pin(u.what, u.name)
		if err != nil {
			return nil, err
		}
		leds[i] = pp
	}
	b.Role = NewLED("role", leds[0], p.LEDActiveLow)
	b.Health = NewLED("health", leds[1], p.LEDActiveLow)
	b.Field = NewLED("field", leds[2], p.LEDActiveLow)
	relayPin, err := pin("relay", p.Relay)
	if err != nil {
		return nil, err
	}
	if b.Relay, err = NewRelay(relayPin, p.RelayActiveLow); err != nil {
		return nil, err
	}
	b.Relay.SetPulse(p.RelayPulse)

	if p.Watchdog != "" {
		dev, err := o.openDevice(p.Watchdog)
		switch {
		case errors.Is(err, ErrNoDevice):
			if err := missing("%v; running without a hardware watchdog", err); err != nil {
				b.Relay.Close()
				return nil, err
			}
		case err != nil:
			b.Relay.Close()
			return nil, err
		default:
			cfg := WatchdogConfig{Timeout: p.WatchdogTime, MaxAge: 3 * o.ControlPeriod, StartupGrace: p.WatchdogTime / 2, Now: o.Now}
			if b.Watchdog, err = newWatchdog(dev, cfg); err != nil {
				dev.MagicClose()
				b.Relay.Close()
				return nil, err
			}
		}
	}
	b.SetHealth(HealthOK) // the heartbeat shows the software is alive
	return b, nil
}

// Warnings lists the parts that are missing and run as no-ops, one sentence each.
func (b *Board) Warnings() []string { return append([]string(nil), b.warnings...) }

// SetRole, SetHealth and SetField choose what the LEDs show.
func (b *Board) SetRole(r Role) { b.Role.Set(r.Pattern(), b.now()) }
func (b *Board) SetHealth(h Health) {
	b.healthMu.Lock()
	b.health = h
	b.healthMu.Unlock()
	b.Health.Set(h.Pattern(), b.now())
}
func (b *Board) SetField(f Field) { b.Field.Set(f.Pattern(), b.now()) }

// SetControlling energises the bus-transfer relay only while this board controls the units.
func (b *Board) SetControlling(on bool) error { return b.Relay.SetControlling(on) }

// Tick advances the LEDs and the watchdog supervisor to now. A stalled control loop (the
// watchdog withholding kicks) shows as a fast-blinking health LED.
func (b *Board) Tick() error {
	now := b.now()
	var errs []error
	if b.Watchdog != nil {
		b.healthMu.Lock()
		h := b.health
		b.healthMu.Unlock()
		if !b.Watchdog.Healthy() {
			h = HealthFault
		}
		b.Health.Set(h.Pattern(), now)
		if _, err := b.Watchdog.Tick(); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, err)
		}
	}
	for _, l := range []*LED{b.Role, b.Health, b.Field} {
		if err := l.Tick(now); err != nil {
			errs = append(errs, err)
		}
	}
	if err := b.Relay.Tick(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Run calls Tick every 25 ms until ctx ends and returns ctx.Err(). Errors from the pins are
// reported to onErr (may be nil) at most once a minute each, since the LEDs are advisory.
func (b *Board) Run(ctx context.Context, onErr func(error)) error {
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	last := map[string]time.Time{}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := b.Tick(); err != nil && onErr != nil {
				if k := err.Error(); time.Since(last[k]) > time.Minute {
					last[k] = time.Now()
					onErr(err)
				}
			}
		}
	}
}

// Close de-energises the relay first (this board stops controlling), darkens the LEDs and
// disarms the watchdog with the magic close. Only for a clean shutdown: after a crash the GPIO
// keeps its level, so the relay stays energised until the watchdog resets the board (a reset
// returns the pins to inputs and the relay drops).
func (b *Board) Close() error {
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	errs := []error{b.Relay.Close()}
	for _, l := range []*LED{b.Role, b.Health, b.Field} {
		errs = append(errs, l.off())
	}
	if b.Watchdog != nil {
		errs = append(errs, b.Watchdog.Close())
	}
	return errors.Join(errs...)
}
