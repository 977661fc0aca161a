package engine

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/control/pid"
	"github.com/coldaisle/coldaisle/control/sensors"
	"github.com/coldaisle/coldaisle/control/site"
)

// Tunables that are not (yet) site settings.
const (
	// isolateAfter consecutive failed reads isolate a unit (one lost frame does not).
	isolateAfter = 2
	// staleFeedbackPeriods: a read-back older than this many periods counts as missing.
	staleFeedbackPeriods = 5
	// trackPeriods: a unit tracks its read-back this many periods before auto takes over.
	trackPeriods = 2
	// trackMatchPct: a unit whose read-back is this close to its command needs no tracking.
	trackMatchPct = 1.0
	// biasTau is the time constant (s) of the decaying offset that makes entering auto bumpless.
	biasTau = 30.0
	// fanDeadbandPct: an auto fan command moves only when the wanted change reaches this.
	fanDeadbandPct = 1.5
	// fastDescentGain, fastDescentBandK: a zone more than the band below its setpoint integrates
	// down this many times faster. Far below the setpoint the inlets hardly respond to airflow
	// (every rack gets more cold air than it draws), so the fast descent is safe there, and it
	// cuts the cost of an over-cooled start (fan power goes with the cube of speed).
	fastDescentGain  = 3.0
	fastDescentBandK = 1.5
	// slewBandK, slewRiseK, lowRelaxKps: at start-up a zone more than slewBandK below its
	// setpoint lowers its demand at the fan rate limit until one of its sensors has warmed
	// slewRiseK above its own recent low (which relaxes upwards at lowRelaxKps K/s, so that a
	// slow drift is not taken for the knee). See Engine.slew.
	slewBandK   = 3.0
	slewRiseK   = 0.3
	lowRelaxKps = 0.3 / 120
	// degradedShare is the share of its air a unit with a fan fault is assumed to have left when
	// its fan power is not known.
	degradedShare = 0.5
	// kwLearnMinPct: fan power is learned (and a degraded unit sized) only above this speed.
	kwLearnMinPct = 20.0
	// blindHold: how long an isolated unit's zones hold their loops while over-cooled (then the
	// loops take over: a unit gone that long is not coming back soon).
	blindHold = 10 * time.Minute
	// recoverHold: after a blind unit is back, how long its zones may hold their loops while they
	// are still over-cooled by its fallback air (about the inlets' delay plus two lags).
	recoverHold = 3 * time.Minute
	// shareChange: a change of a share larger than this (a trip, a restart) lets the allocation
	// move at once; smaller ones (a degraded unit's estimate settling) do not.
	shareChange = 0.02
	// plenumCredit: how much of the plenum refill after a trip the allocation counts on (see
	// Engine.plenumShares); the rest of the redistribution is taken as missing air.
	plenumCredit = 0.8
	// lambdaTi: a zone's allocation multiplier falls at most with a time constant of this times
	// the zone loop's integral time (40 s at the bench's Ti of 150 s): the loop's own pace, so a
	// retuned loop (or a time-scaled twin, which scales Ti) keeps the same balance. lambdaTau is
	// the time constant of a P-only loop.
	lambdaTi  = 40.0 / 150
	lambdaTau = 40.0
	// coolMarginK: a zone this far below its setpoint is over-cooled.
	coolMarginK = 0.5
	// writeAlarmAfter consecutive failed writes raise the unit's write alarm.
	writeAlarmAfter = 3
	// alarmHystK: an inlet-high alarm (and the extra air it brings) clears this far below the
	// alarm limit, so that noise at the limit does not flap the fans.
	alarmHystK = 0.5
	// refIntervalS, plantDeadS, minScale: see Engine.sparseScale. The fan tuning is for reports
	// every 30 s; plantDeadS is the inlets' own delay and lag the loop sees at any report rate.
	refIntervalS = 30.0
	plantDeadS   = 20.0
	minScale     = 0.15
	// sparseFastDescent: a loop whose gain scale is below this (reports every 60 s or sparser)
	// has no fast descent.
	sparseFastDescent = 0.7
	// ffHorizonTi, ffMinRiseK, ffMarginK, ffHandOverK: the rise feed-forward (see
	// Engine.riseFF). Its horizon (and decay time) is 0.4 x the zone loop's Ti, which is tuned to
	// the inlets' lag (60 s at the bench's Ti of 150 s; a time-scaled twin scales it with Ti); a
	// rate of rise counts above ffMinRiseK per horizon (3.6 K/min at 60 s): well above what sensor
	// noise, a drift or the loop's own moves give, so only a sudden heat load drives it.
	ffHorizonTi = 0.4
	ffMinRiseK  = 3.6
	ffMarginK   = 0.5
	ffHandOverK = 0.2
)

// Engine is the loop engine. Build it with New; drive it with Observe, UpdateUnit and Tick. All
// methods are safe for concurrent use (one mutex): the mesh reader may Observe while the runner ticks.
type Engine struct {
	mu     sync.Mutex
	cfg    *site.Config
	period time.Duration
	owner  uint16
	epoch  uint16

	meas     measurer
	observed uint64 // readings taken by Observe
	zones    []*zoneRT
	units    []*unitRT
	byName   map[string]int
	alloc    allocator
	ain      allocInput
	target   []float64
	lastW    [][]float64 // last period's shares, to see them change
	haveW    bool
	lamFloor []float64

	events   []Event
	last     time.Time
	haveLast bool
	now      time.Time
	start    time.Time // first tick: start-up grace of the sensor alarms
}

type zoneRT struct {
	cfg          site.Zone
	share        []float64 // per unit index, normalised to sum 1 over the zone's units
	pct          float64   // aggregate percentile (100 = max)
	pid          *pidLoop
	tt           float64 // tracking time constant (s)
	meas         float64
	valid        int
	ok           bool
	demand       float64
	achieved     float64
	alarms       map[string]string
	slewRate     float64   // fastest fan rate of the zone's units (%/s)
	preTrip      float64   // demand before a unit of the zone tripped (NaN: none tripped)
	held         bool      // the loop holds this period (blind or recovering, and over-cooled)
	recoverUntil time.Time // a zone that was blind holds while over-cooled until then
	started      bool      // the zone has been within slewBandK of its setpoint: no more slew
	hottest      float64   // hottest counted inlet (raw), NaN when none
	hottestID    string
	overAlarm    bool // a counted inlet is past the alarm limit: its units get more air
	everOK       bool // the zone has had a valid measurement since the engine started
	mem          *sensors.ZoneMemory
	iv           float64 // the sensors' report interval (s) sparseScale saw, 0 unknown
	ff           float64 // rise feed-forward added to the loop's output (%, >= 0)
}

type unitRT struct {
	cfg      site.Unit
	mode     Mode
	prevMode Mode
	reason   string
	manual   bool
	// manFor and manUntil bound an operator's manual mode: manFor is what is left of it when no
	// tick has set manUntil yet (a new SetManual, a restore); zero manUntil and manFor with manual
	// set is the site file's manual_fan_pct, which lasts as long as the configuration says so.
	manFor     time.Duration
	manUntil   time.Time
	manPct     float64
	fan        float64 // last fan command
	valve      float64 // last valve command
	haveCmd    bool
	hb         uint16
	st         UnitState
	stAt       time.Time
	haveSt     bool
	rd         UnitState // the newest read-back, refused or not (console_view.go: LastRead)
	rdAt       time.Time
	fails      int
	lastErr    error
	isolated   bool
	isoSince   time.Time
	wasIso     bool    // the last isolation has not been followed by auto yet
	tripped    bool    // not running (trip, fan fault with the fan stopped): no air
	fallback   bool    // running on its own local control (BMS timeout): its read-back speed
	degraded   bool    // fan fault with the fan still running: capEst of its air
	boost      bool    // more air this period: it serves a zone past the alarm limit
	writeFails int     // consecutive failed writes
	why        string  // why the fan runs at this speed, in words (Snapshot)
	capEst     float64 // estimated share of its rated airflow left (degraded)
	kwCoef     float64 // learned fan kW at 100 % (FanKW / speed^3 while healthy), 0 unknown
	needTrk    bool    // started, back from isolation or from fallback: go through tracking
	trkFrom    time.Time
	valvePID   *pid.PID
	bias       float64
	primary    int // zone index with the largest share, -1 if none
	fbCmds     int // periods in local fallback although already commanded (fallbackAlarmPeriods)
	alarms     map[string]string
	tune       *tuneRT
	lastTune   *AutotuneStatus
}

