package bench

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/plant"
)

func finiteP(v float64) bool { return v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }

// TestAutotuneOnBench: on the lockstep plant, quiet (no timeline events) and at rest after the
// start, the engine's relay experiment runs on each unit in turn and completes within the bound;
// the identification is plausible for the scenario (cooling gain, time constants and dead times
// near the configured rack lags and delays plus the sensors' 30 s reports), the inlets stay
// below the alarm limit (the relay never takes air away), and the tuning is finite and
// documented. Applied to the running engine it holds the room; committed into the configuration
// the bench scenario (with its events) still passes, and its energy and fan movement stay near
// those of the hand-tuned defaults.
func TestAutotuneOnBench(t *testing.T) {
	cases := []struct {
		scenario string
		units    []string
	}{
		{"small-room", []string{"crah-1", "fan-2"}},
		{"hall", []string{"crah-3", "crah-1"}},
	}
	if testing.Short() {
		cases = cases[:1]
	}
	const limit = 7200.0 // plant seconds for all of a scenario's experiments
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			sc := load(t, c.scenario)
			cfg := SiteConfig(sc)
			ar, err := RunAutotune(sc, AutotuneOptions{Seed: 1, Units: c.units, LimitS: limit})
			if err != nil {
				t.Fatal(err)
			}
			alarm := cfg.Control.AlarmC
			for _, ut := range ar.Tunes {
				checkTune(t, sc, ut, alarm, cfg.Unit(ut.Unit).MaxFanPct)
			}
			last := ar.Tunes[len(ar.Tunes)-1]
			if last.EndS-ar.Tunes[0].StartS > limit {
				t.Errorf("experiments took %.0f s", last.EndS-ar.Tunes[0].StartS)
			}
			if !(ar.MaxInletAfterC < alarm) {
				t.Errorf("hottest inlet %.2f C with the tunings applied", ar.MaxInletAfterC)
			}
			if ar.Config == nil {
				t.Fatal("no tuned configuration")
			}
			if err := ar.Config.Validate(); err != nil {
				t.Fatalf("tuned configuration: %v", err)
			}
			for _, name := range c.units {
				if u := ar.Config.Unit(name); u == nil || u.FanTuning == nil {
					t.Fatalf("unit %s has no fan_tuning in the tuned configuration", name)
				}
			}

			// The scenario as the bench runs it, with the defaults and with the tunings.
			def, err := Run(sc, Options{Seed: 1, SkipPeer: true})
			if err != nil {
				t.Fatal(err)
			}
			tun, err := Run(sc, Options{Seed: 1, Config: ar.Config, SkipPeer: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []struct {
				name string
				res  *Result
			}{{"defaults", def}, {"tuned", tun}} {
				res := r.res
				t.Logf("%s %-8s: fan %.3f kWh (after settle %.3f, %.2fx oracle), TV %.0f %% (%.1fx oracle), IAE %.1f K*min, hottest after settle %.2f C, %s",
					c.scenario, r.name, res.FanKWh, res.FanKWhSettled, res.OracleRatioSettled, res.FanTV, res.FanTVRatio, res.IAE,
					res.MaxInletSettledC, map[bool]string{true: "PASS", false: "FAIL"}[res.Passed])
			}
			if !tun.Passed || tun.MaxInletSettledC > alarm {
				t.Errorf("tuned: hottest inlet after settle %.2f C", tun.MaxInletSettledC)
			}
			// Generous bounds: the targets are reported by `coldaisle bench`.
			if tun.FanKWh > 1.1*def.FanKWh || tun.OracleRatioSettled > 1.5 {
				t.Errorf("tuned fan energy %.3f kWh (defaults %.3f), %.2fx the oracle after settle", tun.FanKWh, def.FanKWh, tun.OracleRatioSettled)
			}
			if tun.FanTVRatio > 5 {
				t.Errorf("tuned fan total variation %.0f %% is %.1fx the oracle's", tun.FanTV, tun.FanTVRatio)
			}
		})
	}
}

