package engine

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestAllocatorSingleZoneSqrtRule(t *testing.T) {
	var a allocator
	in := &allocInput{
		W: [][]float64{{0.7, 0.3}}, D: []float64{50},
		Free: []bool{true, true}, Fixed: []float64{0, 0}, Lo: []float64{0, 0}, Hi: []float64{100, 100},
	}
	f := make([]float64, 2)
	a.solve(in, f)
	if got := 0.7*f[0] + 0.3*f[1]; math.Abs(got-50) > 1e-3 {
		t.Fatalf("demand not met: %g", got)
	}
	// KKT: f proportional to sqrt(w)
	if r := f[0] / f[1]; math.Abs(r-math.Sqrt(0.7/0.3)) > 1e-3 {
		t.Fatalf("f=%v ratio %g, want %g", f, r, math.Sqrt(0.7/0.3))
	}
	// Trip of unit 0: its share is missing, unit 1 alone must carry the zone (capped at max).
	in.W[0][0] = 0
	a.solve(in, f)
	if f[1] != 100 {
		t.Fatalf("after trip f=%v, want unit 1 at max", f)
	}
}

func TestAllocatorOverlapIsMaxSelectorDoneRight(t *testing.T) {
	var a allocator
	// z1 served by u1,u2; z2 by u2,u3. z2 demands a lot: u2 runs high, so z1 needs less from u1.
	in := &allocInput{
		W:    [][]float64{{0.5, 0.5, 0}, {0, 0.5, 0.5}},
		D:    []float64{40, 80},
		Free: []bool{true, true, true}, Fixed: make([]float64, 3),
		Lo: []float64{30, 30, 30}, Hi: []float64{100, 100, 100},
	}
	f := make([]float64, 3)
	a.solve(in, f)
	if 0.5*f[0]+0.5*f[1] < 40-1e-3 || 0.5*f[1]+0.5*f[2] < 80-1e-3 {
		t.Fatalf("constraints violated: %v", f)
	}
	if a.lambda[0] != 0 {
		t.Fatalf("z1 should be slack (u2 forced by z2), lambda=%v f=%v", a.lambda, f)
	}
	if f[0] != 30 {
		t.Fatalf("u1 should sit at its minimum, f=%v", f)
	}
}

func TestFailSafeOnInsufficientSensors(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 3)
	cfg.Zones[0].MinValid = 2
	h := newHarness(t, cfg, 350)
	h.run(300) // 10 min: settled in auto
	if m := h.unit("u1").Mode; m != ModeAuto {
		t.Fatalf("mode %v, want auto", m)
	}
	if f := h.cmd("u1").FanPct; f > 80 {
		t.Fatalf("settled fan %g%% looks wrong", f)
	}
	// Two sensors die; they keep their last (cool-ish) values until stale (max_age 10 min).
	z := cfg.Zones[0].Sensors
	h.dead[z[0]], h.dead[z[1]] = true, true
	h.run(int(cfg.Control.MaxAge.Duration/cfg.Control.Period.Duration) - 20)
	if m := h.unit("u1").Mode; m != ModeAuto {
		t.Fatalf("mode %v before the readings are stale, want auto", m)
	}
	h.run(40)
	s := h.e.Snapshot()
	if s.Zones[0].OK || s.Zones[0].Valid != 1 {
		t.Fatalf("zone %+v, want insufficient with 1 valid", s.Zones[0])
	}
	for _, u := range s.Units {
		if u.Mode != ModeFailSafe {
			t.Fatalf("%s mode %v, want fail-safe", u.Name, u.Mode)
		}
	}
	h.run(60)
	if f := h.cmd("u2").FanPct; f != cfg.Units[1].SafeFanPct {
		t.Fatalf("fail-safe fan %g, want %g", f, cfg.Units[1].SafeFanPct)
	}
	found := false
	for _, ev := range h.evs {
		if ev.Kind == EventAlarm && ev.Alarm == "insufficient" && ev.Zone == "z1" {
			found = true
		}
	}
	if !found {
		t.Fatal("no insufficient-sensors alarm event")
	}
	// Sensors back: leaves fail-safe automatically and without a jump.
	delete(h.dead, z[0])
	delete(h.dead, z[1])
	prev := h.cmd("u1").FanPct
	for k := 0; k < 200; k++ {
		h.run(1)
		f := h.cmd("u1").FanPct
		if math.Abs(f-prev) > cfg.Units[0].FanRatePct*2+1e-9 {
			t.Fatalf("bump leaving fail-safe: %g -> %g", prev, f)
		}
		prev = f
	}
	if m := h.unit("u1").Mode; m != ModeAuto {
		t.Fatalf("mode %v after sensors came back, want auto", m)
	}
}

