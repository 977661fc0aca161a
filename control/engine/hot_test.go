package engine

import (
	"math"
	"strings"
	"testing"
)

// reasons returns the reasons of the alarm events for key in h.evs.
func reasons(h *harness, key string) []string {
	var out []string
	for _, ev := range alarmEvents(h.evs, key) {
		out = append(out, ev.Reason)
	}
	return out
}

// Issue 9 item 2: one rack at 49.9 C among neighbours at 22 C is a hot spot, not noise: it is
// alarmed at once, counts in the zone, and (past the alarm limit) brings more air.
func TestHotOutlierCountsAlarmsAndAddsAir(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 7)
	h := newHarness(t, cfg, 250)
	h.run(450) // 15 min: settled
	settled := h.cmd("u1").FanPct
	if settled > 80 || len(reasons(h, "hot-spot")) > 0 {
		t.Fatalf("not settled: fan %g, alarms %v", settled, reasons(h, "hot-spot"))
	}
	hot := cfg.Zones[0].Sensors[3]
	h.cool[hot] = 49.9
	delete(h.rep, hot) // reports at the next period
	h.run(1)
	got := reasons(h, "hot-spot")
	if len(got) != 1 || !strings.Contains(got[0], hot+" 49.9 C") {
		t.Fatalf("hot-spot alarm after one period: %v", got)
	}
	if ih := reasons(h, "inlet-high"); len(ih) != 1 || !strings.Contains(ih[0], hot+" at 49.9 C above alarm limit 27.0 C") {
		t.Fatalf("inlet-high alarm: %v", ih)
	}
	zs := h.e.Snapshot().Zones[0]
	if zs.Valid != 7 || !zs.Alarm {
		t.Fatalf("zone: %+v (the hot sensor must count and the zone be in alarm)", zs)
	}
	h.run(60) // 2 min: at 2 %/s the fans reach their safe speed
	for _, u := range []string{"u1", "u2"} {
		if f := h.cmd(u).FanPct; f < cfg.Unit(u).SafeFanPct-1e-9 {
			t.Errorf("%s at %g %% with an inlet at 49.9 C, want its safe speed %g %%", u, f, cfg.Unit(u).SafeFanPct)
		}
	}
}

// Issue 9 item 3: past the alarm limit, more air whatever the loop says (here a p50 zone whose
// aggregate is cool while one inlet is over the limit), and the operator's manual speed too; the
// extra air ends once the inlet is back below the limit (with hysteresis).
func TestAlarmLimitMeansMoreAir(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1"}, {"u2"}}, 4)
	cfg.Zones[0].Aggregate = "p50"
	h := newHarness(t, cfg, 250)
	h.run(450)
	if err := h.e.SetManual("u2", 40); err != nil {
		t.Fatal(err)
	}
	h.run(30)
	base1, base2 := h.cmd("u1").FanPct, h.cmd("u2").FanPct
	if base2 != 40 {
		t.Fatalf("manual u2 at %g", base2)
	}
	warm1 := cfg.Zones[0].Sensors[0]
	warm2 := cfg.Zones[1].Sensors[0]
	h.cool[warm1], h.cool[warm2] = 27.6, 27.6
	delete(h.rep, warm1)
	delete(h.rep, warm2)
	h.run(60)
	if f := h.cmd("u1").FanPct; f < 100-1e-9 {
		t.Fatalf("u1 at %g %% (was %g) with an inlet at 27.6 C past the 27 C limit, want the safe speed", f, base1)
	}
	if f := h.cmd("u2").FanPct; f < 100-1e-9 {
		t.Fatalf("manual u2 at %g %% with an inlet past the limit, want the safe speed", f)
	}
	// Just under the limit but within the hysteresis: still more air.
	h.cool[warm1] = 26.8
	delete(h.rep, warm1)
	h.run(2)
	if f := h.cmd("u1").FanPct; f < 100-1e-9 {
		t.Fatalf("u1 dropped to %g %% within the hysteresis", f)
	}
	h.cool[warm1], h.cool[warm2] = 24, 24
	delete(h.rep, warm1)
	delete(h.rep, warm2)
	h.run(120)
	if f := h.cmd("u1").FanPct; f >= 99 {
		t.Fatalf("u1 still at %g %% after the inlet cooled", f)
	}
	if f := h.cmd("u2").FanPct; f != 40 {
		t.Fatalf("manual u2 at %g %% after the inlet cooled, want its manual 40 %%", f)
	}
	if cl := 0; true {
		for _, ev := range h.evs {
			if ev.Kind == EventClear && ev.Alarm == "inlet-high" {
				cl++
			}
		}
		if cl != 2 {
			t.Fatalf("inlet-high cleared %d times, want 2 (one per zone)", cl)
		}
	}
}

// A hot reading above the plausible range is not counted, and not silent either.
func TestAboveRangeReadingIsAlarmed(t *testing.T) {
	cfg := testConfig(t, 1, [][]string{{"u1"}}, 3)
	h := newHarness(t, cfg, 250)
	h.run(300)
	s := cfg.Zones[0].Sensors[1]
	h.cool[s] = 75
	delete(h.rep, s)
	h.run(1)
	if got := reasons(h, "sensor-range"); len(got) != 1 || !strings.Contains(got[0], s+" 75.0 C") {
		t.Fatalf("sensor-range alarm: %v", got)
	}
}

// A unit that reports one point as not available (0x7FFF decoded as NaN) is still controlled:
// only that point is lost and alarmed, and without a supply temperature the valve opens fully.
// Without fan feedback the read-back counts as missing.
func TestNotAvailablePointIsThatPointsLoss(t *testing.T) {
	cfg := testConfig(t, 1, [][]string{{"u1"}}, 2)
	h := newHarness(t, cfg, 250)
	h.run(150)
	h.state = func(j int, st UnitState) UnitState {
		st.SupplyC = math.NaN()
		return st
	}
	h.run(40)
	u := h.unit("u1")
	if u.Isolated || u.Mode != ModeAuto {
		t.Fatalf("one missing point isolated the unit: %+v", u)
	}
	if got := reasons(h, "read-back"); len(got) != 1 || !strings.Contains(got[0], "supply temperature not available") {
		t.Fatalf("read-back alarm: %v", got)
	}
	if v := h.cmd("u1").ValvePct; v != cfg.Units[0].MaxValvePct {
		t.Fatalf("valve %g without a supply temperature, want fully open %g", v, cfg.Units[0].MaxValvePct)
	}
	h.state = func(j int, st UnitState) UnitState {
		st.FanPct = math.NaN()
		return st
	}
	h.run(5)
	if u := h.unit("u1"); !u.Isolated || u.Mode != ModeFailSafe {
		t.Fatalf("no fan feedback: %+v", u)
	}
}

// Snapshot says why each fan runs at its speed.
func TestSnapshotSaysWhy(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 3)
	h := newHarness(t, cfg, 250)
	h.run(450)
	if w := h.unit("u1").Why; !strings.Contains(w, "zone z1 demand") || !strings.Contains(w, "this unit's share 0.50") {
		t.Fatalf("auto: %q", w)
	}
	if err := h.e.SetManual("u2", 70); err != nil {
		t.Fatal(err)
	}
	h.run(2)
	if w := h.unit("u2").Why; !strings.Contains(w, "manual at 70 %") {
		t.Fatalf("manual: %q", w)
	}
	h.run(30)
	if w := h.unit("u1").Why; !strings.Contains(w, "at min_fan_pct 30 %") {
		t.Fatalf("u1 with u2 held high: %q", w)
	}
}
