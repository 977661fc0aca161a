package plant

import (
	"math"
	"slices"
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
	FanKWh         float64 // oracle: every period, an infeasible one at its best-effort speeds
	CoilKWh        float64
	ITKWh          float64
	UnitFanKWh     []float64
	MaxInletC      float64 // hottest true sensor temperature (baseline: over the run after t=0)
	MaxInletSensor string
	SecondsAboveSP float64 // baseline: time any true inlet was above the setpoint; oracle: InfeasibleS
	// Oracle only.
	Periods           []Period
	FanTotalVariation float64 // sum over period boundaries and units of |change of fan| in %
	Feasible          bool    // every period could hold the setpoint
	// FeasibleFanKWh is FanKWh over the feasible periods only: the lower bound a controller's
	// energy over the same periods is compared with.
	FeasibleFanKWh float64
	// InfeasibleS is the time in periods where no fan speeds can hold the setpoint;
	// InfeasibleDegMin the oracle's own degree-minutes above it there (its least hottest inlet).
	InfeasibleS, InfeasibleDegMin float64
}

// Period is one oracle load period: constant loads and unit availability.
type Period struct {
	Start, End float64
	SetpointC  float64   // the limit the period was solved for
	Fan        []float64 // per unit, 0..1; 0 for a tripped unit
	Available  []bool    // per unit: not tripped
	Fallback   []bool    // per unit: not answering and past its BMS timeout, at its fallback speed
	FanKW      float64
	CoilKW     float64
	MaxInletC  float64 // steady-state hottest true inlet
	MaxSensor  string  // and its sensor
	// Feasible false: no speeds within min_speed..1 hold the setpoint; Fan are then the speeds
	// with the least hottest inlet found (MaxInletC).
	Feasible bool
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

// OracleOptions change what the oracle solves for.
type OracleOptions struct {
	// SetpointC, when set, gives each load period its own limit (len = the number of periods
	// Oracle splits the timeline into; NaN or a missing entry: the scenario's setpoint). The
	// bench re-solves the oracle at the controller's achieved comfort with it.
	SetpointC []float64
	// Start, when set, is an earlier solution for the same scenario and seed (at another limit):
	// each period's search starts from its speeds instead of from a common speed and the
	// per-unit refinement. Faster; the bench's equal-comfort re-solve uses it.
	Start *Result
	// FallbackAfterS, per scenario unit, is how long after it stops answering (unit_no_answer)
	// the unit's BMS timer runs out and it runs on its own at its fallback fan speed: the timeout
	// the controller programmed. Missing, NaN or <= 0: the unit's own bms_timeout from the
	// scenario; a unit with none never falls back (it holds its last command).
	FallbackAfterS []float64
}

// fallbackAfter is unit i's delay from no answer to local fallback, +Inf for never.
func (opt OracleOptions) fallbackAfter(sc *Scenario, i int) float64 {
	if i < len(opt.FallbackAfterS) && opt.FallbackAfterS[i] > 0 && !bad(opt.FallbackAfterS[i]) {
		return opt.FallbackAfterS[i]
	}
	if b := sc.Units[i].BMSTimeout; b > 0 {
		return b
	}
	return math.Inf(1)
}

// fallbackWindow is one stretch in which a unit that does not answer runs at its fallback speed.
type fallbackWindow struct {
	unit       int
	start, end float64
	speed      float64 // its fallback speed, within min_speed..1
}

// fallbackWindows lists, from the scenario's unit_no_answer events, when each unit runs on its
// own at its fallback speed: from its BMS timeout after it stops answering until it answers
// again (or the end). No controller can choose its speed there, so the oracle may not either.
func fallbackWindows(sc *Scenario, opt OracleOptions) []fallbackWindow {
	var out []fallbackWindow
	for _, e := range sc.Events {
		if e.Kind != EvUnitNoAnswer {
			continue
		}
		i := sc.UnitIndex(e.Unit)
		if i < 0 {
			continue
		}
		u := sc.Units[i]
		w := fallbackWindow{unit: i, start: e.At + opt.fallbackAfter(sc, i), end: sc.Duration,
			speed: math.Max(u.MinSpeed, math.Min(1, u.FallbackFan))}
		for _, a := range sc.Events {
			if a.Kind == EvUnitAnswerAgain && a.Unit == e.Unit && a.At > e.At && a.At < w.end {
				w.end = a.At
			}
		}
		if w.start < w.end {
			out = append(out, w)
		}
	}
	return out
}

// Oracle finds, for each load period (between events that change load or unit availability),
// the least total fan power that holds every inlet's true temperature at or below the setpoint in
// steady state, with perfect knowledge of the model (the seeded per-rack recirculation included).
// Valves stay on each unit's local supply-air loop (as in the baseline), so the comparison is
// about air, not chilled water. Speeds respect min_speed; tripped units are 0. Energy is the sum
// of each period's fan power times its length (transients are not counted).
//
// A period in which no speeds hold the setpoint (even the least hottest inlet a search over the
// speed box finds is above it) is flagged infeasible: it is not a lower bound on anything, so it
// is kept out of FeasibleFanKWh and counted in InfeasibleS.
func Oracle(sc *Scenario, seed int64) Result { return OracleWith(sc, seed, OracleOptions{}) }

// OracleBounds returns the load periods' boundaries Oracle uses: period k is [b[k], b[k+1]).
func OracleBounds(sc *Scenario) []float64 { return OracleBoundsWith(sc, OracleOptions{}) }

// OracleBoundsWith is OracleBounds for OracleWith's options (a unit's fallback after no answer
// starts and ends a period).
func OracleBoundsWith(sc *Scenario, opt OracleOptions) []float64 {
	return oracleBounds(sc, fallbackWindows(sc, opt))
}

func oracleBounds(sc *Scenario, windows []fallbackWindow) []float64 {
	var at []float64
	for _, e := range sc.Events {
		if e.Physical() {
			at = append(at, e.At)
		}
	}
	for _, w := range windows {
		at = append(at, w.start, w.end)
	}
	sort.Float64s(at)
	bounds := []float64{0}
	for _, t := range at {
		if t > 0 && t < sc.Duration && t != bounds[len(bounds)-1] {
			bounds = append(bounds, t)
		}
	}
	return append(bounds, sc.Duration)
}

// OracleWith is Oracle with options.
func OracleWith(sc *Scenario, seed int64, opt OracleOptions) Result {
	m := build(sc, seed)
	res := Result{Kind: "oracle", Scenario: sc.Name, Seed: seed, Duration: sc.Duration, Feasible: true, MaxInletC: math.Inf(-1)}
	res.UnitFanKWh = make([]float64, m.nU)
	windows := fallbackWindows(sc, opt)
	bounds := oracleBounds(sc, windows)
	o := newOptimizer(m)
	var prev *Period
	var keys [][]float64
	for k := 0; k+1 < len(bounds); k++ {
		start, end := bounds[k], bounds[k+1]
		m.applyDue(start)
		for i := range o.fixed {
			o.fixed[i] = math.NaN()
		}
		for _, w := range windows {
			if start >= w.start && start < w.end {
				o.fixed[w.unit] = w.speed
			}
		}
		sp := sc.SetpointC
		if k < len(opt.SetpointC) && !bad(opt.SetpointC[k]) {
			sp = opt.SetpointC[k]
		}
		var warm []float64
		if opt.Start != nil && k < len(opt.Start.Periods) && len(opt.Start.Periods[k].Fan) == m.nU && opt.Start.Periods[k].Start == start {
			warm = opt.Start.Periods[k].Fan
		}
		// A period whose loads, units and limit repeat an earlier one's (a unit back after a
		// trip, a fault over) has the same solution.
		key := o.key(sp)
		var p Period
		if j := findKey(keys, key); j >= 0 {
			p = res.Periods[j]
			p.Start, p.End = start, end
			p.Fan = append([]float64(nil), p.Fan...)
			p.Available = append([]bool(nil), p.Available...)
			p.Fallback = append([]bool(nil), p.Fallback...)
		} else {
			p = o.period(start, end, sp, warm)
		}
		keys = append(keys, key)
		hours := (end - start) / 3600
		res.FanKWh += p.FanKW * hours
		res.CoilKWh += p.CoilKW * hours
		if p.Feasible {
			res.FeasibleFanKWh += p.FanKW * hours
		} else {
			res.InfeasibleS += end - start
			res.InfeasibleDegMin += math.Max(0, p.MaxInletC-sp) * (end - start) / 60
		}
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
				// A unit's jump to its fallback speed and back is nobody's choice.
				if p.Available[i] && prev.Available[i] && !p.Fallback[i] && !prev.Fallback[i] {
					res.FanTotalVariation += 100 * math.Abs(p.Fan[i]-prev.Fan[i])
				}
			}
		}
		res.Periods = append(res.Periods, p)
		prev = &res.Periods[len(res.Periods)-1]
	}
	res.SecondsAboveSP = res.InfeasibleS
	return res
}

