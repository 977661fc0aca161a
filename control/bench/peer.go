package bench

import (
	"fmt"
	"math"
	"time"

	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/pid"
	"github.com/coldaisle/coldaisle/control/sensors"
	"github.com/coldaisle/coldaisle/control/site"
)

// CommonSpeedTuning is the common-speed peer's loop: Kp 10 %/K, Ti 60 s, chosen as the
// controller's own default was, on the built-in scenarios: first a coarse grid (Kp 2, 4, 8, 16
// %/K by Ti 60, 150, 300 s, seeds 1..3), then a fine one (Kp 5, 6, 8, 10, 12 by Ti 40, 60, 90 s,
// seeds 1..5; TestCommonSpeedTuningGrid with BENCH_TUNE_PEER=1 reruns it), keeping the least fan
// energy among the settings with no true inlet above the alarm limit after settle on any run.
// Slower loops (Ti 150 s and more) never finish the start-up descent in a 25-60 minute run; Kp
// 12 and Ti 40 s overshoot past 27 C after a trip. A PI loop alone holds no trip at any gains
// (the hottest inlet reaches 28-31 C): hence the unit-failure rule below, which a BMS has too.
var CommonSpeedTuning = site.Tuning{Kp: 10, Ti: 60, Method: "bench", Data: "grid Kp 5..12 %/K x Ti 40..90 s on the built-in scenarios, seeds 1..5: least energy holding 27 C"}

// CommonSpeedFailHold is how long the common-speed peer runs every unit at its safe speed after
// it sees a unit lost (tripped, stopped, or not answering): the usual BMS response to a unit
// failure alarm, needed to hold the alarm limit through a trip. 30 s and 60 s tested alike; 120 s
// makes the return overshoot.
const CommonSpeedFailHold = 30 * time.Second

// commonSpeed is the peer a building management system would run instead of coldaisle: one PI
// loop on the hottest valid inlet of the whole room driving every unit at one common speed
// (clamped to each unit's min..max, at each unit's fan rate limit), each coil valve on a PI loop
// holding the unit's supply air. It gets the same readings through the same simulated mesh, judges
// them with the same sensor store (stale, frozen, out of range), writes the same units and holds
// the same setpoint and alarm limit. Fail-safe: fewer than half the room's sensors valid, or for
// CommonSpeedFailHold after a unit is lost, every unit runs at its safe speed; the loop then
// restarts bumplessly from there.
type commonSpeed struct {
	cfg    *site.Config
	store  *sensors.Store
	ids    []string
	fan    *pid.PID
	last   []float64 // per unit: last fan command, %
	valve  []*pid.PID
	st     []engine.UnitState
	ok     []bool // per unit: answered its last read
	hb     uint16
	first  bool
	lastAt time.Time
	lost   []bool // per unit: moves no air (tripped, stopped) or does not answer
	// failUntil: after a unit is lost every unit runs at its safe speed until then.
	failUntil time.Time
}

