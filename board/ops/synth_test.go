package ops

import (
	"fmt"
	"math"
	"time"
)

// synthView is a realistic View of a hall: sensors spread over zones (eight at most, 125 sensors
// each at 1,000), units on two lines, a few sensors in trouble, three alarms, mesh and database
// counters. step (seconds since the start of the run) moves the temperatures and fans along a
// slow wave, so a trend built from successive views has a shape.
func synthView(sensors, units int, t time.Time, step int) *View {
	nz := min(8, max(1, sensors/40))
	w := math.Sin(float64(step) / 600 * math.Pi)
	v := &View{
		Time: t, Site: "hall-b", Software: "v1.4.2-3-gdeadbee", ConfigVersion: 17, Role: "active", Epoch: 3,
		Uptime: 26*time.Hour + 14*time.Minute + time.Duration(step)*time.Second, State: "controlling",
		Period: Period{Length: time.Second, Last: 38*time.Millisecond + time.Duration(step%7)*time.Millisecond, Count: uint64(94440 + step), Overruns: 2},
		Mesh: map[string]uint64{"frames_rx": uint64(1_204_332 + 9*step), "frames_tx": 40_112, "drops.fcs": 17, "drops.seq": 3,
			"retransmits": 211, "reconnects": 1, "keepalive_missed": 4},
		DB: DB{Commits: uint64(9_444 + step/10), BytesWritten: uint64(41_943_040 + 4096*step), Failures: 0},
	}
	for i := range nz {
		sp := 24.0
		if i%3 == 2 {
			sp = 25
		}
		hot := sp - 0.8 + 1.6*w + 0.3*float64(i%4)
		v.Zones = append(v.Zones, Zone{
			Name: fmt.Sprintf("row-%c", 'a'+i), SetpointC: sp, HottestC: hot, MeasureC: hot - 0.1,
			HottestID: fmt.Sprintf("s%04d", i*sensors/nz+7), DemandPct: 45 + 20*w + float64(i*3),
			OK: true, Alarm: i == 1 && w > 0.5,
		})
	}
	for i := range sensors {
		z := i * nz / sensors
		s := Sensor{
			ID: fmt.Sprintf("s%04d", i), Zone: v.Zones[z].Name, Rack: fmt.Sprintf("r%02d-%02d", z+1, i%16+1),
			ValueC: v.Zones[z].HottestC - 0.2 - float64(i%9)*0.25, Age: time.Duration(1+i%20) * time.Second,
			State: "ok", BatteryV: 2.9 + float64(i%5)*0.05,
		}
		switch i % 97 {
		case 13:
			s.State, s.Age = "stale", 95*time.Second
		case 41:
			s.State, s.ValueC = "fault", math.NaN()
		case 77:
			s.State, s.ValueC, s.Age, s.BatteryV = "missing", math.NaN(), -1, math.NaN()
		}
		if s.State == "ok" {
			v.Zones[z].Valid++
		}
		v.Zones[z].Total++
		v.Sensors = append(v.Sensors, s)
	}
	for i := range units {
		z := i * nz / max(units, 1)
		fan := 42 + 18*w + float64(i%4)*3
		u := Unit{
			Name: fmt.Sprintf("crah-%d", i+1), Line: []string{"bus-a", "tcp-b"}[i%2], UnitID: i/2 + 1, Profile: "crah-generic",
			Mode: "auto", FanCmdPct: fan, FanFbPct: fan - 0.4, ValveCmdPct: 55 + 10*w, ValveFbPct: 54 + 10*w,
			SupplyC: 17.5 + 0.5*w, ReturnC: 31 + w, FanKW: 3.2 * math.Pow(fan/100, 3) * 4, Zones: []string{v.Zones[z].Name},
			Why: fmt.Sprintf("zone %s demand %.0f %%, share 0.7", v.Zones[z].Name, v.Zones[z].DemandPct),
		}
		switch i {
		case 2:
			u.Mode, u.Reason, u.FanCmdPct, u.FanFbPct, u.Isolated, u.Alarm = "fail-safe", "no read-back for 30 s", 100, math.NaN(), true, true
			u.ValveFbPct, u.SupplyC, u.ReturnC, u.FanKW = math.NaN(), math.NaN(), math.NaN(), math.NaN()
			u.Why = "fail-safe: no read-back, at fallback 100 %"
		case 5:
			u.Mode, u.Reason, u.FanCmdPct, u.FanFbPct = "manual", "technician override until 11:30", 60, 59.6
			u.Why = "manual 60 % (console, 20 min left)"
		case 7:
			u.Profile, u.ValveCmdPct, u.ValveFbPct = "vfd-fan", math.NaN(), math.NaN()
			u.FanCmdPct, u.FanFbPct = 30, 30.2
			u.Why = fmt.Sprintf("zone %s demand %.0f %%, share 0.3; at min_fan_pct 30 %%", v.Zones[z].Name, v.Zones[z].DemandPct)
		}
		v.Units = append(v.Units, u)
	}
	for i, l := range []string{"bus-a", "tcp-b"} {
		v.Lines = append(v.Lines, Line{Name: l, Target: []string{"rtu:///dev/ttyS1?baud=19200", "tcp://10.0.4.20:502"}[i],
			Requests: uint64(188_880 + 2*step), Errors: uint64(3 + i), Timeouts: uint64(12 * (1 - i))})
	}
	v.Alarms = []Alarm{
		{Key: "unit/crah-3/no-readback", Source: "unit crah-3", Kind: "no-readback", Severity: "major",
			Text: "crah-3 gives no read-back for 30 s; commanded to fail-safe 100 %", Raised: t.Add(-4 * time.Minute)},
		{Key: "zone/row-b/inlet-high", Source: "zone row-b", Kind: "inlet-high", Severity: "critical",
			Text: "row-b hottest inlet 26.9 °C above 26.5 °C for 60 s", Raised: t.Add(-11 * time.Minute),
			AckedBy: "jlee", AckedAt: t.Add(-9 * time.Minute)},
		{Key: "sensor/s0041/fault", Source: "sensor s0041", Kind: "probe-fault", Severity: "warning",
			Text: "s0041 reports a probe fault", Raised: t.Add(-3 * time.Hour), ShelvedUntil: t.Add(2 * time.Hour)},
	}
	return v
}

// fillTrend publishes an hour of views at 10 s, ending at end, and returns the last.
func fillTrend(p *Publisher, sensors, units int, end time.Time) *View {
	var v *View
	for s := 0; s <= 3600; s += 10 {
		v = synthView(sensors, units, end.Add(time.Duration(s-3600)*time.Second), s)
		p.Publish(v)
	}
	return v
}
