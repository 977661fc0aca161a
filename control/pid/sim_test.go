package pid

import (
	"math"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/pid/pidtest"
)

var epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// loop closes a PID around a simulated plant with sample period h.
type loop struct {
	t   *testing.T
	p   *PID
	pl  *pidtest.Plant
	h   float64
	k   int
	sp  float64
	u   []float64 // outputs, one per tick
	y   []float64 // measurements the controller saw
	prv float64
}

func (l *loop) now() time.Time {
	return epoch.Add(time.Duration(float64(l.k) * l.h * float64(time.Second)))
}

// tick runs one sample: read y, update the controller, hold u over h.
func (l *loop) tick() float64 {
	y := l.pl.Y()
	u := l.p.Update(l.sp, y, l.now())
	if math.IsNaN(u) || math.IsInf(u, 0) {
		l.t.Fatalf("tick %d: output %g", l.k, u)
	}
	l.u = append(l.u, u)
	l.y = append(l.y, y)
	l.pl.Advance(u, l.h)
	l.k++
	return u
}

func (l *loop) run(seconds float64) {
	for range int(math.Round(seconds / l.h)) {
		l.tick()
	}
}

// plantCase is a standard test plant with a SIMC tuning (tau_c = L, Skogestad 2003) and the
// settling time that tuning predicts for a setpoint step: about L + 4*tau_c.
type plantCase struct {
	name    string
	mk      func() *pidtest.Plant
	h       float64
	cfg     Config
	predict float64 // predicted 2 % settling time, s
	y0, u0  float64
}

// simcPI is SIMC for a FOPDT model k e^{-Ls}/(tau s+1) with tau_c = L.
func simcPI(k, tau, L float64) (kp, ti float64) {
	tc := L
	return tau / (math.Abs(k) * (tc + L)), math.Min(tau, 4*(tc+L))
}

func standardPlants() []plantCase {
	var cs []plantCase
	// Lag dominated, tau/L = 10.
	kp, ti := simcPI(1, 100, 10)
	cs = append(cs, plantCase{
		name: "fopdt tau/L=10", h: 1, predict: 10 + 4*10,
		mk:  func() *pidtest.Plant { return pidtest.FOPDT(1, 100, 10, 0.1) },
		cfg: Config{Kp: kp, Ti: ti, OutMin: -100, OutMax: 100, Action: Reverse},
	})
	// Delay dominated, tau/L = 0.5.
	kp, ti = simcPI(1, 10, 20)
	cs = append(cs, plantCase{
		name: "fopdt tau/L=0.5", h: 1, predict: 20 + 4*20,
		mk:  func() *pidtest.Plant { return pidtest.FOPDT(1, 10, 20, 0.1) },
		cfg: Config{Kp: kp, Ti: ti, OutMin: -100, OutMax: 100, Action: Reverse},
	})
	// 1/(s+1)^4, half rule -> tau1 = 1, tau2 = 1.5, L = 1.5; SIMC PID in series form
	// Kc = tau1/(tau_c+L), Ti' = tau1, Td' = tau2 with tau_c = L, converted to ISA.
	L, t1, t2 := 1.5, 1.0, 1.5
	kc, tis, tds := t1/(L+L), math.Min(t1, 4*(L+L)), t2
	cs = append(cs, plantCase{
		name: "1/(s+1)^4 PID", h: 0.05, predict: L + 4*L,
		mk: func() *pidtest.Plant { return pidtest.New(1, []float64{1, 1, 1, 1}, 0, 0.005) },
		cfg: Config{Kp: kc * (1 + tds/tis), Ti: tis + tds, Td: tis * tds / (tis + tds), B: Weight(1),
			OutMin: -100, OutMax: 100, Action: Reverse},
	})
	// A cooling loop: fan % up -> inlet down (gain -0.2 K/%), direct acting.
	kp, ti = simcPI(-0.2, 120, 12)
	cs = append(cs, plantCase{
		name: "cooling direct", h: 2, predict: 12 + 4*12, y0: 25, u0: 50,
		mk: func() *pidtest.Plant {
			p := pidtest.FOPDT(-0.2, 120, 12, 0.2)
			p.Offset = 35
			return p
		},
		cfg: Config{Kp: kp, Ti: ti, OutMin: 20, OutMax: 100, Rate: 5, Action: Direct},
	})
	return cs
}

// newLoop builds the loop in steady state at (u0, y0) in Auto.
func newLoop(t *testing.T, c plantCase) *loop {
	t.Helper()
	p, err := New(c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	pl := c.mk()
	pl.Settle(c.u0)
	if err := p.Track(c.u0); err != nil {
		t.Fatal(err)
	}
	l := &loop{t: t, p: p, pl: pl, h: c.h, sp: pl.Y()}
	l.tick()
	if err := p.SetMode(Auto); err != nil {
		t.Fatal(err)
	}
	l.tick() // the bumpless initialisation happens on the first Auto update
	return l
}

// stepMetrics returns overshoot (fraction of the step) and the time after which y stays within
// band*|step| of the setpoint, from the measurements y after a step from y0 to sp.
func stepMetrics(y []float64, h, y0, sp, band float64) (overshoot, settle float64) {
	step := sp - y0
	settle = -1
	for i, v := range y {
		if o := (v - sp) / step; o > overshoot {
			overshoot = o
		}
		if math.Abs(v-sp) > band*math.Abs(step) {
			settle = float64(i+1) * h
		}
	}
	return overshoot, settle
}
