package plant

import (
	"math"
	"math/rand/v2"
)

// Physical constants and numerical choices (see doc.go for the equations).
const (
	rhoCp                 = 1.2  // kJ/(m3 K): air 1.19 kg/m3 x 1.006 kJ/(kg K), rounded
	waterDeltaT           = 6.0  // K water rise at rated coil duty: sets the design water capacity rate
	maxRatedEffectiveness = 0.95 // a coil rating that needs more than this is rejected
	maxSubstep            = 1.0  // s: Step integrates in substeps no longer than this
	maxStepPerCall        = 86400.0
	delayRes              = 0.5  // s: sample spacing of the transport-delay lines
	maxRecirc             = 0.98 // hot-air share of an inlet never reaches 1 (some room air leaks in)
	maxInletC             = 90.0 // inlets are clamped here: beyond it the IT would have shut down
)

// UnitInput is what drives a unit. Remote=false is the unit's own local control (and its BMS
// fallback): fan at LocalFan, valve on a PI loop holding the supply air at LocalSupplySP.
// A vfd-fan unit has no Modbus valve: its valve is always on the local loop, Valve is ignored.
type UnitInput struct {
	Remote        bool
	Fan, Valve    float64 // 0..1 when Remote
	LocalFan      float64 // 0..1 when !Remote (0 stops the fan)
	LocalSupplySP float64 // C; 0 means the scenario's local_supply_sp
}

// UnitOut is a unit's observable state.
type UnitOut struct {
	Name, Profile     string
	SupplyC, ReturnC  float64 // supply (after fan heat) and return air, C
	Fan, Valve        float64 // actual fan speed and valve position, 0..1 (Fan 0 when tripped)
	FanKW, CoolKW     float64 // electrical fan power; heat removed by the coil
	Airflow           float64 // m3/s delivered
	ChwC              float64 // chilled-water supply temperature
	Tripped, FanFault bool    // trip: no airflow; fan fault: trip or degraded fan (fan_fault event)
	Remote            bool    // following UnitInput.Fan/Valve
}

// SensorOut is one inlet sensor.
type SensorOut struct {
	ID        string // "mac/ch"
	Rack      string
	Height    int     // 1 bottom, 2 middle, 3 top
	TrueC     float64 // air temperature at the sensor
	MeasuredC float64 // what the sensor reports: true + bias + noise, quantised
}

// RackOut is one rack's state.
type RackOut struct {
	Name, Zone string
	LoadKW     float64
	Airflow    float64 // m3/s drawn
	InletC     float64 // mean inlet (height-2 profile), true
	ExhaustC   float64
	Recirc     float64 // share of the inlet air that is recirculated exhaust (target, not lagged)
	ColdRatio  float64 // cold air available to the rack / air it draws (>=1: no shortfall)
}

// Energy is accumulated since New, in kWh.
type Energy struct {
	FanKWh, CoilKWh, ITKWh float64
	UnitFanKWh             []float64
	UnitCoilKWh            []float64
}

type unitState struct {
	cfg      *Unit
	vfd      bool
	in       UnitInput
	speed    float64 // actual
	valve    float64 // actual
	capacity float64 // fan capacity left (1; fan_fault lowers it)
	tripped  bool
	fault    bool
	chw      float64
	tcoil    float64 // coil outlet, lagged state
	integ    float64 // PI integral term (valve units)
	local    bool    // valve on the local loop during the previous substep
	uaMax    float64 // kW/K at valve 1
	cwDesign float64 // kW/K water capacity rate at valve 1

	airflow, fanKW, coolKW, tret, tsup float64
	fanKWh, coilKWh                    float64
	coilAlphaH, coilAlpha              float64
}

type delayLine struct {
	t, a, b []float64 // ring of samples
	head, n int       // newest index, count
}

func newDelayLine(delay float64) delayLine {
	c := int(math.Ceil(delay/delayRes)) + 4
	return delayLine{t: make([]float64, c), a: make([]float64, c), b: make([]float64, c)}
}

