package plant

import (
	"fmt"
	"math"
	"testing"
)

// quiet returns a copy of sc with no events (for steady-state experiments).
func quiet(sc *Scenario) *Scenario {
	c := *sc
	c.Events = nil
	return &c
}

func run(m *Model, seconds, dt float64) {
	for end := m.Time() + seconds; m.Time() < end-1e-9; {
		m.Step(math.Min(dt, end-m.Time()))
	}
}

func powers(m *Model) (it, fan, cool float64) {
	for _, r := range m.Racks() {
		it += r.LoadKW
	}
	for _, u := range m.Units() {
		fan += u.FanKW
		cool += u.CoolKW
	}
	return
}

// In steady state the coils remove the IT heat plus the fan heat (the fans sit in the airstream).
func TestEnergyBalanceSteadyState(t *testing.T) {
	for _, name := range Builtin() {
		for _, fanHeat := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/fanheat=%v", name, fanHeat), func(t *testing.T) {
				sc := quiet(mustLoad(t, name))
				sc.FanHeat = fanHeat
				m := New(sc, 7)
				// Move away from the initial steady state: fans at 60 %, crah valves fixed at 80 %.
				for i, u := range sc.Units {
					in := UnitInput{Remote: true, Fan: 0.6, Valve: 0.8, LocalSupplySP: u.LocalSupplySP}
					m.SetUnitInput(i, in)
				}
				run(m, 5400, 1) // 45 of the longest time constants
				it, fan, cool := powers(m)
				in := it
				if fanHeat {
					in += fan
				}
				if d := math.Abs(cool-in) / it; d > 0.01 {
					t.Errorf("coil %.3f kW vs heat in %.3f kW (IT %.3f + fan %.3f): off by %.2f %%", cool, in, it, fan, 100*d)
				}
				// And the accumulated energy over the next ten minutes.
				e0 := m.Energy()
				run(m, 600, 1)
				e1 := m.Energy()
				coilKWh, itKWh, fanKWh := e1.CoilKWh-e0.CoilKWh, e1.ITKWh-e0.ITKWh, e1.FanKWh-e0.FanKWh
				inKWh := itKWh
				if fanHeat {
					inKWh += fanKWh
				}
				if d := math.Abs(coilKWh-inKWh) / itKWh; d > 0.01 {
					t.Errorf("10 min: coil %.4f kWh vs in %.4f kWh: off by %.2f %%", coilKWh, inKWh, 100*d)
				}
				sum := 0.0
				for _, v := range e1.UnitFanKWh {
					sum += v
				}
				if math.Abs(sum-e1.FanKWh) > 1e-9 {
					t.Errorf("unit fan kWh sum %g != total %g", sum, e1.FanKWh)
				}
			})
		}
	}
}

func TestInletsWarmWhenFansSlow(t *testing.T) {
	sc := quiet(mustLoad(t, "small-room"))
	m := New(sc, 3) // steady at the fallback speed, 100 %
	before := m.Sensors()
	for i, u := range sc.Units {
		m.SetUnitInput(i, UnitInput{LocalFan: 0.4, LocalSupplySP: u.LocalSupplySP})
	}
	run(m, 1800, 1)
	after := m.Sensors()
	maxB, maxA := math.Inf(-1), math.Inf(-1)
	for s := range before {
		if after[s].TrueC < before[s].TrueC+0.5 {
			t.Errorf("%s: %.2f -> %.2f C, want warmer with fans at 40 %%", after[s].ID, before[s].TrueC, after[s].TrueC)
		}
		maxB, maxA = math.Max(maxB, before[s].TrueC), math.Max(maxA, after[s].TrueC)
	}
	if maxA < maxB+2 {
		t.Errorf("hottest inlet %.2f -> %.2f C, want at least 2 K warmer", maxB, maxA)
	}
	for _, u := range m.Units() {
		if math.Abs(u.Fan-0.4) > 1e-9 || u.FanKW > 3.0*0.4*0.4*0.4+1e-9 {
			t.Errorf("%s: fan %.3f power %.3f", u.Name, u.Fan, u.FanKW)
		}
	}
	// Slowing further below min_speed leaves no useful airflow but still spins the fan.
	m.SetUnitInput(0, UnitInput{LocalFan: 0.2})
	run(m, 60, 1)
	if u := m.Units()[0]; u.Airflow != 0 || u.FanKW <= 0 {
		t.Errorf("below min speed: airflow %g power %g", u.Airflow, u.FanKW)
	}
}