func checkTune(t *testing.T, sc *plant.Scenario, ut UnitTune, alarm, maxFan float64) {
	t.Helper()
	st := ut.Status
	if st.Err != nil || st.Result == nil || st.Detail == nil {
		t.Fatalf("%s: experiment failed: %v (progress %+v)", ut.Unit, st.Err, st.Progress)
	}
	d, tn := st.Detail, *st.Result
	t.Logf("%s: %.0f s from %.0f s; Ku %.3g %%/K, Pu %.0f s; model (%s) K %.3g K/%%, T %.0f s, L %.1f s (step fit T %.0f s, L %.1f s); zone gains kp %g %%/K, ti %g s; fan %.1f..%.1f %% from %.1f %%; hottest inlet %.2f C (before %.2f C)",
		ut.Unit, ut.EndS-ut.StartS, ut.StartS, d.Ku, d.Pu, d.ModelFrom, d.Model.K, d.Model.T, d.Model.L, d.StepModel.T, d.StepModel.L,
		tn.Kp, tn.Ti, ut.FanMinPct, ut.FanMaxPct, ut.BiasPct, ut.MaxInletC, ut.MaxInletBeforeC)
	if !finiteP(d.Ku) || !finiteP(d.Pu) || !finiteP(d.Model.T) || !finiteP(d.Model.L) || !finiteP(-d.Model.K) {
		t.Errorf("%s: Ku %g, Pu %g, model %+v: want positive and finite (and K < 0: more air cools)", ut.Unit, d.Ku, d.Pu, d.Model)
	}
	// The room is slower than one rack (hot-aisle recirculation, the coils' own loops, the
	// measurement's smoothing), and its dead time includes the sensors' report interval (30 s).
	in := sc.Inlet
	if d.Model.T < in.TauMin/2 || d.Model.T > 3*in.TauMax {
		t.Errorf("%s: time constant %.0f s, scenario racks %g..%g s", ut.Unit, d.Model.T, in.TauMin, in.TauMax)
	}
	if d.Model.L > in.DelayMax+2*30 {
		t.Errorf("%s: dead time %.1f s, scenario delays %g..%g s plus 30 s reports", ut.Unit, d.Model.L, in.DelayMin, in.DelayMax)
	}
	if k := -d.Model.K; k < 0.01 || k > 2 {
		t.Errorf("%s: gain %.3g K/%%", ut.Unit, d.Model.K)
	}
	if d.ModelFrom != "relay" || d.KuModel < d.Ku/2 || d.KuModel > 2*d.Ku {
		t.Errorf("%s: model from %s, its Ku %.3g against the relay's %.3g", ut.Unit, d.ModelFrom, d.KuModel, d.Ku)
	}
	// Safe relay: never less air than before, never above the maximum; inlets below the limit.
	if ut.FanMinPct < ut.BiasPct-1e-9 || ut.FanMaxPct > maxFan+1e-9 || ut.FanMaxPct < ut.BiasPct+1 {
		t.Errorf("%s: fan %.2f..%.2f %% from %.2f %%", ut.Unit, ut.FanMinPct, ut.FanMaxPct, ut.BiasPct)
	}
	if !(ut.MaxInletC < alarm) {
		t.Errorf("%s: hottest inlet %.2f C during the experiment", ut.Unit, ut.MaxInletC)
	}
	if !finiteP(tn.Kp) || !finiteP(tn.Ti) || math.IsNaN(tn.Td) || math.IsInf(tn.Td, 0) || tn.Td < 0 {
		t.Errorf("%s: tuning %+v", ut.Unit, tn)
	}
	for _, x := range d.Tunings {
		if !finiteP(x.Kp) || !finiteP(x.Ti) || x.Td < 0 || math.IsNaN(x.Td) || math.IsInf(x.Td, 0) {
			t.Errorf("%s: %s gains %+v", ut.Unit, x.Rule, x)
		}
	}
	if date, err := time.Parse(time.RFC3339, tn.Date); err != nil || !date.Equal(simTime(ut.EndS).Truncate(time.Second)) {
		t.Errorf("%s: date %q (%v), the experiment ended at %v", ut.Unit, tn.Date, err, simTime(ut.EndS))
	}
	if tn.Method != "relay+simc" || !strings.Contains(tn.Data, "Ku=") || !strings.Contains(tn.Data, "zone ") {
		t.Errorf("%s: method %q data %q", ut.Unit, tn.Method, tn.Data)
	}
}

// Bad options are refused with a clear error, and nothing runs.
func TestRunAutotuneOptions(t *testing.T) {
	sc := load(t, "small-room")
	for name, o := range map[string]AutotuneOptions{
		"no unit":      {},
		"unknown unit": {Units: []string{"crah-9"}},
		"start":        {Units: []string{"crah-1"}, StartS: 10},
		"limit":        {Units: []string{"crah-1"}, LimitS: -1},
		"nan":          {Units: []string{"crah-1"}, AfterS: math.NaN()},
	} {
		if _, err := RunAutotune(sc, o); !errors.Is(err, ErrAutotune) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An experiment that cannot end in the bound is an error of RunAutotune.
	if _, err := RunAutotune(sc, AutotuneOptions{Seed: 1, Units: []string{"crah-1"}, LimitS: 300, AfterS: 1}); !errors.Is(err, ErrAutotune) ||
		!strings.Contains(err.Error(), "within 300 s") {
		t.Errorf("bound of 300 s: %v", err)
	}
}