func (d *delayLine) fill(t, a, b float64) {
	d.n = 0
	d.push(t, a, b)
}

// push appends a sample. Every sample but the newest is at least delayRes after the one before
// it; the newest floats (is overwritten) until it is, which bounds the ring at any step size.
func (d *delayLine) push(t, a, b float64) {
	c := len(d.t)
	if d.n > 1 {
		prev := (d.head - 1 + c) % c
		if d.t[d.head]-d.t[prev] < delayRes {
			d.t[d.head], d.a[d.head], d.b[d.head] = t, a, b
			return
		}
	}
	if d.n == c { // full: drop the oldest (only when steps are finer than delayRes allows for)
		d.n--
	}
	d.head = (d.head + 1) % c
	d.t[d.head], d.a[d.head], d.b[d.head] = t, a, b
	d.n++
}

// at interpolates the samples at time tq; older than the oldest gives the oldest.
func (d *delayLine) at(tq float64) (float64, float64) {
	c := len(d.t)
	// Drop samples that can no longer be needed (queries only move forward).
	for d.n > 2 {
		tail := (d.head - d.n + 1 + c) % c
		next := (tail + 1) % c
		if d.t[next] <= tq {
			d.n--
			continue
		}
		break
	}
	tail := (d.head - d.n + 1 + c) % c
	if d.n == 1 || tq <= d.t[tail] {
		return d.a[tail], d.b[tail]
	}
	if tq >= d.t[d.head] {
		return d.a[d.head], d.b[d.head]
	}
	i := tail
	for k := 0; k < d.n-1; k++ {
		j := (i + 1) % c
		if tq <= d.t[j] {
			f := (tq - d.t[i]) / (d.t[j] - d.t[i])
			return d.a[i] + f*(d.a[j]-d.a[i]), d.b[i] + f*(d.b[j]-d.b[i])
		}
		i = j
	}
	return d.a[d.head], d.b[d.head]
}

// Model is the simulated room. It is deterministic for a scenario and seed and not safe for
// concurrent use: one goroutine steps it and reads it.
type Model struct {
	sc   *Scenario
	seed int64
	t    float64

	nR, nU, nZ int
	rackZone   []int
	load0      []float64 // declared load, kW
	air0       []float64 // declared airflow, m3/s
	load, air  []float64 // current
	dT         []float64 // K rise across the rack
	tau, delay []float64 // per rack, seeded
	eps        []float64 // always-present recirculation, seeded
	infl       []float64 // [r*nU+u] influence (rows sum to 1)
	inflEff    []float64 // influence renormalised over units not tripped
	dist       []float64 // [u*nR+r] share of unit u's air going to rack r
	distZ      []float64 // [u*nZ+z]
	zoneAir    []float64 // air drawn per zone
	zoneUnits  [][]int

	units []unitState

	// per-substep scratch (rack, zone)
	cold, coldT, rho, byp  []float64
	zC, zH, zHot, zRet     []float64
	rackH                  []float64
	lagAlpha               []float64
	lagH                   float64
	tin, tcs               []float64 // lagged, delayed states: mean inlet and cold-air temperature
	lines                  []delayLine
	ssTin, ssTc, ssSup     []float64 // steady-state solver outputs
	ssRet, ssValve, ssAir  []float64
	spdScratch             []float64
	sensRack               []int
	sensK, bias            []float64
	trueC, measC           []float64
	noise                  *rand.Rand
	fanKWh, coilKWh, itKWh float64

	nextPhys int // next physical event to apply
	nextDue  int // next event DueEvents returns
}

// New builds a model at the steady state of its initial conditions: every unit under local
// control (fan at its fallback speed, valve on the supply-air loop), physical events at t=0
// applied. Per-rack lag, delay and recirculation and per-sensor bias are drawn from seed.
func New(sc *Scenario, seed int64) *Model {
	m := build(sc, seed)
	m.applyDue(0)
	for i := range m.units {
		u := &m.units[i]
		u.in = UnitInput{LocalFan: u.cfg.FallbackFan, LocalSupplySP: u.cfg.LocalSupplySP}
	}
	m.initSteady()
	return m
}

