package pid

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrConfig is wrapped by every validation error of New and Retune; the *ConfigError names the field.
var ErrConfig = errors.New("pid: invalid config")

// ConfigError is a validation error naming the offending field (by its TOML/JSON name).
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return "pid: " + e.Field + " " + e.Reason }

// Unwrap makes errors.Is(err, ErrConfig) true.
func (e *ConfigError) Unwrap() error { return ErrConfig }

// Action says which way the output moves when the measurement rises.
type Action uint8

// The zero value is deliberately invalid: a loop must say which way it acts.
const (
	// Direct: the output rises when the measurement rises above the setpoint (error = pv - sp).
	// A cooling loop (inlet temperature -> fan speed) is direct acting.
	Direct Action = iota + 1
	// Reverse: the output rises when the measurement falls below the setpoint (error = sp - pv),
	// e.g. a heater, or any process whose gain is positive.
	Reverse
)

func (a Action) String() string {
	switch a {
	case Direct:
		return "direct"
	case Reverse:
		return "reverse"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// MarshalText implements encoding.TextMarshaler ("direct", "reverse").
func (a Action) MarshalText() ([]byte, error) {
	if a != Direct && a != Reverse {
		return nil, &ConfigError{"action", "must be direct or reverse"}
	}
	return []byte(a.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Action) UnmarshalText(b []byte) error {
	switch string(b) {
	case "direct":
		*a = Direct
	case "reverse":
		*a = Reverse
	default:
		return &ConfigError{"action", fmt.Sprintf("must be direct or reverse (got %q)", b)}
	}
	return nil
}

// sign turns the action into the sign applied to (sp - pv).
func (a Action) sign() float64 {
	if a == Direct {
		return -1
	}
	return 1
}

// Defaults applied by New and Retune to zero-valued fields.
const (
	DefaultN      = 10              // derivative filter: Tf = Td/N
	DefaultMaxGap = 5 * time.Minute // a longer pause between updates restarts the loop bumplessly
)

// Config is a controller in ISA (standard, "ideal") form with setpoint weights:
//
//	u = Kp * ( ep + 1/Ti ∫e dt + Td * d/dt ed / (1 + s*Tf) )
//	e  = s*(sp - pv), ep = s*(B*sp - pv), ed = s*(C*sp - pv)
//	s  = +1 for Reverse, -1 for Direct
//
// Times are in seconds, the output in the caller's unit (e.g. fan %). Kp is always positive: the
// direction lives in Action. Use FromParallel to convert gains given as Kp, Ki, Kd.
type Config struct {
	Kp float64 `json:"kp" toml:"kp"`     // proportional gain, > 0 (output units per measurement unit)
	Ti float64 `json:"ti_s" toml:"ti_s"` // integral time in s; 0 = no integral action (P/PD)
	Td float64 `json:"td_s" toml:"td_s"` // derivative time in s; 0 = no derivative action
	// N sets the derivative filter time Tf = Td/N (default 10, allowed 1..1000); Tf > 0 overrides it.
	N  float64 `json:"n,omitempty" toml:"n,omitempty"`
	Tf float64 `json:"tf_s,omitempty" toml:"tf_s,omitempty"`
	// B is the proportional setpoint weight in [0, 1]; nil means 1 (textbook PID). Smaller values
	// soften the response to setpoint steps without changing the response to disturbances.
	B *float64 `json:"b,omitempty" toml:"b,omitempty"`
	// C is the derivative setpoint weight in [0, 1]; the default 0 puts the derivative on the
	// measurement only, so setpoint steps give no derivative kick.
	C float64 `json:"c,omitempty" toml:"c,omitempty"`
	// Tt is the anti-windup tracking time in s; 0 means sqrt(Ti*Td) with derivative action, else Ti.
	Tt float64 `json:"tt_s,omitempty" toml:"tt_s,omitempty"`
	// OutMin and OutMax bound the output (e.g. the fan's configured minimum and maximum).
	OutMin float64 `json:"out_min" toml:"out_min"`
	OutMax float64 `json:"out_max" toml:"out_max"`
	// Rate is the largest output change per second in Auto and Manual (0 = unlimited).
	Rate   float64 `json:"rate_per_s,omitempty" toml:"rate_per_s,omitempty"`
	Action Action  `json:"action" toml:"action"`
	// MaxGap: an update more than this after the previous one neither integrates nor
	// differentiates over the gap (it restarts bumplessly). 0 = DefaultMaxGap, < 0 = never.
	MaxGap time.Duration `json:"max_gap,omitempty" toml:"max_gap,omitempty"`
}

// Weight returns a pointer to w, for Config.B.
func Weight(w float64) *float64 { return &w }

// FromParallel converts parallel-form gains (u = kp*e + ki*∫e + kd*de/dt) to ISA Kp, Ti, Td.
// ki = 0 gives Ti = 0 (no integral action).
func FromParallel(kp, ki, kd float64) (Kp, Ti, Td float64) {
	if kp == 0 {
		return 0, 0, 0
	}
	if ki != 0 {
		Ti = kp / ki
	}
	return kp, Ti, kd / kp
}

// tuning is the validated, defaulted form of a Config.
type tuning struct {
	kp, ti, td, tf, b, c, tt float64
	min, max, rate           float64
	action                   Action
	maxGap                   time.Duration // <= 0: none
	cfg                      Config        // with defaults filled in
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func bad(field, format string, args ...any) error {
	return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks c and reports the first bad field; it does not change c.
func (c Config) Validate() error {
	_, err := c.normalise()
	return err
}

func (c Config) normalise() (tuning, error) {
	var t tuning
	if !finite(c.Kp) || c.Kp <= 0 {
		return t, bad("kp", "must be > 0 (got %g); the direction is set by action", c.Kp)
	}
	if !finite(c.Ti) || c.Ti < 0 {
		return t, bad("ti_s", "must be >= 0 s (got %g); 0 disables integral action", c.Ti)
	}
	if !finite(c.Td) || c.Td < 0 {
		return t, bad("td_s", "must be >= 0 s (got %g)", c.Td)
	}
	if !finite(c.N) || c.N < 0 || (c.N != 0 && (c.N < 1 || c.N > 1000)) {
		return t, bad("n", "must be in 1..1000 (got %g)", c.N)
	}
	if !finite(c.Tf) || c.Tf < 0 {
		return t, bad("tf_s", "must be >= 0 s (got %g)", c.Tf)
	}
	b := 1.0
	if c.B != nil {
		b = *c.B
		if !finite(b) || b < 0 || b > 1 {
			return t, bad("b", "must be in [0, 1] (got %g)", b)
		}
	}
	if !finite(c.C) || c.C < 0 || c.C > 1 {
		return t, bad("c", "must be in [0, 1] (got %g)", c.C)
	}
	if !finite(c.Tt) || c.Tt < 0 {
		return t, bad("tt_s", "must be >= 0 s (got %g)", c.Tt)
	}
	if !finite(c.OutMin) {
		return t, bad("out_min", "must be finite (got %g)", c.OutMin)
	}
	if !finite(c.OutMax) || c.OutMax <= c.OutMin {
		return t, bad("out_max", "must be finite and > out_min %g (got %g)", c.OutMin, c.OutMax)
	}
	if !finite(c.Rate) || c.Rate < 0 {
		return t, bad("rate_per_s", "must be >= 0 (got %g); 0 means unlimited", c.Rate)
	}
	if c.Action != Direct && c.Action != Reverse {
		return t, bad("action", "must be direct or reverse (got %d)", c.Action)
	}
	n := c.N
	if n == 0 {
		n = DefaultN
	}
	tf := c.Tf
	if tf == 0 {
		tf = c.Td / n
	}
	tt := c.Tt
	if tt == 0 {
		if c.Td > 0 && c.Ti > 0 {
			tt = math.Sqrt(c.Ti * c.Td)
		} else {
			tt = c.Ti
		}
	}
	gap := c.MaxGap
	if gap == 0 {
		gap = DefaultMaxGap
	}
	out := c
	out.N = n
	out.Tf = tf
	out.B = Weight(b)
	out.Tt = tt
	out.MaxGap = gap
	return tuning{
		kp: c.Kp, ti: c.Ti, td: c.Td, tf: tf, b: b, c: c.C, tt: tt,
		min: c.OutMin, max: c.OutMax, rate: c.Rate, action: c.Action, maxGap: gap, cfg: out,
	}, nil
}
