package twin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
)

func scenario(t testing.TB, name string) *plant.Scenario {
	t.Helper()
	sc, err := plant.LoadScenario(name)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func newTwin(t testing.TB, o Options) *Twin {
	t.Helper()
	tw, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return tw
}

// steps advances the twin n plant seconds without pacing or links (the coupling only).
func (t *Twin) steps(n int) {
	for range n {
		t.mu.Lock()
		t.stepLocked(false)
		t.pending = nil
		t.mu.Unlock()
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	sc := scenario(t, "small-room")
	for _, o := range []Options{
		{},
		{Scenario: sc, Speed: -1},
		{Scenario: sc, Speed: 1e9},
		{Scenario: sc, ReportInterval: time.Millisecond},
		{Scenario: sc, GatewayLink: "/tmp/x", RTULink: "/tmp/x"},
	} {
		if _, err := New(o); !errors.Is(err, ErrOptions) {
			t.Errorf("New(%+v) = %v, want ErrOptions", o, err)
		}
	}
	bad := *sc
	bad.Units = append([]plant.Unit(nil), sc.Units...)
	bad.Units[1].ModbusID = bad.Units[0].ModbusID
	if _, err := New(Options{Scenario: &bad}); !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), "already used") {
		t.Errorf("duplicate modbus id: %v", err)
	}
}

// Sensors are grouped into nodes by MAC: a node reports all its channels in one payload.
func TestNodesGroupedByMAC(t *testing.T) {
	sc := scenario(t, "hall")
	tw := newTwin(t, Options{Scenario: sc, Seed: 3})
	macs := map[string]int{}
	for _, s := range sc.Sensors {
		macs[strings.Split(s.ID, "/")[0]]++
	}
	if len(tw.nodes) != len(macs) {
		t.Fatalf("%d nodes, want %d MACs", len(tw.nodes), len(macs))
	}
	multi := 0
	for _, n := range tw.nodes {
		if len(n.chans) != macs[n.macStr] {
			t.Errorf("node %s: %d channels, want %d", n.macStr, len(n.chans), macs[n.macStr])
		}
		if len(n.chans) > 1 {
			multi++
		}
		if n.phase < 0 || n.phase >= 30 {
			t.Errorf("node %s: phase %v outside the 30 s interval", n.macStr, n.phase)
		}
	}
	if multi == 0 {
		t.Fatal("hall should have nodes with several channels")
	}
}

// The coupling: commands written to the register bank move the plant's fan; a lapsed BMS
// timeout puts the unit in fallback (status bit 2, fan back to its fallback speed); a heartbeat
// brings it back. Plant time is the units' clock.
func TestCouplingCommandsAndFallback(t *testing.T) {
	sc := scenario(t, "small-room")
	tw := newTwin(t, Options{Scenario: sc, Seed: 1})
	crah := tw.Unit(byte(sc.Units[0].ModbusID))
	if crah == nil {
		t.Fatal("no unit 1")
	}
	status := func() uint16 {
		r, err := crah.ReadInputRegisters(4, 1)
		if err != nil {
			t.Fatal(err)
		}
		return r[0]
	}
	if s := status(); s&(1<<4) != 0 || s&1 == 0 {
		t.Fatalf("status at power-up = %05b, want running, remote off", s)
	}
	must := func(addr uint16, vals ...uint16) {
		t.Helper()
		if err := crah.WriteHoldingRegisters("test", 16, addr, vals); err != nil {
			t.Fatal(err)
		}
	}
	must(ahusim.CRAHBMSTimeout, 20)
	must(ahusim.CRAHRemoteEnable, 1)
	for hb := uint16(1); hb <= 6; hb++ {
		must(ahusim.CRAHOwner, 1, 1, hb, 500, 600)
		tw.steps(5)
	}
	fan := tw.m.Units()[0].Fan
	if fan < 0.49 || fan > 0.51 {
		t.Fatalf("fan after 30 s at a 50 %% command = %.3f", fan)
	}
	if r, _ := crah.ReadInputRegisters(2, 1); r[0] < 490 || r[0] > 510 {
		t.Fatalf("fan feedback register = %d, want ~500", r[0])
	}
	// No heartbeat for longer than 20 plant s: fallback at 100 %.
	tw.steps(21)
	if s := status(); s&(1<<2) == 0 {
		t.Fatalf("status after 21 s without heartbeat = %05b, want fallback bit", s)
	}
	tw.steps(10)
	if fan := tw.m.Units()[0].Fan; fan < 0.9 {
		t.Fatalf("fan in fallback = %.3f, want rising to 100 %%", fan)
	}
	must(ahusim.CRAHHeartbeat, 99)
	if s := status(); s&(1<<2) != 0 {
		t.Fatalf("status after a heartbeat = %05b, want fallback cleared", s)
	}
	if got := tw.PlantTime(); got != 61*time.Second {
		t.Fatalf("plant clock = %v, want 61s", got)
	}
}

// A trip in the plant shows in the bank (status bit 3, alarm) and clears on restore.
func TestTripReflected(t *testing.T) {
	sc := scenario(t, "demo")
	var tripAt, restoreAt float64
	var unit string
	for _, e := range sc.Events {
		switch e.Kind {
		case plant.EvUnitTrip:
			tripAt, unit = e.At, e.Unit
		case plant.EvUnitRestore:
			restoreAt = e.At
		}
	}
	if unit == "" {
		t.Fatal("demo has no trip")
	}
	tw := newTwin(t, Options{Scenario: sc, Seed: 1})
	u := tw.Unit(byte(sc.Units[sc.UnitIndex(unit)].ModbusID))
	status := func() uint16 { r, _ := u.ReadInputRegisters(4, 1); return r[0] }
	tw.steps(int(tripAt) + 1)
	if s := status(); s&(1<<3) == 0 || s&1 != 0 {
		t.Fatalf("%s status after the trip = %05b, want fan fault, not running", unit, s)
	}
	tw.steps(int(restoreAt-tripAt) + 30)
	if s := status(); s&(1<<3) != 0 {
		t.Fatalf("%s status after restore = %05b, want fan fault cleared", unit, s)
	}
	snap := tw.Snapshot()
	if len(snap.Events) < 2 || snap.BaselineFanKW <= 0 || snap.MaxInletRack == "" {
		t.Fatalf("snapshot: %d events, baseline %v kW, max inlet rack %q", len(snap.Events), snap.BaselineFanKW, snap.MaxInletRack)
	}
}

