package pidtest

import (
	"fmt"
	"math"
)

// Plant is y = Offset + K * e^{-L s} / Π(1 + T_i s) applied to (u + Load).
type Plant struct {
	K      float64   // static gain
	Taus   []float64 // lag time constants, s
	L      float64   // dead time, s
	Offset float64   // output at u + Load = 0
	Load   float64   // input disturbance, added to u

	ds    float64   // internal step
	buf   []float64 // dead-time ring of inputs
	head  int
	x     []float64 // lag states (deviation from Offset, before gain)
	t     float64
	alpha []float64
}

// New builds a plant simulated on internal step ds (seconds). It panics on a bad description
// because it is test scaffolding, never fed by input.
func New(k float64, taus []float64, delay, ds float64) *Plant {
	if ds <= 0 || delay < 0 || len(taus) == 0 {
		panic(fmt.Sprintf("pidtest: bad plant k=%g taus=%v L=%g ds=%g", k, taus, delay, ds))
	}
	p := &Plant{K: k, Taus: append([]float64(nil), taus...), L: delay, ds: ds}
	n := int(math.Round(delay / ds))
	p.buf = make([]float64, n)
	p.x = make([]float64, len(taus))
	for _, tau := range taus {
		p.alpha = append(p.alpha, math.Exp(-ds/tau))
	}
	return p
}

// FOPDT is New(k, []float64{tau}, delay, ds).
func FOPDT(k, tau, delay, ds float64) *Plant { return New(k, []float64{tau}, delay, ds) }

// Settle puts the plant in steady state for a constant input u (with the current Load).
func (p *Plant) Settle(u float64) {
	in := u + p.Load
	for i := range p.buf {
		p.buf[i] = in
	}
	for i := range p.x {
		p.x[i] = in
	}
}

// Y is the current output.
func (p *Plant) Y() float64 { return p.Offset + p.K*p.x[len(p.x)-1] }

// Time is the simulated time in seconds.
func (p *Plant) Time() float64 { return p.t }

// Advance holds u for h seconds and returns the output at the end.
func (p *Plant) Advance(u, h float64) float64 {
	n := int(math.Round(h / p.ds))
	for range n {
		in := u + p.Load
		if len(p.buf) > 0 {
			in, p.buf[p.head] = p.buf[p.head], in
			p.head = (p.head + 1) % len(p.buf)
		}
		for i := range p.x {
			p.x[i] = p.alpha[i]*p.x[i] + (1-p.alpha[i])*in
			in = p.x[i]
		}
		p.t += p.ds
	}
	return p.Y()
}

// Ultimate returns the analytical ultimate gain |Ku| and period Pu of the plant (phase -180°),
// found by bisection on the phase.
func (p *Plant) Ultimate() (ku, pu float64) {
	phase := func(w float64) float64 {
		ph := -w * p.L
		for _, tau := range p.Taus {
			ph -= math.Atan(w * tau)
		}
		return ph
	}
	lo, hi := 1e-9, 1.0
	for phase(hi) > -math.Pi {
		hi *= 2
	}
	for range 200 {
		mid := (lo + hi) / 2
		if phase(mid) > -math.Pi {
			lo = mid
		} else {
			hi = mid
		}
	}
	w := (lo + hi) / 2
	mag := math.Abs(p.K)
	for _, tau := range p.Taus {
		mag /= math.Hypot(1, w*tau)
	}
	return 1 / mag, 2 * math.Pi / w
}
