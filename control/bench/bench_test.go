package bench

import (
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/site"
)

func load(t *testing.T, name string) *plant.Scenario {
	t.Helper()
	sc, err := plant.LoadScenario(name)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestSiteConfigForEveryBuiltin(t *testing.T) {
	for _, name := range plant.Builtin() {
		sc := load(t, name)
		for _, zm := range []ZoneMapping{ZonesAsScenario, ZonesPerRack} {
			c := SiteConfigWith(sc, zm)
			if err := c.Validate(); err != nil {
				t.Fatalf("%s mapping %d: %v", name, zm, err)
			}
			if len(c.Units) != len(sc.Units) || len(c.Sensors) != len(sc.Sensors) {
				t.Fatalf("%s: %d units %d sensors", name, len(c.Units), len(c.Sensors))
			}
			n := 0
			for _, z := range c.Zones {
				n += len(z.Sensors)
				sum := 0.0
				for _, w := range z.Influence {
					sum += w
				}
				if math.Abs(sum-1) > 1e-9 {
					t.Fatalf("%s zone %s influence sums to %g", name, z.Name, sum)
				}
			}
			if n != len(sc.Sensors) {
				t.Fatalf("%s: zones hold %d of %d sensors", name, n, len(sc.Sensors))
			}
			for i, u := range c.Units {
				if u.MinFanPct != 100*sc.Units[i].MinSpeed || u.FallbackFanPct < u.MinFanPct {
					t.Fatalf("%s unit %s: %+v", name, u.Name, u)
				}
			}
		}
	}
}

// TestBuiltinScenarios: every built-in passes (no true inlet above 27 C after settle) and saves
// fan energy; the targets themselves are reported by `coldaisle bench`, generous bounds here.
func TestBuiltinScenarios(t *testing.T) {
	// The rooms the targets are asserted on; the field's worst days of issue 11 (hotspot-loss,
	// slow-mesh, load-return, two-trips, warm-chw, asymmetric) are measured by `coldaisle bench`,
	// where some still miss them.
	names := []string{"demo", "hall", "small-room"}
	if testing.Short() {
		names = []string{"small-room"}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			res, err := Run(load(t, name), Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: fan %.3f kWh (baseline %.3f, oracle %.3f), max after settle %.2f C, TV %.0f (oracle %.0f), %.0f ms",
				name, res.FanKWh, res.BaselineFanKWh, res.OracleFanKWh, res.MaxInletSettledC, res.FanTV, res.OracleFanTV, res.WallMS)
			if !res.Passed || res.MaxInletSettledC > 27 {
				t.Errorf("failed: max inlet after settle %.2f C", res.MaxInletSettledC)
			}
			if res.SavingsPct < 50 {
				t.Errorf("savings %.1f %% < 50 %%", res.SavingsPct)
			}
			if res.OracleRatioSettled > 1.5 || res.OracleRatioSettled < 0.9 {
				t.Errorf("oracle ratio after settle %.2f", res.OracleRatioSettled)
			}
			// The common-speed peer holds the same alarm limit (else it is no fair peer), and on
			// a room with several zones it needs more fan energy than we do.
			t.Logf("%s: common-speed peer %.3f kWh (ours/peer %.2f), max after settle %.2f C, %.1f min above the setpoint (ours %.1f); equal-comfort ratio %.3f (plain after settle %.3f)",
				name, res.CommonSpeedKWh, res.CommonSpeedRatio, res.CommonSpeedMaxInletSettledC, res.CommonSpeedMinutesAboveSP, res.MinutesAboveSP, res.OracleRatioEqualComfort, res.OracleRatioSettled)
			if !res.CommonSpeedPassed || res.CommonSpeedMaxInletSettledC > 27 {
				t.Errorf("common-speed peer: max inlet after settle %.2f C", res.CommonSpeedMaxInletSettledC)
			}
			if sc := load(t, name); len(sc.Zones) > 2 && !(res.CommonSpeedRatio < 1) {
				t.Errorf("%d zones: ours / common speed %.2f", len(sc.Zones), res.CommonSpeedRatio)
			}
			if res.OracleInfeasibleS != 0 || res.FanKWhFeasible != res.FanKWh {
				t.Errorf("built-in %s has %g s infeasible (feasible-period fan %.4f of %.4f kWh)", name, res.OracleInfeasibleS, res.FanKWhFeasible, res.FanKWh)
			}
			// Targets (whole run within 15 %, total variation within 3x) are reported by
			// `coldaisle bench`; generous bounds here.
			if res.OracleRatio > 1.3 {
				t.Errorf("oracle ratio over the whole run %.2f", res.OracleRatio)
			}
			if res.FanTVRatio > 5 {
				t.Errorf("fan total variation %.0f %% is %.1fx the oracle's", res.FanTV, res.FanTVRatio)
			}
			for _, e := range res.Events {
				if e.PeakOverK > 2 {
					t.Errorf("event %s: %.2f K over the setpoint", e.Name, e.PeakOverK)
				}
				if strings.HasPrefix(e.Name, string(plant.EvUnitTrip)) && (e.RecoveryS < 0 || e.RecoveryS > 600) {
					t.Errorf("event %s: recovery %.0f s", e.Name, e.RecoveryS)
				}
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	sc := load(t, "small-room")
	a, err := Run(sc, Options{Seed: 7, SkipReferences: true})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(sc, Options{Seed: 7, SkipReferences: true})
	a.WallMS, b.WallMS = 0, 0
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs differ:\n%+v\n%+v", a, b)
	}
	c, _ := Run(sc, Options{Seed: 8, SkipReferences: true})
	c.WallMS = 0
	if reflect.DeepEqual(a, c) {
		t.Fatal("seed changes nothing")
	}
}

// TestUnitNoAnswerFallsBack: the lockstep unit emulation applies the BMS rule: a unit that gets
// no heartbeat write for its BMS timeout leaves remote control for its local fallback, and the
// engine isolates it meanwhile.
func TestUnitNoAnswerFallsBack(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("runs the hall scenario (again): not in -short or under -race")
	}
	sc := load(t, "hall")
	var start, end float64
	for _, e := range sc.Events {
		if e.Kind == plant.EvUnitNoAnswer && e.Unit == "crah-5" {
			start = e.At
		}
		if e.Kind == plant.EvUnitAnswerAgain && e.Unit == "crah-5" {
			end = e.At
		}
	}
	if start == 0 || end <= start+30 {
		t.Skipf("hall has no usable crah-5 no-answer window (%g..%g)", start, end)
	}
	i := sc.UnitIndex("crah-5")
	var sawFallback, sawIsolated, remoteAfter bool
	_, err := Run(sc, Options{Seed: 1, SkipReferences: true, Trace: func(tt float64, m *plant.Model, e *engine.Engine, _ []engine.Command) {
		switch {
		case tt > start+20 && tt < end:
			sawFallback = sawFallback || !m.UnitInput(i).Remote
			sawIsolated = sawIsolated || e.Isolated("crah-5")
		case tt > end+30:
			remoteAfter = m.UnitInput(i).Remote
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !sawFallback || !sawIsolated || !remoteAfter {
		t.Fatalf("fallback %v isolated %v remote again %v", sawFallback, sawIsolated, remoteAfter)
	}
}

// TestDeadUnitWithoutReadBack: a unit that loses its power trips and stops answering at once (no
// fan fault is ever read back). Counted as missing from the moment it is isolated, the others
// take over its air as after a trip.
func TestDeadUnitWithoutReadBack(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("runs the hall scenario (again): not in -short or under -race")
	}
	sc := *load(t, "hall")
	var trip float64
	for _, e := range sc.Events {
		if e.Kind == plant.EvUnitTrip && e.Unit == "crah-3" {
			trip = e.At
		}
	}
	if trip == 0 {
		t.Skip("hall has no crah-3 trip")
	}
	sc.Events = append(append([]plant.Event(nil), sc.Events...),
		plant.Event{At: trip, Kind: plant.EvUnitNoAnswer, Unit: "crah-3"},
		plant.Event{At: trip + 300, Kind: plant.EvUnitAnswerAgain, Unit: "crah-3", Generated: true})
	sort.SliceStable(sc.Events, func(i, j int) bool { return sc.Events[i].At < sc.Events[j].At })
	res, err := Run(&sc, Options{Seed: 1, SkipReferences: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Events {
		if e.T == trip {
			t.Logf("%s: %+.2f K, recovery %.0f s", e.Name, e.PeakOverK, e.RecoveryS)
			if e.PeakOverK > 2 || e.RecoveryS < 0 || e.RecoveryS > 600 {
				t.Errorf("%s: %+.2f K over the setpoint, recovery %.0f s", e.Name, e.PeakOverK, e.RecoveryS)
			}
		}
	}
	if !res.Passed {
		t.Errorf("max inlet after settle %.2f C", res.MaxInletSettledC)
	}
}

// TestInfeasiblePeriodNotCharged: a period no fan speeds can hold (a trip with warm chilled
// water) is flagged by the oracle, left out of every oracle ratio (ours and the oracle's energy
// over the other periods only) and reported.
func TestInfeasiblePeriodNotCharged(t *testing.T) {
	sc := load(t, "testdata/trip-warm-water.toml")
	res, err := Run(sc, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	o := plant.Oracle(sc, 1)
	t.Logf("infeasible %.0f s; ours %.3f kWh (%.3f in feasible periods), oracle %.3f kWh feasible (%.3f with the infeasible period at its best effort); ratio %.3f",
		res.OracleInfeasibleS, res.FanKWh, res.FanKWhFeasible, res.OracleFanKWh, o.FanKWh, res.OracleRatio)
	if res.OracleInfeasibleS != 300 || o.Feasible {
		t.Fatalf("infeasible %g s, want the 300 s trip", res.OracleInfeasibleS)
	}
	if math.Abs(res.OracleFanKWh-o.FeasibleFanKWh) > 1e-12 || !(o.FeasibleFanKWh < o.FanKWh) {
		t.Errorf("oracle fan %.6f kWh, feasible periods %.6f, all %.6f", res.OracleFanKWh, o.FeasibleFanKWh, o.FanKWh)
	}
	if !(res.FanKWhFeasible < res.FanKWh) || math.Abs(res.OracleRatio-res.FanKWhFeasible/res.OracleFanKWh) > 1e-12 {
		t.Errorf("ratio %.4f from %.4f / %.4f kWh (whole run %.4f)", res.OracleRatio, res.FanKWhFeasible, res.OracleFanKWh, res.FanKWh)
	}
	// A true lower bound on the feasible periods: we cannot beat it over them.
	if res.OracleRatio < 1 {
		t.Errorf("ratio to the oracle %.3f < 1 over its feasible periods", res.OracleRatio)
	}
	if res.OracleMinutesAboveSP != 5 || !(res.OracleDegMinAboveSP > 0) || !(res.MinutesAboveSP > 0) {
		t.Errorf("oracle %.2f min / %.2f K*min above the setpoint, ours %.2f min", res.OracleMinutesAboveSP, res.OracleDegMinAboveSP, res.MinutesAboveSP)
	}
}

// TestEqualComfortGivesNoCreditForRunningWarm: a synthetic controller that is exactly the oracle
// solved for 25.5 C on a 25 C room spends less than the oracle at 25 C, so its plain ratio is below
// 1; at equal comfort it is the oracle, ratio 1. One that runs exactly the 25 C oracle gets 1 from
// both. Then a real one: the engine told to hold 25.5 C looks cheaper by the plain ratio than the
// honest engine, and the equal-comfort ratio takes that credit back.
func TestEqualComfortGivesNoCreditForRunningWarm(t *testing.T) {
	sc := load(t, "small-room")
	bounds := plant.OracleBounds(sc)
	n := len(bounds) - 1
	synth := func(sp float64) *Result {
		sps := make([]float64, n)
		for k := range sps {
			sps[k] = sp
		}
		o := plant.OracleWith(sc, 1, plant.OracleOptions{SetpointC: sps})
		tr := &periodTrace{kwh: make([]float64, n), kwhSettled: make([]float64, n), hotSettled: make([]float64, n), settledS: make([]float64, n)}
		for k, p := range o.Periods {
			tr.kwh[k] = p.FanKW * (p.End - p.Start) / 3600
			if s := math.Max(p.Start, SettleS); p.End > s {
				tr.settledS[k] = p.End - s
				tr.kwhSettled[k] = p.FanKW * tr.settledS[k] / 3600
				tr.hotSettled[k] = p.MaxInletC * tr.settledS[k]
			}
		}
		res := &Result{}
		references(sc, 1, res, tr, nil)
		return res
	}
	honest, warm := synth(25), synth(25.5)
	t.Logf("oracle at 25 C: ratio after settle %.4f, equal comfort %.4f; oracle at 25.5 C: %.4f, %.4f",
		honest.OracleRatioSettled, honest.OracleRatioEqualComfort, warm.OracleRatioSettled, warm.OracleRatioEqualComfort)
	// (1e-3: the equal-comfort re-solve starts from the oracle's own solution, a shorter search.)
	if math.Abs(honest.OracleRatioSettled-1) > 1e-6 || math.Abs(honest.OracleRatioEqualComfort-1) > 1e-3 {
		t.Errorf("the oracle itself: ratios %.6f, %.6f, want 1", honest.OracleRatioSettled, honest.OracleRatioEqualComfort)
	}
	if !(warm.OracleRatioSettled < 0.97) {
		t.Errorf("running warm: plain ratio %.4f, want the credit (< 0.97) the equal-comfort ratio removes", warm.OracleRatioSettled)
	}
	if math.Abs(warm.OracleRatioEqualComfort-1) > 1e-3 {
		t.Errorf("running warm: equal-comfort ratio %.6f, want 1 (no credit)", warm.OracleRatioEqualComfort)
	}
	if testing.Short() {
		return
	}
	real, err := Run(sc, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := SiteConfig(sc)
	cfg.Control.SetpointC = 25.5
	for i := range cfg.Zones {
		cfg.Zones[i].SetpointC = 25.5
	}
	hot, err := Run(sc, Options{Seed: 1, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("engine at 25 C: mean hottest %.2f C, ratio after settle %.3f, equal comfort %.3f; at 25.5 C: %.2f C, %.3f, %.3f",
		real.MeanHottestSettledC, real.OracleRatioSettled, real.OracleRatioEqualComfort, hot.MeanHottestSettledC, hot.OracleRatioSettled, hot.OracleRatioEqualComfort)
	if !(hot.MeanHottestSettledC > real.MeanHottestSettledC && hot.OracleRatioSettled < real.OracleRatioSettled) {
		t.Fatalf("the warm engine is not warmer and cheaper: %.2f C %.3f vs %.2f C %.3f", hot.MeanHottestSettledC, hot.OracleRatioSettled, real.MeanHottestSettledC, real.OracleRatioSettled)
	}
	if !(hot.OracleRatioEqualComfort > hot.OracleRatioSettled+0.02) {
		t.Errorf("warm engine: equal-comfort ratio %.3f does not take back the plain ratio's %.3f", hot.OracleRatioEqualComfort, hot.OracleRatioSettled)
	}
}

// TestOracleChargedForFallback: while a unit does not answer, past the BMS timeout the
// controller programmed, it runs at its local fallback speed whatever anyone would command; the
// oracle the run is compared with runs it there too (with that timeout), so the ratio measures
// what the controller chose, and stays a lower bound.
func TestOracleChargedForFallback(t *testing.T) {
	sc := *load(t, "small-room")
	sc.Events = append(append([]plant.Event(nil), sc.Events...),
		plant.Event{At: 700, Kind: plant.EvUnitNoAnswer, Unit: "fan-2"},
		plant.Event{At: 1000, Kind: plant.EvUnitAnswerAgain, Unit: "fan-2", Generated: true})
	sort.SliceStable(sc.Events, func(i, j int) bool { return sc.Events[i].At < sc.Events[j].At })
	cfg := SiteConfig(&sc)
	cfg.Unit("fan-2").BMSTimeout = site.D(20 * time.Second)
	res, err := Run(&sc, Options{Seed: 1, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	prog := make([]float64, len(sc.Units))
	for i, u := range sc.Units {
		prog[i] = cfg.Unit(u.Name).BMSTimeout.Seconds()
	}
	charged := plant.OracleWith(&sc, 1, plant.OracleOptions{FallbackAfterS: prog})
	free := plant.OracleWith(&sc, 1, plant.OracleOptions{FallbackAfterS: []float64{1e9, 1e9}})
	t.Logf("oracle %.4f kWh with fan-2 in fallback from 720 s, %.4f kWh choosing it; ratio %.3f", res.OracleFanKWh, free.FeasibleFanKWh, res.OracleRatio)
	if math.Abs(res.OracleFanKWh-charged.FeasibleFanKWh) > 1e-9 || !(charged.FeasibleFanKWh > free.FeasibleFanKWh) {
		t.Errorf("oracle %.6f kWh, with the programmed timeout %.6f, free %.6f", res.OracleFanKWh, charged.FeasibleFanKWh, free.FeasibleFanKWh)
	}
	if res.OracleRatio < 1 {
		t.Errorf("ratio %.3f below the lower bound", res.OracleRatio)
	}
}