func build(sc *Scenario, seed int64) *Model {
	nR, nU, nZ := len(sc.Racks), len(sc.Units), len(sc.Zones)
	m := &Model{sc: sc, seed: seed, nR: nR, nU: nU, nZ: nZ}
	f := func(n int) []float64 { return make([]float64, n) }
	m.rackZone = make([]int, nR)
	m.load0, m.air0, m.load, m.air, m.dT = f(nR), f(nR), f(nR), f(nR), f(nR)
	m.tau, m.delay, m.eps = f(nR), f(nR), f(nR)
	m.cold, m.coldT, m.rho, m.byp, m.rackH, m.lagAlpha = f(nR), f(nR), f(nR), f(nR), f(nR), f(nR)
	m.tin, m.tcs, m.ssTin, m.ssTc = f(nR), f(nR), f(nR), f(nR)
	m.zC, m.zH, m.zHot, m.zRet, m.zoneAir = f(nZ), f(nZ), f(nZ), f(nZ), f(nZ)
	m.ssSup, m.ssRet, m.ssValve, m.ssAir, m.spdScratch = f(nU), f(nU), f(nU), f(nU), f(nU)
	m.dist, m.distZ = f(nU*nR), f(nU*nZ)
	m.zoneUnits = make([][]int, nZ)
	for z, zn := range sc.Zones {
		for _, n := range zn.Units {
			m.zoneUnits[z] = append(m.zoneUnits[z], sc.UnitIndex(n))
		}
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x706c616e74)) // "plant"
	lerp := func(a, b float64) float64 { return a + (b-a)*rng.Float64() }
	m.lines = make([]delayLine, nR)
	for r, rk := range sc.Racks {
		m.rackZone[r] = sc.zoneIndex(rk.Zone)
		m.load0[r], m.air0[r], m.load[r] = rk.LoadKW, rk.Airflow, rk.LoadKW
		m.tau[r] = lerp(sc.Inlet.TauMin, sc.Inlet.TauMax)
		m.delay[r] = lerp(sc.Inlet.DelayMin, sc.Inlet.DelayMax)
		m.eps[r] = lerp(sc.Inlet.RecircMin, sc.Inlet.RecircMax)
		m.lines[r] = newDelayLine(m.delay[r])
	}
	mat := sc.InfluenceMatrix()
	m.infl, m.inflEff = f(nR*nU), f(nR*nU)
	for r := range mat {
		copy(m.infl[r*nU:(r+1)*nU], mat[r])
	}
	m.units = make([]unitState, nU)
	for i := range sc.Units {
		cfg := &sc.Units[i]
		u := &m.units[i]
		*u = unitState{cfg: cfg, vfd: cfg.Profile == ProfileVFD, capacity: 1, chw: cfg.ChwC, local: true}
		u.cwDesign = cfg.CoilKW / waterDeltaT
		ca := rhoCp * cfg.RatedAirflow
		cmin, cmax := math.Min(ca, u.cwDesign), math.Max(ca, u.cwDesign)
		cr := cmin / cmax
		eff := math.Min(cfg.CoilKW/(cmin*(cfg.RatedReturnC-cfg.ChwC)), 0.999)
		var ntu float64
		if cr > 0.999999 {
			ntu = eff / (1 - eff)
		} else {
			ntu = math.Log((1-eff*cr)/(1-eff)) / (1 - cr)
		}
		u.uaMax = ntu * cmin
	}
	m.sensRack = make([]int, len(sc.Sensors))
	m.sensK, m.bias, m.trueC, m.measC = f(len(sc.Sensors)), f(len(sc.Sensors)), f(len(sc.Sensors)), f(len(sc.Sensors))
	for s, sn := range sc.Sensors {
		m.sensRack[s] = sc.RackIndex(sn.Rack)
		m.sensK[s] = sc.Inlet.Stratification[sn.Height-1]
		m.bias[s] = sc.Noise.BiasSD * rng.NormFloat64()
	}
	m.noise = rand.New(rand.NewPCG(uint64(seed), 0x6e6f697365)) // "noise"
	m.updateRacks()
	return m
}