// New builds an engine for cfg (which must be valid: site.Load/Parse validate). Every unit starts in
// tracking: the first commands hold what the units read back.
func New(cfg *site.Config) (*Engine, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: nil config", ErrBadValue)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{}
	if err := e.build(cfg, nil); err != nil {
		return nil, err
	}
	return e, nil
}

// valveConfig is the valve loop's pid.Config for a unit.
func valveConfig(c *site.Config, u *site.Unit) pid.Config {
	t := c.Control.ValveTuning
	if u.ValveTuning != nil {
		t = *u.ValveTuning
	}
	hi := u.MaxValvePct
	if hi <= u.MinValvePct {
		hi = u.MinValvePct + 1e-6
	}
	return pid.Config{Kp: t.Kp, Ti: t.Ti, Td: t.Td, OutMin: u.MinValvePct, OutMax: hi,
		Rate: u.ValveRatePct, Action: pid.Direct}
}

// fanTuning is the zone loop tuning: the per-unit tuning of the unit that carries the largest share
// of the zone if it has one, else the site default.
func fanTuning(c *site.Config, z *site.Zone) site.Tuning {
	best, bw := "", -1.0
	for _, u := range z.Units {
		if w := z.InfluenceOf(u); w > bw {
			best, bw = u, w
		}
	}
	if u := c.Unit(best); u != nil && u.FanTuning != nil {
		return *u.FanTuning
	}
	return c.Control.FanTuning
}

// build (re)creates the runtime from cfg, keeping the state of loops that still exist in old.
func (e *Engine) build(cfg *site.Config, old *Engine) error {
	e.cfg = cfg
	e.period = cfg.Control.Period.Duration
	e.owner = uint16(cfg.NodeID)
	ct := cfg.Control
	if old == nil || e.meas == nil || old.cfg.Control.MaxAge != ct.MaxAge || old.cfg.Control.FrozenAfter != ct.FrozenAfter ||
		old.cfg.Control.ValidMinC != ct.ValidMinC || old.cfg.Control.ValidMaxC != ct.ValidMaxC {
		var prev *storeMeasurer
		if old != nil {
			prev, _ = old.meas.(*storeMeasurer)
		}
		m, err := newStoreMeasurer(ct.MaxAge.Duration, ct.FrozenAfter.Duration, ct.ValidMinC, ct.ValidMaxC, prev)
		if err != nil {
			return err
		}
		e.meas = m
	}
	oldUnits := map[string]*unitRT{}
	oldZones := map[string]*zoneRT{}
	var oldLambda map[string]float64
	if old != nil {
		for _, u := range old.units {
			oldUnits[u.cfg.Name] = u
		}
		oldLambda = map[string]float64{}
		for i, z := range old.zones {
			oldZones[z.cfg.Name] = z
			if i < len(old.alloc.lambda) {
				oldLambda[z.cfg.Name] = old.alloc.lambda[i]
			}
		}
	}
	e.byName = map[string]int{}
	units := make([]*unitRT, len(cfg.Units))
	for i := range cfg.Units {
		uc := cfg.Units[i]
		e.byName[uc.Name] = i
		vc := valveConfig(cfg, &uc)
		if o := oldUnits[uc.Name]; o != nil {
			o.cfg = uc
			if err := o.valvePID.Retune(vc); err != nil {
				return fmt.Errorf("engine: unit %s valve tuning: %w", uc.Name, err)
			}
			units[i] = o
		} else {
			vp, err := pid.New(vc)
			if err != nil {
				return fmt.Errorf("engine: unit %s valve tuning: %w", uc.Name, err)
			}
			units[i] = &unitRT{cfg: uc, needTrk: true, valvePID: vp, alarms: map[string]string{}}
			if uc.ManualFanPct != nil {
				units[i].manual, units[i].manPct = true, *uc.ManualFanPct
			}
		}
		u := units[i]
		if old != nil {
			// A committed change of manual_fan_pct is an operator action; otherwise keep the mode.
			if oc := old.cfg.Unit(uc.Name); oc != nil && !sameFloatPtr(oc.ManualFanPct, uc.ManualFanPct) {
				if uc.ManualFanPct != nil {
					u.manual, u.manPct = true, *uc.ManualFanPct
				} else {
					u.manual = false
				}
			}
		}
		u.manPct = clamp(u.manPct, uc.MinFanPct, uc.MaxFanPct)
		if uc.DisableControls {
			u.mode = ModeDisabled
		} else if u.mode == ModeDisabled {
			u.mode, u.needTrk = ModeTracking, true
		}
		u.primary = -1
	}
	zones := make([]*zoneRT, len(cfg.Zones))
	for i := range cfg.Zones {
		zc := cfg.Zones[i]
		pct, _ := site.ParseAggregate(zc.Aggregate)
		zr := oldZones[zc.Name]
		tun := fanTuning(cfg, &zc)
		if zr == nil {
			zr = &zoneRT{pid: newPID(tun, true, 0, 100), alarms: map[string]string{}, meas: math.NaN(), preTrip: math.NaN(), hottest: math.NaN()}
		} else {
			zr.pid.retune(tun)
		}
		if zr.mem == nil {
			zr.mem = sensors.NewZoneMemory()
		}
		zr.cfg, zr.pct = zc, pct
		zr.tt = math.Max(tun.Ti/4, e.period.Seconds())
		zr.slewRate = 0
		for _, un := range zc.Units {
			if u := cfg.Unit(un); u != nil {
				zr.slewRate = math.Max(zr.slewRate, u.FanRatePct)
			}
		}
		zr.share = make([]float64, len(cfg.Units))
		sum := 0.0
		for _, un := range zc.Units {
			if j, ok := e.byName[un]; ok {
				zr.share[j] = zc.InfluenceOf(un)
				sum += zr.share[j]
			}
		}
		for j := range zr.share {
			if sum > 0 {
				zr.share[j] /= sum
			}
		}
		zones[i] = zr
	}
	for j, u := range units {
		bw := 0.0
		for i, z := range zones {
			if z.share[j] > bw {
				bw, u.primary = z.share[j], i
			}
		}
	}
	e.units, e.zones = units, zones
	lam := make([]float64, len(zones))
	for i, z := range zones {
		lam[i] = oldLambda[z.cfg.Name]
	}
	e.alloc = allocator{lambda: lam}
	e.ain = allocInput{
		W: make([][]float64, len(zones)), D: make([]float64, len(zones)),
		Free: make([]bool, len(units)), Fixed: make([]float64, len(units)),
		Lo: make([]float64, len(units)), Hi: make([]float64, len(units)),
	}
	for i := range zones {
		e.ain.W[i] = make([]float64, len(units))
	}
	e.target = make([]float64, len(units))
	e.lastW, e.haveW, e.lamFloor = make([][]float64, len(zones)), false, make([]float64, len(zones))
	for i := range zones {
		e.lastW[i] = make([]float64, len(units))
	}
	return nil
}

func sameFloatPtr(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// SetEpoch sets the failover epoch written with every command.
func (e *Engine) SetEpoch(epoch uint16) {
	e.mu.Lock()
	e.epoch = epoch
	e.mu.Unlock()
}

// Observe takes one sensor reading.
func (e *Engine) Observe(r Reading) {
	e.mu.Lock()
	e.meas.observe(r)
	e.observed++
	e.mu.Unlock()
}

// Observed counts the readings Observe has taken (a view can tell whether anything new came).
func (e *Engine) Observed() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.observed
}

