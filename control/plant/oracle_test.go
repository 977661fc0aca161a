package plant

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestOracleHoldsSetpointWithLessFanThanBaseline(t *testing.T) {
	for _, name := range Builtin() {
		t.Run(name, func(t *testing.T) {
			sc := mustLoad(t, name)
			base := Baseline(sc, 1)
			or := Oracle(sc, 1)
			t.Logf("baseline fan %.3f kWh coil %.3f kWh max inlet %.2f C; oracle fan %.3f kWh coil %.3f kWh, total variation %.1f %%, %d periods",
				base.FanKWh, base.CoilKWh, base.MaxInletC, or.FanKWh, or.CoilKWh, or.FanTotalVariation, len(or.Periods))
			if !or.Feasible {
				t.Fatalf("oracle infeasible: %+v", or.Periods)
			}
			if or.FanKWh >= base.FanKWh {
				t.Errorf("oracle fan %.3f kWh not below baseline %.3f kWh", or.FanKWh, base.FanKWh)
			}
			if math.Abs(or.ITKWh-base.ITKWh) > 1e-6*base.ITKWh {
				t.Errorf("IT energy differs: oracle %g, baseline %g", or.ITKWh, base.ITKWh)
			}
			if base.MaxInletC > sc.SetpointC {
				t.Errorf("baseline (all fans 100 %%) let an inlet reach %.2f C", base.MaxInletC)
			}
			// Re-check every period independently on a fresh model.
			m := build(sc, 1)
			o := newOptimizer(m)
			sumKWh := 0.0
			for k, p := range or.Periods {
				m.applyDue(p.Start)
				for i, u := range sc.Units {
					switch {
					case !p.Available[i] && p.Fan[i] != 0:
						t.Errorf("period %d: tripped %s at %g", k, u.Name, p.Fan[i])
					case p.Available[i] && (p.Fan[i] < u.MinSpeed || p.Fan[i] > 1):
						t.Errorf("period %d: %s at %g outside min_speed..1", k, u.Name, p.Fan[i])
					}
				}
				if v := o.maxInlet(p.Fan); v > sc.SetpointC+1e-9 {
					t.Errorf("period %d: steady max inlet %.4f C above %g", k, v, sc.SetpointC)
				}
				if p.MaxInletC < sc.SetpointC-0.5 && !allAtMin(sc, p) {
					t.Errorf("period %d: hottest inlet %.3f C: fans could go lower", k, p.MaxInletC)
				}
				sumKWh += p.FanKW * (p.End - p.Start) / 3600
			}
			if math.Abs(sumKWh-or.FanKWh) > 1e-9 {
				t.Errorf("fan kWh %g, periods sum to %g", or.FanKWh, sumKWh)
			}
			// Steady-state energy: the coils take IT + fan heat.
			if d := math.Abs(or.CoilKWh-or.ITKWh-or.FanKWh) / or.ITKWh; d > 0.01 {
				t.Errorf("oracle coil %.3f vs IT+fan %.3f kWh", or.CoilKWh, or.ITKWh+or.FanKWh)
			}
		})
	}
}

func allAtMin(sc *Scenario, p Period) bool {
	for i, u := range sc.Units {
		if p.Available[i] && p.Fan[i] > u.MinSpeed+1e-3 {
			return false
		}
	}
	return true
}

// The oracle's speeds, run through the dynamic model (valves on their local loops, as the oracle
// assumes), settle with every inlet at or below the setpoint.
func TestOracleSpeedsHoldInDynamicModel(t *testing.T) {
	for _, name := range []string{"small-room", "demo", "hall"} {
		sc := quiet(mustLoad(t, name))
		or := Oracle(sc, 4)
		p := or.Periods[0]
		m := New(sc, 4)
		for i, u := range sc.Units {
			m.SetUnitInput(i, UnitInput{LocalFan: p.Fan[i], LocalSupplySP: u.LocalSupplySP})
		}
		run(m, 5400, 1)
		if v, id := m.MaxInletC(); v > sc.SetpointC+0.02 || v < sc.SetpointC-0.3 {
			t.Errorf("%s: dynamic model at oracle speeds settles with %s at %.3f C (oracle %.3f C)", name, id, v, p.MaxInletC)
		}
	}
}

// No nearby feasible speed vector uses noticeably less fan power than the oracle's.
func TestOracleIsLocallyMinimal(t *testing.T) {
	for _, name := range []string{"small-room", "hall"} {
		sc := quiet(mustLoad(t, name))
		or := Oracle(sc, 1)
		p := or.Periods[0]
		m := build(sc, 1)
		m.applyDue(0)
		o := newOptimizer(m)
		o.avail = o.avail[:0]
		for i := range sc.Units {
			o.avail = append(o.avail, i)
		}
		best := o.cost(p.Fan)
		rng := rand.New(rand.NewPCG(1, 2))
		s := make([]float64, len(p.Fan))
		tries := 300
		if testing.Short() {
			tries = 60
		}
		// Common scaling alone (every unit at one speed) must not beat it either.
		common := math.Inf(1)
		for k := 0.3; k <= 1; k += 0.002 {
			for i := range s {
				s[i] = math.Max(sc.Units[i].MinSpeed, k)
			}
			if o.feasible(s) {
				common = o.cost(s)
				break
			}
		}
		if best > common*1.0001 {
			t.Errorf("%s: oracle %.4f kW, a common speed gives %.4f kW", name, best, common)
		}
		for n := 0; n < tries; n++ {
			for i := range s {
				s[i] = math.Min(1, math.Max(sc.Units[i].MinSpeed, p.Fan[i]+0.06*(rng.Float64()-0.5)))
			}
			if c := o.cost(s); c < best*0.995 && o.feasible(s) {
				t.Errorf("%s: %v holds the setpoint with %.4f kW, oracle %v uses %.4f kW", name, s, c, p.Fan, best)
				break
			}
		}
		t.Logf("%s: oracle %.4f kW, best common speed %.4f kW", name, best, common)
	}
}

func TestBaselineIsAllFansFull(t *testing.T) {
	sc := quiet(mustLoad(t, "small-room"))
	b := Baseline(sc, 1)
	want := 0.0
	for _, u := range sc.Units {
		want += u.RatedFanKW * sc.Duration / 3600
	}
	if math.Abs(b.FanKWh-want) > 1e-6 {
		t.Errorf("baseline fan %.6f kWh, want all units at 100 %%: %.6f", b.FanKWh, want)
	}
	if d := math.Abs(b.CoilKWh-b.ITKWh-b.FanKWh) / b.ITKWh; d > 0.01 {
		t.Errorf("baseline coil %.3f vs IT+fan %.3f", b.CoilKWh, b.ITKWh+b.FanKWh)
	}
}

// Generous bound: the oracle for the hall takes well under a second on the host.
func TestOracleSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	sc := mustLoad(t, "hall")
	t0 := time.Now()
	Oracle(sc, 1)
	if d := time.Since(t0); d > 20*time.Second {
		t.Errorf("hall oracle took %v", d)
	}
}
