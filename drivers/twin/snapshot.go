package twin

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/mesh/meshsim"
)

// Snapshot is a consistent copy of the twin's state at one plant instant, for a UI.
type Snapshot struct {
	Scenario  string
	PlantTime time.Duration
	Speed     float64
	Units     []UnitSnapshot
	Racks     []RackSnapshot
	// MaxInletC is the hottest true sensor temperature, at MaxInletRack (sensor MaxInletSensor).
	MaxInletC      float64
	MaxInletSensor string
	MaxInletRack   string
	SetpointC      float64
	// FanKW is the units' electrical fan power now; BaselineFanKW the same moment of the room run
	// in lockstep with every unit on its own control at 100 % fan.
	FanKW, BaselineFanKW   float64
	Energy                 plant.Energy
	BaselineFanKWh         float64
	Events                 []plant.Event // the latest timeline events, oldest first
	Reports                ReportStats
	GatewayDown            bool // rebooting
	Impairments            string
	GatewaySession         bool
	GatewayNotifications   uint64
	GatewayFramesLost      uint64
	GatewayReboots         uint64
	GatewayQueuedForClient int
}

// UnitSnapshot is one air handler.
type UnitSnapshot struct {
	Name, Profile     string
	ModbusID          int
	FanPct, ValvePct  float64 // actual, 0..100
	SupplyC, ReturnC  float64
	FanKW, CoolKW     float64
	Airflow           float64 // m3/s
	RemoteEnabled     bool    // holding register 0 = 1 (always true for a drive)
	Remote            bool    // following the controller's commands now
	Fallback          bool    // BMS / comm-loss fallback
	Tripped, FanFault bool
	NoAnswer          bool // Modbus does not answer (unit_no_answer)
}

// RackSnapshot is one rack's true state.
type RackSnapshot struct {
	Name, Zone       string
	LoadKW           float64
	InletC, ExhaustC float64
}

// Snapshot returns a copy of the state now (it waits for a step in progress).
func (t *Twin) Snapshot() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snapshotLocked()
}

func (t *Twin) snapshotLocked() Snapshot {
	s := Snapshot{Scenario: t.sc.Name, Speed: t.speed, SetpointC: t.sc.SetpointC, Reports: t.gws[0].stats, GatewayDown: t.gws[0].down}
	s.PlantTime = time.Duration(math.Round(t.m.Time() * float64(time.Second)))
	outs := t.m.Units()
	for _, u := range t.units {
		o := outs[u.idx]
		e := u.sim.Effective()
		us := UnitSnapshot{
			Name: o.Name, Profile: o.Profile, ModbusID: int(u.sim.ID()),
			FanPct: 100 * o.Fan, ValvePct: 100 * o.Valve, SupplyC: o.SupplyC, ReturnC: o.ReturnC,
			FanKW: o.FanKW, CoolKW: o.CoolKW, Airflow: o.Airflow,
			RemoteEnabled: true, Remote: e.Remote, Fallback: e.Fallback,
			Tripped: o.Tripped, FanFault: o.FanFault, NoAnswer: u.noAns,
		}
		if u.crah != nil {
			v, _ := u.crah.Holding(ahusim.CRAHRemoteEnable)
			us.RemoteEnabled = v == 1
		}
		s.FanKW += o.FanKW
		s.Units = append(s.Units, us)
	}
	for _, o := range t.base.Units() {
		s.BaselineFanKW += o.FanKW
	}
	for _, r := range t.m.Racks() {
		s.Racks = append(s.Racks, RackSnapshot{Name: r.Name, Zone: r.Zone, LoadKW: r.LoadKW, InletC: r.InletC, ExhaustC: r.ExhaustC})
	}
	s.MaxInletC, s.MaxInletSensor = t.m.MaxInletC()
	s.MaxInletRack = t.rackOf[s.MaxInletSensor]
	s.Energy = t.m.Energy()
	s.BaselineFanKWh = t.base.Energy().FanKWh
	s.Events = append([]plant.Event(nil), t.recent...)
	gs := t.gws[0].gw.Stats()
	s.GatewaySession, s.GatewayNotifications, s.GatewayFramesLost = gs.Subscribed, gs.Notifications, gs.FramesLost
	s.GatewayReboots, s.GatewayQueuedForClient = gs.Reboots, gs.Queued
	s.Impairments = impairmentString(t.gws[0].im, t.speed)
	return s
}

func impairmentString(im meshsim.Impairments, speed float64) string {
	var parts []string
	if im.Loss > 0 {
		parts = append(parts, fmt.Sprintf("loss %.0f%%", 100*im.Loss))
	}
	if im.Duplicate > 0 {
		parts = append(parts, fmt.Sprintf("dup %.0f%%", 100*im.Duplicate))
	}
	if im.Reorder > 0 {
		parts = append(parts, fmt.Sprintf("reorder %.0f%%", 100*im.Reorder))
	}
	if im.Delay > 0 {
		parts = append(parts, fmt.Sprintf("delay %.1fs", im.Delay.Seconds()*speed))
	}
	if im.Noise > 0 {
		parts = append(parts, fmt.Sprintf("noise %.0f%%", 100*im.Noise))
	}
	if im.BitFlip > 0 {
		parts = append(parts, fmt.Sprintf("bitflip %.0f%%", 100*im.BitFlip))
	}
	return strings.Join(parts, ", ")
}

// StatusLine is one line for a terminal: plant time, hottest inlet, each unit's fan speed (with
// F fallback, T tripped, X not answering, L local control), total fan power and the baseline's.
func (t *Twin) StatusLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.statusLineLocked()
}

func (t *Twin) statusLineLocked() string {
	var b strings.Builder
	now := t.m.Time()
	maxC, id := t.m.MaxInletC()
	fmt.Fprintf(&b, "t=%s max inlet %.2f C (%s)", clockStr(now), maxC, t.rackOf[id])
	outs := t.m.Units()
	fan := 0.0
	b.WriteString(" |")
	for _, u := range t.units {
		o := outs[u.idx]
		fan += o.FanKW
		e := u.sim.Effective()
		flag := ""
		switch {
		case o.Tripped:
			flag = "T"
		case u.noAns:
			flag = "X"
		case e.Fallback:
			flag = "F"
		case !e.Remote:
			flag = "L"
		}
		fmt.Fprintf(&b, " %s %.0f%%%s", o.Name, 100*o.Fan, flag)
	}
	base := 0.0
	for _, o := range t.base.Units() {
		base += o.FanKW
	}
	fmt.Fprintf(&b, " | fan %.1f kW (baseline %.1f kW)", fan, base)
	down := 0
	for _, g := range t.gws {
		if g.down {
			down++
		}
	}
	switch {
	case down == 1 && len(t.gws) == 1:
		b.WriteString(" | gateway down")
	case down > 0:
		fmt.Fprintf(&b, " | %d of %d gateways down", down, len(t.gws))
	}
	return b.String()
}
