package bench

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/site"
)

// SettleS is the start-up allowance: pass/fail and the "after settle" figures ignore it.
const SettleS = 600.0

// ErrNoAnswer is what a simulated unit that stopped answering returns.
var ErrNoAnswer = errors.New("bench: unit does not answer")

// Options tune a run. The zero value is the default bench.
type Options struct {
	Seed int64
	// Config overrides SiteConfig(sc) (it must describe the scenario's units and sensors).
	Config *site.Config
	// ReportInterval is each sensor's report interval (default 30 s); phases are seeded.
	ReportInterval time.Duration
	// SkipReferences skips the baseline, the oracle and the common-speed peer (faster, for tests
	// of the loop itself).
	SkipReferences bool
	// SkipPeer skips only the common-speed peer (its figures stay zero).
	SkipPeer bool
	// PeerTuning overrides CommonSpeedTuning for the common-speed peer.
	PeerTuning *site.Tuning
	// Trace, when set, is called after every control period.
	Trace func(t float64, m *plant.Model, e *engine.Engine, cmds []engine.Command)
}

// EventResult is the response to one timeline event.
type EventResult struct {
	Name      string  `json:"name"`
	T         float64 `json:"t"`
	PeakOverK float64 `json:"peak_over_setpoint_k"` // hottest true inlet minus setpoint, from the event to the next
	RecoveryS float64 `json:"recovery_s"`           // until all inlets <= setpoint+0.5 K; 0 if never above; -1 if never back
}

// Result holds a scenario's metrics.
type Result struct {
	Scenario              string  `json:"scenario"`
	Seed                  int64   `json:"seed"`
	DurationS             float64 `json:"duration_s"`
	FanKWh                float64 `json:"fan_kwh"`
	BaselineFanKWh        float64 `json:"baseline_fan_kwh"`
	OracleFanKWh          float64 `json:"oracle_fan_kwh"`
	SavingsPct            float64 `json:"savings_pct"`  // vs baseline
	OracleRatio           float64 `json:"oracle_ratio"` // ours / oracle
	FanKWhSettled         float64 `json:"fan_kwh_after_settle"`
	BaselineFanKWhSettled float64 `json:"baseline_fan_kwh_after_settle"`
	OracleFanKWhSettled   float64 `json:"oracle_fan_kwh_after_settle"`
	OracleRatioSettled    float64 `json:"oracle_ratio_after_settle"`
	DegMinAbove27         float64 `json:"degree_minutes_above_27"`
	DegMinAboveSP1        float64 `json:"degree_minutes_above_sp1"`
	MaxInletC             float64 `json:"max_inlet_c"`
	MaxInletSettledC      float64 `json:"max_inlet_after_settle_c"`
	IAE                   float64 `json:"iae"`                 // K*min, zone measurements vs setpoints, after settle
	FanTV                 float64 `json:"fan_total_variation"` // after settle, % summed over units
	FanTVAll              float64 `json:"fan_total_variation_incl_startup"`
	OracleFanTV           float64 `json:"oracle_fan_total_variation"`
	FanTVRatio            float64 `json:"fan_total_variation_ratio"` // FanTV / OracleFanTV
	// StartupExcessKWh is our fan energy over the oracle's in the first SettleS: the part of the
	// whole-run ratio the start from units in fallback at full speed costs.
	StartupExcessKWh float64 `json:"startup_excess_kwh"`
	// FirstAutoS is when every unit first ran in auto (before: fallback, fail-safe for too few
	// sensors reported yet, tracking); -1 never.
	FirstAutoS float64 `json:"first_auto_s"`

	// FanKWhFeasible is our fan energy over the oracle's feasible periods: the numerator of
	// OracleRatio (OracleFanKWh covers the same periods). OracleInfeasibleS is the time in
	// periods no fan speeds can hold the setpoint (a trip with warm chilled water): a ratio there
	// means nothing, so those periods are left out of every oracle ratio and reported here.
	FanKWhFeasible    float64 `json:"fan_kwh_feasible_periods"`
	OracleInfeasibleS float64 `json:"oracle_infeasible_s"`
	// Comfort: time and degree-minutes the hottest true inlet spends above the setpoint, ours
	// and the oracle's (which is above it only in infeasible periods, at its coolest there).
	MinutesAboveSP       float64 `json:"minutes_above_setpoint"`
	DegMinAboveSP        float64 `json:"degree_minutes_above_setpoint"`
	OracleMinutesAboveSP float64 `json:"oracle_minutes_above_setpoint"`
	OracleDegMinAboveSP  float64 `json:"oracle_degree_minutes_above_setpoint"`
	// MeanHottestSettledC is the time mean of the hottest true inlet after settle: our comfort.
	MeanHottestSettledC float64 `json:"mean_hottest_inlet_after_settle_c"`
	// OracleRatioEqualComfort is our energy after settle over the oracle's re-solved, per feasible
	// period, for our own mean hottest true inlet in that period (after settle): running warm
	// buys no credit. OracleFanKWhEqualComfort is that oracle's energy.
	OracleFanKWhEqualComfort float64 `json:"oracle_fan_kwh_equal_comfort"`
	OracleRatioEqualComfort  float64 `json:"oracle_ratio_equal_comfort"`
	// The common-speed peer (CommonSpeedTuning): one PI loop on the hottest valid inlet driving
	// every unit at one speed, run through the same harness with the same seed. Ratio = ours/its.
	CommonSpeedKWh              float64 `json:"common_speed_kwh"`
	CommonSpeedRatio            float64 `json:"common_speed_ratio"`
	CommonSpeedPassed           bool    `json:"common_speed_passed"`
	CommonSpeedMaxInletSettledC float64 `json:"common_speed_max_inlet_after_settle_c"`
	CommonSpeedMinutesAboveSP   float64 `json:"common_speed_minutes_above_setpoint"`
	CommonSpeedDegMinAbove27    float64 `json:"common_speed_degree_minutes_above_27"`

	Events          []EventResult `json:"events"`
	FailSafePeriods int           `json:"fail_safe_unit_periods"`
	Passed          bool          `json:"passed"`
	WallMS          float64       `json:"wall_ms"`
}