func TestDeadCoolSensorDropsOutOfPercentile(t *testing.T) {
	cfg := testConfig(t, 1, [][]string{{"u1"}}, 4)
	cfg.Zones[0].Aggregate = "p50"
	cfg.Zones[0].MinValid = 2
	h := newHarness(t, cfg, 350)
	h.run(200)
	// Sensor 0 dies having reported a cool 15 C. While fresh it drags the median down; once stale
	// it drops out and the loop runs on the others.
	id := cfg.Zones[0].Sensors[0]
	cool := h.e.Snapshot().Zones[0].MeasureC - 2.5
	h.e.Observe(Reading{Sensor: id, Value: cool, Time: h.now, Arrival: h.now})
	h.dead[id] = true
	h.run(1)
	before := h.e.Snapshot().Zones[0]
	h.run(int(cfg.Control.MaxAge.Duration/cfg.Control.Period.Duration) + 5)
	after := h.e.Snapshot().Zones[0]
	if after.Valid != 3 || before.Valid != 4 {
		t.Fatalf("valid before %d after %d, want 4 then 3", before.Valid, after.Valid)
	}
	if !after.OK || h.unit("u1").Mode != ModeAuto {
		t.Fatalf("zone %+v mode %v: want auto on the remaining sensors", after, h.unit("u1").Mode)
	}
}

func TestNeverBelowMinFan(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 2)
	cfg.Units[0].MinFanPct = 40
	h := newHarness(t, cfg, 50) // tiny load: the loop wants the fans off
	h.run(400)
	for _, c := range h.last {
		min := cfg.Units[cfg.UnitIndex(c.Unit)].MinFanPct
		if c.FanPct < min-1e-9 {
			t.Fatalf("%s fan %g below min %g", c.Unit, c.FanPct, min)
		}
		if math.Abs(c.FanPct-min) > 0.5 {
			t.Fatalf("%s fan %g, expected at its min %g with no load", c.Unit, c.FanPct, min)
		}
	}
	if err := h.e.SetManual("u1", 5); err != nil {
		t.Fatal(err)
	}
	h.run(50)
	if f := h.cmd("u1").FanPct; f != 40 {
		t.Fatalf("manual 5%% gave %g, want the minimum 40", f)
	}
	if err := h.e.SetManual("u1", math.NaN()); err == nil {
		t.Fatal("NaN accepted")
	}
	if err := h.e.SetManual("nope", 50); err == nil {
		t.Fatal("unknown unit accepted")
	}
}

func TestRateLimits(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 2)
	cfg.Units[0].FanRatePct = 1
	cfg.Units[0].ValveRatePct = 0.5
	h := newHarness(t, cfg, 350)
	h.run(200)
	h.r.load[0] = 900 // big step: the zone loop wants much more air
	prev := h.last
	dt := cfg.Control.Period.Duration.Seconds()
	for k := 0; k < 100; k++ {
		h.run(1)
		for j, c := range h.last {
			u := cfg.Units[j]
			if d := math.Abs(c.FanPct - prev[j].FanPct); d > u.FanRatePct*dt+1e-9 {
				t.Fatalf("step %d %s fan moved %g in one period, limit %g", k, c.Unit, d, u.FanRatePct*dt)
			}
			if d := math.Abs(c.ValvePct - prev[j].ValvePct); d > u.ValveRatePct*dt+1e-9 {
				t.Fatalf("%s valve moved %g, limit %g", c.Unit, d, u.ValveRatePct*dt)
			}
		}
		prev = h.last
	}
}

