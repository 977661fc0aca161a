package pid

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Mode is how the output is produced.
type Mode uint8

// The zero value is Manual, the mode a new controller starts in.
const (
	// Manual: the output ramps (at the rate limit) to the value given by SetManual.
	Manual Mode = iota
	// Auto: the PID law drives the output.
	Auto
	// Tracking: the output follows the value given by Track (e.g. the unit's read-back) exactly.
	Tracking
)

var modeNames = [...]string{"manual", "auto", "tracking"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseMode is the inverse of Mode.String.
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if n == s {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrMode, s)
}

// MarshalText implements encoding.TextMarshaler.
func (m Mode) MarshalText() ([]byte, error) {
	if int(m) >= len(modeNames) {
		return nil, fmt.Errorf("%w %d", ErrMode, m)
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Sentinel errors.
var (
	// ErrMode: not one of Manual, Auto, Tracking.
	ErrMode = errors.New("pid: unknown mode")
	// ErrValue: an output value or state field is not a finite number.
	ErrValue = errors.New("pid: value not finite")
)

// Terms is the last update's breakdown, for display and tests.
type Terms struct {
	E float64 // control error s*(sp - pv) (positive: the output should rise)
	P float64 // proportional term
	I float64 // integral term (before this step's integration)
	D float64 // derivative term
	V float64 // unlimited output P+I+D (Auto) or the requested value (Manual, Tracking)
	U float64 // output actually returned
}

// State is what storage persists to resume a loop after a restart.
type State struct {
	Mode     Mode    `json:"mode" toml:"mode"`
	Out      float64 `json:"out" toml:"out"`           // last output
	Manual   float64 `json:"manual" toml:"manual"`     // manual target
	Integral float64 `json:"integral" toml:"integral"` // integral term, output units
	LastSP   float64 `json:"last_sp" toml:"last_sp"`   // informational
	LastPV   float64 `json:"last_pv" toml:"last_pv"`   // informational
}

// PID is one control loop. It is not safe for concurrent use: one owner drives it from its tick.
type PID struct {
	t tuning

	mode     Mode
	out      float64 // last output
	manual   float64 // Manual target
	integral float64 // integral term in output units (so Ti changes need no rescaling)
	deriv    float64 // filtered derivative term

	lastSP, lastPV, lastED float64
	havePrev               bool // lastSP/PV/ED valid
	lastTime               time.Time
	haveTime               bool
	needInit               bool // next Auto step sets the integral so the output does not jump

	terms    Terms
	rejected uint64 // updates ignored for non-finite input
}

// New validates cfg and returns a controller in Manual holding OutMin. Typical start: Track the
// actuator's read-back (or SetManual), then SetMode(Auto).
func New(cfg Config) (*PID, error) {
	t, err := cfg.normalise()
	if err != nil {
		return nil, err
	}
	return &PID{t: t, mode: Manual, out: t.min, manual: t.min}, nil
}

// Config returns the configuration in force, with defaults filled in.
func (p *PID) Config() Config { return p.t.cfg }

// Mode returns the current mode.
func (p *PID) Mode() Mode { return p.mode }

// Output returns the last output.
func (p *PID) Output() float64 { return p.out }

// Terms returns the breakdown of the last update.
func (p *PID) Terms() Terms { return p.terms }

// Rejected counts updates ignored because sp or pv was not finite.
func (p *PID) Rejected() uint64 { return p.rejected }

func (p *PID) clamp(x float64) float64 { return min(max(x, p.t.min), p.t.max) }

// SetMode switches mode without a bump: entering Auto initialises the integral at the next update
// so that the first Auto output equals the last output; entering Manual or Tracking holds the last
// output until SetManual or Track says otherwise.
func (p *PID) SetMode(m Mode) error {
	if m > Tracking {
		return fmt.Errorf("%w %d", ErrMode, m)
	}
	if m == p.mode {
		return nil
	}
	switch m {
	case Auto:
		p.needInit = true
	case Manual:
		p.manual = p.out
	}
	p.mode = m
	return nil
}

// SetManual switches to Manual with target out (clamped to the limits); the output ramps there at
// the rate limit. A non-finite value is refused and changes nothing.
func (p *PID) SetManual(out float64) error {
	if !finite(out) {
		return fmt.Errorf("%w: manual output %g", ErrValue, out)
	}
	p.manual = p.clamp(out)
	p.mode = Manual
	return nil
}

// Track switches to Tracking and sets the output to out (clamped to the limits) at once, without
// rate limit: it is the actuator's real position, read back, not a command. Call it every tick
// while the actuator is driven by something else; SetMode(Auto) then continues from there.
func (p *PID) Track(out float64) error {
	if !finite(out) {
		return fmt.Errorf("%w: tracked output %g", ErrValue, out)
	}
	p.out = p.clamp(out)
	p.mode = Tracking
	return nil
}

// Retune replaces the configuration without a bump: in Auto the integral absorbs the change of the
// proportional and derivative terms at the last sample, so the next output continues from the last
// one. Calling it every tick with unchanged gains changes nothing (gain scheduling is safe). A bad
// config is refused and changes nothing.
func (p *PID) Retune(cfg Config) error {
	nt, err := cfg.normalise()
	if err != nil {
		return err
	}
	ot := p.t
	if p.havePrev {
		pOld := ot.kp * ot.action.sign() * (ot.b*p.lastSP - p.lastPV)
		pNew := nt.kp * nt.action.sign() * (nt.b*p.lastSP - p.lastPV)
		dNew := 0.0
		if ot.kp*ot.td > 0 && nt.td > 0 && ot.action == nt.action {
			dNew = p.deriv * (nt.kp * nt.td) / (ot.kp * ot.td)
		}
		if p.mode == Auto && !p.needInit {
			p.integral += pOld + p.deriv - pNew - dNew
		}
		p.deriv = dNew
		p.lastED = nt.action.sign() * (nt.c*p.lastSP - p.lastPV)
	}
	p.t = nt
	p.out = p.clamp(p.out)
	p.manual = p.clamp(p.manual)
	return nil
}

// State returns what must be persisted to resume after a restart.
func (p *PID) State() State {
	return State{Mode: p.mode, Out: p.out, Manual: p.manual, Integral: p.integral, LastSP: p.lastSP, LastPV: p.lastPV}
}

// Restore resumes from a persisted State. The time base is not restored (the next update neither
// integrates nor differentiates, and with a rate limit holds the output for that one step). A state
// with non-finite values or an unknown mode is refused and changes nothing.
func (p *PID) Restore(s State) error {
	if s.Mode > Tracking {
		return fmt.Errorf("%w %d", ErrMode, s.Mode)
	}
	for _, v := range []float64{s.Out, s.Manual, s.Integral, s.LastSP, s.LastPV} {
		if !finite(v) {
			return fmt.Errorf("%w: state %+v", ErrValue, s)
		}
	}
	p.mode = s.Mode
	p.out = p.clamp(s.Out)
	p.manual = p.clamp(s.Manual)
	p.integral = s.Integral
	p.deriv = 0
	p.lastSP, p.lastPV = s.LastSP, s.LastPV
	p.havePrev, p.haveTime, p.needInit = false, false, false
	return nil
}

// Update runs one sample at time now (from the caller's monotonic clock) and returns the output.
// The step is the time since the previous Update: the first update after New, Restore, a clock
// going backwards or a gap longer than MaxGap neither integrates nor differentiates. An update at
// the same instant as the previous one returns the last output unchanged. Non-finite sp or pv are
// ignored (the output holds; see Rejected).
func (p *PID) Update(sp, pv float64, now time.Time) float64 {
	if !finite(sp) || !finite(pv) {
		p.rejected++
		return p.out
	}
	h, known := 0.0, false
	if p.haveTime {
		d := now.Sub(p.lastTime)
		if d == 0 {
			return p.out
		}
		if d > 0 && (p.t.maxGap <= 0 || d <= p.t.maxGap) {
			h, known = d.Seconds(), true
		}
	}
	p.lastTime, p.haveTime = now, true
	return p.step(sp, pv, h, known)
}

// Step is Update for callers that count time themselves: dt is the time since the previous sample in
// seconds (dt <= 0 or not finite: a first sample).
func (p *PID) Step(sp, pv, dt float64) float64 {
	if !finite(sp) || !finite(pv) {
		p.rejected++
		return p.out
	}
	known := finite(dt) && dt > 0
	if known && p.t.maxGap > 0 && dt > p.t.maxGap.Seconds() {
		known = false
	}
	if !known {
		dt = 0
	}
	return p.step(sp, pv, dt, known)
}

// rateLimit bounds the move from the last output; without a known step the output holds.
func (p *PID) rateLimit(x, h float64, known bool) float64 {
	if p.t.rate <= 0 {
		return x
	}
	if !known {
		return p.out
	}
	d := p.t.rate * h
	return min(max(x, p.out-d), p.out+d)
}

func (p *PID) step(sp, pv, h float64, known bool) float64 {
	t := &p.t
	s := t.action.sign()
	e := s * (sp - pv)
	P := t.kp * s * (t.b*sp - pv)
	ed := s * (t.c*sp - pv)

	// The derivative filter runs in every mode so it is warm when Auto takes over.
	if t.td > 0 && known && p.havePrev {
		den := t.tf + h
		p.deriv = t.tf/den*p.deriv + t.kp*t.td/den*(ed-p.lastED)
	} else {
		p.deriv = 0
	}
	D := p.deriv

	var v, u float64
	switch p.mode {
	case Tracking:
		v = p.out
		u = p.clamp(p.out)
	case Manual:
		v = p.manual
		u = p.clamp(p.rateLimit(p.manual, h, known))
	case Auto:
		if p.needInit {
			p.integral = p.out - P - D
			p.needInit = false
		}
		v = P + p.integral + D
		u = p.clamp(p.rateLimit(p.clamp(v), h, known))
	}
	p.terms = Terms{E: e, P: P, I: p.integral, D: D, V: v, U: u}

	if p.mode == Auto && t.ti > 0 && known {
		// Back-calculation: the integral is driven by the error and pulled towards the output
		// actually applied (after both the magnitude and the rate limit) with time constant Tt.
		// 1-exp(-h/Tt) is the exact gain for a held difference and never exceeds 1, so a long step
		// cannot overshoot the tracking.
		p.integral += t.kp*h/t.ti*e + (1-math.Exp(-h/t.tt))*(u-v)
	}
	p.out = u
	p.lastSP, p.lastPV, p.lastED, p.havePrev = sp, pv, ed, true
	return u
}
