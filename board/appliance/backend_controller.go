package appliance

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/sensors"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/modbus"
	"github.com/coldaisle/coldaisle/storage"
)

// Status implements console.Controller.
func (b *backend) Status(context.Context) (console.Status, error) {
	snap := b.a.eng.Snapshot()
	// One list: the engine's alarms, the controller's own, the batteries' (alarms.go).
	var alarms []string
	for _, a := range b.a.hub.active() {
		line := a.Severity.String() + " " + a.Source + ": " + a.Text
		if a.Acked() {
			line += " (acknowledged by " + a.AckedBy + ")"
		}
		if a.Shelved() {
			line += " (shelved until " + a.ShelvedUntil.Format("15:04") + ")"
		}
		alarms = append(alarms, line)
	}
	// A manual fan is a reminder, not an alarm: it ends by itself, and says when.
	for _, u := range snap.Units {
		if u.Mode == engine.ModeManual && u.ManualLeft > 0 {
			alarms = append(alarms, fmt.Sprintf("%s: fan in manual at %.0f %% for %v more (loop %s auto ends it)", u.Name, u.FanPct, u.ManualLeft.Round(time.Minute), u.Name))
		}
	}
	return console.Status{Software: b.a.opts.Version, State: "controlling", Uptime: time.Since(b.a.start), Alarms: alarms}, nil
}

var qualityState = map[sensors.Quality]string{
	sensors.Fresh: "ok", sensors.Missing: "missing", sensors.Stale: "stale", sensors.ProbeFault: "fault",
	sensors.OutOfRange: "implausible", sensors.Frozen: "frozen", sensors.Outlier: "implausible",
}