func TestBumplessManualToAuto(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 2)
	cfg.Units[0].FanRatePct = 100 // no rate limit to hide a bump
	cfg.Units[1].FanRatePct = 100
	h := newHarness(t, cfg, 350)
	h.run(300)
	if err := h.e.SetManual("u1", 90); err != nil {
		t.Fatal(err)
	}
	h.run(300)
	if m := h.unit("u1").Mode; m != ModeManual || h.cmd("u1").FanPct != 90 {
		t.Fatalf("manual: mode %v fan %g", m, h.cmd("u1").FanPct)
	}
	before := h.last
	if err := h.e.SetAuto("u1"); err != nil {
		t.Fatal(err)
	}
	h.run(1)
	for j, c := range h.last {
		if d := math.Abs(c.FanPct - before[j].FanPct); d > 2 {
			t.Fatalf("%s bumped %g -> %g on manual->auto", c.Unit, before[j].FanPct, c.FanPct)
		}
	}
	if m := h.unit("u1").Mode; m != ModeAuto {
		t.Fatalf("mode %v", m)
	}
	// and it does go back to sharing the load
	h.run(600)
	if d := math.Abs(h.cmd("u1").FanPct - h.cmd("u2").FanPct); d > 2 {
		t.Fatalf("not converged after auto: %g vs %g", h.cmd("u1").FanPct, h.cmd("u2").FanPct)
	}
}

func TestTrackingAtStartThenAutoWithoutBump(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 2)
	cfg.Units[0].FanRatePct, cfg.Units[1].FanRatePct = 100, 100
	// The room at its setpoint with the units where they are (air 64 %: 18 + 448/64 = 25): far
	// below it the start-up slew and the blend descend at the rate limit on purpose
	// (TestStartUpSlew); this test is about the transfer.
	h := newHarness(t, cfg, 448)
	h.r.fan[0], h.r.fan[1] = 73, 55 // whatever the units run at when we start
	h.r.inlet[0] = 25
	h.run(1)
	if m := h.unit("u1").Mode; m != ModeTracking {
		t.Fatalf("first mode %v, want tracking", m)
	}
	if h.cmd("u1").FanPct != 73 || h.cmd("u2").FanPct != 55 {
		t.Fatalf("tracking commands %g %g, want the read-back 73 55", h.cmd("u1").FanPct, h.cmd("u2").FanPct)
	}
	prev := []float64{73, 55}
	for k := 0; k < 10; k++ {
		h.run(1)
		for j, c := range h.last {
			if d := math.Abs(c.FanPct - prev[j]); d > fanDeadbandPct+1 {
				t.Fatalf("step %d %s jumped %g -> %g (mode %v)", k, c.Unit, prev[j], c.FanPct, h.unit(c.Unit).Mode)
			}
			prev[j] = c.FanPct
		}
	}
	if m := h.unit("u1").Mode; m != ModeAuto {
		t.Fatalf("mode %v after tracking, want auto", m)
	}
}

func TestRestoreWithoutBump(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 2)
	h := newHarness(t, cfg, 420)
	h.run(600)
	st := h.e.State()
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	last := h.last
	// cold restart: a new engine, same room
	e2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Restore(back); err != nil {
		t.Fatal(err)
	}
	h.e = e2
	h.rep = map[string]time.Time{} // the new engine has heard nothing yet
	prev := []float64{last[0].FanPct, last[1].FanPct}
	for k := 0; k < 30; k++ {
		h.run(1)
		for j, c := range h.last {
			if d := math.Abs(c.FanPct - prev[j]); d > 1 {
				t.Fatalf("step %d after restore %s: %g -> %g (mode %v)", k, c.Unit, prev[j], c.FanPct, h.unit(c.Unit).Mode)
			}
			prev[j] = c.FanPct
		}
	}
	if h.unit("u1").Mode != ModeAuto {
		t.Fatalf("mode %v, want auto after tracking", h.unit("u1").Mode)
	}
	if h.last[0].Heartbeat <= last[0].Heartbeat {
		t.Fatalf("heartbeat went back: %d -> %d", last[0].Heartbeat, h.last[0].Heartbeat)
	}
	bad := back
	bad.Version = 99
	if err := e2.Restore(bad); err == nil {
		t.Fatal("bad version accepted")
	}
}

func TestHeartbeatOwnerEpoch(t *testing.T) {
	cfg := testConfig(t, 3, [][]string{{"u1", "u2", "u3"}}, 2)
	cfg.NodeID = 7
	cfg.Units[2].DisableControls = true
	h := newHarness(t, cfg, 350)
	h.e.SetEpoch(3)
	h.run(1)
	first := h.last
	h.run(5)
	for j, c := range h.last {
		if j == 2 {
			if c.Write {
				t.Fatal("disabled unit written")
			}
			continue
		}
		if c.Heartbeat != first[j].Heartbeat+5 || c.Owner != 7 || c.Epoch != 3 || !c.Write {
			t.Fatalf("%+v (first %+v)", c, first[j])
		}
	}
}

