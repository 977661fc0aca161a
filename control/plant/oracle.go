package plant

import (
	"math"
	"sort"
)

// Result is a reference run over a scenario's whole timeline: the baseline (every unit at 100 %
// fan on its own supply-air loop, simulated) or the oracle (least fan power holding every inlet
// at or below the setpoint, in steady state per load period).
type Result struct {
	Kind           string // "baseline" or "oracle"
	Scenario       string
	Seed           int64
	Duration       float64 // s
	FanKWh         float64
	CoilKWh        float64
	ITKWh          float64
	UnitFanKWh     []float64
	MaxInletC      float64 // hottest true sensor temperature (baseline: over the run after t=0)
	MaxInletSensor string
	SecondsAboveSP float64 // baseline: time any true inlet was above the setpoint
	// Oracle only.
	Periods           []Period
	FanTotalVariation float64 // sum over period boundaries and units of |change of fan| in %
	Feasible          bool    // every period could hold the setpoint
}

// Period is one oracle load period: constant loads and unit availability.
type Period struct {
	Start, End float64
	Fan        []float64 // per unit, 0..1; 0 for a tripped unit
	Available  []bool    // per unit: not tripped
	FanKW      float64
	CoilKW     float64
	MaxInletC  float64 // steady-state hottest true inlet
	MaxSensor  string  // and its sensor
	Feasible   bool    // false: even 100 % on every available unit cannot hold the setpoint
}

// Baseline simulates the scenario with every unit under its local control at 100 % fan and its
// own supply-air setpoint for the whole timeline (1 s steps), starting from that steady state.
func Baseline(sc *Scenario, seed int64) Result {
	m := build(sc, seed)
	m.applyDue(0)
	for i := range m.units {
		m.units[i].in = UnitInput{LocalFan: 1, LocalSupplySP: m.units[i].cfg.LocalSupplySP}
	}
	m.initSteady()
	res := Result{Kind: "baseline", Scenario: sc.Name, Seed: seed, Duration: sc.Duration, MaxInletC: math.Inf(-1)}
	for m.t < sc.Duration-1e-9 {
		dt := math.Min(1, sc.Duration-m.t)
		m.Step(dt)
		v, id := m.MaxInletC()
		if v > res.MaxInletC {
			res.MaxInletC, res.MaxInletSensor = v, id
		}
		if v > sc.SetpointC {
			res.SecondsAboveSP += dt
		}
	}
	e := m.Energy()
	res.FanKWh, res.CoilKWh, res.ITKWh, res.UnitFanKWh = e.FanKWh, e.CoilKWh, e.ITKWh, e.UnitFanKWh
	return res
}

// Oracle finds, for each load period (between events that change load or unit availability),
// the least total fan power that holds every inlet's true temperature at or below the setpoint in
// steady state, with perfect knowledge of the model (the seeded per-rack recirculation included).
// Valves stay on each unit's local supply-air loop (as in the baseline), so the comparison is
// about air, not chilled water. Speeds respect min_speed; tripped units are 0. Energy is the sum
// of each period's fan power times its length (transients are not counted).
func Oracle(sc *Scenario, seed int64) Result {
	m := build(sc, seed)
	res := Result{Kind: "oracle", Scenario: sc.Name, Seed: seed, Duration: sc.Duration, Feasible: true, MaxInletC: math.Inf(-1)}
	res.UnitFanKWh = make([]float64, m.nU)
	bounds := []float64{0}
	for _, e := range sc.Events {
		if e.Physical() && e.At > 0 && e.At < sc.Duration && e.At != bounds[len(bounds)-1] {
			bounds = append(bounds, e.At)
		}
	}
	bounds = append(bounds, sc.Duration)
	o := newOptimizer(m)
	var prev *Period
	for k := 0; k+1 < len(bounds); k++ {
		start, end := bounds[k], bounds[k+1]
		m.applyDue(start)
		p := o.period(start, end)
		hours := (end - start) / 3600
		res.FanKWh += p.FanKW * hours
		res.CoilKWh += p.CoilKW * hours
		for i := range m.units {
			res.UnitFanKWh[i] += m.units[i].powerFor(p.Fan[i]) * hours
		}
		it := 0.0
		for _, l := range m.load {
			it += l
		}
		res.ITKWh += it * hours
		if p.MaxInletC > res.MaxInletC {
			res.MaxInletC, res.MaxInletSensor = p.MaxInletC, p.MaxSensor
		}
		res.Feasible = res.Feasible && p.Feasible
		if prev != nil {
			for i := range p.Fan {
				if p.Available[i] && prev.Available[i] {
					res.FanTotalVariation += 100 * math.Abs(p.Fan[i]-prev.Fan[i])
				}
			}
		}
		res.Periods = append(res.Periods, p)
		prev = &res.Periods[len(res.Periods)-1]
	}
	return res
}