// report is one sensor reading on its way through the simulated mesh.
type report struct {
	arrive float64
	seq    uint64 // tie-break: delivery order is deterministic
	r      engine.Reading
}

type reportQueue []report

func (q reportQueue) Len() int { return len(q) }
func (q reportQueue) Less(i, j int) bool {
	if q[i].arrive != q[j].arrive {
		return q[i].arrive < q[j].arrive
	}
	return q[i].seq < q[j].seq
}
func (q reportQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *reportQueue) Push(x any)   { *q = append(*q, x.(report)) }
func (q *reportQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// unitEmu is a unit's BMS side: remote commands, heartbeat timer, local fallback.
type unitEmu struct {
	fan, valve float64 // last command, 0..1
	lastWrite  float64
	written    bool
	fallback   bool
	noAnswer   bool
	bms        float64
	cfg        plant.Unit
}

// epoch is the simulated wall time at plant t = 0.
var epoch = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func simTime(t float64) time.Time {
	return epoch.Add(time.Duration(math.Round(t*1e3)) * time.Millisecond)
}

// controller is what the lockstep drives: the engine, or the common-speed peer.
type controller interface {
	Observe(engine.Reading)
	UpdateUnit(name string, st engine.UnitState, err error, now time.Time)
	Tick(now time.Time) []engine.Command
}

// periodTrace is what a run did in each of the oracle's load periods (plant.OracleBoundsWith).
type periodTrace struct {
	kwh, kwhSettled []float64 // fan energy, and its part after SettleS
	hotSettled      []float64 // integral of the hottest true inlet after SettleS, C*s
	settledS        []float64 // length of the part after SettleS, s
	// fallbackAfter, per scenario unit, is the BMS timeout the controller programmed: the oracle
	// runs a unit that stops answering at its fallback speed from then on, as the plant does.
	fallbackAfter []float64
}

// Run simulates the scenario with the engine in the loop, lockstep on one simulated clock, and
// returns its metrics; unless SkipReferences, also the baseline's, the oracle's (at the setpoint
// and at our own comfort) and the common-speed peer's, each on the same seed. It is deterministic
// for a scenario and seed.
func Run(sc *plant.Scenario, opt Options) (*Result, error) {
	wall := time.Now()
	cfg := opt.Config
	if cfg == nil {
		cfg = SiteConfig(sc)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bench: site config for %s: %w", sc.Name, err)
	}
	eng, err := engine.New(cfg)
	if err != nil {
		return nil, err
	}
	res, tr, err := simulate(sc, opt, cfg, eng, eng)
	if err != nil {
		return nil, err
	}
	if !opt.SkipReferences {
		var peer *Result
		if !opt.SkipPeer {
			tune := CommonSpeedTuning
			if opt.PeerTuning != nil {
				tune = *opt.PeerTuning
			}
			peer, err = RunCommonSpeed(sc, Options{Seed: opt.Seed, Config: cfg, ReportInterval: opt.ReportInterval}, tune)
			if err != nil {
				return nil, err
			}
		}
		references(sc, opt.Seed, res, tr, peer)
	}
	res.WallMS = float64(time.Since(wall).Microseconds()) / 1000
	return res, nil
}

// RunCommonSpeed runs the common-speed peer (see CommonSpeedTuning) through the same lockstep as
// Run, with the same site configuration (SiteConfig(sc) unless opt.Config), and returns its
// metrics. The engine-only figures (fail-safe periods, first auto, IAE) and the references are
// left zero.
func RunCommonSpeed(sc *plant.Scenario, opt Options, tune site.Tuning) (*Result, error) {
	wall := time.Now()
	cfg := opt.Config
	if cfg == nil {
		cfg = SiteConfig(sc)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bench: site config for %s: %w", sc.Name, err)
	}
	p, err := newCommonSpeed(cfg, tune)
	if err != nil {
		return nil, err
	}
	opt.Trace = nil
	res, _, err := simulate(sc, opt, cfg, p, nil)
	if err != nil {
		return nil, err
	}
	res.WallMS = float64(time.Since(wall).Microseconds()) / 1000
	return res, nil
}

// simulate runs ctl in the lockstep; eng (nil for a peer) adds the engine's own figures.
func simulate(sc *plant.Scenario, opt Options, cfg *site.Config, ctl controller, eng *engine.Engine) (*Result, *periodTrace, error) {
	m := plant.New(sc, opt.Seed)
	rng := rand.New(rand.NewPCG(uint64(opt.Seed), 0x62656e6368)) // "bench"
	interval := opt.ReportInterval.Seconds()
	if interval <= 0 {
		interval = sc.Mesh.ReportInterval
	}
	if interval <= 0 {
		interval = 30
	}
	jitter := sc.Mesh.DelayJitter
	period := cfg.Control.Period.Duration.Seconds()
	setpoint := sc.SetpointC
	alarm := cfg.Control.AlarmC

	units := make([]unitEmu, len(sc.Units))
	unitIdx := make([]int, len(cfg.Units)) // config unit -> scenario unit
	for i, u := range sc.Units {
		units[i] = unitEmu{cfg: u, fallback: true, bms: u.BMSTimeout}
		if cu := cfg.Unit(u.Name); cu != nil {
			units[i].bms = cu.BMSTimeout.Seconds()
		}
	}
	for j, u := range cfg.Units {
		unitIdx[j] = sc.UnitIndex(u.Name)
		if unitIdx[j] < 0 {
			return nil, nil, fmt.Errorf("bench: config unit %q is not in scenario %s", u.Name, sc.Name)
		}
	}
	nS := len(sc.Sensors)
	phase := make([]float64, nS)
	nextRep := make([]float64, nS)
	seqs := make([]uint8, nS)
	dead := make([]bool, nS)
	frozen := make([]bool, nS)
	frozenV := make([]float64, nS)
	for s := range phase {
		phase[s] = rng.Float64() * interval
		nextRep[s] = phase[s]
	}
	var q reportQueue
	var qseq uint64
	var pLoss, pDup, pReorder, delay, gwDownUntil float64

	res := &Result{Scenario: sc.Name, Seed: opt.Seed, DurationS: sc.Duration, MaxInletC: math.Inf(-1), MaxInletSettledC: math.Inf(-1), FirstAutoS: -1}
	type evTrack struct {
		EventResult
		lastAbove float64
		above     bool
	}
	var evs []*evTrack
	lastFan := make([]float64, len(cfg.Units))
	haveFan := false
	sensorsBuf := make([]plant.SensorOut, 0, nS)
	nextTick := period
	var fanKWhAtSettle float64
	settledMarked := false
	fallbackAfter := make([]float64, len(units))
	for i := range units {
		fallbackAfter[i] = units[i].bms
	}
	bounds := plant.OracleBoundsWith(sc, plant.OracleOptions{FallbackAfterS: fallbackAfter})
	nP := len(bounds) - 1
	tr := &periodTrace{kwh: make([]float64, nP), kwhSettled: make([]float64, nP), hotSettled: make([]float64, nP), settledS: make([]float64, nP),
		fallbackAfter: fallbackAfter}
	pk := 0
	fanBefore := 0.0

	for m.Time() < sc.Duration-1e-9 {
		dt := math.Min(1, sc.Duration-m.Time())
		// Units: BMS timers, inputs.
		for i := range units {
			u := &units[i]
			if u.written && m.Time()-u.lastWrite > u.bms {
				u.fallback = true
			}
			if u.fallback {
				m.SetUnitInput(i, plant.UnitInput{LocalFan: u.cfg.FallbackFan, LocalSupplySP: u.cfg.LocalSupplySP})
			} else {
				m.SetUnitInput(i, plant.UnitInput{Remote: true, Fan: u.fan, Valve: u.valve})
			}
		}
		t0 := m.Time()
		for pk+1 < nP && t0 >= bounds[pk+1]-1e-9 {
			pk++
		}
		m.Step(dt)
		t := m.Time()
		fanNow := m.Energy().FanKWh
		tr.kwh[pk] += fanNow - fanBefore
		settledStep := t0 >= SettleS-1e-9
		if settledStep {
			tr.kwhSettled[pk] += fanNow - fanBefore
			tr.settledS[pk] += dt
		}
		fanBefore = fanNow
		if !settledMarked && t >= SettleS {
			fanKWhAtSettle, settledMarked = fanNow, true
		}
		for _, ev := range m.DueEvents() {
			switch ev.Kind {
			case plant.EvSensorDie:
				if s := sc.SensorIndex(ev.Sensor); s >= 0 {
					dead[s] = true
				}
			case plant.EvSensorFreeze:
				if s := sc.SensorIndex(ev.Sensor); s >= 0 && !frozen[s] {
					frozen[s] = true
					frozenV[s] = m.Sensors()[s].MeasuredC
				}
			case plant.EvSensorRevive:
				if s := sc.SensorIndex(ev.Sensor); s >= 0 {
					dead[s], frozen[s] = false, false
				}
			case plant.EvMeshLoss:
				pLoss = ev.Probability
			case plant.EvMeshDuplicates:
				pDup = ev.Probability
			case plant.EvMeshReorder:
				pReorder = ev.Probability
			case plant.EvMeshDelay:
				delay = ev.Delay
			case plant.EvGatewayReboot:
				gwDownUntil = ev.At + ev.Duration
				q = q[:0] // reports in flight are lost with the gateway
			case plant.EvUnitNoAnswer:
				if i := sc.UnitIndex(ev.Unit); i >= 0 {
					units[i].noAnswer = true
				}
			case plant.EvUnitAnswerAgain:
				if i := sc.UnitIndex(ev.Unit); i >= 0 {
					units[i].noAnswer = false
				}
			}
			if !ev.Generated {
				evs = append(evs, &evTrack{EventResult: EventResult{Name: eventName(ev), T: ev.At, PeakOverK: math.Inf(-1)}})
			}
		}

		// True inlets: metrics.
		sensorsBuf = m.AppendSensors(sensorsBuf)
		maxT := math.Inf(-1)
		for _, s := range sensorsBuf {
			maxT = math.Max(maxT, s.TrueC)
			res.DegMinAbove27 += math.Max(0, s.TrueC-alarm) * dt / 60
			res.DegMinAboveSP1 += math.Max(0, s.TrueC-(setpoint+1)) * dt / 60
		}
		res.MaxInletC = math.Max(res.MaxInletC, maxT)
		if maxT > setpoint {
			res.MinutesAboveSP += dt / 60
			res.DegMinAboveSP += (maxT - setpoint) * dt / 60
		}
		if settledStep {
			tr.hotSettled[pk] += maxT * dt
		}
		if t > SettleS {
			res.MaxInletSettledC = math.Max(res.MaxInletSettledC, maxT)
		}
		if k := len(evs); k > 0 {
			e := evs[k-1] // an event's window ends where the next one starts
			e.PeakOverK = math.Max(e.PeakOverK, maxT-setpoint)
			if maxT > setpoint+0.5 {
				e.above, e.lastAbove = true, t
			}
		}

		// Sensors report on their own schedule through the simulated mesh.
		for s := range sensorsBuf {
			for nextRep[s] <= t+1e-9 {
				at := nextRep[s]
				nextRep[s] += interval
				seqs[s]++
				if dead[s] || at < gwDownUntil {
					continue
				}
				if pLoss > 0 && rng.Float64() < pLoss {
					continue
				}
				v := sensorsBuf[s].MeasuredC
				if frozen[s] {
					v = frozenV[s]
				}
				r := engine.Reading{Sensor: sensorsBuf[s].ID, Value: v, Time: simTime(at), Seq: seqs[s]}
				arrive := at + 0.2 + delay
				if jitter > 0 {
					arrive += rng.Float64() * jitter
				}
				if pReorder > 0 && rng.Float64() < pReorder {
					arrive += interval + 1 // overtaken by the node's next report
				}
				qseq++
				heap.Push(&q, report{arrive: arrive, seq: qseq, r: r})
				if pDup > 0 && rng.Float64() < pDup {
					qseq++
					heap.Push(&q, report{arrive: arrive + 1 + rng.Float64()*5, seq: qseq, r: r})
				}
			}
		}
		for q.Len() > 0 && q[0].arrive <= t+1e-9 {
			x := heap.Pop(&q).(report)
			x.r.Arrival = simTime(x.arrive)
			ctl.Observe(x.r)
		}

		// Control period: read every unit, tick, write.
		if t+1e-9 >= nextTick {
			nextTick += period
			now := simTime(t)
			outs := m.Units()
			for j := range cfg.Units {
				i := unitIdx[j]
				u := &units[i]
				if u.noAnswer {
					ctl.UpdateUnit(cfg.Units[j].Name, engine.UnitState{}, ErrNoAnswer, now)
					continue
				}
				ctl.UpdateUnit(cfg.Units[j].Name, readBack(outs[i], u), nil, now)
			}
			cmds := ctl.Tick(now)
			for j, c := range cmds {
				i := unitIdx[j]
				u := &units[i]
				if !c.Write || u.noAnswer {
					continue
				}
				u.fan, u.valve = c.FanPct/100, c.ValvePct/100
				u.lastWrite, u.written, u.fallback = t, true, false
			}
			for j, c := range cmds {
				if haveFan {
					d := math.Abs(c.FanPct - lastFan[j])
					res.FanTVAll += d
					if t > SettleS {
						res.FanTV += d
					}
				}
				lastFan[j] = c.FanPct
			}
			haveFan = true
			if eng == nil {
				continue
			}
			snap := eng.Snapshot()
			allAuto := true
			for _, us := range snap.Units {
				if us.Mode == engine.ModeFailSafe {
					res.FailSafePeriods++
				}
				allAuto = allAuto && us.Mode == engine.ModeAuto
			}
			if allAuto && res.FirstAutoS < 0 {
				res.FirstAutoS = t
			}
			if t > SettleS {
				for _, z := range snap.Zones {
					if z.OK {
						res.IAE += math.Abs(z.MeasureC-z.SetpointC) * period / 60
					}
				}
			}
			eng.Events() // drained: the bench does not keep an event log
			if opt.Trace != nil {
				opt.Trace(t, m, eng, cmds)
			}
		}
	}
	for _, e := range evs {
		switch {
		case !e.above:
			e.RecoveryS = 0
		case e.lastAbove >= sc.Duration-1.5:
			e.RecoveryS = -1
		default:
			e.RecoveryS = e.lastAbove + 1 - e.T
		}
		if math.IsInf(e.PeakOverK, -1) {
			e.PeakOverK = 0
		}
		res.Events = append(res.Events, e.EventResult)
	}
	en := m.Energy()
	res.FanKWh = en.FanKWh
	res.FanKWhSettled = en.FanKWh - fanKWhAtSettle
	res.Passed = !(res.MaxInletSettledC > alarm)
	settled := 0.0
	for k := range tr.hotSettled {
		res.MeanHottestSettledC += tr.hotSettled[k]
		settled += tr.settledS[k]
	}
	if settled > 0 {
		res.MeanHottestSettledC /= settled
	}
	return res, tr, nil
}

// references fills in the baseline, the oracle (at the setpoint and at our comfort) and the
// common-speed peer.
func references(sc *plant.Scenario, seed int64, res *Result, tr *periodTrace, peer *Result) {
	b := plant.Baseline(sc, seed)
	o := plant.OracleWith(sc, seed, plant.OracleOptions{FallbackAfterS: tr.fallbackAfter})
	res.BaselineFanKWh = b.FanKWh
	res.OracleFanTV = o.FanTotalVariation
	res.OracleInfeasibleS = o.InfeasibleS
	res.OracleMinutesAboveSP = o.InfeasibleS / 60
	res.OracleDegMinAboveSP = o.InfeasibleDegMin
	// Our comfort per period after settle: the limit the oracle is re-solved for.
	comfort := make([]float64, len(o.Periods))
	for k := range comfort {
		comfort[k] = math.NaN()
		if o.Periods[k].Feasible && k < len(tr.settledS) && tr.settledS[k] > 0 {
			comfort[k] = tr.hotSettled[k] / tr.settledS[k]
		}
	}
	ec := plant.OracleWith(sc, seed, plant.OracleOptions{SetpointC: comfort, Start: &o, FallbackAfterS: tr.fallbackAfter})
	ourEC := 0.0
	for k, p := range o.Periods {
		if !p.Feasible || k >= len(tr.kwh) {
			continue
		}
		res.FanKWhFeasible += tr.kwh[k]
		res.OracleFanKWh += p.FanKW * (p.End - p.Start) / 3600
		// After settle: the oracle's periods clipped.
		if s := math.Max(p.Start, SettleS); p.End > s {
			res.OracleFanKWhSettled += p.FanKW * (p.End - s) / 3600
		}
		if !math.IsNaN(comfort[k]) {
			// A comfort the oracle cannot reach in steady state (ours, cooler, in a transient) is
			// charged at its coolest: its speeds are then the best effort.
			res.OracleFanKWhEqualComfort += ec.Periods[k].FanKW * tr.settledS[k] / 3600
			ourEC += tr.kwhSettled[k]
		}
	}
	// The baseline runs at constant speed, so scale by the part of the run after settle
	// (approximated by time).
	if sc.Duration > SettleS {
		res.BaselineFanKWhSettled = b.FanKWh * (sc.Duration - SettleS) / sc.Duration
	}
	if res.BaselineFanKWh > 0 {
		res.SavingsPct = 100 * (1 - res.FanKWh/res.BaselineFanKWh)
	}
	if res.OracleFanKWh > 0 {
		res.OracleRatio = res.FanKWhFeasible / res.OracleFanKWh
	}
	if res.OracleFanKWhSettled > 0 {
		res.OracleRatioSettled = ourEC / res.OracleFanKWhSettled
	}
	if res.OracleFanKWhEqualComfort > 0 {
		res.OracleRatioEqualComfort = ourEC / res.OracleFanKWhEqualComfort
	}
	ourBefore := res.FanKWhFeasible - ourEC
	res.StartupExcessKWh = ourBefore - (res.OracleFanKWh - res.OracleFanKWhSettled)
	if res.OracleFanTV > 0 {
		res.FanTVRatio = res.FanTV / res.OracleFanTV
	}
	if peer != nil {
		res.CommonSpeedKWh = peer.FanKWh
		res.CommonSpeedPassed = peer.Passed
		res.CommonSpeedMaxInletSettledC = peer.MaxInletSettledC
		res.CommonSpeedMinutesAboveSP = peer.MinutesAboveSP
		res.CommonSpeedDegMinAbove27 = peer.DegMinAbove27
		if peer.FanKWh > 0 {
			res.CommonSpeedRatio = res.FanKWh / peer.FanKWh
		}
	}
}

// readBack is what the unit's registers would say (drivers/ahu State), per profile.
func readBack(o plant.UnitOut, u *unitEmu) engine.UnitState {
	st := engine.UnitState{
		FanPct: 100 * o.Fan, Running: !o.Tripped && o.Fan > 0, FanFault: o.FanFault,
		Alarm: o.FanFault, Fallback: u.fallback, Remote: true, FanKW: o.FanKW,
	}
	if o.Profile != plant.ProfileVFD { // a drive has no coil registers
		st.ValvePct, st.SupplyC, st.ReturnC, st.CoolingKW = 100*o.Valve, o.SupplyC, o.ReturnC, o.CoolKW
	}
	if o.Tripped {
		st.Running = false
	}
	return st
}

func eventName(e plant.Event) string {
	s := string(e.Kind)
	for _, v := range []string{e.Unit, e.Sensor, e.Rack, e.Zone} {
		if v != "" {
			s += " " + v
		}
	}
	switch {
	case e.HasKW:
		s += fmt.Sprintf(" %gkW", e.KW)
	case e.Kind == plant.EvITLoad || e.Kind == plant.EvFanFault:
		s += fmt.Sprintf(" x%g", e.Factor)
	case e.Kind == plant.EvMeshLoss || e.Kind == plant.EvMeshDuplicates || e.Kind == plant.EvMeshReorder:
		s += fmt.Sprintf(" p=%g", e.Probability)
	}
	return s
}