// Sensors implements console.Controller: the configured sensors zone by zone (missing ones
// included), then any other sensor the mesh reports.
func (b *backend) Sensors(context.Context) ([]console.SensorReading, error) {
	cfg, _ := b.running()
	heard := map[string]sensors.SensorStatus{}
	var ids []string
	for _, s := range b.a.eng.SensorStatus(time.Now()) {
		heard[s.ID] = s
		ids = append(ids, s.ID)
	}
	rack := map[string]string{}
	for _, s := range cfg.Sensors {
		rack[s.ID] = s.Rack
	}
	batt := b.a.batteries()
	var out []console.SensorReading
	done := map[string]bool{}
	add := func(id, zone string) {
		if done[id] {
			return
		}
		done[id] = true
		r := console.SensorReading{ID: id, Zone: zone, Rack: rack[id], Kind: "temperature", Unit: "C", Age: -1, State: "missing"}
		node, _, _ := strings.Cut(id, "/")
		r.BatteryMV = int(batt[node])
		if s, ok := heard[id]; ok {
			r.Value, r.Age, r.State = s.Value, s.Age, qualityState[s.Quality]
			if r.State == "" {
				r.State = s.Quality.String()
			}
		}
		out = append(out, r)
	}
	for _, z := range cfg.Zones {
		for _, id := range z.Sensors {
			add(id, z.Name)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		add(id, "-")
	}
	return out, nil
}

// refused reports whether the unit's newest read-back was refused (it answers, but a value is
// not available or implausible), and returns that read-back.
func (b *backend) refused(unit string) (engine.UnitState, bool) {
	lr, lat, ok := b.a.eng.LastRead(unit)
	if !ok {
		return engine.UnitState{}, false
	}
	_, rat, rok := b.a.eng.ReadBack(unit)
	return lr, !rok || lat.After(rat)
}

// unitMode is the console's word for a unit's state.
func (b *backend) unitMode(us engine.UnitSnapshot) string {
	rb, _, ok := b.a.eng.ReadBack(us.Name)
	_, bad := b.refused(us.Name)
	switch {
	case us.Isolated && bad:
		return "fail-safe" // it answers, but with values the engine cannot use
	case us.Isolated:
		return "offline"
	case us.Mode == engine.ModeDisabled:
		return "disabled"
	case ok && rb.Fallback:
		return "fallback"
	case us.Tripped:
		return "tripped"
	}
	return us.Mode.String()
}

// Units implements console.Controller: what each unit reads back (its command while it does not
// answer), with its line and Modbus id from the configuration.
func (b *backend) Units(context.Context) ([]console.UnitStatus, error) {
	cfg, _ := b.running()
	var out []console.UnitStatus
	for _, us := range b.a.eng.Snapshot().Units {
		st := console.UnitStatus{Name: us.Name, Mode: b.unitMode(us), FanPct: us.FanPct, ValvePct: us.ValvePct,
			SupplyC: us.SupplyC, ReturnC: us.ReturnC, Alarm: strings.Join(us.Alarms, "; ")}
		if uc := cfg.Unit(us.Name); uc != nil {
			st.Line, st.UnitID = uc.Line, uc.UnitID
		}
		// A fan drive has no temperature points and no coil: show "-", not the engine's 0.
		supply, ret := b.a.unitTemps(us.Name)
		st.NoSupply, st.NoValve, st.NoReturn = !supply, !supply, !ret
		if lr, bad := b.refused(us.Name); bad {
			// The newest read-back was refused: show it, its unavailable values as n/a (NaN),
			// rather than an older good one or the command.
			st.FanPct, st.ValvePct, st.SupplyC, st.ReturnC, st.FanKW = lr.FanPct, lr.ValvePct, lr.SupplyC, lr.ReturnC, lr.FanKW
			if st.Alarm == "" && lr.Alarm {
				st.Alarm = fmt.Sprintf("code %d", lr.AlarmCode)
			}
		} else if rb, _, ok := b.a.eng.ReadBack(us.Name); ok && !us.Isolated {
			st.FanPct, st.FanKW = rb.FanPct, rb.FanKW
			if supply {
				st.ValvePct = rb.ValvePct
			}
			if st.Alarm == "" && rb.Alarm {
				st.Alarm = fmt.Sprintf("code %d", rb.AlarmCode)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// zoneTuning is the tuning of a zone's loop: that of the unit carrying the largest share of it
// if it has one, else the site default (as the engine does).
func zoneTuning(cfg *site.Config, z *site.Zone) site.Tuning {
	best, bw := "", -1.0
	for _, u := range z.Units {
		if w := z.InfluenceOf(u); w > bw {
			best, bw = u, w
		}
	}
	if u := cfg.Unit(best); u != nil && u.FanTuning != nil {
		return *u.FanTuning
	}
	return cfg.Control.FanTuning
}

// zonesOf lists every zone a unit serves, "row-a,row-b" (the snapshot names only its main one).
func zonesOf(cfg *site.Config, unit, main string) string {
	var names []string
	for _, i := range cfg.ZonesOf(unit) {
		names = append(names, cfg.Zones[i].Name)
	}
	if len(names) == 0 {
		return main
	}
	return strings.Join(names, ",")
}

// valveMode is the mode of a unit's supply-air loop: its own (the engine's), not the fan's; "held"
// while a commissioning test holds the valve.
func (b *backend) valveMode(unit string) string {
	b.cfgMu.Lock()
	_, held := b.holds[unit]
	b.cfgMu.Unlock()
	if held {
		return "held"
	}
	if m, ok := b.a.eng.ValveMode(unit); ok {
		return m
	}
	return "-"
}

// Loops implements console.Controller: one zone loop per zone (its mode column carries the valid
// sensors, its output the zone's airflow demand), then each unit's fan (every zone it serves) and
// supply-air valve loop (in its own mode: a fan in manual leaves the valve loop in auto).
func (b *backend) Loops(context.Context) ([]console.LoopStatus, error) {
	cfg, _ := b.running()
	snap := b.a.eng.Snapshot()
	var out []console.LoopStatus
	for _, z := range snap.Zones {
		zc := cfg.Zone(z.Name)
		t := cfg.Control.FanTuning
		if zc != nil {
			t = zoneTuning(cfg, zc)
		}
		state := "ok"
		if !z.OK {
			state = "low"
		}
		out = append(out, console.LoopStatus{Unit: z.Name, Loop: "zone", Zone: z.Name,
			Mode: fmt.Sprintf("%s %d/%d", state, z.Valid, z.Total), SetpointC: z.SetpointC, MeasuredC: z.MeasureC,
			OutputPct: z.DemandPct, Kp: t.Kp, Ti: t.Ti, Td: t.Td})
	}
	for _, us := range snap.Units {
		uc := cfg.Unit(us.Name)
		if uc == nil {
			continue
		}
		ft := cfg.Control.FanTuning
		if zc := cfg.Zone(us.Zone); zc != nil {
			ft = zoneTuning(cfg, zc)
		}
		vt := cfg.Control.ValveTuning
		if uc.ValveTuning != nil {
			vt = *uc.ValveTuning
		}
		mode := b.unitMode(us)
		out = append(out, console.LoopStatus{Unit: us.Name, Loop: "fan", Zone: zonesOf(cfg, us.Name, us.Zone), Mode: mode, SetpointC: us.SetpointC,
			MeasuredC: us.MeasureC, OutputPct: us.FanPct, Kp: ft.Kp, Ti: ft.Ti, Td: ft.Td})
		if supply, _ := b.a.unitTemps(us.Name); supply { // a fan drive has no coil, so no valve loop
			out = append(out, console.LoopStatus{Unit: us.Name, Loop: "valve", Zone: "supply", Mode: b.valveMode(us.Name), SetpointC: uc.SupplySPC,
				MeasuredC: us.SupplyC, OutputPct: us.ValvePct, Kp: vt.Kp, Ti: vt.Ti, Td: vt.Td})
		}
	}
	return out, nil
}

// Counters implements console.Controller: the field's (mesh, Modbus per unit) and the engine's
// periods and overruns, sorted by name.
func (b *backend) Counters(context.Context) ([]console.Counter, error) {
	m := b.a.counters()
	out := make([]console.Counter, 0, len(m))
	for k, v := range m {
		out = append(out, console.Counter{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SetLoopMode implements console.Controller.
func (b *backend) SetLoopMode(_ context.Context, unit string, mode console.LoopMode) error {
	if mode.Manual {
		return b.a.eng.SetManualFor(unit, mode.FanPct, mode.For)
	}
	return b.a.eng.SetAuto(unit)
}

// claim marks a unit busy with a tune or a test; the returned func releases it.
func (b *backend) claim(unit, what string) (func(), error) {
	b.testMu.Lock()
	defer b.testMu.Unlock()
	if b.testing[unit] {
		return nil, fmt.Errorf("%s %s: a tune or test is already running on it", what, unit)
	}
	b.testing[unit] = true
	return func() {
		b.testMu.Lock()
		delete(b.testing, unit)
		b.testMu.Unlock()
	}, nil
}

// Autotune implements console.Controller: the engine's relay experiment on the unit's fan (the
// zone loop), polled every second. Cancelling ctx aborts it and the unit returns to auto.
func (b *backend) Autotune(ctx context.Context, unit, loop string, progress func(string)) (site.Tuning, error) {
	if loop != "fan" {
		return site.Tuning{}, fmt.Errorf("the %s loop cannot be autotuned: the engine tunes the fan (zone) loop only", loop)
	}
	release, err := b.claim(unit, "tune")
	if err != nil {
		return site.Tuning{}, err
	}
	defer release()
	if err := b.a.eng.StartAutotune(unit, time.Now()); err != nil {
		return site.Tuning{}, err
	}
	progress(fmt.Sprintf("relay experiment on %s started", unit))
	t := time.NewTicker(b.tunePoll)
	defer t.Stop()
	var last autotuneLine
	lastShown := time.Now()
	for {
		select {
		case <-ctx.Done():
			if err := b.a.eng.AbortAutotune(unit); err != nil {
				return site.Tuning{}, err
			}
			return site.Tuning{}, ctx.Err()
		case <-t.C:
		}
		st, ok := b.a.eng.AutotuneStatus(unit)
		if !ok {
			return site.Tuning{}, fmt.Errorf("%s: the experiment vanished (configuration change?)", unit)
		}
		p := st.Progress
		line := autotuneLine{p.Phase.String(), p.Periods, p.Steady}
		if line != last || time.Since(lastShown) >= 30*time.Second {
			last, lastShown = line, time.Now()
			progress(fmt.Sprintf("%s: %d of %d relay periods (%d steady), fan %.0f%%, %s",
				p.Phase, p.Periods, p.Need, p.Steady, p.Out, p.Elapsed.Round(time.Second)))
		}
		if st.Running {
			continue
		}
		if st.Err != nil {
			return site.Tuning{}, st.Err
		}
		if st.Result == nil {
			return site.Tuning{}, fmt.Errorf("%s: the experiment ended without a result", unit)
		}
		return *st.Result, nil
	}
}

type autotuneLine struct {
	phase           string
	periods, steady int
}

// ModbusRead implements console.Controller. A target that is a configured line (by name or by
// its URL) is read through the field's own bus, which owns that line; any other URL is dialled
// for this one read.
func (b *backend) ModbusRead(ctx context.Context, req console.ModbusRequest) ([]uint16, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	bus, done, err := b.busFor(ctx, req.Target)
	if err != nil {
		return nil, err
	}
	defer done()
	var bits []bool
	switch req.Table {
	case "holding", "":
		return bus.ReadHolding(ctx, req.Unit, req.Addr, req.Count)
	case "input":
		return bus.ReadInput(ctx, req.Unit, req.Addr, req.Count)
	case "coil":
		bits, err = bus.ReadCoils(ctx, req.Unit, req.Addr, req.Count)
	case "discrete":
		bits, err = bus.ReadDiscreteInputs(ctx, req.Unit, req.Addr, req.Count)
	default:
		return nil, fmt.Errorf("table %q: want holding, input, coil or discrete", req.Table)
	}
	if err != nil {
		return nil, err
	}
	out := make([]uint16, len(bits)) // the console's bits: 0 or 1 each
	for i, b := range bits {
		if b {
			out[i] = 1
		}
	}
	return out, nil
}

func (b *backend) busFor(ctx context.Context, target string) (*modbus.Bus, func(), error) {
	cfg, _ := b.running()
	f, _ := b.a.openedField()
	line := cfg.Line(target)
	if line == nil {
		t, err := modbus.ParseTarget(target)
		if err != nil {
			return nil, nil, err
		}
		for i := range cfg.Lines {
			lt, err := modbus.ParseTarget(cfg.Lines[i].Target)
			if err != nil {
				continue
			}
			if lt.String() == t.String() {
				line = &cfg.Lines[i]
				break
			}
			if lt.Kind == "rtu" && t.Kind == "rtu" && lt.Addr == t.Addr {
				return nil, nil, fmt.Errorf("%s is the port of line %s (%s): read through the line (--target %s)", t.Addr, cfg.Lines[i].Name, lt, cfg.Lines[i].Name)
			}
		}
		if line == nil {
			bus, err := modbus.DialContext(ctx, target, modbus.Options{Timeout: time.Second, BreakerThreshold: -1})
			if err != nil {
				return nil, nil, err
			}
			return bus, func() { bus.Close() }, nil
		}
	}
	if f == nil {
		return nil, nil, errors.New("the field is not open")
	}
	bus, ok := f.Bus(line.Name)
	if !ok {
		return nil, nil, fmt.Errorf("line %s is not open", line.Name)
	}
	return bus, func() {}, nil
}

// RebootPermitted implements console.Controller. Only a board set up for it reboots: on a laptop
// or in the simulator a console reboot would take the host down.
func (b *backend) RebootPermitted(context.Context) error {
	_, statErr := os.Stat(b.rebootPath)
	if b.a.opts.NoBoard || statErr != nil || os.Getenv(b.rebootEnv) != "1" {
		return ErrRebootNotPermitted
	}
	return nil
}

// Reboot implements console.Controller (checking RebootPermitted again: the console asked before
// the confirmation, and the machine may have changed since).
func (b *backend) Reboot(ctx context.Context) error {
	if err := b.RebootPermitted(ctx); err != nil {
		b.a.event(storage.KindSystem, "console", "reboot refused: not permitted on this machine")
		return err
	}
	b.a.event(storage.KindSystem, "console", "reboot requested from the console")
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// The init system stops us with SIGTERM: Serve then checkpoints and releases the relay.
	if out, err := exec.CommandContext(ctx, b.rebootPath).CombinedOutput(); err != nil {
		return fmt.Errorf("reboot: %s: %w: %s", b.rebootPath, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// feedbackClose reports whether a read-back is within tol of want.
func feedbackClose(got, want, tol float64) bool { return !math.IsNaN(got) && math.Abs(got-want) <= tol }

// unitTemps reports whether the unit's profile has supply and return temperature points; both
// true while no field is open (nothing better known).
func (a *App) unitTemps(name string) (supply, ret bool) {
	f, _ := a.openedField()
	if f == nil {
		return true, true
	}
	return f.HasTemps(name)
}

// batteries is the newest battery voltage (mV) of every node the open field has heard, by node
// (the sensor id before "/"); empty while no field is open.
func (a *App) batteries() map[string]uint16 {
	if f, _ := a.openedField(); f != nil {
		return f.Batteries()
	}
	return nil
}

// Trend implements console.Controller from the operations Publisher's in-memory trend; none
// before the operations wiring has set one (a.pub nil) or before its first sample.
func (b *backend) Trend(_ context.Context, since time.Time) ([]console.TrendPoint, error) {
	if b.a.pub == nil {
		return nil, nil
	}
	pts := b.a.pub.Trend(since)
	out := make([]console.TrendPoint, 0, len(pts))
	for _, p := range pts {
		cp := console.TrendPoint{Time: p.Time, Zones: make(map[string]console.TrendZone, len(p.Zones)),
			Units: make(map[string]console.TrendUnit, len(p.Units))}
		for name, z := range p.Zones {
			cp.Zones[name] = console.TrendZone{MeasureC: z.MeasureC, HottestC: z.HottestC, SetpointC: z.SetpointC}
		}
		for name, u := range p.Units {
			cp.Units[name] = console.TrendUnit{FanPct: u.FanPct, ValvePct: u.ValvePct}
		}
		out = append(out, cp)
	}
	return out, nil
}