func TestUnitTripWarmsItsRows(t *testing.T) {
	sc := quiet(mustLoad(t, "hall"))
	sc.Events = expandDurations([]Event{
		{At: 1800, Kind: EvUnitTrip, Unit: "crah-3"},
		{At: 3600, Kind: EvUnitRestore, Unit: "crah-3"},
	})
	m := New(sc, 5)
	for i, u := range sc.Units {
		m.SetUnitInput(i, UnitInput{LocalFan: 0.55, LocalSupplySP: u.LocalSupplySP})
	}
	run(m, 1790, 1)
	before := m.Sensors()
	run(m, 20, 1)
	u3 := m.Units()[2]
	if !u3.Tripped || !u3.FanFault || u3.Airflow != 0 || u3.FanKW != 0 || u3.Fan != 0 || u3.CoolKW > 0.5 {
		t.Fatalf("tripped unit reports %+v", u3)
	}
	run(m, 1770, 1)
	after := m.Sensors()
	warmer := 0
	for s, sn := range sc.Sensors {
		rk := sc.Racks[sc.RackIndex(sn.Rack)]
		if rk.Zone == "row-c" && after[s].TrueC < before[s].TrueC+1 {
			t.Errorf("%s (%s): %.2f -> %.2f C, want >= 1 K warmer after crah-3 tripped", sn.ID, rk.Zone, before[s].TrueC, after[s].TrueC)
		}
		if after[s].TrueC > before[s].TrueC+0.2 {
			warmer++
		}
	}
	if warmer < len(sc.Sensors)/4 {
		t.Errorf("only %d of %d inlets warmed", warmer, len(sc.Sensors))
	}
	run(m, 1800, 1)
	if u3 := m.Units()[2]; u3.Tripped || u3.FanFault || math.Abs(u3.Fan-0.55) > 1e-9 || u3.Airflow <= 0 {
		t.Errorf("restored unit reports %+v", u3)
	}
	restored := m.Sensors()
	for s := range restored {
		if math.Abs(restored[s].TrueC-before[s].TrueC) > 0.05 {
			t.Errorf("%s: %.3f C after restore, %.3f before the trip", restored[s].ID, restored[s].TrueC, before[s].TrueC)
		}
	}
}

const stepScenario = `
name = "step"
duration = "30m"
fan_heat = false
sensors = [ { id = "00-17-0d-00-00-00-00-01/2", rack = "R1", height = 2 } ]
[inlet]
tau = [%[1]g, %[1]g]
delay = [%[2]g, %[2]g]
recirc = [0.0, 0.0]
[noise]
sd_c = 0.0
quantum_c = 0.0
[[zones]]
name = "z"
units = ["u1"]
[[units]]
name = "u1"
modbus_id = 1
rated_airflow = 10.0
rated_fan_kw = 1.0
coil_kw = 255.0
coil_tau = "200ms"
valve_ramp = 10.0
[[racks]]
name = "R1"
zone = "z"
load_kw = 1.0
[[events]]
at = "10m"
kind = "chw_temp"
value = 8.0
`

// A chilled-water step moves the supply air at once (the room is flooded with air, no
// recirculation), so the inlet sensor shows the configured transport delay and lag.
func TestStepResponseDelayAndTimeConstant(t *testing.T) {
	for _, c := range []struct{ tau, delay float64 }{{60, 10}, {30, 25}, {120, 5}} {
		t.Run(fmt.Sprintf("tau=%g,delay=%g", c.tau, c.delay), func(t *testing.T) {
			sc, err := ParseScenario(fmt.Appendf(nil, stepScenario, c.tau, c.delay), "step.toml")
			if err != nil {
				t.Fatal(err)
			}
			m := New(sc, 1)
			m.SetUnitInput(0, UnitInput{Remote: true, Fan: 1, Valve: 1})
			const dt = 0.25
			run(m, 600-dt, dt)
			y0 := m.Sensors()[0].TrueC
			var ts, ys []float64
			for m.Time() < 600+10*c.tau+c.delay {
				m.Step(dt)
				ts = append(ts, m.Time())
				ys = append(ys, m.Sensors()[0].TrueC)
			}
			yf := ys[len(ys)-1]
			if yf > y0-3 {
				t.Fatalf("inlet %.2f -> %.2f C: the 4 K chilled-water step did not come through", y0, yf)
			}
			cross := func(frac float64) float64 {
				lvl := y0 + frac*(yf-y0)
				for k := range ys {
					if ys[k] <= lvl {
						return ts[k]
					}
				}
				return math.NaN()
			}
			dead := cross(0.01) - 600 - c.tau*math.Log(1/0.99)
			t63 := cross(1-math.Exp(-1)) - 600
			if math.Abs(dead-c.delay) > 1.5 {
				t.Errorf("dead time %.2f s, configured %g s", dead, c.delay)
			}
			if want := c.delay + c.tau; math.Abs(t63-want) > 0.05*want {
				t.Errorf("63 %% time %.2f s, want delay+tau = %g s", t63, want)
			}
			t.Logf("dead time %.2f s (cfg %g), 63%% at %.2f s (cfg %g)", dead, c.delay, t63, c.delay+c.tau)
		})
	}
}