// key describes what a period's solution depends on: the loads, each unit's state and the limit.
func (o *optimizer) key(sp float64) []float64 {
	k := append([]float64(nil), o.m.load...)
	for i := range o.m.units {
		u := &o.m.units[i]
		tr := 0.0
		if u.tripped {
			tr = 1
		}
		fx := -1.0
		if !math.IsNaN(o.fixed[i]) {
			fx = o.fixed[i]
		}
		k = append(k, tr, u.capacity, u.chw, fx)
	}
	return append(k, sp)
}

func findKey(keys [][]float64, k []float64) int {
	for j, c := range keys {
		if slices.Equal(c, k) {
			return j
		}
	}
	return -1
}

type optimizer struct {
	m      *Model
	valves []float64 // all -1: local supply loops
	sp     []float64 // the units' supply-air setpoints
	lo     []float64
	limit  float64 // the inlet limit being solved for
	avail  []int
	evals  int
	lastT  float64   // the last ray's crossing, a warm start for the next
	fixed  []float64 // per unit: a speed no one chooses (fallback after no answer), NaN: free
	// scratch
	t, ray, best []float64
}

func newOptimizer(m *Model) *optimizer {
	n := m.nU
	o := &optimizer{m: m, valves: make([]float64, n), sp: make([]float64, n), lo: make([]float64, n),
		t: make([]float64, n), ray: make([]float64, n), best: make([]float64, n), limit: m.sc.SetpointC,
		fixed: make([]float64, n)}
	for i := range m.units {
		o.fixed[i] = math.NaN()
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
	return o.maxInlet(s) <= o.limit
}

func (o *optimizer) cost(s []float64) float64 {
	c := 0.0
	for _, i := range o.avail {
		c += o.m.units[i].powerFor(s[i])
	}
	return c
}

const speedTol = 1e-6

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

// onRay puts into s the least feasible point on the ray lo + t*d (each unit clamped at 1; d >= 0
// over the available units) and returns its cost, +Inf if even its far end is infeasible. The
// feasible set is closed upwards (more air never warms an inlet while the coils hold their supply
// air), so the ray crosses its boundary once; the crossing is bracketed and found by the Illinois
// variant of regula falsi (the hottest inlet is smooth along a ray but for kinks where a rack
// stops being short of air). The point returned is feasible in any case. gLo is the hottest inlet
// minus the limit with every unit at its minimum (t = 0, infeasible: the caller checked).
func (o *optimizer) onRay(d, s []float64, gLo float64) float64 {
	dmax := 0.0
	for _, i := range o.avail {
		dmax = math.Max(dmax, d[i])
	}
	if !(dmax > 0) {
		return math.Inf(1)
	}
	tmax := 0.0
	for _, i := range o.avail {
		if d[i] > 0 {
			tmax = math.Max(tmax, (1-o.lo[i])/(d[i]/dmax))
		}
	}
	set := func(t float64) {
		for _, i := range o.avail {
			s[i] = math.Min(1, o.lo[i]+t*d[i]/dmax)
		}
	}
	at := func(t float64) float64 {
		set(t)
		return o.maxInlet(s) - o.limit
	}
	// Bracket the crossing: near the last ray's (the search moves in small steps), else the
	// whole ray.
	a, ga := 0.0, gLo
	b, gb := tmax, math.NaN()
	if t0 := o.lastT; t0 > 0 && t0 < tmax {
		if g0 := at(t0); g0 <= 0 {
			b, gb = t0, g0
			if g1 := at(0.98 * t0); g1 > 0 {
				a, ga = 0.98*t0, g1
			} else {
				b, gb = 0.98*t0, g1
			}
		} else {
			a, ga = t0, g0
			if t1 := math.Min(tmax, 1.02*t0); t1 < tmax {
				if g1 := at(t1); g1 <= 0 {
					b, gb = t1, g1
				} else {
					a, ga = t1, g1
				}
			}
		}
	}
	if math.IsNaN(gb) {
		if gb = at(tmax); gb > 0 {
			return math.Inf(1)
		}
	}
	side := 0
	for k := 0; k < 100 && b-a > speedTol; k++ {
		t := (a + b) / 2
		if ga > gb {
			t = b - gb*(b-a)/(gb-ga)
		}
		if !(t > a && t < b) {
			t = (a + b) / 2
		}
		g := at(t)
		if g > 0 {
			a, ga = t, g
			if side == -1 {
				gb /= 2
			}
			side = -1
		} else {
			b, gb = t, g
			if side == 1 {
				ga /= 2
			}
			side = 1
			if g > -1e-6 { // within a micro-kelvin of the limit
				break
			}
		}
	}
	set(b)
	o.lastT = b
	return o.cost(s)
}

// nelderMead minimises f over R^n from x0 (initial simplex steps step), in place, and returns
// the least value. It restarts from its best point with a fresh, smaller simplex while that
// still improves (the usual cure for a collapsed simplex on a kinked function).
func nelderMead(f func([]float64) float64, x0 []float64, step float64, maxEvals int) float64 {
	n := len(x0)
	pts := make([][]float64, n+1)
	vals := make([]float64, n+1)
	for k := range pts {
		pts[k] = make([]float64, n)
	}
	cen, xr, xe := make([]float64, n), make([]float64, n), make([]float64, n)
	best := f(x0)
	evals := 1
	for restart := 0; restart < 8 && evals < maxEvals; restart++ {
		for k := range pts {
			copy(pts[k], x0)
			if k > 0 {
				pts[k][k-1] += step
			}
			if k == 0 {
				vals[k] = best
			} else {
				vals[k] = f(pts[k])
				evals++
			}
		}
		for evals < maxEvals {
			// order
			idx := make([]int, n+1)
			for k := range idx {
				idx[k] = k
			}
			sort.Slice(idx, func(a, b int) bool { return vals[idx[a]] < vals[idx[b]] })
			np, nv := make([][]float64, n+1), make([]float64, n+1)
			for k, j := range idx {
				np[k], nv[k] = pts[j], vals[j]
			}
			pts, vals = np, nv
			size := 0.0
			for k := 1; k <= n; k++ {
				for j := range x0 {
					size = math.Max(size, math.Abs(pts[k][j]-pts[0][j]))
				}
			}
			if size < 1e-6 || (!math.IsInf(vals[n], 1) && vals[n]-vals[0] <= 1e-5*math.Abs(vals[0])) {
				break
			}
			for j := range cen {
				cen[j] = 0
				for k := 0; k < n; k++ {
					cen[j] += pts[k][j] / float64(n)
				}
			}
			w := pts[n]
			for j := range xr {
				xr[j] = cen[j] + (cen[j] - w[j])
			}
			fr := f(xr)
			evals++
			switch {
			case fr < vals[0]:
				for j := range xe {
					xe[j] = cen[j] + 2*(cen[j]-w[j])
				}
				fe := f(xe)
				evals++
				if fe < fr {
					copy(w, xe)
					vals[n] = fe
				} else {
					copy(w, xr)
					vals[n] = fr
				}
			case fr < vals[n-1]:
				copy(w, xr)
				vals[n] = fr
			default:
				for j := range xe {
					if fr < vals[n] {
						xe[j] = cen[j] + 0.5*(xr[j]-cen[j])
					} else {
						xe[j] = cen[j] + 0.5*(w[j]-cen[j])
					}
				}
				fc := f(xe)
				evals++
				if fc < math.Min(fr, vals[n]) {
					copy(w, xe)
					vals[n] = fc
				} else {
					for k := 1; k <= n; k++ {
						for j := range pts[k] {
							pts[k][j] = pts[0][j] + 0.5*(pts[k][j]-pts[0][j])
						}
						vals[k] = f(pts[k])
						evals++
					}
				}
			}
		}
		improved := vals[0] < best-1e-9*math.Abs(best)
		if vals[0] <= best {
			best = vals[0]
			copy(x0, pts[0])
		}
		if !improved && restart > 0 {
			break
		}
		step /= 4
	}
	return best
}

// period solves one load period for the inlet limit sp.
//
// The search: the feasible set of speeds is closed upwards, and in the usual case (every coil
// holding its supply air) it is convex: an inlet is the cold air plus rho times the zone's hot
// pool over it, where rho falls linearly with the cold air a rack gets until it has enough, so
// "inlet <= limit" is a linear constraint on the rhos and a convex one on the speeds; the fan
// power (cube law) is convex too. Per-unit refinement still stalls on such a problem where
// several inlets are at the limit at once (lowering any one unit breaks one of them), so the
// optimum is searched over the boundary itself: each direction d from the minimum speeds gives
// the least feasible point on its ray (bisection), and Nelder-Mead minimises the fan power over
// the directions, from several starts (a common speed, the greedy per-unit refinement, and each
// unit weighted up and down in turn); the best point found is then lowered unit by unit.
func (o *optimizer) period(start, end, sp float64, warm []float64) Period {
	m := o.m
	n := m.nU
	o.limit = sp
	p := Period{Start: start, End: end, SetpointC: sp, Fan: make([]float64, n), Available: make([]bool, n), Fallback: make([]bool, n)}
	o.avail = o.avail[:0]
	s := p.Fan
	for i := range m.units {
		// The scratch points carry every unit the search does not move at its speed.
		o.t[i], o.best[i] = 0, 0
		switch {
		case m.units[i].tripped:
		case !math.IsNaN(o.fixed[i]):
			p.Available[i], p.Fallback[i] = true, true
			s[i], o.t[i], o.best[i] = o.fixed[i], o.fixed[i], o.fixed[i]
		default:
			o.avail = append(o.avail, i)
			p.Available[i] = true
			s[i] = 1
		}
	}
	p.Feasible = o.feasible(s)
	if !p.Feasible && len(o.avail) > 0 {
		p.Feasible = o.coolest(s)
	}
	if p.Feasible && len(o.avail) > 0 {
		o.least(s, warm)
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

// coolest searches the speed box for the least hottest inlet, from every unit at 1 (the best
// point when more air always helps; with saturated coils less air from a unit that supplies warm
// air can be better). It leaves the best point in s and reports whether it holds the limit.
func (o *optimizer) coolest(s []float64) bool {
	na := len(o.avail)
	x := make([]float64, na)
	at := func(x []float64) {
		for k, i := range o.avail {
			s[i] = o.lo[i] + (1-o.lo[i])*math.Max(0, math.Min(1, x[k]))
		}
	}
	f := func(x []float64) float64 {
		at(x)
		return o.maxInlet(s)
	}
	bestV := math.Inf(1)
	bestX := make([]float64, na)
	for start := 0; start <= na; start++ {
		for k := range x {
			x[k] = 1
		}
		if start > 0 {
			x[start-1] = 0 // each unit at its minimum in turn
		}
		v := nelderMead(f, x, -0.3, 400*na)
		if v < bestV {
			bestV = v
			copy(bestX, x)
		}
		if bestV <= o.limit {
			break
		}
	}
	at(bestX)
	return o.maxInlet(s) <= o.limit
}

// least lowers the feasible speeds s to the least fan power it finds (see period); warm, when
// not nil, is a point to start from (an earlier solution for a nearby limit).
func (o *optimizer) least(s, warm []float64) {
	na := len(o.avail)
	for _, i := range o.avail {
		s[i] = o.lo[i]
	}
	gLo := o.maxInlet(s) - o.limit
	if gLo <= 0 {
		return // every unit at its minimum: nothing costs less
	}
	best := o.best
	bestC := math.Inf(1)
	o.lastT = 0
	d := o.ray
	x := make([]float64, na)
	f := func(x []float64) float64 {
		for k, i := range o.avail {
			d[i] = math.Abs(x[k])
		}
		c := o.onRay(d, o.t, gLo)
		if c < bestC {
			bestC = c
			copy(best, o.t)
		}
		return c
	}
	try := func(x0 []float64) {
		copy(x, x0)
		nelderMead(f, x, 0.15, 150*na)
	}
	dir := func(from []float64) []float64 {
		for k, i := range o.avail {
			x[k] = from[i] - o.lo[i]
		}
		return x
	}
	// Starts: an earlier solution's point (OracleOptions.Start), else a common speed over the
	// minimum (and on a small room the greedy refinement and each unit weighted down and up in
	// turn: cheap there); then, but for a warm start, a fresh, wide simplex around the best point
	// found, against a stall.
	one := make([]float64, na)
	for k := range one {
		one[k] = 1
	}
	switch {
	case warm != nil:
		try(dir(warm))
	case na <= 3:
		try(one)
		try(dir(o.greedy()))
	default:
		try(one)
	}
	if na <= 3 {
		for k := 0; k < na && na > 1; k++ {
			for _, w := range []float64{0.2, 3} {
				for j := range x {
					x[j] = 1
				}
				x[k] = w
				try(x)
			}
		}
	}
	if warm == nil && !math.IsInf(bestC, 1) {
		copy(x, dir(best))
		nelderMead(f, x, 0.3, 150*na)
	}
	for _, i := range o.avail {
		s[i] = best[i]
	}
	for _, i := range o.order(s) {
		o.lowest(i, s)
	}
}

// greedy is the per-unit refinement the oracle used alone before: a common speed by bisection,
// then lower each unit alone and try trades (raise one, lower the others) while the power falls.
func (o *optimizer) greedy() []float64 {
	s := make([]float64, o.m.nU)
	for i, f := range o.fixed {
		if !math.IsNaN(f) && !o.m.units[i].tripped {
			s[i] = f
		}
	}
	common := func(k float64) {
		for _, i := range o.avail {
			s[i] = math.Max(o.lo[i], k)
		}
	}
	lo, hi := 0.0, 1.0
	for hi-lo > 1e-4 {
		mid := (lo + hi) / 2
		common(mid)
		if o.feasible(s) {
			hi = mid
		} else {
			lo = mid
		}
	}
	common(hi)
	t := make([]float64, o.m.nU)
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
	return s
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
