package appliance

import (
	"context"
	"github.com/coldaisle/coldaisle/control/pair"
	"math"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/board/ops"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/site"
)

// buildView gathers what the operations face shows, after a control period: one copy, read
// afterwards by any number of HTTP and BMS clients without touching the engine or the field.
func (a *App) buildView(rep engine.PeriodReport) *ops.View {
	cfg, version := a.runningConfig()
	snap := a.eng.Snapshot()
	v := &ops.View{
		Time: time.Now(), Site: cfg.Site, Software: a.opts.Version, ConfigVersion: version,
		Role: "active", Epoch: snap.Epoch, Uptime: time.Since(a.start), State: "controlling",
		Period: ops.Period{Length: cfg.Control.Period.Duration, Last: rep.Elapsed, Count: a.periods.Load(), Overruns: a.overruns.Load()},
	}
	if a.pn != nil {
		st := a.pn.status()
		v.Role, v.Epoch = st.Role.String(), st.Epoch
		if st.Role != pair.Active {
			v.State = "watching the active"
		}
		pv := &ops.Pair{NodeID: st.NodeID, Role: st.Role.String(), Epoch: st.Epoch, Highest: st.Highest, Hold: st.Hold.String(),
			PeerNodeID: st.Peer.NodeID, PeerRole: st.Peer.Role.String(), PeerHeard: !st.PeerHeard.IsZero(),
			Drops: map[string]uint64{}, TakeoverBudget: st.Budget}
		if pv.PeerHeard {
			pv.PeerAgo = time.Since(st.PeerHeard)
		}
		if !st.LeaseUntil.IsZero() {
			pv.Lease = max(time.Until(st.LeaseUntil), 0)
		}
		for k, n := range st.LinkCounter {
			pv.Drops[k] = n
		}
		pv.Alarms = st.Alarms
		v.Pair = pv
	}
	for _, z := range snap.Zones {
		v.Zones = append(v.Zones, ops.Zone{Name: z.Name, MeasureC: z.MeasureC, SetpointC: z.SetpointC, HottestC: z.HottestC,
			HottestID: z.HottestID, DemandPct: z.DemandPct, Valid: z.Valid, Total: z.Total, OK: z.OK, Alarm: z.Alarm})
	}
	for _, us := range snap.Units {
		uc := cfg.Unit(us.Name)
		if uc == nil {
			continue
		}
		u := ops.Unit{Name: us.Name, Line: uc.Line, UnitID: uc.UnitID, Profile: uc.Profile, Mode: us.Mode.String(), Reason: us.Reason,
			FanCmdPct: us.FanPct, FanFbPct: us.FanFeedback, ValveCmdPct: us.ValvePct, ValveFbPct: us.ValveFeedback,
			SupplyC: us.SupplyC, ReturnC: us.ReturnC, FanKW: us.FanKW, Why: us.Why, Isolated: us.Isolated, Tripped: us.Tripped,
			Alarm: len(us.Alarms) > 0}
		if us.Isolated {
			u.FanFbPct, u.ValveFbPct, u.SupplyC, u.ReturnC, u.FanKW = math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()
		}
		if uc.Profile == "vfd-fan" { // a fan drive has no coil and no temperatures
			u.ValveCmdPct, u.ValveFbPct, u.SupplyC, u.ReturnC = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		}
		for _, zi := range cfg.ZonesOf(us.Name) {
			u.Zones = append(u.Zones, cfg.Zones[zi].Name)
		}
		v.Units = append(v.Units, u)
	}
	v.Sensors = a.viewSensors(v.Time)
	v.Alarms = a.viewAlarms()
	if f, _ := a.openedField(); f != nil {
		for _, l := range f.Lines() {
			v.Lines = append(v.Lines, ops.Line{Name: l.Name, Target: l.Target, Requests: l.Requests, Errors: l.Errors, Timeouts: l.Timeouts,
				Exceptions: l.Exceptions, CRCErrors: l.CRCErrors, ProtocolErrors: l.ProtocolErrors, ConnectErrors: l.ConnectErrors})
		}
		v.Mesh = map[string]uint64{}
		for k, n := range f.Counters() {
			if name, ok := strings.CutPrefix(k, "mesh."); ok {
				v.Mesh[name] = n
			}
		}
	}
	st := a.db.Stats()
	v.DB = ops.DB{Commits: st.Commits, BytesWritten: uint64(max(st.BytesWritten, 0)), Failures: a.storageFailures.Load()}
	return v
}

// runningConfig is the configuration in force and its version.
func (a *App) runningConfig() (*site.Config, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg, a.version
}

// viewAlarms lists the active alarms, newest first.
func (a *App) viewAlarms() []ops.Alarm {
	var out []ops.Alarm
	for _, al := range a.hub.active() {
		out = append(out, opsAlarm(al))
	}
	return out
}

// The sensors' part of the View (a thousand of them on a large room, the costliest part) is
// rebuilt once a second when new readings came, and every 5 s anyway (their ages move); a part
// shared between two Views is never modified.
const (
	sensorViewMin   = time.Second
	sensorViewEvery = 5 * time.Second
)

func (a *App) viewSensors(now time.Time) []ops.Sensor {
	a.sensMu.Lock()
	defer a.sensMu.Unlock()
	obs := a.eng.Observed()
	since := now.Sub(a.sensAt)
	if a.sensAt.IsZero() || since >= sensorViewEvery || since < 0 || (since >= sensorViewMin && obs != a.sensObs) {
		a.sensObs = obs
		rs, err := a.backend().Sensors(context.Background())
		if err != nil {
			return a.sensView
		}
		out := make([]ops.Sensor, 0, len(rs))
		for _, r := range rs {
			s := ops.Sensor{ID: r.ID, Zone: r.Zone, Rack: r.Rack, ValueC: r.Value, Age: r.Age, State: r.State, BatteryV: math.NaN()}
			if r.State == "missing" || r.State == "fault" {
				s.ValueC = math.NaN()
			}
			if r.BatteryMV > 0 {
				s.BatteryV = float64(r.BatteryMV) / 1000
			}
			out = append(out, s)
		}
		a.sensView, a.sensAt = out, now
	}
	return a.sensView
}