// The hall's field events reach the links: no answer, freeze, die, gateway reboot, impairments.
func TestFieldEventsApplied(t *testing.T) {
	sc := scenario(t, "hall")
	tw := newTwin(t, Options{Scenario: sc, Seed: 1})
	at := func(kind plant.EventKind) plant.Event {
		for _, e := range sc.Events {
			if e.Kind == kind && !e.Generated {
				return e
			}
		}
		t.Fatalf("hall has no %s", kind)
		return plant.Event{}
	}
	noAns := at(plant.EvUnitNoAnswer)
	tw.steps(int(noAns.At) + 1)
	u := tw.units[sc.UnitIndex(noAns.Unit)]
	if !u.noAns || !tw.Snapshot().Units[u.idx].NoAnswer {
		t.Fatalf("%s should not answer at t=%v", noAns.Unit, noAns.At)
	}
	reboot := at(plant.EvGatewayReboot)
	tw.steps(int(reboot.At-tw.m.Time()) + 1)
	if !tw.gws[0].down || !tw.gws[0].want.Load() {
		t.Fatal("gateway should be down after gateway_reboot")
	}
	tw.steps(int(reboot.Duration) + 1)
	if tw.gws[0].down || tw.gws[0].want.Load() {
		t.Fatal("gateway should be back up after the reboot's duration")
	}
	if tw.gws[0].stats.GatewayDown == 0 {
		t.Fatal("reports during the outage should be counted as lost")
	}
	if u.noAns || tw.Snapshot().Units[u.idx].NoAnswer {
		t.Fatalf("%s should answer again %v s after unit_no_answer", noAns.Unit, noAns.Duration)
	}
	die := at(plant.EvSensorDie)
	if s := sc.SensorIndex(die.Sensor); !tw.dead[s] {
		t.Fatalf("%s should be dead", die.Sensor)
	}
	if tw.gws[0].stats.Sent == 0 || tw.gws[0].stats.Readings < tw.gws[0].stats.Sent {
		t.Fatalf("report stats %+v", tw.gws[0].stats)
	}
	if line := tw.StatusLine(); !strings.Contains(line, "max inlet") || !strings.Contains(line, "crah-1") {
		t.Fatalf("status line %q", line)
	}
}

func TestSiteConfigValidForBuiltins(t *testing.T) {
	for _, name := range plant.Builtin() {
		sc := scenario(t, name)
		for _, speed := range []float64{1, 60} {
			l := Links{GatewayLink: "/tmp/coldaisle-mesh", ModbusAddr: "127.0.0.1:5020", RTULink: "/tmp/coldaisle rtu", Speed: speed}
			c := BuildSiteConfig(sc, l)
			if err := c.Validate(); err != nil {
				t.Fatalf("%s x%g: %v", name, speed, err)
			}
			data, err := site.Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			back, err := site.Parse(data, name+".toml")
			if err != nil {
				t.Fatalf("%s x%g: encoded config does not parse: %v\n%s", name, speed, err, data)
			}
			if back.Mesh.Port != l.GatewayLink || back.Line(LineTCP) == nil || back.Line(LineTCP).Target != "tcp://127.0.0.1:5020" {
				t.Fatalf("%s: links %+v %+v", name, back.Mesh, back.Lines)
			}
			if rtu := back.Line(LineRTU); rtu == nil || rtu.Target != "rtu:///tmp/coldaisle%20rtu?baud=19200&parity=N&stop=1" {
				t.Fatalf("%s: rtu line %+v", name, rtu)
			}
			if len(back.Units) != len(sc.Units) {
				t.Fatalf("%s: %d units, want %d", name, len(back.Units), len(sc.Units))
			}
			for i, u := range back.Units {
				su := sc.Units[sc.UnitIndex(u.Name)]
				if u.Line != LineTCP || u.UnitID != su.ModbusID || u.Profile != su.Profile {
					t.Fatalf("%s unit %d: %+v vs scenario %+v", name, i, u, su)
				}
				// The controller's writes (every period, wall) must keep the unit out of fallback
				// (timeout counted in plant seconds).
				if plantPeriod := back.Control.Period.Seconds() * speed; u.BMSTimeout.Seconds() < 3*plantPeriod {
					t.Fatalf("%s x%g: bms_timeout %v vs %v plant s per period", name, speed, u.BMSTimeout, plantPeriod)
				}
			}
			if speed == 1 && back.Control.Period.Duration != 2*time.Second {
				t.Fatalf("%s: period %v at real time", name, back.Control.Period)
			}
		}
	}
}

func TestCentiAndClock(t *testing.T) {
	for v, want := range map[float64]int16{22.45: 2245, -400: -32767, 400: 32767, 0: 0} {
		if got := centi(v); got != want {
			t.Errorf("centi(%v) = %d, want %d", v, got, want)
		}
	}
	if s := clockStr(3723); s != "1:02:03" {
		t.Errorf("clockStr = %q", s)
	}
}
