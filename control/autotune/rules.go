package autotune

import (
	"fmt"
	"math"

	"github.com/coldaisle/coldaisle/control/pid"
)

// Model is a first-order-plus-dead-time process K e^{-Ls} / (1 + Ts), times in seconds. K carries
// the sign: a cooling loop (more fan -> cooler inlet) has K < 0.
type Model struct {
	K float64 `json:"k" toml:"k"`     // static gain, measurement units per output unit
	T float64 `json:"t_s" toml:"t_s"` // time constant
	L float64 `json:"l_s" toml:"l_s"` // dead time
}

func (m Model) check(needL bool) error {
	switch {
	case !finite(m.K) || m.K == 0:
		return fmt.Errorf("%w: gain %g", ErrModel, m.K)
	case !finite(m.T) || m.T <= 0:
		return fmt.Errorf("%w: time constant %g s", ErrModel, m.T)
	case !finite(m.L) || m.L < 0 || (needL && m.L == 0):
		return fmt.Errorf("%w: dead time %g s", ErrModel, m.L)
	}
	return nil
}

// Normalised dead time tau = L/(L+T): near 0 lag dominated, near 1 delay dominated.
func (m Model) Tau() float64 { return m.L / (m.L + m.T) }

// Ultimate returns the model's ultimate gain |Ku| and period Pu (where its phase is -180°).
func (m Model) Ultimate() (ku, pu float64) {
	if m.L <= 0 || m.T <= 0 {
		return math.Inf(1), 0
	}
	// wL + atan(wT) = pi has one root in (0, pi/L).
	lo, hi := 0.0, math.Pi/m.L
	for range 100 {
		w := (lo + hi) / 2
		if w*m.L+math.Atan(w*m.T) < math.Pi {
			lo = w
		} else {
			hi = w
		}
	}
	w := (lo + hi) / 2
	return math.Hypot(1, w*m.T) / math.Abs(m.K), 2 * math.Pi / w
}

// Tuning is a set of PID gains from a rule, in the ISA form of control/pid.
type Tuning struct {
	Rule   string     `json:"rule" toml:"rule"` // "simc-pi", "simc-pid", "amigo-pi", "amigo-pid"
	Kp     float64    `json:"kp" toml:"kp"`
	Ti     float64    `json:"ti_s" toml:"ti_s"`
	Td     float64    `json:"td_s" toml:"td_s"`
	B      float64    `json:"b" toml:"b"` // proportional setpoint weight
	Action pid.Action `json:"action" toml:"action"`
}

// Apply returns base with the tuning's gains, setpoint weight and action; limits, rate limit and
// the rest of base are kept. The derivative filter is N = 10 unless base sets N or Tf.
func (t Tuning) Apply(base pid.Config) pid.Config {
	base.Kp, base.Ti, base.Td, base.Action = t.Kp, t.Ti, t.Td, t.Action
	base.B = pid.Weight(t.B)
	base.C = 0
	base.Tt = 0
	return base
}

func action(k float64) pid.Action {
	if k < 0 {
		return pid.Direct // measurement falls as the output rises: raise the output when pv > sp
	}
	return pid.Reverse
}

// SIMC returns Skogestad's SIMC tuning (2003) for the model with closed-loop time constant tauC.
// tauC <= 0 selects the default: tauC = L, Skogestad's "tight control" choice (gain margin about
// 3, Ms about 1.6), floored at T/10 so that a model with almost no dead time still gets a
// sensible gain; larger tauC gives a smoother, more robust loop.
//
//	PI:  Kp = T / (|K| (tauC + L)),  Ti = min(T, 4 (tauC + L))
//	PID: the "improved SIMC" for FOPDT (Grimholt & Skogestad 2012): series PID with
//	     Kc = (T + L/3) / (|K| (tauC + L)), Ti' = min(T + L/3, 4 (tauC + L)), Td' = L/3,
//	     converted to ISA: Kp = Kc (1 + Td'/Ti'), Ti = Ti' + Td', Td = Ti' Td' / (Ti' + Td').
//
// Setpoint weight b = 1 (SIMC's setpoint response already has little overshoot).
func SIMC(m Model, tauC float64, withD bool) (Tuning, error) {
	if err := m.check(false); err != nil {
		return Tuning{}, err
	}
	tauC = simcTauC(m, tauC)
	k := math.Abs(m.K)
	if !withD {
		return Tuning{Rule: "simc-pi", Kp: m.T / (k * (tauC + m.L)), Ti: math.Min(m.T, 4*(tauC+m.L)), B: 1, Action: action(m.K)}, nil
	}
	tds := m.L / 3
	kc := (m.T + tds) / (k * (tauC + m.L))
	tis := math.Min(m.T+tds, 4*(tauC+m.L))
	t := Tuning{Rule: "simc-pid", Kp: kc * (1 + tds/tis), Ti: tis + tds, B: 1, Action: action(m.K)}
	if tds > 0 {
		t.Td = tis * tds / (tis + tds)
	}
	return t, nil
}

// simcTauC is the tau_c SIMC uses: the one asked for, or the default max(L, T/10).
func simcTauC(m Model, tauC float64) float64 {
	if tauC <= 0 || !finite(tauC) {
		return math.Max(m.L, m.T/10)
	}
	return tauC
}

// AMIGO returns Åström and Hägglund's AMIGO tuning (2004, "Revisiting the Ziegler-Nichols step
// response method"; Advanced PID Control 2006, ch. 7) for the model; it needs L > 0.
//
//	PI:  Kp = (0.15 + (0.35 - L T/(L+T)^2) T/L) / |K|,  Ti = 0.35 L + 13 L T^2 / (T^2 + 12 L T + 7 L^2)
//	PID: Kp = (0.2 + 0.45 T/L) / |K|,  Ti = L (0.4 L + 0.8 T)/(L + 0.1 T),  Td = 0.5 L T/(0.3 L + T)
//
// Setpoint weight b = 0 for tau = L/(L+T) < 0.5 and 1 above, as AMIGO recommends; c = 0.
func AMIGO(m Model, withD bool) (Tuning, error) {
	if err := m.check(true); err != nil {
		return Tuning{}, err
	}
	k, L, T := math.Abs(m.K), m.L, m.T
	b := 0.0
	if m.Tau() > 0.5 {
		b = 1
	}
	if !withD {
		kp := (0.15 + (0.35-L*T/((L+T)*(L+T)))*T/L) / k
		ti := 0.35*L + 13*L*T*T/(T*T+12*L*T+7*L*L)
		return Tuning{Rule: "amigo-pi", Kp: kp, Ti: ti, B: b, Action: action(m.K)}, nil
	}
	return Tuning{
		Rule: "amigo-pid", Kp: (0.2 + 0.45*T/L) / k, Ti: L * (0.4*L + 0.8*T) / (L + 0.1*T),
		Td: 0.5 * L * T / (0.3*L + T), B: b, Action: action(m.K),
	}, nil
}