func TestTripRedistributesAtOnce(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 2)
	h := newHarness(t, cfg, 300)
	h.run(600)
	f2 := h.cmd("u2").FanPct
	if f2 > 60 {
		t.Fatalf("steady fan %g too high for the test", f2)
	}
	inlet := h.r.inlet[0]
	h.r.trip[0] = true
	h.run(3)
	// The inlet has barely moved yet, but u2 already ramps at its rate limit.
	if h.r.inlet[0]-inlet > 0.5 {
		t.Skipf("room too fast for this test: inlet moved %g", h.r.inlet[0]-inlet)
	}
	if got := h.cmd("u2").FanPct; got < f2+3*2*cfg.Units[1].FanRatePct-1e-6 {
		t.Fatalf("u2 %g -> %g: no feed-forward on the trip", f2, got)
	}
	if s := h.unit("u1"); !s.Tripped || s.Mode != ModeTracking {
		t.Fatalf("tripped unit %+v", s)
	}
	h.run(30)
	if got := h.cmd("u2").FanPct; got < 2*f2-5 {
		t.Fatalf("u2 at %g, want about twice %g", got, f2)
	}
}

func TestIsolatedUnitFailSafeAndBack(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 2)
	h := newHarness(t, cfg, 350)
	h.run(300)
	h.noIO["u1"] = true
	h.run(3)
	s := h.unit("u1")
	if !s.Isolated || s.Mode != ModeFailSafe {
		t.Fatalf("u1 %+v, want isolated fail-safe", s)
	}
	// the other unit takes over u1's share at once
	if h.unit("u2").Mode != ModeAuto {
		t.Fatal("u2 left auto")
	}
	delete(h.noIO, "u1")
	h.run(1)
	if m := h.unit("u1").Mode; m != ModeTracking {
		t.Fatalf("mode %v on return, want tracking", m)
	}
	h.run(5)
	if m := h.unit("u1").Mode; m != ModeAuto {
		t.Fatalf("mode %v, want auto", m)
	}
	var iso, clr bool
	for _, ev := range h.evs {
		iso = iso || (ev.Kind == EventAlarm && ev.Alarm == "isolated" && ev.Unit == "u1")
		clr = clr || (ev.Kind == EventClear && ev.Alarm == "isolated")
	}
	if !iso || !clr {
		t.Fatalf("events: %+v", h.evs)
	}
}

func TestApplyConfigRetunesWithoutBump(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 2)
	h := newHarness(t, cfg, 420)
	h.run(600)
	// A twin that is not retuned: the retuned engine's next commands must match its (a deadband
	// step may fall on that period in both).
	twin := newHarness(t, cfg, 420)
	twin.run(600)
	before := h.last
	c2, err := cfg.Clone()
	if err != nil {
		t.Fatal(err)
	}
	c2.Control.FanTuning.Kp *= 3
	c2.Control.FanTuning.Ti /= 2
	c2.Control.SetpointC = 25 // unchanged
	if err := h.e.ApplyConfig(c2); err != nil {
		t.Fatal(err)
	}
	h.run(1)
	twin.run(1)
	// The loop output does not jump; the commands match the twin's, except that the faster
	// integral may bring a deadband step one period earlier.
	if d := math.Abs(h.e.Snapshot().Zones[0].DemandPct - twin.e.Snapshot().Zones[0].DemandPct); d > 0.5 {
		t.Fatalf("zone demand bumped by %g on retune", d)
	}
	for j, c := range h.last {
		if d := math.Abs(c.FanPct - twin.last[j].FanPct); d > fanDeadbandPct+0.1 {
			t.Fatalf("%s bumped %g -> %g on retune (without the retune: %g)", c.Unit, before[j].FanPct, c.FanPct, twin.last[j].FanPct)
		}
	}
	if h.unit("u1").Mode != ModeAuto {
		t.Fatal("retune left auto")
	}
	bad, _ := cfg.Clone()
	bad.Units[0].MinFanPct = 200
	if err := h.e.ApplyConfig(bad); err == nil {
		t.Fatal("invalid config applied")
	}
}

