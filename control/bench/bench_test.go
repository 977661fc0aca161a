package bench

import (
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/plant"
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
	names := plant.Builtin()
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