// UpdateUnit takes one unit's read-back (err == nil) or the failure to read it.
func (e *Engine) UpdateUnit(name string, st UnitState, err error, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.unit(name)
	if u == nil {
		return
	}
	if err != nil {
		u.fails++
		u.lastErr = err
		return
	}
	u.rd, u.rdAt = st, now
	// Without its fan's feedback a unit cannot be controlled: that read-back counts as missing.
	// A point the unit reports as not available (valve, supply, return) is only that point's
	// loss: the unit is still read, the point is alarmed and its loop falls back to full cooling.
	if math.IsNaN(st.FanPct) || math.IsInf(st.FanPct, 0) {
		u.fails++
		u.lastErr = fmt.Errorf("%w: fan feedback not available", ErrBadValue)
		return
	}
	var missing []string
	for _, p := range []struct {
		v    *float64
		name string
	}{{&st.ValvePct, "valve feedback"}, {&st.SupplyC, "supply temperature"}, {&st.ReturnC, "return temperature"}} {
		if math.IsNaN(*p.v) || math.IsInf(*p.v, 0) {
			*p.v = math.NaN()
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		e.setUnitAlarm(u, "read-back", "read-back: "+strings.Join(missing, ", ")+" not available; the valve loop opens fully", now)
	} else {
		e.clearUnitAlarm(u, "read-back", now)
	}
	u.st, u.stAt, u.haveSt, u.fails, u.lastErr = st, now, true, 0, nil
}

// failures is how many reads of unit name have failed in a row (0 after a good one).
func (e *Engine) failures(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if u := e.unit(name); u != nil {
		return u.fails
	}
	return 0
}

// lastError is why the last read of unit name failed (nil after a good one).
func (e *Engine) lastError(name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if u := e.unit(name); u != nil {
		return u.lastErr
	}
	return nil
}

// WriteResult reports the outcome of writing a unit's command (alarms only: a unit that is read
// fine but refuses writes, e.g. fenced by another controller, is alarmed, not isolated).
func (e *Engine) WriteResult(name string, err error, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.unit(name)
	if u == nil {
		return
	}
	// One lost write is noise (the next period writes again, long before the unit's BMS timeout):
	// the alarm is for writes that keep failing.
	if err != nil {
		u.writeFails++
		if u.writeFails >= writeAlarmAfter {
			e.setUnitAlarm(u, "write", fmt.Sprintf("write failed %d times in a row: %v", u.writeFails, err), now)
		}
	} else {
		u.writeFails = 0
		e.clearUnitAlarm(u, "write", now)
	}
}

// unit is the named unit, nil if there is none. The caller holds e.mu.
func (e *Engine) unit(name string) *unitRT {
	if i, ok := e.byName[name]; ok {
		return e.units[i]
	}
	return nil
}

// unitIndex finds a unit by name. The caller holds e.mu.
func (e *Engine) unitIndex(name string) (int, error) {
	i, ok := e.byName[name]
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrUnknownUnit, name)
	}
	return i, nil
}

// controllable finds a unit the operator may act on: known and not disabled. The caller holds e.mu.
func (e *Engine) controllable(name string) (int, *unitRT, error) {
	i, err := e.unitIndex(name)
	if err != nil {
		return 0, nil, err
	}
	u := e.units[i]
	if u.cfg.DisableControls {
		return 0, nil, fmt.Errorf("%w: %s", ErrDisabled, name)
	}
	return i, u, nil
}

// SetManual puts a unit's fan in manual at pct (clamped to its min..max: never below the minimum)
// for the site's control.manual_default; see SetManualFor.
func (e *Engine) SetManual(unit string, pct float64) error { return e.SetManualFor(unit, pct, 0) }

// SetManualFor puts a unit's fan in manual at pct for d (0: control.manual_default; at most
// control.manual_max). When d runs out the unit returns to auto by itself, with an event: manual
// mode is never left on by a forgotten laptop, nor kept by a restart for good.
func (e *Engine) SetManualFor(unit string, pct float64, d time.Duration) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, u, err := e.controllable(unit)
	if err != nil {
		return err
	}
	if math.IsNaN(pct) || math.IsInf(pct, 0) || pct < 0 || pct > 100 {
		return fmt.Errorf("%w: fan %g%% is outside 0..100", ErrBadValue, pct)
	}
	ct := e.cfg.Control
	if d == 0 {
		d = ct.ManualDefault.Duration
	}
	if d < 0 || d > ct.ManualMax.Duration {
		return fmt.Errorf("%w: manual for %v: allowed up to control.manual_max %v", ErrBadValue, d, ct.ManualMax.Duration)
	}
	u.manual, u.manPct = true, clamp(pct, u.cfg.MinFanPct, u.cfg.MaxFanPct)
	u.manFor, u.manUntil = d, time.Time{}
	u.tune = nil
	return nil
}

// SetAuto returns a unit from manual (or autotune) to automatic control, bumplessly.
func (e *Engine) SetAuto(unit string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, u, err := e.controllable(unit)
	if err != nil {
		return err
	}
	u.manual, u.manFor, u.manUntil = false, 0, time.Time{}
	u.tune = nil
	return nil
}

// ApplyConfig switches to a committed configuration without a restart and without a bump: loops
// that still exist (by unit and zone name) keep their state and are retuned bumplessly.
func (e *Engine) ApplyConfig(cfg *site.Config) error {
	if cfg == nil {
		return fmt.Errorf("%w: nil config", ErrBadValue)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := &Engine{meas: e.meas}
	if err := n.build(cfg, e); err != nil {
		return err
	}
	e.cfg, e.period, e.owner, e.meas = n.cfg, n.period, n.owner, n.meas
	e.zones, e.units, e.byName, e.alloc, e.ain, e.target = n.zones, n.units, n.byName, n.alloc, n.ain, n.target
	if len(n.zones) == len(e.zones) && len(n.units) == len(e.units) {
		same := true
		for i := range n.zones {
			same = same && n.zones[i].cfg.Name == e.zones[i].cfg.Name
		}
		for j := range n.units {
			same = same && n.units[j].cfg.Name == e.units[j].cfg.Name
		}
		if same { // the allocation's memory carries over (new shares still reset it)
			n.lastW, n.haveW = e.lastW, e.haveW
		}
	}
	e.lastW, e.haveW, e.lamFloor = n.lastW, n.haveW, n.lamFloor
	e.events = append(e.events, Event{Time: e.now, Kind: EventConfig, Reason: fmt.Sprintf("configuration applied: %d units, %d zones", len(cfg.Units), len(cfg.Zones))})
	return nil
}

// Config returns the configuration in force (do not modify it).
func (e *Engine) Config() *site.Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg
}

// Events drains the events raised since the last call.
func (e *Engine) Events() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	ev := e.events
	e.events = nil
	return ev
}

// Isolated reports whether a unit is isolated (no answer), for the runner's retry backoff.
func (e *Engine) Isolated(unit string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.unit(unit)
	return u != nil && u.isolated
}

func (e *Engine) setUnitAlarm(u *unitRT, key, text string, now time.Time) {
	if _, ok := u.alarms[key]; ok {
		u.alarms[key] = text // same alarm, new detail: no new event
		return
	}
	u.alarms[key] = text
	e.events = append(e.events, Event{Time: now, Kind: EventAlarm, Unit: u.cfg.Name, Alarm: key, Reason: text})
}

func (e *Engine) clearUnitAlarm(u *unitRT, key string, now time.Time) {
	e.clearAlarm(u.alarms, Event{Time: now, Unit: u.cfg.Name, Alarm: key})
}