func TestPerRackDynamicsSeeded(t *testing.T) {
	sc := mustLoad(t, "hall")
	m := New(sc, 11)
	distinct := map[float64]bool{}
	for r := range sc.Racks {
		if m.tau[r] < sc.Inlet.TauMin || m.tau[r] > sc.Inlet.TauMax || m.delay[r] < sc.Inlet.DelayMin || m.delay[r] > sc.Inlet.DelayMax {
			t.Errorf("rack %d: tau %g delay %g outside the scenario's ranges", r, m.tau[r], m.delay[r])
		}
		distinct[m.tau[r]] = true
	}
	if len(distinct) < len(sc.Racks)/2 {
		t.Errorf("only %d distinct time constants over %d racks", len(distinct), len(sc.Racks))
	}
	m2 := New(sc, 12)
	if m2.tau[0] == m.tau[0] && m2.delay[0] == m.delay[0] {
		t.Error("another seed drew the same rack dynamics")
	}
}

func TestLocalLoopHoldsSupplySetpoint(t *testing.T) {
	sc := mustLoad(t, "small-room")
	m := New(sc, 2)
	run(m, 1500, 1) // through the +25 % load step at 10 min
	for i, u := range m.Units() {
		if sc.Units[i].Profile != ProfileCRAH {
			continue
		}
		if math.Abs(u.SupplyC-sc.Units[i].LocalSupplySP) > 0.1 || u.Valve <= 0 || u.Valve >= 1 {
			t.Errorf("%s: supply %.2f C valve %.3f, want %.1f C held", u.Name, u.SupplyC, u.Valve, sc.Units[i].LocalSupplySP)
		}
	}
}

func TestSensorsNoiseAndQuantisation(t *testing.T) {
	sc := quiet(mustLoad(t, "small-room"))
	m := New(sc, 9)
	var sum, sum2 float64
	n := 0
	for k := 0; k < 2000; k++ {
		m.Step(1)
		for _, s := range m.Sensors() {
			q := s.MeasuredC * 100
			if math.Abs(q-math.Round(q)) > 1e-6 {
				t.Fatalf("%s: %v not on the 0.01 C grid", s.ID, s.MeasuredC)
			}
			d := s.MeasuredC - s.TrueC
			sum += d
			sum2 += d * d
			n++
		}
	}
	mean := sum / float64(n)
	sd := math.Sqrt(sum2/float64(n) - mean*mean)
	if math.Abs(mean) > 0.005 || math.Abs(sd-0.05) > 0.005 {
		t.Errorf("measured-true: mean %.4f sd %.4f, want 0 and 0.05", mean, sd)
	}
	ids := map[string]bool{}
	for _, s := range m.Sensors() {
		if ids[s.ID] || s.Rack == "" || s.Height < 1 || s.Height > 3 {
			t.Errorf("bad sensor %+v", s)
		}
		ids[s.ID] = true
	}
}

func TestStratification(t *testing.T) {
	sc := quiet(mustLoad(t, "small-room"))
	m := New(sc, 1)
	byRack := map[string]map[int]float64{}
	for _, s := range m.Sensors() {
		if byRack[s.Rack] == nil {
			byRack[s.Rack] = map[int]float64{}
		}
		byRack[s.Rack][s.Height] = s.TrueC
	}
	a03 := byRack["A03"]
	if !(a03[1] < a03[2] && a03[2] < a03[3]) {
		t.Errorf("A03 bottom/middle/top %.3f %.3f %.3f: want warmer higher up", a03[1], a03[2], a03[3])
	}
}

func TestDeterministicForSeed(t *testing.T) {
	sc := mustLoad(t, "demo")
	trace := func(seed int64) []float64 {
		m := New(sc, seed)
		var out []float64
		for k := 0; k < 1500; k++ {
			if k == 100 {
				for i := range sc.Units {
					m.SetUnitInput(i, UnitInput{Remote: true, Fan: 0.6, Valve: 0.7})
				}
			}
			m.Step(1)
			for _, s := range m.Sensors() {
				out = append(out, s.MeasuredC, s.TrueC)
			}
			for _, u := range m.Units() {
				out = append(out, u.SupplyC, u.FanKW)
			}
		}
		e := m.Energy()
		return append(out, e.FanKWh, e.CoilKWh)
	}
	a, b, c := trace(42), trace(42), trace(43)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed differs at %d: %v vs %v", i, a[i], b[i])
		}
	}
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	if same == len(a) {
		t.Fatal("a different seed gave the identical trace")
	}
}

