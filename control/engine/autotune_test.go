package engine

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/autotune"
)

// tuneHarness is a two-unit room sharing one zone, fast sensors and a 1 s period, settled in auto.
func tuneHarness(t *testing.T, edit func(c *harness)) *harness {
	t.Helper()
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 2)
	setPeriod(cfg, time.Second)
	h := newHarness(t, cfg, 350)
	h.per = time.Second // fast sensors: the relay needs a live pv
	if edit != nil {
		edit(h)
	}
	h.run(400)
	return h
}

// runTune steps until the experiment on unit ends (at most limit periods) and returns its status
// and the unit's and its partner's fan commands while it ran.
func runTune(t *testing.T, h *harness, unit, other string, limit int) (st AutotuneStatus, fan, held []float64) {
	t.Helper()
	for k := 0; k < limit; k++ {
		h.run(1)
		s, _ := h.e.AutotuneStatus(unit)
		if !s.Running {
			return s, fan, held
		}
		fan = append(fan, h.cmd(unit).FanPct)
		held = append(held, h.cmd(other).FanPct)
	}
	s, _ := h.e.AutotuneStatus(unit)
	t.Fatalf("the experiment did not end in %d periods: %+v", limit, s.Progress)
	return s, fan, held
}

// The relay never gives the zone less air than before the test (the fan swings between its
// speed before and that plus 2d), the partner unit holds still, and the result carries the model.
func TestAutotuneMoreAirOnly(t *testing.T) {
	h := tuneHarness(t, nil)
	bias, other := h.cmd("u1").FanPct, h.cmd("u2").FanPct
	if err := h.e.StartAutotune("u1", h.now); err != nil {
		t.Fatal(err)
	}
	st, fan, held := runTune(t, h, "u1", "u2", 8000)
	if st.Err != nil || st.Result == nil || st.Detail == nil {
		t.Fatalf("status %+v", st)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, f := range fan {
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	if lo < bias-1e-9 || hi > bias+20+1e-9 || hi < bias+19 {
		t.Errorf("u1 commands %.2f..%.2f during the experiment, before it %.2f: want %.2f..%.2f", lo, hi, bias, bias, bias+20)
	}
	for _, f := range held {
		if math.Abs(f-other) > 1e-9 {
			t.Fatalf("u2 moved from %.2f to %.2f during the experiment on u1", other, f)
		}
	}
	d := st.Detail
	if d.ModelFrom != "relay" || d.Model.K >= 0 || d.Model.T <= 0 || d.Model.L <= 0 || st.Result.Kp <= 0 || st.Result.Ti <= 0 {
		t.Errorf("model %s %+v, tuning %+v", d.ModelFrom, d.Model, *st.Result)
	}
	// The toy room: inlet = 18 + 350/airflow with a 60 s lag; its gain at the operating point.
	t.Logf("model %+v (step fit %+v), Ku %.3g Pu %.0f s, zone tuning kp %g ti %g; %s", d.Model, d.StepModel, d.Ku, d.Pu, st.Result.Kp, st.Result.Ti, st.Result.Data)
	if !strings.Contains(st.Result.Data, "tau_c") || !strings.Contains(st.Result.Data, "zone z1") {
		t.Errorf("data %q", st.Result.Data)
	}
}

// A zone within 1 K of the alarm limit: no experiment.
func TestAutotuneRefusedNearAlarm(t *testing.T) {
	h := tuneHarness(t, func(h *harness) {
		h.r.cfg.Control.AlarmC = 25.8 // the zone runs at its 25 C setpoint
		h.e.cfg.Control.AlarmC = 25.8
	})
	err := h.e.StartAutotune("u1", h.now)
	if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "alarm limit") {
		t.Fatalf("StartAutotune near the alarm limit: %v", err)
	}
	if _, ok := h.e.AutotuneStatus("u1"); ok {
		t.Fatal("a refused experiment has a status")
	}
}

// A load that warms the zone toward the alarm limit during the experiment ends it: the unit goes
// back to auto, and the error says why.
func TestAutotuneAbortsWhenZoneWarms(t *testing.T) {
	h := tuneHarness(t, nil)
	if err := h.e.StartAutotune("u1", h.now); err != nil {
		t.Fatal(err)
	}
	h.run(30)
	h.r.load[0] = 600 // the zone heads for 18 + 600/50 = 30 C with the fans held
	st, _, _ := runTune(t, h, "u1", "u2", 2000)
	if !errors.Is(st.Err, autotune.ErrAborted) && !errors.Is(st.Err, autotune.ErrDeviation) {
		t.Fatalf("status %+v", st)
	}
	t.Log(st.Err)
	h.run(5)
	if m := h.unit("u1").Mode; m != ModeAuto {
		t.Fatalf("u1 in %v after the aborted experiment", m)
	}
	if z := h.e.Snapshot().Zones[0].MeasureC; z > h.e.cfg.Control.AlarmC {
		t.Fatalf("zone at %.2f C when the experiment ended", z)
	}
}

// A fan too near its maximum for a relay of 5 % steps and swings down by 5 %, never more.
func TestAutotuneStepsDownNearMax(t *testing.T) {
	h := tuneHarness(t, func(h *harness) {
		for i := range h.r.cfg.Units {
			h.r.cfg.Units[i].MaxFanPct = 60
		}
		h.r.load[0] = 450 // 18 + 450/a = 25: a = 64 %: both fans at their 60 % maximum
		if err := h.e.ApplyConfig(h.r.cfg); err != nil {
			t.Fatal(err)
		}
	})
	bias := h.cmd("u1").FanPct
	if bias < 55 {
		t.Fatalf("u1 at %.1f %%, want near its 60 %% maximum", bias)
	}
	if err := h.e.StartAutotune("u1", h.now); err != nil {
		t.Fatal(err)
	}
	st, fan, _ := runTune(t, h, "u1", "u2", 8000)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, f := range fan {
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	t.Logf("u1 %.2f..%.2f around %.2f; %v", lo, hi, bias, st.Err)
	if hi > bias+1e-9 || lo < bias-10-1e-9 {
		t.Fatalf("u1 commands %.2f..%.2f, want %.2f..%.2f", lo, hi, bias-10, bias)
	}
}