func (e *Engine) setZoneAlarm(z *zoneRT, key, text string, now time.Time) {
	if _, ok := z.alarms[key]; ok {
		z.alarms[key] = text
		return
	}
	z.alarms[key] = text
	e.events = append(e.events, Event{Time: now, Kind: EventAlarm, Zone: z.cfg.Name, Alarm: key, Reason: text})
}

func (e *Engine) clearZoneAlarm(z *zoneRT, key string, now time.Time) {
	e.clearAlarm(z.alarms, Event{Time: now, Zone: z.cfg.Name, Alarm: key})
}

// clearAlarm drops ev.Alarm from alarms and reports it once (unit or zone, as ev names).
func (e *Engine) clearAlarm(alarms map[string]string, ev Event) {
	if _, ok := alarms[ev.Alarm]; !ok {
		return
	}
	delete(alarms, ev.Alarm)
	ev.Kind, ev.Reason = EventClear, ev.Alarm+" cleared"
	e.events = append(e.events, ev)
}

func (e *Engine) setMode(u *unitRT, m Mode, reason string, now time.Time) {
	if u.mode == m && u.reason == reason {
		return
	}
	if u.mode != m {
		e.events = append(e.events, Event{Time: now, Kind: EventMode, Unit: u.cfg.Name, From: u.mode, To: m, Reason: reason})
	}
	u.mode, u.reason = m, reason
}

// Tick runs one control period at now and returns one command per unit, in configuration order.
// Its phases, in this order: the clock, the zone measurements (and their alarms), each unit's
// condition and mode, the allocation's inputs, the zone loops, the allocation, the commands, the
// anti-windup, the autotune experiments.
func (e *Engine) Tick(now time.Time) []Command {
	e.mu.Lock()
	defer e.mu.Unlock()
	dt := e.advance(now)
	e.measureZones(now)
	for j, u := range e.units {
		e.unitMode(j, u, now)
	}
	e.allocInputs(now)
	e.zoneDemands(now, dt)
	e.allocate(dt)
	cmds := e.commands(now, dt)
	e.antiWindup(dt)
	e.finishTunes(now)
	return cmds
}

// advance moves the engine's clock to now and returns the period's dt (s): the nominal period at
// the first tick, at most 10 periods after a gap, 0 when the clock did not move.
func (e *Engine) advance(now time.Time) float64 {
	dt := e.period.Seconds()
	if e.haveLast {
		if d := now.Sub(e.last).Seconds(); d > 0 {
			dt = math.Min(d, 10*e.period.Seconds())
		} else {
			dt = 0
		}
	}
	if !e.haveLast {
		e.start = now
	}
	e.last, e.haveLast, e.now = now, true, now
	return dt
}

// measureZones takes every zone's measurement from the sensors and raises or clears its alarms
// (insufficient sensors, hot readings, sensor loss).
func (e *Engine) measureZones(now time.Time) {
	for _, z := range e.zones {
		r := e.meas.measure(z.mem, z.cfg.Sensors, z.pct, z.cfg.MinValid, now)
		z.meas, z.valid, z.ok = r.v, r.valid, r.ok
		z.hottest, z.hottestID = r.hottest, r.hottestID
		switch {
		case z.ok:
			z.everOK = true
			e.clearZoneAlarm(z, "insufficient", now)
		case !z.everOK && now.Sub(e.start) < e.startGrace():
			// start-up: the sensors have not all reported yet; fail-safe meanwhile, no alarm
		default:
			e.setZoneAlarm(z, "insufficient", fmt.Sprintf("insufficient sensors: %d of %d valid, need %d", z.valid, len(z.cfg.Sensors), z.cfg.MinValid), now)
		}
		e.hotReadingAlarms(z, r, now)
	}
}

// unitMode judges unit j from its read-back (isolated, tripped, in fallback, degraded) and sets its
// mode for this period.
func (e *Engine) unitMode(j int, u *unitRT, now time.Time) {
	stale := time.Duration(staleFeedbackPeriods) * e.period
	u.prevMode = u.mode
	e.expireManual(u, now)
	if u.cfg.DisableControls {
		e.setMode(u, ModeDisabled, "disabled in the configuration", now)
		return
	}
	fbOK := u.haveSt && u.fails < isolateAfter && now.Sub(u.stAt) <= stale
	wasIso := u.isolated
	u.isolated = !fbOK
	if u.isolated {
		why := "no read-back yet"
		if u.lastErr != nil {
			why = "no answer: " + u.lastErr.Error()
		} else if u.haveSt {
			why = fmt.Sprintf("read-back older than %v", stale)
		}
		e.setUnitAlarm(u, "isolated", "isolated: "+why+"; "+e.pickUp(j), now)
		if !wasIso {
			u.isoSince, u.wasIso = now, true
		}
		u.needTrk = true
	} else if wasIso {
		e.clearUnitAlarm(u, "isolated", now)
	}
	wasTrip := u.tripped
	u.tripped, u.fallback, u.degraded = false, false, false
	if fbOK {
		e.unitCondition(u, now)
		if u.tripped && !wasTrip {
			e.onTrip(j, u)
		} else if !u.tripped && wasTrip {
			e.onRestore(j)
		}
	} else {
		u.tripped = wasTrip // unseen: what we knew stands
	}
	insufficient := ""
	for _, z := range e.zones {
		if z.share[j] > 0 && !z.ok {
			insufficient = fmt.Sprintf("zone %s: %d of %d sensors valid, need %d", z.cfg.Name, z.valid, len(z.cfg.Sensors), z.cfg.MinValid)
			if !z.everOK {
				insufficient += " (waiting for the first reports)"
			}
			break
		}
	}
	// A unit that already runs what we command (written, not in fallback) has nothing to be
	// tracked: the transfer is bumpless as it is.
	if u.needTrk && fbOK && !u.fallback && !u.tripped && u.haveCmd && math.Abs(u.st.FanPct-u.fan) <= trackMatchPct {
		u.needTrk = false
	}
	switch {
	case u.isolated:
		u.tune = e.abortTune(u, "unit isolated", now)
		e.setMode(u, ModeFailSafe, "no read-back", now)
	case u.tripped:
		u.tune = e.abortTune(u, "unit tripped", now)
		e.setMode(u, ModeTracking, "unit tripped, its command held", now)
	case u.fallback:
		u.tune = e.abortTune(u, "unit in local fallback", now)
		e.setMode(u, ModeTracking, "unit in local fallback", now)
		u.trkFrom = now
	case u.manual:
		u.needTrk = false
		e.setMode(u, ModeManual, e.manualReason(u), now)
	case u.tune != nil && insufficient == "":
		e.setMode(u, ModeAutotune, "relay experiment", now)
	case insufficient != "":
		u.tune = e.abortTune(u, "zone measurement insufficient", now)
		e.setMode(u, ModeFailSafe, insufficient, now)
	case u.needTrk:
		if u.mode != ModeTracking || u.trkFrom.IsZero() {
			u.trkFrom = now
			e.setMode(u, ModeTracking, "tracking the read-back", now)
		}
		if now.Sub(u.trkFrom) >= time.Duration(trackPeriods)*e.period {
			u.needTrk, u.trkFrom = false, time.Time{}
			e.setMode(u, ModeAuto, "tracking done", now)
		}
	default:
		e.setMode(u, ModeAuto, autoReason(u.mode), now)
	}
	if u.mode != ModeTracking && u.mode != ModeFailSafe {
		u.wasIso = false
	}
}

