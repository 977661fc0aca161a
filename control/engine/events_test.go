package engine

import (
	"math"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/sensors"
)

// TestStartUpSlew: from units in fallback at full speed in a room far below its setpoint, the
// demand falls at the fan rate limit (the slow PI here would take many minutes), never below the
// minimum; with load, the slew brakes when the sensors warm, well above the minimum, and the loop
// settles at the setpoint.
func TestStartUpSlew(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 3)
	cfg.Control.FanTuning.Kp, cfg.Control.FanTuning.Ti = 1, 600 // a slow loop: the slew is what moves
	for i := range cfg.Units {
		cfg.Units[i].FanRatePct = 2
	}
	// Almost no load: the inlets stay at the supply temperature whatever the fans do.
	h := newHarness(t, cfg, 20)
	h.r.fan[0], h.r.fan[1] = 100, 100
	h.r.inlet[0] = 18.2
	dt := cfg.Control.Period.Duration.Seconds()
	atMin := -1
	for k := 0; k < 60 && atMin < 0; k++ {
		h.run(1)
		for _, c := range h.last {
			if c.FanPct < cfg.Units[0].MinFanPct-1e-9 {
				t.Fatalf("step %d: %s at %g, below its minimum", k, c.Unit, c.FanPct)
			}
		}
		if h.cmd("u1").FanPct <= cfg.Units[0].MinFanPct+1e-9 {
			atMin = k
		}
	}
	// 100 -> 30 at 2 %/s is 35 s: 18 periods, plus the first periods before auto.
	if limit := int(math.Ceil((100-cfg.Units[0].MinFanPct)/(2*dt))) + 4; atMin < 0 || atMin > limit {
		t.Fatalf("reached the minimum after %d periods, want within %d (rate-limited slew)", atMin, limit)
	}

	// With load, the racks warm as the air falls below what they draw: the slew brakes.
	h = newHarness(t, cfg, 350)
	h.per = 2 * time.Second // fast sensors: the brake acts on the first warm report
	h.r.fan[0], h.r.fan[1] = 100, 100
	h.r.inlet[0] = 21.5 // 18 + 350/100
	lowest := 100.0
	for k := 0; k < 60; k++ {
		h.run(1)
		lowest = math.Min(lowest, h.cmd("u1").FanPct)
	}
	if lowest < 40 {
		t.Fatalf("slew went down to %g, want a brake well above the minimum", lowest)
	}
	cfg2, _ := cfg.Clone()
	cfg2.Control.FanTuning.Kp, cfg2.Control.FanTuning.Ti = 8, 120
	if err := h.e.ApplyConfig(cfg2); err != nil {
		t.Fatal(err)
	}
	h.run(900)
	if m := h.e.Snapshot().Zones[0].MeasureC; math.Abs(m-25) > 0.3 {
		t.Fatalf("zone at %.2f after the start, want 25", m)
	}
}

// TestTripHoldsCommandAndRestartsWhereItWas: a tripped unit reads 0, but its command holds its
// last value; when it runs again it goes straight to auto from there, without dropping to its
// minimum, and its zone asks at least its demand from before the trip.
func TestTripHoldsCommandAndRestartsWhereItWas(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 2)
	h := newHarness(t, cfg, 300)
	h.run(600)
	before := h.cmd("u1").FanPct
	demand := h.e.Snapshot().Zones[0].DemandPct
	h.r.trip[0] = true
	h.run(60)
	if s := h.unit("u1"); !s.Tripped || s.Mode != ModeTracking {
		t.Fatalf("tripped unit %+v", s)
	}
	if got := h.cmd("u1").FanPct; got != before {
		t.Fatalf("tripped unit's command %g, want its last %g held", got, before)
	}
	h.r.trip[0] = false
	h.run(1)
	if s := h.unit("u1"); s.Tripped || s.Mode != ModeAuto {
		t.Fatalf("restored unit %+v, want auto at once", s)
	}
	if got := h.cmd("u1").FanPct; math.Abs(got-before) > fanDeadbandPct {
		t.Fatalf("restored unit commanded %g, want about %g", got, before)
	}
	if d := h.e.Snapshot().Zones[0].DemandPct; d < demand-1 {
		t.Fatalf("zone demand %g after the restart, want at least the %g from before the trip", d, demand)
	}
}