func TestHoldsSetpointAtLeastFan(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 3)
	h := newHarness(t, cfg, 350)
	h.run(900)
	s := h.e.Snapshot()
	if d := s.Zones[0].MeasureC - 25; math.Abs(d) > 0.2 {
		t.Fatalf("zone %.2f, want 25", s.Zones[0].MeasureC)
	}
	// 18 + 350/a = 25 -> a = 50 %
	if f := h.cmd("u1").FanPct; math.Abs(f-50) > 2 {
		t.Fatalf("fan %g, want about 50", f)
	}
}

func TestAutotuneProducesTuning(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1"}, {"u2"}}, 2)
	setPeriod(cfg, time.Second)
	h := newHarness(t, cfg, 350)
	h.per = time.Second // fast sensors: the relay needs a live pv
	h.run(300)
	if err := h.e.StartAutotune("u1", h.now); err != nil {
		t.Fatal(err)
	}
	if err := h.e.StartAutotune("u1", h.now); err == nil {
		t.Fatal("second experiment on the same unit accepted")
	}
	h.run(1)
	if m := h.unit("u1").Mode; m != ModeAutotune {
		t.Fatalf("mode %v, want autotune", m)
	}
	var got *Event
	for k := 0; k < 6000 && got == nil; k++ {
		h.run(1)
		for i := range h.evs {
			if h.evs[i].Kind == EventAutotune {
				got = &h.evs[i]
			}
		}
		for _, c := range h.last {
			if c.FanPct < cfg.Units[0].MinFanPct {
				t.Fatalf("relay below min: %g", c.FanPct)
			}
		}
	}
	if got == nil {
		st, _ := h.e.AutotuneStatus("u1")
		t.Fatalf("no autotune result: %+v", st)
	}
	if got.Tuning == nil || got.Tuning.Kp <= 0 || got.Tuning.Ti <= 0 || got.Tuning.Date == "" || got.Tuning.Method == "" || got.Tuning.Data == "" {
		t.Fatalf("autotune event %+v", got)
	}
	h.run(5)
	if m := h.unit("u1").Mode; m != ModeAuto {
		t.Fatalf("mode %v after autotune, want auto", m)
	}
	st, ok := h.e.AutotuneStatus("u1")
	if !ok || st.Running || st.Result == nil {
		t.Fatalf("status %+v", st)
	}
	// the tuning commits into a valid configuration
	c2, _ := cfg.Clone()
	c2.Units[0].FanTuning = st.Result
	if err := h.e.ApplyConfig(c2); err != nil {
		t.Fatal(err)
	}
}

// A heat load back at once after a long low stretch: the rise feed-forward adds air ahead of the
// loop, only ever adds, keeps every command within its limits, and decays once the rise is over.
func TestRiseFeedForward(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 3)
	h := newHarness(t, cfg, 100) // low load: the zone sits below its setpoint, fans at minimum
	h.run(600)
	if ff := h.e.zones[0].ff; ff != 0 {
		t.Fatalf("feed-forward %g in a steady room", ff)
	}
	h.r.tau = 30
	h.r.load[0] = 1000
	prev := h.last
	dt := cfg.Control.Period.Duration.Seconds()
	maxFF := 0.0
	for k := 0; k < 400; k++ {
		h.run(1)
		z := h.e.zones[0]
		if z.ff < 0 {
			t.Fatalf("step %d: feed-forward %g: it may only add air", k, z.ff)
		}
		maxFF = math.Max(maxFF, z.ff)
		for j, c := range h.last {
			u := cfg.Units[j]
			if c.FanPct < u.MinFanPct-1e-9 || c.FanPct > u.MaxFanPct+1e-9 {
				t.Fatalf("step %d %s fan %g outside %g..%g", k, c.Unit, c.FanPct, u.MinFanPct, u.MaxFanPct)
			}
			if d := math.Abs(c.FanPct - prev[j].FanPct); d > u.FanRatePct*dt+1e-9 {
				t.Fatalf("step %d %s fan moved %g in one period, limit %g", k, c.Unit, d, u.FanRatePct*dt)
			}
		}
		prev = h.last
	}
	if maxFF < 1 {
		t.Fatalf("largest feed-forward %g %%: the fast rise was not seen", maxFF)
	}
	if ff := h.e.zones[0].ff; ff != 0 {
		t.Fatalf("feed-forward %g long after the rise, want it decayed to 0", ff)
	}
}