// allocInputs sets the allocation's shares (the plenum refill after a trip or an isolation, a
// degraded unit's share), which units are free, their limits and the air of those that are not.
// Units sharing a zone with a unit under autotune hold their speed so that nothing fights the
// relay.
func (e *Engine) allocInputs(now time.Time) {
	in := &e.ain
	e.plenumShares(in.W)
	for j, u := range e.units {
		in.Free[j] = u.mode == ModeAuto && !e.heldByTune(j)
		in.Lo[j], in.Hi[j] = u.cfg.MinFanPct, u.cfg.MaxFanPct
		share := 1.0
		switch {
		case u.mode == ModeDisabled:
			share = 0
		case u.degraded:
			share = u.capEst
		}
		for i := range e.zones {
			in.W[i][j] *= share
		}
		switch u.mode {
		case ModeManual:
			in.Fixed[j] = u.manPct
		case ModeFailSafe:
			in.Fixed[j] = math.Max(u.cfg.SafeFanPct, u.cfg.MinFanPct)
		case ModeTracking:
			in.Fixed[j] = math.Max(0, u.st.FanPct) // what it really moves (the command is clamped below)
			if u.tripped {
				in.Fixed[j] = 0
			}
		case ModeAutotune:
			in.Fixed[j] = e.tuneOutput(u, now)
		default:
			in.Fixed[j] = u.fan
		}
	}
}

// zoneDemands runs every zone loop (held, slewing at start-up, or the PI) and its rise
// feed-forward, and sets each zone's demand.
func (e *Engine) zoneDemands(now time.Time, dt float64) {
	in := &e.ain
	blindZ := make([]bool, len(e.zones))
	for i := range e.zones {
		blindZ[i] = e.zoneBlind(i)
	}
	for i, z := range e.zones {
		free := false
		for j := range e.units {
			if in.Free[j] && in.W[i][j] > 0 {
				free = true
			}
		}
		// A zone served by a unit the engine cannot see does not wind its loop down: what
		// over-cools it is most likely that unit in its fallback (counted as missing above), and
		// after the unit is back the zone stays over-cooled by that air for a while (the inlets
		// lag). The loop holds, without a proportional kick when it resumes, until recoverHold
		// after the unit is back or until the zone is near its setpoint again, instead of
		// pulling the other units down for a disturbance that is gone. A warm zone's loop acts.
		if blindZ[i] {
			z.recoverUntil = now.Add(recoverHold)
		} else if !z.recoverUntil.IsZero() && (!now.Before(z.recoverUntil) || !z.ok || z.meas >= z.cfg.SetpointC-coolMarginK) {
			z.recoverUntil = time.Time{}
		}
		hold := !z.recoverUntil.IsZero() && z.ok && z.meas < z.cfg.SetpointC
		z.held = hold
		if z.ok {
			z.pid.setScale(e.sparseScale(z), z.cfg.SetpointC, z.meas)
		}
		if z.ok && free && dt > 0 && hold {
			z.pid.track(z.pid.out, z.cfg.SetpointC, z.meas, true)
			z.demand = z.pid.out
		} else if z.ok && free && dt > 0 {
			e.slew(i, z)
			z.demand = z.pid.update(z.cfg.SetpointC, z.meas, dt)
		} else {
			z.demand = z.pid.out
		}
		e.riseFF(z, z.ok && free && dt > 0 && !hold, dt, now)
		z.demand = math.Min(z.demand+z.ff, 100)
		in.D[i] = z.demand
	}
}

// allocate solves the allocation into e.target.
func (e *Engine) allocate(dt float64) {
	in := &e.ain
	// A zone's multiplier falls at most with time constant lambdaTi x its loop's Ti (once the
	// zone has started), unless the shares changed (a trip, a restart: the split must change at once).
	// Without this a zone lends its units to a neighbour the moment the neighbour's demand rises,
	// before its own sensors (which report one after the other) show the same load, and takes
	// them back a report later.
	same := e.haveW
	for i := range e.zones {
		for j := range e.units {
			if math.Abs(in.W[i][j]-e.lastW[i][j]) > shareChange {
				same = false
				e.lastW[i][j] = in.W[i][j]
			}
		}
	}
	e.haveW = true
	in.LamFloor = nil
	if same && dt > 0 {
		for i, z := range e.zones {
			e.lamFloor[i] = 0
			if z.started { // the start-up descent is not slowed
				tau := lambdaTau
				if z.pid.ti > 0 {
					tau = lambdaTi * z.pid.ti
				}
				e.lamFloor[i] = math.Exp(-dt/tau) * e.alloc.lambda[i]
			}
		}
		in.LamFloor = e.lamFloor
	}
	e.alloc.solve(in, e.target)
}

// commands turns the allocation into one command per unit: bumpless entry into auto, the alarm
// limit's extra air, the deadband, rate limits and absolute limits.
func (e *Engine) commands(now time.Time, dt float64) []Command {
	in := &e.ain
	// A unit entering auto changes the split for every unit it shares a zone with: all auto units
	// start from where they are and blend into the new split (a unit lost to a trip or isolation
	// does not do this: that change is the feed-forward and must act at once).
	entered := false
	for _, u := range e.units {
		entered = entered || (u.mode == ModeAuto && u.prevMode != ModeAuto && u.haveCmd)
	}
	cmds := make([]Command, len(e.units))
	for j, u := range e.units {
		c := Command{Unit: u.cfg.Name, Owner: e.owner, Epoch: e.epoch}
		if u.mode == ModeDisabled {
			c.FanPct, c.ValvePct = u.st.FanPct, u.st.ValvePct // (Write is false: never sent)
			cmds[j] = c
			continue
		}
		if !u.haveCmd {
			// First command: hold what the unit reads back (or the safe speed without read-back).
			u.fan, u.valve = in.Fixed[j], u.cfg.MaxValvePct
			if u.haveSt {
				u.fan = u.st.FanPct
				if !math.IsNaN(u.st.ValvePct) {
					u.valve = u.st.ValvePct
				}
			}
			u.haveCmd = true
		}
		want := e.target[j]
		if u.mode == ModeFailSafe {
			want = math.Max(u.cfg.SafeFanPct, u.cfg.MinFanPct) // (an isolated one's air counts as missing)
		}
		// Past the alarm limit, more air: a unit serving a zone with an inlet over the limit
		// ramps (at its rate limit) to its safe speed, whatever the loop or the operator asked,
		// until the inlet is back below the limit.
		u.boost = (u.mode == ModeAuto || u.mode == ModeManual) && e.servesHotZone(j)
		if u.boost {
			want = math.Max(want, math.Max(u.cfg.SafeFanPct, u.cfg.MinFanPct))
			u.bias = 0
		}
		if u.mode == ModeAuto && !u.boost {
			if entered {
				u.bias = u.fan - want
			}
			// The blend protects the zones from a sudden change of air; a unit above its share
			// whose zones are all cool, or below it with a zone warm, moves at its rate limit
			// (from the period after the switch: the first auto command is the last one).
			if cool, warm := e.unitZones(j); !entered && (u.bias > 0 && cool || u.bias < 0 && warm) {
				u.bias = 0
			}
			want += u.bias
			// decays from the next period on: the first auto command equals the last one
			u.bias *= math.Exp(-dt / biasTau)
			if math.Abs(u.bias) < 0.05 {
				u.bias = 0
			}
		} else {
			u.bias = 0
		}
		if u.mode == ModeTracking {
			want = clamp(u.st.FanPct, u.cfg.MinFanPct, u.cfg.MaxFanPct)
			if u.tripped {
				// A stopped fan reads 0: hold the last command, which it restarts to.
				want = u.fan
			}
		}
		fan := want
		// Deadband: sub-deadband moves (sensor noise through the loop) are not worth a fan change;
		// the zone loop keeps integrating, so a real need crosses it within a period or two.
		if u.mode == ModeAuto && math.Abs(want-u.fan) < fanDeadbandPct && want > u.cfg.MinFanPct && want < u.cfg.MaxFanPct {
			fan = u.fan
		}
		if u.mode != ModeTracking {
			step := u.cfg.FanRatePct * dt
			fan = clamp(fan, u.fan-step, u.fan+step)
		}
		// Never below the minimum, never above the maximum; fail safe never below its speed.
		fan = clamp(fan, u.cfg.MinFanPct, u.cfg.MaxFanPct)
		u.why = e.why(j, u, want, fan)
		u.fan = fan
		u.hb++
		c.Heartbeat, c.FanPct, c.ValvePct, c.Write = u.hb, fan, e.valve(u, now, dt), true
		cmds[j] = c
	}
	return cmds
}