type optimizer struct {
	m       *Model
	valves  []float64 // all -1: local supply loops
	sp      []float64
	lo      []float64
	avail   []int
	evals   int
	scratch []float64
}

func newOptimizer(m *Model) *optimizer {
	o := &optimizer{m: m, valves: make([]float64, m.nU), sp: make([]float64, m.nU), lo: make([]float64, m.nU), scratch: make([]float64, m.nU)}
	for i := range m.units {
		o.valves[i] = -1
		o.sp[i] = m.units[i].cfg.LocalSupplySP
		o.lo[i] = m.units[i].cfg.MinSpeed
	}
	return o
}

// maxInlet solves the steady state at speeds s and returns the hottest true inlet.
func (o *optimizer) maxInlet(s []float64) float64 {
	o.evals++
	o.m.solveSteady(s, o.valves, o.sp)
	v, _ := o.m.steadyMaxInlet()
	return v
}

func (o *optimizer) feasible(s []float64) bool {
	return o.maxInlet(s) <= o.m.sc.SetpointC
}

func (o *optimizer) cost(s []float64) float64 {
	c := 0.0
	for _, i := range o.avail {
		c += o.m.units[i].powerFor(s[i])
	}
	return c
}

const speedTol = 1e-4

// lowest bisects unit i's speed down as far as it stays feasible, the others fixed.
func (o *optimizer) lowest(i int, s []float64) {
	hi := s[i]
	lo := o.lo[i]
	if hi <= lo {
		return
	}
	s[i] = lo
	if o.feasible(s) {
		return
	}
	for hi-lo > speedTol {
		mid := (lo + hi) / 2
		s[i] = mid
		if o.feasible(s) {
			hi = mid
		} else {
			lo = mid
		}
	}
	s[i] = hi
}

func (o *optimizer) period(start, end float64) Period {
	m := o.m
	n := m.nU
	p := Period{Start: start, End: end, Fan: make([]float64, n), Available: make([]bool, n)}
	o.avail = o.avail[:0]
	for i := range m.units {
		if !m.units[i].tripped {
			o.avail = append(o.avail, i)
			p.Available[i] = true
		}
	}
	s := p.Fan
	for _, i := range o.avail {
		s[i] = 1
	}
	p.Feasible = o.feasible(s)
	if p.Feasible && len(o.avail) > 0 {
		// Stage 1: a common speed for every available unit (each at least its minimum).
		common := func(k float64) {
			for _, i := range o.avail {
				s[i] = math.Max(o.lo[i], k)
			}
		}
		lo, hi := 0.0, 1.0
		common(lo)
		if o.feasible(s) {
			hi = lo
		}
		for hi-lo > speedTol {
			mid := (lo + hi) / 2
			common(mid)
			if o.feasible(s) {
				hi = mid
			} else {
				lo = mid
			}
		}
		common(hi)
		// Stage 2: per-unit refinement: lower each unit alone, then try trades (raise one a
		// little, lower the others as far as possible) while the total power falls.
		t := o.scratch
		for pass := 0; pass < 25; pass++ {
			before := o.cost(s)
			for _, i := range o.order(s) {
				o.lowest(i, s)
			}
			for _, i := range o.avail {
				for _, step := range []float64{0.1, 0.03, 0.01} {
					if s[i]+step > 1 {
						continue
					}
					copy(t, s)
					t[i] += step
					for _, j := range o.order(t) {
						if j != i {
							o.lowest(j, t)
						}
					}
					if o.cost(t) < o.cost(s)-1e-6 && o.feasible(t) {
						copy(s, t)
					}
				}
			}
			if before-o.cost(s) < 1e-4 {
				break
			}
		}
	}
	if !p.Feasible {
		for _, i := range o.avail {
			s[i] = 1
		}
	}
	o.m.solveSteady(s, o.valves, o.sp)
	var idx int
	p.MaxInletC, idx = m.steadyMaxInlet()
	if idx >= 0 {
		p.MaxSensor = m.sc.Sensors[idx].ID
	}
	for i := range m.units {
		u := &m.units[i]
		p.FanKW += u.powerFor(s[i])
		if a := m.ssAir[i]; a > 0 {
			ca := rhoCp * a
			tcoil := m.ssSup[i]
			if m.sc.FanHeat {
				tcoil -= u.powerFor(s[i]) / ca
			}
			p.CoilKW += ca * (m.ssRet[i] - tcoil)
		}
	}
	return p
}

// order lists the available units by falling marginal fan power (the costliest to run first).
func (o *optimizer) order(s []float64) []int {
	idx := append([]int(nil), o.avail...)
	sort.SliceStable(idx, func(a, b int) bool {
		ua, ub := &o.m.units[idx[a]], &o.m.units[idx[b]]
		return ua.cfg.RatedFanKW*ua.capacity*s[idx[a]]*s[idx[a]] > ub.cfg.RatedFanKW*ub.capacity*s[idx[b]]*s[idx[b]]
	})
	return idx
}
