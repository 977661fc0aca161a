package engine

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/site"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func sid(node, ch int) string {
	return fmt.Sprintf("00-17-0d-00-00-38-%02x-%02x/%d", node/256, node%256, ch)
}

// testConfig: units u1..uN, zones given as unit lists (with equal influence) and sensors per zone.
func testConfig(t testing.TB, nUnits int, zones [][]string, sensorsPerZone int) *site.Config {
	t.Helper()
	c := &site.Config{Site: "test", Lines: []site.Line{{Name: "bms", Target: "tcp://127.0.0.1:5020"}}}
	for i := 0; i < nUnits; i++ {
		c.Units = append(c.Units, site.Unit{Name: fmt.Sprintf("u%d", i+1), Line: "bms", UnitID: i + 1})
	}
	n := 0
	for i, us := range zones {
		z := site.Zone{Name: fmt.Sprintf("z%d", i+1), Units: us}
		for k := 0; k < sensorsPerZone; k++ {
			n++
			z.Sensors = append(z.Sensors, sid(n, 1))
		}
		c.Zones = append(c.Zones, z)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// setPeriod changes a built configuration's period, keeping its lines' timeouts within the
// period's I/O phase as validation requires.
func setPeriod(c *site.Config, d time.Duration) {
	c.Control.Period.Duration = d
	for i := range c.Lines {
		c.Lines[i].Timeout.Duration = min(c.Lines[i].Timeout.Duration, c.Control.PhaseBudget())
	}
}

// room is a toy plant for the engine tests: each zone's inlets relax (tau) towards
// supply + load / delivered airflow, where the delivered airflow is sum_u share * fan.
type room struct {
	cfg    *site.Config
	fan    []float64 // actual fan %, follows commands
	valve  []float64
	trip   []bool
	load   []float64 // per zone: K * % (inlet rise at 100 % airflow)
	inlet  []float64 // per zone
	offset [][]float64
	tau    float64
	supply float64
}

func newRoom(cfg *site.Config, load float64) *room {
	r := &room{cfg: cfg, tau: 60, supply: 18}
	r.fan = make([]float64, len(cfg.Units))
	r.valve = make([]float64, len(cfg.Units))
	r.trip = make([]bool, len(cfg.Units))
	for i := range r.fan {
		r.fan[i], r.valve[i] = 60, 50
	}
	for _, z := range cfg.Zones {
		r.load = append(r.load, load)
		r.inlet = append(r.inlet, 22)
		off := make([]float64, len(z.Sensors))
		for k := range off {
			off[k] = -0.3 * float64(k) // sensor 0 is the hottest
		}
		r.offset = append(r.offset, off)
	}
	return r
}

func (r *room) airflow(z int) float64 {
	zc := r.cfg.Zones[z]
	a := 0.0
	for _, un := range zc.Units {
		j := r.cfg.UnitIndex(un)
		if !r.trip[j] {
			a += zc.InfluenceOf(un) * r.fan[j]
		}
	}
	return a
}

func (r *room) step(dt float64) {
	for z := range r.inlet {
		target := r.supply + r.load[z]/math.Max(r.airflow(z), 1)
		r.inlet[z] += (target - r.inlet[z]) * (1 - math.Exp(-dt/r.tau))
	}
}

func (r *room) apply(cmds []Command) {
	for j, c := range cmds {
		if c.Write && !r.trip[j] {
			r.fan[j], r.valve[j] = c.FanPct, c.ValvePct
		}
	}
}

func (r *room) state(j int) UnitState {
	st := UnitState{FanPct: r.fan[j], ValvePct: r.valve[j], SupplyC: r.supply, ReturnC: 30, Running: !r.trip[j], Remote: true, FanFault: r.trip[j]}
	if r.trip[j] {
		st.FanPct = 0
	}
	return st
}

// harness drives an engine against a room, one control period per step.
type harness struct {
	t    testing.TB
	e    *Engine
	r    *room
	now  time.Time
	last []Command
	dead map[string]bool         // sensors that no longer report
	cool map[string]float64      // sensors that report a fixed value
	noIO map[string]bool         // units that do not answer
	evs  []Event                 //
	each func(h *harness, k int) // optional per-step hook
	// state, when set, edits unit j's read-back (e.g. to add fan power or faults).
	state func(j int, st UnitState) UnitState
	rep   map[string]time.Time // last report per sensor
	per   time.Duration        // report interval of the sensors
}

func newHarness(t testing.TB, cfg *site.Config, load float64) *harness {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, e: e, r: newRoom(cfg, load), now: t0, dead: map[string]bool{}, cool: map[string]float64{},
		noIO: map[string]bool{}, rep: map[string]time.Time{}, per: 30 * time.Second}
}

// run advances n control periods.
func (h *harness) run(n int) {
	per := h.e.Config().Control.Period.Duration
	for k := 0; k < n; k++ {
		for s := 0; s < int(per/time.Second); s++ {
			h.r.step(1)
		}
		h.now = h.now.Add(per)
		for zi, z := range h.r.cfg.Zones {
			for si, id := range z.Sensors {
				if h.dead[id] {
					continue
				}
				if last, ok := h.rep[id]; ok && h.now.Sub(last) < h.per {
					continue
				}
				h.rep[id] = h.now
				v := h.r.inlet[zi] + h.r.offset[zi][si]
				if c, ok := h.cool[id]; ok {
					v = c
				}
				h.e.Observe(Reading{Sensor: id, Value: math.Round(v*100) / 100, Time: h.now, Arrival: h.now})
			}
		}
		for j, u := range h.r.cfg.Units {
			if h.noIO[u.Name] {
				h.e.UpdateUnit(u.Name, UnitState{}, fmt.Errorf("no answer"), h.now)
				continue
			}
			st := h.r.state(j)
			if h.state != nil {
				st = h.state(j, st)
			}
			h.e.UpdateUnit(u.Name, st, nil, h.now)
		}
		cmds := h.e.Tick(h.now)
		for j, c := range cmds {
			if h.noIO[c.Unit] {
				cmds[j].Write = false
			}
		}
		h.r.apply(cmds)
		h.last = cmds
		h.evs = append(h.evs, h.e.Events()...)
		if h.each != nil {
			h.each(h, k)
		}
	}
}

func (h *harness) unit(name string) UnitSnapshot {
	for _, u := range h.e.Snapshot().Units {
		if u.Name == name {
			return u
		}
	}
	h.t.Fatalf("no unit %s", name)
	return UnitSnapshot{}
}

func (h *harness) cmd(name string) Command {
	for _, c := range h.last {
		if c.Unit == name {
			return c
		}
	}
	h.t.Fatalf("no command for %s", name)
	return Command{}
}