// antiWindup: across the selector every zone loop learns the airflow its zone really gets from
// the allocation (before rate limits and the bumpless bias, so that a trip's feed-forward is not
// undone while the fans ramp).
func (e *Engine) antiWindup(dt float64) {
	in := &e.ain
	for i, z := range e.zones {
		a := 0.0
		for j := range e.units {
			a += in.W[i][j] * e.target[j]
		}
		z.achieved = a
		free := false
		for j := range e.units {
			if in.Free[j] && in.W[i][j] > 0 {
				free = true
			}
		}
		if z.held {
			continue
		}
		if z.ok && free {
			// the loop's own part of it: the feed-forward on top is not the loop's to learn
			z.pid.achieved(a-z.ff, dt, z.tt)
		} else {
			z.pid.track(a, z.cfg.SetpointC, z.meas, z.ok)
		}
	}
}

// expireManual starts an operator's manual clock at the first tick after it was set, and ends the
// manual mode when it runs out.
func (e *Engine) expireManual(u *unitRT, now time.Time) {
	if !u.manual {
		return
	}
	if u.manUntil.IsZero() && u.manFor > 0 {
		u.manUntil, u.manFor = now.Add(u.manFor), 0
	}
	if !u.manUntil.IsZero() && !now.Before(u.manUntil) {
		u.manual, u.manUntil = false, time.Time{}
		u.needTrk = true // back through tracking: bumpless from where the fan is
		e.setMode(u, ModeTracking, "manual mode expired (control.manual_default/manual_max); back to automatic control", now)
	}
}

// manualReason says whose manual mode it is and how long it lasts.
func (e *Engine) manualReason(u *unitRT) string {
	if u.manUntil.IsZero() && u.manFor == 0 {
		return "manual_fan_pct in the configuration"
	}
	return "operator, until " + u.manUntil.Format("15:04:05")
}

// manualLeft is what is left of an operator's manual mode at now (0: none, or the configuration's).
func (u *unitRT) manualLeft(now time.Time) time.Duration {
	switch {
	case !u.manual:
		return 0
	case !u.manUntil.IsZero():
		return max(u.manUntil.Sub(now), time.Nanosecond)
	default:
		return u.manFor
	}
}

// why says in words why unit j's fan is commanded to fan this period: the mode, or in auto the
// zone that binds it (its demand and the unit's share of it) and the limit that applies.
func (e *Engine) why(j int, u *unitRT, want, fan float64) string {
	var b strings.Builder
	switch {
	case u.mode == ModeDisabled:
		return "disabled in the configuration: never written"
	case u.boost:
		for _, z := range e.zones {
			if z.overAlarm && z.share[j] > 0 {
				fmt.Fprintf(&b, "zone %s has %s at %.1f C, past the alarm limit: more air, up to the safe speed %.0f %%", z.cfg.Name, z.hottestID, z.hottest, u.cfg.SafeFanPct)
				break
			}
		}
	case u.mode == ModeManual:
		fmt.Fprintf(&b, "manual at %.0f %% (%s)", u.manPct, u.reason)
	case u.mode == ModeFailSafe:
		fmt.Fprintf(&b, "fail-safe at the safe speed %.0f %%: %s", u.cfg.SafeFanPct, u.reason)
	case u.mode == ModeTracking:
		fmt.Fprintf(&b, "tracking: holds what the unit reads back (%s)", u.reason)
	case u.mode == ModeAutotune:
		b.WriteString("autotune: relay experiment")
	default:
		bind, lam := -1, 0.0
		for i, z := range e.zones {
			if z.share[j] <= 0 {
				continue
			}
			if l := e.alloc.lambda[i]; bind < 0 || l > lam {
				bind, lam = i, l
			}
		}
		if bind >= 0 {
			z := e.zones[bind]
			fmt.Fprintf(&b, "zone %s demand %.0f %% (inlet %.1f C, setpoint %.1f C), this unit's share %.2f", z.cfg.Name, z.demand, z.meas, z.cfg.SetpointC, z.share[j])
			if z.ff >= 0.5 {
				fmt.Fprintf(&b, "; +%.0f %% ahead of a fast rise", z.ff)
			}
			if lam == 0 {
				b.WriteString("; no zone needs more air from it")
			}
		}
	}
	switch {
	case fan <= u.cfg.MinFanPct+1e-9 && want < u.cfg.MinFanPct+1e-9:
		fmt.Fprintf(&b, "; at min_fan_pct %.0f %%", u.cfg.MinFanPct)
	case fan >= u.cfg.MaxFanPct-1e-9 && want > u.cfg.MaxFanPct-1e-9:
		fmt.Fprintf(&b, "; at max_fan_pct %.0f %%", u.cfg.MaxFanPct)
	case math.Abs(fan-want) > 0.05 && u.mode != ModeTracking:
		if math.Abs(want-u.fan) < fanDeadbandPct && u.mode == ModeAuto {
			fmt.Fprintf(&b, "; holds %.1f %%: the wanted %.1f %% is within the %.1f %% deadband", fan, want, fanDeadbandPct)
		} else {
			fmt.Fprintf(&b, "; moving at its rate limit %.1f %%/s toward %.0f %%", u.cfg.FanRatePct, clamp(want, u.cfg.MinFanPct, u.cfg.MaxFanPct))
		}
	}
	return b.String()
}

// hotReadingAlarms raises and clears a zone's alarms for hot readings: an inlet past the alarm
// limit (any counted inlet, not only the aggregate), a hot spot far above the zone's median, a hot
// reading left out as implausible, one above the plausible range. None of them is silent.
func (e *Engine) hotReadingAlarms(z *zoneRT, r zoneReading, now time.Time) {
	limit := e.cfg.Control.AlarmC
	switch {
	case r.hottestID != "" && r.hottest > limit:
		z.overAlarm = true
		e.setZoneAlarm(z, "inlet-high", fmt.Sprintf("inlet %s at %.1f C above alarm limit %.1f C; more air until it is back below", r.hottestID, r.hottest, limit), now)
	case r.hottestID == "" || r.hottest < limit-alarmHystK:
		z.overAlarm = false
		e.clearZoneAlarm(z, "inlet-high", now)
	}
	list := func(ns []sensorNote) string {
		parts := make([]string, 0, len(ns))
		for _, n := range ns {
			parts = append(parts, fmt.Sprintf("%s %.1f C", n.id, n.v))
		}
		return strings.Join(parts, ", ")
	}
	set := func(key string, ns []sensorNote, format string) {
		if len(ns) == 0 {
			e.clearZoneAlarm(z, key, now)
			return
		}
		e.setZoneAlarm(z, key, fmt.Sprintf(format, list(ns), r.median), now)
	}
	if len(r.carried) == 0 {
		e.clearZoneAlarm(z, "sensor-loss", now)
	} else {
		parts := make([]string, 0, len(r.carried))
		for _, c := range r.carried {
			parts = append(parts, c.String())
		}
		e.setZoneAlarm(z, "sensor-loss", fmt.Sprintf("hot-spot sensors lost: %s; the zone counts them at %.1f C over the survivors' %.1f C, check the probes", strings.Join(parts, ", "), r.v, r.survivors), now)
	}
	set("hot-spot", r.hot, "hot spot: %s, far above the zone median %.1f C; counted in the zone")
	set("implausible", r.dropped, "implausible reading: %s, while the same node's other channels read near the zone median %.1f C; not counted, check the probe")
	set("sensor-range", r.overRange, "above the plausible range: %s (zone median %.1f C); not counted, check the probe")
}