// TestPlenumShares: a tripped unit's air is missing, and the survivors' air fills the plenum: a
// unit that also serves an unaffected zone sends more of its air where the trip was.
func TestPlenumShares(t *testing.T) {
	cfg := testConfig(t, 3, [][]string{{"u1", "u2"}, {"u2", "u3"}}, 2)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := [][]float64{make([]float64, 3), make([]float64, 3)}
	e.plenumShares(w)
	want := [][]float64{{0.5, 0.5, 0}, {0, 0.5, 0.5}}
	near := func(got, want [][]float64) bool {
		for i := range want {
			for j := range want[i] {
				if math.Abs(got[i][j]-want[i][j]) > 1e-9 {
					return false
				}
			}
		}
		return true
	}
	if !near(w, want) {
		t.Fatalf("shares %v, want %v", w, want)
	}
	e.units[0].tripped = true
	e.plenumShares(w)
	// z1 draws only on u2 now; u2's air goes 1 : 0.5 to z1 : z2 (was 0.5 : 0.5), so z1 gets 2/3
	// of what u2 gives at full speed and z2 1/3, of which plenumCredit is counted on; u3 is
	// unchanged.
	part := func(before, after float64) float64 { return before + plenumCredit*(after-before) }
	want = [][]float64{{0, part(0.5, 2.0/3), 0}, {0, part(0.5, 1.0/3), 0.5}}
	if !near(w, want) {
		t.Fatalf("shares after u1 tripped %v, want %v", w, want)
	}
	e.units[0].tripped, e.units[2].isolated = false, true // a unit that does not answer may be dead
	e.plenumShares(w)
	want = [][]float64{{0.5, part(0.5, 1.0/3), 0}, {0, part(0.5, 2.0/3), 0}}
	if !near(w, want) {
		t.Fatalf("shares with u3 isolated %v, want %v", w, want)
	}
}

// TestIsolatedUnitFeedForward: a unit that stops answering may have lost its power: the others
// take over its air at once, like after a trip.
func TestIsolatedUnitFeedForward(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 2)
	h := newHarness(t, cfg, 300)
	h.run(600)
	f2 := h.cmd("u2").FanPct
	h.noIO["u1"] = true
	h.r.trip[0] = true // and it is dead indeed
	h.r.tau = 3600     // a slow room: what raises u2 now is not the inlets
	inlet := h.r.inlet[0]
	h.run(isolateAfter + 2)
	if d := h.r.inlet[0] - inlet; d > 0.2 {
		t.Fatalf("inlet moved %g: the room is not slow enough for this test", d)
	}
	if got := h.cmd("u2").FanPct; got < f2+2*2*cfg.Units[1].FanRatePct-1e-6 {
		t.Fatalf("u2 %g -> %g: no feed-forward on the isolation", f2, got)
	}
	h.r.tau = 60
	h.run(300)
	if m := h.e.Snapshot().Zones[0].MeasureC; m > 25.5 {
		t.Fatalf("zone at %.2f with u1 dead, want held", m)
	}
}

// TestDegradedUnit: a fan fault with the fan still running is not a trip: the unit stays in auto,
// alarmed with what it has left (sized from its fan power against what it drew when healthy).
func TestDegradedUnit(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 2)
	h := newHarness(t, cfg, 300)
	kw := func(j int, fault bool) float64 { // a 4 kW fan; a fault leaves 60 % of it
		p := 4 * math.Pow(h.r.fan[j]/100, 3)
		if fault {
			p *= 0.6
		}
		return p
	}
	fault := false
	h.state = func(j int, st UnitState) UnitState {
		st.FanKW = kw(j, fault && j == 0)
		st.FanFault = fault && j == 0
		return st
	}
	h.run(600)
	fault = true
	h.run(30)
	s := h.unit("u1")
	if s.Tripped || s.Mode != ModeAuto {
		t.Fatalf("degraded unit %+v, want auto", s)
	}
	found := ""
	for _, a := range s.Alarms {
		if len(a) > 9 && a[:9] == "degraded:" {
			found = a
		}
	}
	if found != "degraded: fan fault, about 60 % of its air left" {
		t.Fatalf("alarms %q", s.Alarms)
	}
}