// coilQ is the heat (kW) a coil removes from air of capacity rate ca (kW/K) at valve v with
// return air tr and the unit's water temperature: counterflow effectiveness-NTU; the water
// capacity rate is proportional to the valve's flow and UA to its square root (water-side film).
func (u *unitState) coilQ(ca, v, tr float64) float64 {
	if ca <= 0 || v <= 0 {
		return 0
	}
	g := valveFlow(v)
	cw := g * u.cwDesign
	ua := u.uaMax * math.Sqrt(g)
	cmin, cmax := math.Min(ca, cw), math.Max(ca, cw)
	cr := cmin / cmax
	ntu := ua / cmin
	var eff float64
	if cr > 0.999999 {
		eff = ntu / (1 + ntu)
	} else {
		e := math.Exp(-ntu * (1 - cr))
		eff = (1 - e) / (1 - cr*e)
	}
	return eff * cmin * (tr - u.chw)
}

// valveFlow is the water flow fraction of an equal-percentage valve (rangeability 30, tight
// shut-off): CRAH valves are equal-percentage so that with the coil's quick-opening duty curve
// the valve-to-duty characteristic is roughly linear.
func valveFlow(v float64) float64 {
	if v <= 0 {
		return 0
	}
	if v >= 1 {
		return 1
	}
	const r = 30.0
	return (math.Pow(r, v-1) - 1/r) / (1 - 1/r)
}

// flowFor is the airflow a unit delivers at speed s: proportional above the minimum speed, none
// below it (the fan cannot push against the plenum pressure), none when tripped.
func (u *unitState) flowFor(s float64) float64 {
	if u.tripped || s < u.cfg.MinSpeed || s <= 0 {
		return 0
	}
	return u.cfg.RatedAirflow * u.capacity * s
}

func (u *unitState) powerFor(s float64) float64 {
	if u.tripped {
		return 0
	}
	return u.cfg.RatedFanKW * u.capacity * s * s * s
}

// updateRacks recomputes rack airflow, delta-T and the air distribution after a load change.
func (m *Model) updateRacks() {
	exp := m.sc.AirflowExponent
	for r := range m.load {
		switch {
		case m.load0[r] <= 0 || exp == 0:
			m.air[r] = m.air0[r]
		case m.load[r] <= 0:
			m.air[r] = 0
		default:
			m.air[r] = m.air0[r] * math.Pow(m.load[r]/m.load0[r], exp)
		}
		m.dT[r] = 0
		if m.air[r] > 0 {
			m.dT[r] = m.load[r] / (rhoCp * m.air[r])
		}
	}
	for z := range m.zoneAir {
		m.zoneAir[z] = 0
	}
	for r, z := range m.rackZone {
		m.zoneAir[z] += m.air[r]
	}
	// Influence renormalised over the units that are not tripped: the plenum spreads the
	// survivors' air into the tripped unit's share.
	for r := 0; r < m.nR; r++ {
		row := m.infl[r*m.nU : (r+1)*m.nU]
		eff := m.inflEff[r*m.nU : (r+1)*m.nU]
		sum := 0.0
		for u, w := range row {
			eff[u] = 0
			if !m.units[u].tripped {
				eff[u] = w
				sum += w
			}
		}
		if sum > 0 {
			for u := range eff {
				eff[u] /= sum
			}
		}
	}
	for u := 0; u < m.nU; u++ {
		sum, cnt := 0.0, 0
		for r := 0; r < m.nR; r++ {
			w := m.inflEff[r*m.nU+u]
			sum += w * m.air[r]
			if w > 0 {
				cnt++
			}
		}
		for z := range m.zoneAir {
			m.distZ[u*m.nZ+z] = 0
		}
		for r := 0; r < m.nR; r++ {
			w := m.inflEff[r*m.nU+u]
			d := 0.0
			switch {
			case sum > 0:
				d = w * m.air[r] / sum
			case w > 0: // every rack it reaches draws nothing: the air just bypasses
				d = 1 / float64(cnt)
			}
			m.dist[u*m.nR+r] = d
			m.distZ[u*m.nZ+m.rackZone[r]] += d
		}
	}
}