// servesHotZone reports whether unit j carries air to a zone with an inlet past the alarm limit.
func (e *Engine) servesHotZone(j int) bool {
	for _, z := range e.zones {
		if z.overAlarm && j < len(z.share) && z.share[j] > 0 {
			return true
		}
	}
	return false
}

// unitCondition classifies a unit from its read-back: tripped (not running: no air), in local
// fallback (running its own fallback speed: tracked), or degraded (a fan fault with the fan still
// running: a share of its air). It learns the unit's fan power at full speed while healthy, which
// sizes what a degraded unit has left (fan power and airflow both scale with the fans left).
func (e *Engine) unitCondition(u *unitRT, now time.Time) {
	st := u.st
	switch {
	case !st.Running:
		u.tripped = true
		e.setUnitAlarm(u, "tripped", e.tripText(u), now)
	case st.Fallback:
		u.fallback, u.needTrk = true, true
	}
	if !u.tripped {
		e.clearUnitAlarm(u, "tripped", now)
	}
	// A unit found in fallback at start leaves it with our first heartbeat: only one that stays
	// in fallback while we command it is an alarm.
	switch {
	case !u.fallback:
		u.fbCmds = 0
		e.clearUnitAlarm(u, "fallback", now)
	case u.haveCmd:
		u.fbCmds++
		if u.fbCmds >= fallbackAlarmPeriods {
			e.setUnitAlarm(u, "fallback", fmt.Sprintf("in local fallback: still on its own control after %d periods of commands", u.fbCmds), now)
		}
	}
	s3 := math.Pow(st.FanPct/100, 3)
	if st.Running && st.FanFault {
		u.degraded = true
		c := degradedShare
		if u.kwCoef > 0 && st.FanKW > 0 && st.FanPct >= kwLearnMinPct {
			c = clamp(st.FanKW/(u.kwCoef*s3), 0.1, 1)
		}
		if u.capEst <= 0 || u.capEst > 1 {
			u.capEst = c
		} else {
			u.capEst += 0.3 * (c - u.capEst)
		}
		e.setUnitAlarm(u, "degraded", fmt.Sprintf("degraded: fan fault, about %.0f %% of its air left", 100*u.capEst), now)
	} else {
		u.capEst = 0
		e.clearUnitAlarm(u, "degraded", now)
		if st.Running && st.FanKW > 0 && st.FanPct >= kwLearnMinPct && !math.IsInf(st.FanKW, 0) {
			k := st.FanKW / s3
			if u.kwCoef <= 0 {
				u.kwCoef = k
			} else {
				u.kwCoef += 0.05 * (k - u.kwCoef)
			}
		}
	}
	if st.Alarm {
		e.setUnitAlarm(u, "unit-alarm", fmt.Sprintf("unit alarm: the unit reports alarm code %d", st.AlarmCode), now)
	} else {
		e.clearUnitAlarm(u, "unit-alarm", now)
	}
}

// plenumShares sets w[z][u], the share of zone z's cold air unit u gives at equal speeds, for the
// units that run. A tripped unit gives nothing, and its air is missing at once: the allocator
// raises the others in the same period (the feed-forward). So does an isolated one: a unit that
// does not answer may have lost its power (fan and controller at once); alive, it runs its
// fallback speed and the zones over-cool for a while, which is the safe side. But the survivors' air fills the shared
// plenum behind it: in each zone it served, the running units' shares are renormalised to sum 1
// (the zone's racks now draw only from them), and each survivor's air is spread over its zones in
// proportion to its renormalised shares (equal rack draw per zone assumed). A survivor that also
// serves an unaffected zone thus sends more of its air where the trip was and less elsewhere, and
// is raised by what is really missing, not by the whole lost share. Only plenumCredit (80 %) of
// that redistribution is counted on: with uneven reach (a rack the tripped unit fed and no
// survivor reaches well) the equal-draw refill is optimistic, and the rest is the safe side (more
// air at once; the zone loops take the excess back). On the asymmetric scenario full credit let
// the worst rack pass 27 C after a trip.
func (e *Engine) plenumShares(w [][]float64) {
	nz, nu := len(e.zones), len(e.units)
	any := false
	for _, u := range e.units {
		any = any || e.stopped(u)
	}
	for i, z := range e.zones {
		for j, u := range e.units {
			w[i][j] = z.share[j]
			if e.stopped(u) {
				w[i][j] = 0
			}
		}
	}
	if !any {
		return
	}
	scale := make([]float64, nz) // renormalisation of each zone's running shares
	for i := range e.zones {
		sum := 0.0
		for j := 0; j < nu; j++ {
			sum += w[i][j]
		}
		if sum > 0 {
			scale[i] = 1 / sum
		}
	}
	for j, u := range e.units {
		if e.stopped(u) {
			continue
		}
		before, after := 0.0, 0.0 // the unit's air spread over its zones
		for i, z := range e.zones {
			before += z.share[j]
			after += z.share[j] * scale[i]
		}
		if after <= 0 {
			continue
		}
		for i := range e.zones {
			// share x (its part of the unit's air after / before), credited plenumCredit of the way
			w[i][j] = w[i][j] * (1 - plenumCredit + plenumCredit*scale[i]*before/after)
		}
	}
}

// stopped reports whether the allocation counts unit u's air as missing: tripped, isolated, or
// back from isolation and still tracking (it counts again from auto on, so that the others do not
// move for the one period it is read back at its fallback speed).
func (e *Engine) stopped(u *unitRT) bool {
	return u.tripped || u.isolated || u.mode == ModeTracking && u.wasIso
}

// onTrip: unit j stopped. Its zones remember their demand for the restart.
func (e *Engine) onTrip(j int, u *unitRT) {
	for _, z := range e.zones {
		if z.share[j] > 0 && math.IsNaN(z.preTrip) {
			z.preTrip = z.pid.out
		}
	}
}

// onRestore: unit j runs again (at its held command). A zone whose units all run again asks at
// least its demand from before the trip: what its loop learned meanwhile was on another air
// distribution (the survivors filling the plenum), and it must not starve while the others blend
// down.
func (e *Engine) onRestore(j int) {
	for _, z := range e.zones {
		if z.share[j] <= 0 || math.IsNaN(z.preTrip) {
			continue
		}
		other := false
		for k, o := range e.units {
			other = other || (k != j && o.tripped && z.share[k] > 0)
		}
		if other {
			continue
		}
		if z.preTrip > z.pid.out {
			z.pid.setOutput(z.preTrip)
		}
		z.preTrip = math.NaN()
	}
}

// unitZones reports whether every zone unit j serves is measured and below its setpoint by
// coolMarginK (cool), and whether one is above its setpoint (warm).
func (e *Engine) unitZones(j int) (cool, warm bool) {
	cool = true
	for _, z := range e.zones {
		if z.share[j] <= 0 {
			continue
		}
		if !z.ok || z.meas > z.cfg.SetpointC-coolMarginK {
			cool = false
		}
		if z.ok && z.meas > z.cfg.SetpointC {
			warm = true
		}
	}
	return cool, warm
}

// blind reports whether the engine cannot see unit o: isolated (for up to blindHold), or back from
// isolation and still tracking.
func (e *Engine) blind(o *unitRT) bool {
	return o.isolated && e.now.Sub(o.isoSince) < blindHold || !o.isolated && o.mode == ModeTracking && o.wasIso
}

// zoneBlind reports whether zone i is served by a unit the engine cannot see.
func (e *Engine) zoneBlind(i int) bool {
	for k, o := range e.units {
		if e.zones[i].share[k] > 0 && e.blind(o) {
			return true
		}
	}
	return false
}