func newCommonSpeed(cfg *site.Config, tune site.Tuning) (*commonSpeed, error) {
	ct := cfg.Control
	ri := min(ct.MaxAge.Duration/3, time.Minute) // as the engine derives it
	ri = max(ri, time.Second)
	st, err := sensors.NewStore(sensors.Config{ReportInterval: ri, MaxAge: ct.MaxAge.Duration, FrozenAfter: ct.FrozenAfter.Duration, Min: ct.ValidMinC, Max: ct.ValidMaxC})
	if err != nil {
		return nil, fmt.Errorf("bench: common-speed peer: %w", err)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, u := range cfg.Units {
		lo, hi = math.Min(lo, u.MinFanPct), math.Max(hi, u.MaxFanPct)
	}
	fan, err := pid.New(pid.Config{Kp: tune.Kp, Ti: tune.Ti, OutMin: lo, OutMax: hi, Rate: ct.FanRatePct, Action: pid.Direct})
	if err != nil {
		return nil, fmt.Errorf("bench: common-speed peer: %w", err)
	}
	p := &commonSpeed{cfg: cfg, store: st, fan: fan, first: true,
		last: make([]float64, len(cfg.Units)), valve: make([]*pid.PID, len(cfg.Units)),
		st: make([]engine.UnitState, len(cfg.Units)), ok: make([]bool, len(cfg.Units)), lost: make([]bool, len(cfg.Units))}
	for _, s := range cfg.Sensors {
		p.ids = append(p.ids, s.ID)
	}
	for j := range cfg.Units {
		u := &cfg.Units[j]
		t := ct.ValveTuning
		if u.ValveTuning != nil {
			t = *u.ValveTuning
		}
		vhi := math.Max(u.MaxValvePct, u.MinValvePct+1e-6)
		v, err := pid.New(pid.Config{Kp: t.Kp, Ti: t.Ti, Td: t.Td, OutMin: u.MinValvePct, OutMax: vhi, Rate: u.ValveRatePct, Action: pid.Direct})
		if err != nil {
			return nil, fmt.Errorf("bench: common-speed peer: unit %s valve: %w", u.Name, err)
		}
		p.valve[j] = v
		p.last[j] = u.SafeFanPct
	}
	return p, nil
}

func (p *commonSpeed) Observe(r engine.Reading) {
	p.store.Update(sensors.Reading{ID: r.Sensor, Value: r.Value, Fault: r.Fault, Arrived: r.Arrival, Gateway: r.Time, Seq: r.Seq}, r.Arrival)
}

func (p *commonSpeed) UpdateUnit(name string, st engine.UnitState, err error, _ time.Time) {
	j := p.cfg.UnitIndex(name)
	if j < 0 {
		return
	}
	p.ok[j] = err == nil
	if err == nil {
		p.st[j] = st
	}
}

// Tick computes this period's commands.
func (p *commonSpeed) Tick(now time.Time) []engine.Command {
	dt := 0.0
	if !p.first {
		dt = now.Sub(p.lastAt).Seconds()
	}
	p.lastAt = now
	hottest, valid := math.Inf(-1), 0
	for _, id := range p.ids {
		if p.store.Classify(id, now) != sensors.Fresh {
			continue
		}
		if r, ok := p.store.Latest(id); ok {
			hottest = math.Max(hottest, r.Value)
			valid++
		}
	}
	safe := 2*valid < len(p.ids)
	for j := range p.cfg.Units {
		lost := !p.ok[j] || !p.st[j].Running
		if lost && !p.lost[j] && !p.first {
			p.failUntil = now.Add(CommonSpeedFailHold)
		}
		p.lost[j] = lost
	}
	if now.Before(p.failUntil) {
		safe = true
	}
	var common float64
	if safe {
		// Fail-safe: the loop tracks the safe speed and restarts bumplessly from it.
		p.fan.SetMode(pid.Tracking)
		p.fan.Track(100)
		common = 100
	} else {
		if p.fan.Mode() != pid.Auto {
			p.fan.SetMode(pid.Auto)
		}
		common = p.fan.Update(p.cfg.Control.SetpointC, hottest, now)
	}
	p.first = false
	p.hb++
	cmds := make([]engine.Command, len(p.cfg.Units))
	for j := range p.cfg.Units {
		u := &p.cfg.Units[j]
		want := common
		if safe {
			want = math.Max(u.SafeFanPct, u.MinFanPct)
		}
		want = math.Max(u.MinFanPct, math.Min(u.MaxFanPct, want))
		if dt > 0 && !safe {
			step := u.FanRatePct * dt
			want = math.Max(p.last[j]-step, math.Min(p.last[j]+step, want))
		}
		p.last[j] = want
		cmds[j] = engine.Command{Unit: u.Name, Owner: uint16(p.cfg.NodeID), Heartbeat: p.hb, FanPct: want, ValvePct: p.valveCmd(j, now), Write: true}
	}
	return cmds
}

// valveCmd runs unit j's supply-air loop: tracking the read-back while the unit moves no air or
// does not answer (its supply sensor means nothing then), else holding its supply setpoint.
func (p *commonSpeed) valveCmd(j int, now time.Time) float64 {
	v := p.valve[j]
	st := p.st[j]
	u := &p.cfg.Units[j]
	if !p.ok[j] || !st.Running || st.FanPct <= 0 || math.IsNaN(st.SupplyC) || st.SupplyC == 0 {
		v.SetMode(pid.Tracking)
		v.Track(math.Max(u.MinValvePct, math.Min(u.MaxValvePct, st.ValvePct)))
		return v.Output()
	}
	if v.Mode() != pid.Auto {
		v.SetMode(pid.Auto)
	}
	return v.Update(u.SupplySPC, st.SupplyC, now)
}