// TestMeasurementSmoothing: a sensor's noise is averaged before the zone's max, a real change
// (more than sensors.DefaultSmoothJumpK) is taken at once.
func TestMeasurementSmoothing(t *testing.T) {
	m, err := newStoreMeasurer(10*time.Minute, 30*time.Minute, 5, 50, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{sid(1, 1), sid(2, 1)}
	at := t0
	report := func(i int, v float64) {
		at = at.Add(time.Second)
		m.observe(Reading{Sensor: ids[i], Value: v, Time: at, Arrival: at})
	}
	report(0, 24.0)
	report(1, 23.0)
	if r := m.measure(nil, ids, 100, 2, at); !r.ok || r.v != 24 {
		v, ok := r.v, r.ok
		t.Fatalf("zone %g %v, want 24", v, ok)
	}
	report(0, 24.2) // noise: smoothed
	if v := m.measure(nil, ids, 100, 2, at).v; math.Abs(v-(24+sensors.DefaultSmoothAlpha*0.2)) > 1e-9 {
		t.Fatalf("zone %g after a 0.2 K report, want %g", v, 24+sensors.DefaultSmoothAlpha*0.2)
	}
	report(0, 25.5) // heat: at once
	if v := m.measure(nil, ids, 100, 2, at).v; v != 25.5 {
		t.Fatalf("zone %g after a 1.4 K jump, want 25.5", v)
	}
	if r := m.rise(ids); math.Abs(r-1.5) > 0.01 {
		t.Fatalf("rise %g, want about 1.5 K above the sensor's low", r)
	}
	if v := m.measure(nil, ids, 50, 2, at).v; math.Abs(v-(23+25.5)/2) > 1e-9 {
		t.Fatalf("median %g", v)
	}
}

// TestAllocatorLambdaFloor: a multiplier held up by its floor keeps its zone's units up.
func TestAllocatorLambdaFloor(t *testing.T) {
	var a allocator
	in := &allocInput{
		W: [][]float64{{1}}, D: []float64{40},
		Free: []bool{true}, Fixed: []float64{0}, Lo: []float64{0}, Hi: []float64{100},
	}
	f := make([]float64, 1)
	a.solve(in, f)
	if math.Abs(f[0]-40) > 1e-3 {
		t.Fatalf("f=%v", f)
	}
	in.D[0] = 20
	in.LamFloor = []float64{0.9 * a.lambda[0]}
	a.solve(in, f)
	if want := math.Sqrt(0.9) * 40; math.Abs(f[0]-want) > 1e-3 {
		t.Fatalf("f=%v with the floor, want %g", f, want)
	}
	in.LamFloor = nil
	a.solve(in, f)
	if math.Abs(f[0]-20) > 1e-3 {
		t.Fatalf("f=%v without the floor", f)
	}
}

// On a slow mesh the start-up slew is slower: a sensor's rise is only seen at its second report,
// an interval late, and at the dense rate the fans would be at their minimum long before.
func TestStartUpSlewSparse(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 3)
	cfg.Control.FanTuning.Kp, cfg.Control.FanTuning.Ti = 1, 600
	for i := range cfg.Units {
		cfg.Units[i].FanRatePct = 2
	}
	h := newHarness(t, cfg, 20)
	h.per = 3 * time.Minute
	for k, id := range cfg.Zones[0].Sensors { // phases spread over the interval, as on a mesh
		h.rep[id] = t0.Add(-h.per + time.Duration(k)*time.Minute)
	}
	h.r.fan[0], h.r.fan[1] = 100, 100
	h.r.inlet[0] = 18.2
	dt := cfg.Control.Period.Duration.Seconds()
	dense := int(math.Ceil((100-cfg.Units[0].MinFanPct)/(2*dt))) + 4 // TestStartUpSlew's bound
	for k := 0; k < 3*dense; k++ {
		h.run(1)
		for _, c := range h.last {
			if c.FanPct < cfg.Units[0].MinFanPct-1e-9 {
				t.Fatalf("step %d: %s at %g, below its minimum", k, c.Unit, c.FanPct)
			}
		}
	}
	if f := h.cmd("u1").FanPct; f < cfg.Units[0].MinFanPct+20 {
		t.Fatalf("fan %g after %d periods of 3 min reports, want the slew well above the minimum %g", f, 3*dense, cfg.Units[0].MinFanPct)
	}
}