// distribute spreads unit airflow air[u] at supply temperature sup[u] over the racks: cold air
// available (m.cold), its temperature (m.coldT), recirculated share (m.rho), bypass (m.byp) and
// per-zone cold air (m.zC).
func (m *Model) distribute(air, sup []float64) {
	lam := m.sc.Mixing
	for r := 0; r < m.nR; r++ {
		m.cold[r], m.rackH[r] = 0, 0
	}
	for z := 0; z < m.nZ; z++ {
		m.zC[z], m.zH[z] = 0, 0
	}
	hallA, hallH := 0.0, 0.0
	for u := 0; u < m.nU; u++ {
		a := air[u]
		if a <= 0 {
			continue
		}
		hallA += a
		hallH += a * sup[u]
		row := m.dist[u*m.nR : (u+1)*m.nR]
		for r, d := range row {
			if d > 0 {
				m.cold[r] += a * d
				m.rackH[r] += a * d * sup[u]
			}
		}
	}
	fallbackT := m.sc.AmbientC
	if hallA > 0 {
		fallbackT = hallH / hallA
	}
	for r, z := range m.rackZone {
		m.zC[z] += m.cold[r]
		m.zH[z] += m.rackH[r]
	}
	for r, z := range m.rackZone {
		F := m.air[r]
		c, h := (1-lam)*m.cold[r], (1-lam)*m.rackH[r]
		if fz := m.zoneAir[z]; fz > 0 {
			c += lam * F / fz * m.zC[z]
			h += lam * F / fz * m.zH[z]
		} else {
			c, h = m.cold[r], m.rackH[r]
		}
		m.cold[r] = c
		if c > 1e-12 {
			m.coldT[r] = h / c
		} else {
			m.coldT[r] = fallbackT
		}
		short := 0.0
		if F > 0 {
			short = 1 - c/F
			if short < 0 {
				short = 0
			}
		}
		rho := m.eps[r] + (1-m.eps[r])*short
		if rho > maxRecirc {
			rho = maxRecirc
		}
		m.rho[r] = rho
		m.byp[r] = c - (1-rho)*F
		if m.byp[r] < 0 {
			m.byp[r] = 0
		}
	}
}

// hotAndReturn computes the zone hot pools from rack mean inlets tin, the zone return mixes and
// each unit's return temperature into ret.
func (m *Model) hotAndReturn(tin []float64, ret []float64, air []float64) {
	for z := 0; z < m.nZ; z++ {
		m.zHot[z], m.zRet[z] = 0, 0
	}
	for r, z := range m.rackZone {
		m.zHot[z] += m.air[r] * (tin[r] + m.dT[r])
	}
	for z := 0; z < m.nZ; z++ {
		if m.zoneAir[z] > 0 {
			m.zHot[z] /= m.zoneAir[z]
		}
	}
	m.zoneReturn(ret, air)
}

func (m *Model) zoneReturn(ret []float64, air []float64) {
	for z := 0; z < m.nZ; z++ {
		m.zRet[z] = 0
	}
	for r, z := range m.rackZone {
		m.zRet[z] += (1-m.rho[r])*m.air[r]*m.zHot[z] + m.byp[r]*m.coldT[r]
	}
	for z := 0; z < m.nZ; z++ {
		sum := 0.0
		for r, rz := range m.rackZone {
			if rz == z {
				sum += (1-m.rho[r])*m.air[r] + m.byp[r]
			}
		}
		if sum > 0 {
			m.zRet[z] /= sum
		} else {
			m.zRet[z] = m.zHot[z]
		}
	}
	for u := 0; u < m.nU; u++ {
		row := m.distZ[u*m.nZ : (u+1)*m.nZ]
		sum, w := 0.0, 0.0
		for z, d := range row {
			sum += d * m.zRet[z]
			w += d
		}
		if w > 0 {
			ret[u] = sum / w
		}
		_ = air
	}
}