func TestDueEvents(t *testing.T) {
	sc := mustLoad(t, "small-room")
	m := New(sc, 1)
	if ev := m.DueEvents(); len(ev) != 0 {
		t.Fatalf("at t=0: %v", ev)
	}
	load0 := m.Racks()[0].LoadKW
	m.Step(599)
	if ev := m.DueEvents(); len(ev) != 0 || m.Racks()[0].LoadKW != load0 {
		t.Fatalf("before 10 min: %v, load %g", ev, m.Racks()[0].LoadKW)
	}
	m.Step(1)
	ev := m.DueEvents()
	if len(ev) != 1 || ev[0].Kind != EvITLoad || !ev[0].Physical() || ev[0].At != 600 {
		t.Fatalf("at 10 min: %v", ev)
	}
	if got := m.Racks()[0].LoadKW; math.Abs(got-1.25*load0) > 1e-9 {
		t.Errorf("row-a load %g, want %g applied by the model", got, 1.25*load0)
	}
	if got := m.Racks()[4].LoadKW; got != sc.Racks[4].LoadKW {
		t.Errorf("row-b load changed to %g", got)
	}
	run(m, 700, 7)
	ev = m.DueEvents()
	if len(ev) != 3 || ev[0].Kind != EvSensorFreeze || ev[0].Physical() || ev[1].Kind != EvSensorRevive || !ev[1].Generated || ev[2].Kind != EvITLoad {
		t.Fatalf("15..21 min: %v", ev)
	}
	if ev := m.DueEvents(); len(ev) != 0 {
		t.Fatalf("again: %v", ev)
	}
}

// An event inside a long step is applied at its own time, not at the end of the step.
func TestEventsSplitLongSteps(t *testing.T) {
	sc := mustLoad(t, "small-room")
	a, b := New(sc, 1), New(sc, 1)
	run(a, 900, 1)
	for k := 0; k < 9; k++ {
		b.Step(100) // 600 lands inside no step boundary problem: substeps split at it
	}
	ea, eb := a.Energy(), b.Energy()
	if math.Abs(ea.ITKWh-eb.ITKWh) > 1e-9 {
		t.Errorf("IT kWh %v (1 s steps) vs %v (100 s steps)", ea.ITKWh, eb.ITKWh)
	}
}

func TestSetUnitInputSanitises(t *testing.T) {
	sc := quiet(mustLoad(t, "small-room"))
	m := New(sc, 1)
	m.SetUnitInput(-1, UnitInput{})
	m.SetUnitInput(99, UnitInput{})
	m.SetUnitInput(0, UnitInput{Remote: true, Fan: math.NaN(), Valve: math.NaN(), LocalFan: 7, LocalSupplySP: math.Inf(1)})
	in := m.UnitInput(0)
	if in.Fan != 1 || in.Valve != 1 || in.LocalFan != 1 || in.LocalSupplySP != sc.Units[0].LocalSupplySP {
		t.Errorf("sanitised input %+v", in)
	}
	m.SetUnitInput(1, UnitInput{Remote: true, Fan: -3})
	if m.UnitInput(1).Fan != 0 {
		t.Errorf("negative fan kept: %+v", m.UnitInput(1))
	}
	t0 := m.Time()
	m.Step(math.NaN())
	m.Step(-5)
	m.Step(0)
	if m.Time() != t0 {
		t.Errorf("bad dt moved time to %g", m.Time())
	}
}

func TestFanRampAndFanFault(t *testing.T) {
	sc := quiet(mustLoad(t, "small-room"))
	sc.Events = []Event{{At: 100, Kind: EvFanFault, Unit: "crah-1", Factor: 0.5}}
	m := New(sc, 1)
	m.SetUnitInput(0, UnitInput{Remote: true, Fan: 0.5, Valve: 0.5})
	m.Step(1)
	if f := m.Units()[0].Fan; math.Abs(f-0.9) > 1e-9 {
		t.Errorf("fan after 1 s at 10 %%/s from 100 %%: %g", f)
	}
	run(m, 200, 1)
	u := m.Units()[0]
	if !u.FanFault || u.Tripped || math.Abs(u.Airflow-0.5*0.5*3.5) > 1e-9 || math.Abs(u.FanKW-0.5*3*0.125) > 1e-9 {
		t.Errorf("fan fault at half capacity: %+v", u)
	}
}

func TestStepAllocationFree(t *testing.T) {
	m := New(mustLoad(t, "hall"), 1)
	m.Step(1)
	buf := make([]SensorOut, 0, 128)
	if n := testing.AllocsPerRun(200, func() { m.Step(1); buf = m.AppendSensors(buf) }); n != 0 {
		t.Errorf("Step allocates %.1f times per call", n)
	}
}
