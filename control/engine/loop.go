package engine

import (
	"math"

	"github.com/coldaisle/coldaisle/control/site"
)

// pidLoop is a positional PID with back-calculation tracking. It is written for the engine's needs:
// the output it produced may be overridden downstream (selector, limits, other modes) and the loop
// is then told what was actually achieved, so it never winds up and always restarts bumplessly.
//
// reverse=true: a measurement above the setpoint raises the output (a fan cooling an inlet).
type pidLoop struct {
	kp, ti, td float64
	reverse    bool
	lo, hi     float64

	integral  float64 // the I part, in output units
	slewRate  float64 // %/s for the next update: the output falls at least this fast (0: off)
	slewFloor float64 // the slew does not take the output below this
	dState    float64 // filtered derivative state
	lastPV    float64
	havePV    bool
	out       float64 // last output
	scale     float64 // gain scale for sparse data (0 = 1), see setScale
}

// setScale sets the loop's gain scale (its Kp and so its integral rate), bumplessly: the I part
// takes up the change of the P part at the current error.
func (p *pidLoop) setScale(f, sp, pv float64) {
	old := p.scale
	if old == 0 {
		old = 1
	}
	if f == old || math.IsNaN(pv) {
		return
	}
	p.integral += (old - f) * p.kp * p.err(sp, pv)
	p.scale = f
}

// gain is the effective Kp.
func (p *pidLoop) gain() float64 {
	if p.scale == 0 {
		return p.kp
	}
	return p.kp * p.scale
}

func newPID(t site.Tuning, reverse bool, lo, hi float64) *pidLoop {
	return &pidLoop{kp: t.Kp, ti: t.Ti, td: t.Td, reverse: reverse, lo: lo, hi: hi}
}

func (p *pidLoop) err(sp, pv float64) float64 {
	if p.reverse {
		return pv - sp
	}
	return sp - pv
}

// sparseWarmK: past this far above its setpoint a zone on sparse data integrates at the plain
// scale, not its square: a zone that warm is not the sensors' noise, and the slower rate
// took up to 16 min to bring a +20 % load step on 3 min reports back (now at most 7.5 min, the
// fans moving 2.2 to 2.8x the oracle's instead of 1.7 to 2.6x). More air, sooner: the safe side.
const sparseWarmK = 0.5

// update computes the output for one step of dt seconds.
func (p *pidLoop) update(sp, pv, dt float64) float64 {
	e := p.err(sp, pv)
	kp := p.gain()
	if p.ti > 0 {
		k := 1.0
		if p.reverse && e < -fastDescentBandK && (p.scale == 0 || p.scale >= sparseFastDescent) {
			// (not on sparse data: an over-cooling seen there may be a report interval old,
			// the air that caused it long gone)
			k = fastDescentGain
		}
		if p.scale > 0 && p.scale < 1 && ((e > 0 && e < sparseWarmK) || (e <= 0 && p.scale >= sparseFastDescent)) {
			// The integral rate rises with the square of the scale (Kp/Ti with Ti/scale): between
			// two sparse reports the loop integrates the same old error every period, and an
			// integral that keeps the dense rate overshoots by the time the next report comes.
			// On sparse data (from 60 s reports on) a cool zone integrates down at the plain
			// scale: an over-cooled zone costs fan power for as long as it takes; and so does a
			// zone past sparseWarmK above its setpoint integrate up.
			k *= p.scale
		}
		di := k * kp * dt / p.ti * e
		if p.slewRate > 0 {
			// at least as fast as the slew, but the slew alone does not cross its floor
			room := math.Max(0, kp*e+p.integral-p.slewFloor)
			di = math.Min(di, math.Max(-p.slewRate*dt, -room))
		}
		p.integral += di
	}
	d := 0.0
	if p.td > 0 && p.havePV && dt > 0 {
		// derivative on measurement, first-order filter Td/10: a setpoint change does not kick.
		sign := 1.0
		if !p.reverse {
			sign = -1
		}
		raw := sign * kp * p.td * (pv - p.lastPV) / dt
		a := dt / (p.td/10 + dt)
		p.dState += a * (raw - p.dState)
		d = p.dState
	}
	p.lastPV, p.havePV = pv, true
	if p.ti <= 0 {
		p.integral = 0
	}
	u := kp*e + p.integral + d
	// clamp the integrator so that the output stays in range (conditional integration)
	if u > p.hi {
		p.integral -= u - p.hi
		u = p.hi
	} else if u < p.lo {
		p.integral += p.lo - u
		u = p.lo
	}
	p.out = u
	return u
}

// achieved tells the loop what the plant actually got this step. The integrator is pulled toward
// it with time constant tt (back-calculation); tt <= 0 snaps it there.
func (p *pidLoop) achieved(a, dt, tt float64) {
	if math.IsNaN(a) {
		return
	}
	k := 1.0
	if tt > 0 && dt < tt {
		k = dt / tt
	}
	diff := k * (a - p.out)
	p.integral += diff
	p.out += diff
}

// setOutput moves the output to a (the integrator takes the step).
func (p *pidLoop) setOutput(a float64) {
	if math.IsNaN(a) {
		return
	}
	a = clamp(a, p.lo, p.hi)
	p.integral += a - p.out
	p.out = a
}

// track makes the output equal to a now, given the current error (bumpless transfer point).
func (p *pidLoop) track(a, sp, pv float64, pvOK bool) {
	if math.IsNaN(a) {
		return
	}
	e := 0.0
	if pvOK {
		e = p.err(sp, pv)
		p.lastPV, p.havePV = pv, true
	} else {
		p.havePV = false
	}
	p.dState = 0
	p.integral = a - p.gain()*e
	p.out = a
}

// retune changes the gains without moving the output.
func (p *pidLoop) retune(t site.Tuning) {
	prop := p.out - p.integral - p.dState // kp*e at the last step
	e := 0.0
	if g := p.gain(); g != 0 {
		e = prop / g
	}
	p.kp, p.ti, p.td = t.Kp, t.Ti, t.Td
	p.dState = 0
	p.integral = p.out - p.gain()*e
}

// LoopState is a loop's checkpoint.
type LoopState struct {
	Integral float64 `json:"integral"`
	Output   float64 `json:"output"`
	LastPV   float64 `json:"last_pv"`
	HavePV   bool    `json:"have_pv"`
}

func (p *pidLoop) state() LoopState {
	return LoopState{Integral: p.integral, Output: p.out, LastPV: p.lastPV, HavePV: p.havePV}
}

func (p *pidLoop) restore(s LoopState) {
	if bad(s.Integral) || bad(s.Output) || bad(s.LastPV) {
		return
	}
	p.integral, p.out, p.lastPV, p.havePV = s.Integral, clamp(s.Output, p.lo, p.hi), s.LastPV, s.HavePV
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