// Time is the plant time in seconds since New.
func (m *Model) Time() float64 { return m.t }

// Scenario returns the scenario the model runs.
func (m *Model) Scenario() *Scenario { return m.sc }

// SetUnitInput sets unit i's input. Out-of-range i is ignored. Fan values are clamped to 0..1,
// NaN fan becomes 1 and NaN valve becomes 1 (fail safe: more air, more cooling).
func (m *Model) SetUnitInput(i int, in UnitInput) {
	if i < 0 || i >= len(m.units) {
		return
	}
	in.Fan = clamp01(in.Fan, 1)
	in.Valve = clamp01(in.Valve, 1)
	in.LocalFan = clamp01(in.LocalFan, 1)
	if bad(in.LocalSupplySP) || in.LocalSupplySP < 5 || in.LocalSupplySP > 35 {
		in.LocalSupplySP = m.units[i].cfg.LocalSupplySP
	}
	m.units[i].in = in
}

// UnitInput returns unit i's current input (zero value for a bad index).
func (m *Model) UnitInput(i int) UnitInput {
	if i < 0 || i >= len(m.units) {
		return UnitInput{}
	}
	return m.units[i].in
}

func clamp01(v, nan float64) float64 {
	switch {
	case math.IsNaN(v):
		return nan
	case v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}

// Step advances the plant by dt seconds (at most one day per call; dt <= 0 or NaN does nothing).
// It integrates in substeps of at most one second and splits at physical events.
func (m *Model) Step(dt float64) {
	if !(dt > 0) {
		return
	}
	if dt > maxStepPerCall {
		dt = maxStepPerCall
	}
	end := m.t + dt
	for end-m.t > 1e-9 {
		m.applyDue(m.t)
		h := end - m.t
		if h > maxSubstep {
			h = maxSubstep
		}
		if m.nextPhys < len(m.sc.Events) {
			if te := m.sc.Events[m.nextPhys].At; te > m.t && te < m.t+h {
				h = te - m.t
			}
		}
		m.advance(h)
		m.t += h
	}
	m.t = end
	m.applyDue(m.t)
}

// applyDue applies the physical events with At <= t not yet applied.
func (m *Model) applyDue(t float64) {
	for m.nextPhys < len(m.sc.Events) && m.sc.Events[m.nextPhys].At <= t {
		m.apply(&m.sc.Events[m.nextPhys])
		m.nextPhys++
	}
}

func (m *Model) apply(e *Event) {
	switch e.Kind {
	case EvITLoad:
		for r := range m.load {
			if e.Rack != "" && m.sc.Racks[r].Name != e.Rack || e.Zone != "" && m.sc.Racks[r].Zone != e.Zone {
				continue
			}
			if e.HasKW {
				m.load[r] = e.KW
			} else {
				m.load[r] *= e.Factor
			}
		}
		m.updateRacks()
	case EvUnitTrip:
		if u := m.unitByName(e.Unit); u != nil {
			u.tripped, u.fault, u.speed = true, true, 0
			m.updateRacks()
		}
	case EvUnitRestore:
		if u := m.unitByName(e.Unit); u != nil {
			u.tripped, u.fault, u.capacity = false, false, 1
			m.updateRacks()
		}
	case EvFanFault:
		if u := m.unitByName(e.Unit); u != nil {
			u.fault, u.capacity = true, e.Factor
		}
	case EvChwTemp:
		for i := range m.units {
			if e.Unit == "" || m.units[i].cfg.Name == e.Unit {
				m.units[i].chw = e.Value
			}
		}
	}
}

func (m *Model) unitByName(n string) *unitState {
	for i := range m.units {
		if m.units[i].cfg.Name == n {
			return &m.units[i]
		}
	}
	return nil
}

func ramp(x, target, rate, h float64) float64 {
	d := target - x
	lim := rate * h
	if d > lim {
		d = lim
	} else if d < -lim {
		d = -lim
	}
	return x + d
}

// advance integrates one substep of h seconds.
func (m *Model) advance(h float64) {
	sc := m.sc
	// 1. Units: commands, local loops, actuators.
	for i := range m.units {
		u := &m.units[i]
		cfg := u.cfg
		fanCmd := u.in.LocalFan
		if u.in.Remote {
			fanCmd = u.in.Fan
		}
		localValve := !u.in.Remote || u.vfd
		valveCmd := u.in.Valve
		switch {
		case localValve && u.airflow <= 0:
			// No air through the coil: the supply sensor means nothing, the loop holds.
			valveCmd = u.valve
			u.integ = u.valve
		case localValve:
			e := u.tsup - u.in.LocalSupplySP
			if !u.local { // bumpless switch to the local loop
				u.integ = u.valve - cfg.Kp*e
			}
			u.integ += cfg.Kp / cfg.Ti * e * h
			u.integ = math.Max(0, math.Min(1, u.integ))
			valveCmd = math.Max(0, math.Min(1, cfg.Kp*e+u.integ))
		}
		u.local = localValve
		if u.tripped {
			u.speed = 0
		} else {
			u.speed = ramp(u.speed, fanCmd, cfg.FanRamp, h)
		}
		u.valve = ramp(u.valve, valveCmd, cfg.ValveRamp, h)
		u.airflow = u.flowFor(u.speed)
		u.fanKW = u.powerFor(u.speed)
		m.ssAir[i] = u.airflow
		m.ssSup[i] = u.tsup
	}
	// 2. Air paths with the current supply temperatures and the lagged inlets.
	m.distribute(m.ssAir, m.ssSup)
	m.hotAndReturn(m.tin, m.ssRet, m.ssAir)
	// 3. Inlets: target, transport delay, first-order lag.
	if h != m.lagH {
		for r := range m.lagAlpha {
			m.lagAlpha[r] = 1 - math.Exp(-h/m.tau[r])
		}
		m.lagH = h
	}
	tNew := m.t + h
	for r, z := range m.rackZone {
		target := (1-m.rho[r])*m.coldT[r] + m.rho[r]*m.zHot[z]
		if target > maxInletC {
			target = maxInletC
		}
		m.lines[r].push(m.t, target, m.coldT[r])
		a, b := m.lines[r].at(tNew - m.delay[r])
		al := m.lagAlpha[r]
		m.tin[r] += (a - m.tin[r]) * al
		m.tcs[r] += (b - m.tcs[r]) * al
	}
	// 4. Coils.
	fan, coil := 0.0, 0.0
	for i := range m.units {
		u := &m.units[i]
		if u.airflow > 0 {
			u.tret = m.ssRet[i]
		} else {
			u.tret = m.servedReturn(i)
		}
		ca := rhoCp * u.airflow
		target := u.tret
		if ca > 0 {
			target = u.tret - u.coilQ(ca, u.valve, u.tret)/ca
		}
		if u.coilAlphaH != h {
			u.coilAlpha = 1 - math.Exp(-h/u.cfg.CoilTau)
			u.coilAlphaH = h
		}
		u.tcoil += (target - u.tcoil) * u.coilAlpha
		u.coolKW = ca * (u.tret - u.tcoil)
		u.tsup = u.tcoil
		if ca > 0 && sc.FanHeat {
			u.tsup += u.fanKW / ca
		}
		u.fanKWh += u.fanKW * h / 3600
		u.coilKWh += u.coolKW * h / 3600
		fan += u.fanKW
		coil += u.coolKW
	}
	it := 0.0
	for _, p := range m.load {
		it += p
	}
	m.fanKWh += fan * h / 3600
	m.coilKWh += coil * h / 3600
	m.itKWh += it * h / 3600
	// 5. Sensors.
	for s, r := range m.sensRack {
		tc := m.tcs[r]
		v := tc + m.sensK[s]*(m.tin[r]-tc)
		m.trueC[s] = v
		m.measC[s] = m.measure(s, v)
	}
}

func (m *Model) measure(s int, v float64) float64 {
	x := v + m.bias[s]
	if m.sc.Noise.SD > 0 {
		x += m.sc.Noise.SD * m.noise.NormFloat64()
	}
	if q := m.sc.Noise.Quantum; q > 0 {
		x = math.Round(x/q) * q
	}
	return math.Max(-327.68, math.Min(327.67, x)) // the mesh payload's int16 0.01 C range
}

// servedReturn is the return air a unit without airflow sits in: the mean of its zones' returns.
func (m *Model) servedReturn(u int) float64 {
	sum, n := 0.0, 0
	for z, us := range m.zoneUnits {
		for _, x := range us {
			if x == u {
				sum += m.zRet[z]
				n++
			}
		}
	}
	if n == 0 {
		return m.sc.AmbientC
	}
	return sum / float64(n)
}

// Units returns every unit's state (a new slice).
func (m *Model) Units() []UnitOut {
	out := make([]UnitOut, len(m.units))
	for i := range m.units {
		u := &m.units[i]
		out[i] = UnitOut{
			Name: u.cfg.Name, Profile: u.cfg.Profile,
			SupplyC: u.tsup, ReturnC: u.tret, Fan: u.speed, Valve: u.valve,
			FanKW: u.fanKW, CoolKW: u.coolKW, Airflow: u.airflow, ChwC: u.chw,
			Tripped: u.tripped, FanFault: u.fault, Remote: u.in.Remote,
		}
	}
	return out
}

// Sensors returns every sensor (a new slice); AppendSensors reuses the caller's.
func (m *Model) Sensors() []SensorOut { return m.AppendSensors(nil) }

// AppendSensors appends every sensor to dst[:0] and returns it (no allocation when dst has room).
func (m *Model) AppendSensors(dst []SensorOut) []SensorOut {
	dst = dst[:0]
	for s, sn := range m.sc.Sensors {
		dst = append(dst, SensorOut{ID: sn.ID, Rack: sn.Rack, Height: sn.Height, TrueC: m.trueC[s], MeasuredC: m.measC[s]})
	}
	return dst
}

// Racks returns every rack's state (a new slice).
func (m *Model) Racks() []RackOut {
	out := make([]RackOut, m.nR)
	for r, rk := range m.sc.Racks {
		cr := math.Inf(1)
		if m.air[r] > 0 {
			cr = m.cold[r] / m.air[r]
		}
		out[r] = RackOut{Name: rk.Name, Zone: rk.Zone, LoadKW: m.load[r], Airflow: m.air[r],
			InletC: m.tin[r], ExhaustC: m.tin[r] + m.dT[r], Recirc: m.rho[r], ColdRatio: cr}
	}
	return out
}

// Energy returns the energy accounts since New.
func (m *Model) Energy() Energy {
	e := Energy{FanKWh: m.fanKWh, CoilKWh: m.coilKWh, ITKWh: m.itKWh,
		UnitFanKWh: make([]float64, m.nU), UnitCoilKWh: make([]float64, m.nU)}
	for i := range m.units {
		e.UnitFanKWh[i] = m.units[i].fanKWh
		e.UnitCoilKWh[i] = m.units[i].coilKWh
	}
	return e
}

// DueEvents returns the timeline events (physical and field) whose time has come since the last
// call, in time order. Physical ones have already been applied by the model.
func (m *Model) DueEvents() []Event {
	var out []Event
	for m.nextDue < len(m.sc.Events) && m.sc.Events[m.nextDue].At <= m.t {
		out = append(out, m.sc.Events[m.nextDue])
		m.nextDue++
	}
	return out
}

// MaxInletC returns the hottest true sensor temperature now and its sensor id.
func (m *Model) MaxInletC() (float64, string) {
	best, id := math.Inf(-1), ""
	for s, v := range m.trueC {
		if v > best {
			best, id = v, m.sc.Sensors[s].ID
		}
	}
	return best, id
}