// slew decides whether zone z's loop descends at the fan rate limit this period. At start-up, from
// units in fallback at full speed, the zone is far below its setpoint (slewBandK) where the inlets
// do not respond to airflow (every rack gets more cold air than it draws), so the PI's slow
// integral descent only burns fan power. The slew brakes as soon as the measurement rises
// slewRiseK above its recent low (past the knee where the racks start to recirculate), never takes
// the demand below what the units give at their minimum speeds, and ends for good once the zone
// has come within slewBandK of its setpoint: later over-cooling (a unit in fallback, a load drop)
// is not that flat region, and the PI's fast descent handles it.
func (e *Engine) slew(i int, z *zoneRT) {
	z.pid.slewRate = 0
	if z.cfg.SetpointC-z.meas < slewBandK {
		z.started = true
	}
	if z.started || e.meas.rise(z.cfg.Sensors) >= slewRiseK {
		return
	}
	// On sparse data the knee is seen a report interval late (a sensor's rise is against its
	// own previous report): the slew is slower by (30 s / interval)^2, so that it descends about
	// as far in one interval at 3 min as it does in a few reports at 30 s.
	rate := z.slewRate
	if z.iv > refIntervalS {
		rate *= math.Pow(refIntervalS/z.iv, 2)
	}
	floor := 0.0
	for j, u := range e.units {
		floor += e.ain.W[i][j] * u.cfg.MinFanPct
	}
	z.pid.slewRate, z.pid.slewFloor = rate, floor
}

// sparseScale is zone z's loop gain scale for the report interval its sensors really have (which
// it keeps in z.iv). The
// tuning is for reports every refIntervalS; sparser reports add about half an interval of dead
// time to the loop (a change is seen on average half an interval late, and between reports the
// loop acts on old data), so the gains fall with the total dead time, as SIMC tuning (Kc
// proportional to 1/theta) says: fewer, deliberate moves, and no limit cycle on a slow mesh.
// It only lowers the gains (never below minScale), so it cannot make a loop hunt; a lower gain
// never commands a fan below its minimum (the limits act after the loop).
func (e *Engine) sparseScale(z *zoneRT) float64 {
	iv := e.meas.interval(z.cfg.Sensors).Seconds()
	if iv == 0 {
		// No sensor has reported twice yet (a start): k of n heard in the time since the
		// start, with their phases spread over an interval, say it is about elapsed*n/k.
		if k := e.meas.heard(z.cfg.Sensors); k > 0 {
			iv = e.now.Sub(e.start).Seconds() * float64(len(z.cfg.Sensors)) / float64(k)
		}
	}
	z.iv = iv
	if iv <= refIntervalS {
		return 1
	}
	f := (refIntervalS/2 + plantDeadS) / (iv/2 + plantDeadS)
	return math.Max(f, minScale)
}

// riseFF sets zone z's rise feed-forward: the loop's gain times how much hotter the zone's
// hottest inlets are heading (Store.Forecast: an inlet behind a lag tau that rises at r K/s has
// tau*r still to come; the horizon is ffHorizonTi x the loop's Ti), for the rise faster than
// ffMinRiseK per horizon. It is the proportional action on where the inlets are going, taken
// before they get there: a load that returns at once after a long low stretch warms the inlets
// several kelvin in a minute, while the loop, far below its setpoint, asks little until the
// setpoint is crossed. It holds its largest value and decays with the horizon as time constant,
// so the PI takes over as the rise ends; while the zone is still warm, the loop's integrator
// takes over what decays.
func (e *Engine) riseFF(z *zoneRT, on bool, dt float64, now time.Time) {
	if !on {
		z.ff = 0
		return
	}
	// only what is heading above the setpoint (less ffMarginK): an inlet coming back up from an
	// undershoot is the loop's own recovery, and air added for it would undershoot again (hunt).
	h := ffHorizonTi * z.pid.ti
	if h <= 0 {
		h = 60 // a P-only loop: the bench's horizon
	}
	horizon := time.Duration(h * float64(time.Second))
	t := 0.0
	if hot, ahead, ok := e.meas.forecast(z.cfg.Sensors, horizon, ffMinRiseK/h, now); ok {
		t = z.pid.gain() * math.Max(0, ahead-math.Max(hot, z.cfg.SetpointC-ffMarginK))
	}
	prev := z.ff
	z.ff = math.Max(t, z.ff*math.Exp(-dt/h))
	if z.ff < 0.05 {
		z.ff = 0
	}
	// As it decays in a zone still warm (past setpoint + ffHandOverK) the load it answered was
	// real: the loop takes over the air it gave (bumplessly: the demand does not move), instead of
	// letting the zone warm again until its integral catches up. In a zone back near or below its
	// setpoint it just decays.
	if z.ff < prev && z.ok && z.meas > z.cfg.SetpointC+ffHandOverK {
		z.pid.setOutput(z.pid.out + prev - z.ff)
		z.demand = z.pid.out
	}
}

// heldByTune reports whether unit j shares a zone with a unit under autotune (not itself).
func (e *Engine) heldByTune(j int) bool {
	for k, o := range e.units {
		if k == j || o.tune == nil {
			continue
		}
		for _, z := range e.zones {
			if z.share[j] > 0 && z.share[k] > 0 {
				return true
			}
		}
	}
	return false
}

// valve runs the unit's supply-air loop and returns the valve command.
func (e *Engine) valve(u *unitRT, now time.Time, dt float64) float64 {
	p := u.valvePID
	switch {
	case u.isolated || math.IsNaN(u.st.SupplyC) || math.IsNaN(u.st.ValvePct):
		// No read-back, or no supply temperature to control on: full cooling (fail safe), at
		// the valve's rate limit.
		_ = p.SetManual(u.cfg.MaxValvePct)
		p.Step(u.cfg.SupplySPC, u.cfg.SupplySPC, dt)
	case u.tripped || u.mode == ModeTracking:
		_ = p.Track(u.st.ValvePct)
		p.Step(u.cfg.SupplySPC, u.st.SupplyC, dt)
	default:
		if p.Mode() != pid.Auto {
			_ = p.SetMode(pid.Auto)
		}
		p.Step(u.cfg.SupplySPC, u.st.SupplyC, dt)
	}
	v := clamp(p.Output(), u.cfg.MinValvePct, u.cfg.MaxValvePct)
	u.valve = v
	return v
}

// Snapshot returns the state for a console or UI.
func (e *Engine) Snapshot() Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Snapshot{Time: e.now, Epoch: e.epoch}
	for _, z := range e.zones {
		texts := make([]string, 0, len(z.alarms))
		for _, t := range z.alarms {
			texts = append(texts, t)
		}
		sort.Strings(texts)
		s.Zones = append(s.Zones, ZoneSnapshot{Name: z.cfg.Name, MeasureC: z.meas, SetpointC: z.cfg.SetpointC,
			Valid: z.valid, Total: len(z.cfg.Sensors), OK: z.ok, DemandPct: z.demand, Alarm: len(z.alarms) > 0,
			HottestC: z.hottest, HottestID: z.hottestID, Alarms: texts})
	}
	for _, u := range e.units {
		us := UnitSnapshot{Name: u.cfg.Name, Mode: u.mode, Reason: u.reason, FanPct: u.fan, ValvePct: u.valve,
			FanFeedback: u.st.FanPct, ValveFeedback: u.st.ValvePct, SupplyC: u.st.SupplyC, ReturnC: u.st.ReturnC,
			Isolated: u.isolated, Tripped: u.tripped, Heartbeat: u.hb, MeasureC: math.NaN(), ManualLeft: u.manualLeft(e.now), Why: u.why, FanKW: u.st.FanKW}
		if u.primary >= 0 {
			z := e.zones[u.primary]
			us.Zone, us.MeasureC, us.SetpointC = z.cfg.Name, z.meas, z.cfg.SetpointC
			if len(z.alarms) > 0 {
				us.Alarm = true
			}
		}
		for _, t := range u.alarms {
			us.Alarms = append(us.Alarms, t)
		}
		sort.Strings(us.Alarms)
		us.Alarm = us.Alarm || len(us.Alarms) > 0
		s.Units = append(s.Units, us)
	}
	return s
}
