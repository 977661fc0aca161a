package engine

import (
	"encoding/json"
	"flag"
	"fmt"
	"github.com/coldaisle/coldaisle/control/internal/transcript"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/site"
)

var update = flag.Bool("update", false, "rewrite the transcripts under testdata with what the engine does now")

// TestTranscripts replays testdata/*.txt, in the style of etcd-io/raft's interaction tests (and
// control/pair's): a block is a command line and the engine's output below it, blocks are
// separated by a blank line, and lines starting with # are comments. The engine is driven by hand:
// the transcript says what every sensor reads and what every unit reports; there is no plant.
//
//	config units=2 zones=u1+u2,u2 sensors=2 [period=2s] [report=30s] [kp=4] [ti=150]
//	       [rate=2] [min=30] [safe=100] [alarm=27] [setpoint=25]
//	                                 units u1..uN; zone zK served by the listed units (equal
//	                                 influence) with `sensors` sensors each: s1, s2 in z1, s3, s4
//	                                 in z2, ...; every unit reads back fan 60, valve 50, running
//	reading s1=24.0 s2=23.5          set sensor values; each reports now and then every `report`
//	reading s1=dead | s1=fault       a sensor stops reporting | reports a probe fault
//	unit u1 fan=40 [valve=50] [supply=18] [kw=2.5]
//	unit u1 trip | restore | fanfault | fallback | noanswer | answer | alarm=7 | alarm=0
//	                                 the unit's read-back; a written command moves its fan (unless
//	                                 tripped, not answering or in fallback) and ends its fallback
//	tick [N]                         N control periods (default 1): the events in order, then the
//	                                 last period's commands (unit, mode, fan, valve)
//	manual u1 60 [for=30m] | auto u1 | autotune u1 | abort u1
//	status                           zones (measurement, demand, alarms) and units (mode, why)
//	restart [offsets=no]             a cold restart from the checkpoint (without the learned
//	                                 offsets: an older one); prints each zone's restored offsets
func TestTranscripts(t *testing.T) {
	transcript.Run(t, "testdata/*.txt", *update, func(t *testing.T) func(string) string {
		r := &script{t: t, now: t0}
		return r.run
	})
}

// sensorScript is one sensor as a transcript drives it.
type sensorScript struct {
	id     string
	v      float64
	set    bool // has a value
	dead   bool
	fault  bool
	last   time.Time
	seq    uint8
	report bool // report at the next tick whatever its schedule
}

// unitScript is one unit's read-back as a transcript drives it.
type unitScript struct {
	st      UnitState
	noIO    bool
	tripped bool
}

type script struct {
	t       *testing.T
	e       *Engine
	cfg     *site.Config
	now     time.Time
	report  time.Duration
	sensors map[string]*sensorScript
	order   []string
	units   []*unitScript
}

func kvs(words []string) map[string]string {
	m := map[string]string{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			v = "true"
		}
		m[k] = v
	}
	return m
}

func (r *script) num(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		r.t.Fatalf("number %q: %v", s, err)
	}
	return f
}

func (r *script) dur(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		r.t.Fatalf("duration %q: %v", s, err)
	}
	return d
}

func (r *script) unitIdx(name string) int {
	i := r.cfg.UnitIndex(name)
	if i < 0 {
		r.t.Fatalf("no unit %q", name)
	}
	return i
}

func (r *script) run(line string) string {
	w := strings.Fields(line)
	switch w[0] {
	case "config":
		return r.config(kvs(w[1:]))
	case "reading":
		for _, x := range w[1:] {
			name, v, _ := strings.Cut(x, "=")
			s := r.sensors[name]
			if s == nil {
				r.t.Fatalf("no sensor %q", name)
			}
			s.dead, s.fault = false, false
			switch v {
			case "dead":
				s.dead = true
			case "fault":
				s.fault, s.report = true, true
			default:
				s.v, s.set, s.report = r.num(v), true, true
			}
		}
		return ""
	case "unit":
		u := r.units[r.unitIdx(w[1])]
		for k, v := range kvs(w[2:]) {
			switch k {
			case "fan":
				u.st.FanPct = r.num(v)
			case "valve":
				u.st.ValvePct = r.num(v)
			case "supply":
				u.st.SupplyC = r.num(v)
			case "kw":
				u.st.FanKW = r.num(v)
			case "trip":
				u.tripped, u.st.Running, u.st.FanFault = true, false, true
			case "restore":
				u.tripped, u.st.Running, u.st.FanFault = false, true, false
			case "fanfault":
				u.st.FanFault = true
			case "fallback":
				u.st.Fallback = true
			case "noanswer":
				u.noIO = true
			case "answer":
				u.noIO = false
			case "alarm":
				u.st.AlarmCode = uint16(r.num(v))
				u.st.Alarm = u.st.AlarmCode != 0
			default:
				r.t.Fatalf("unit: unknown %q", k)
			}
		}
		return ""
	case "tick":
		n := 1
		if len(w) > 1 {
			n = int(r.num(w[1]))
		}
		return r.tick(n)
	case "manual":
		a := kvs(w[3:])
		var d time.Duration
		if f, ok := a["for"]; ok {
			d = r.dur(f)
		}
		return errText(r.e.SetManualFor(w[1], r.num(w[2]), d))
	case "auto":
		return errText(r.e.SetAuto(w[1]))
	case "autotune":
		return errText(r.e.StartAutotune(w[1], r.now))
	case "abort":
		return errText(r.e.AbortAutotune(w[1]))
	case "status":
		return r.status()
	case "restart":
		return r.restart(kvs(w[1:]))
	}
	r.t.Fatalf("unknown command %q", line)
	return ""
}

// restart is a cold restart: a new engine on the same configuration, restored from the old
// one's checkpoint (through JSON, as storage keeps it); with offsets=no the learned offsets are
// left out (an older checkpoint). Every sensor reports again at the next tick.
func (r *script) restart(a map[string]string) string {
	st := r.e.State()
	if a["offsets"] == "no" {
		for n, z := range st.Zones {
			z.Offsets = nil
			st.Zones[n] = z
		}
	}
	data, err := json.Marshal(st)
	if err != nil {
		r.t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(data, &back); err != nil {
		r.t.Fatal(err)
	}
	e, err := New(r.cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := e.Restore(back); err != nil {
		return "error: " + err.Error()
	}
	r.e = e
	var out []string
	for _, n := range slices.Sorted(maps.Keys(back.Zones)) {
		off := back.Zones[n].Offsets
		line := "zone " + n + " offsets"
		if len(off) == 0 {
			line += " none"
		}
		for _, id := range slices.Sorted(maps.Keys(off)) {
			line += fmt.Sprintf(" %s=%+.2f", r.sensorName(id), off[id])
		}
		out = append(out, line)
	}
	for _, s := range r.sensors {
		s.report = true
	}
	return strings.Join(out, "\n")
}

// sensorName is the transcript's name (s1, s2, ...) of a sensor id.
func (r *script) sensorName(id string) string {
	for _, n := range r.order {
		if r.sensors[n].id == id {
			return n
		}
	}
	return id
}

func errText(err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}

func (r *script) config(a map[string]string) string {
	n := int(r.num(a["units"]))
	c := &site.Config{Site: "transcript", Lines: []site.Line{{Name: "bms", Target: "tcp://127.0.0.1:5020"}}}
	for i := 0; i < n; i++ {
		c.Units = append(c.Units, site.Unit{Name: fmt.Sprintf("u%d", i+1), Line: "bms", UnitID: i + 1})
	}
	per := int(r.num(a["sensors"]))
	r.sensors, r.order = map[string]*sensorScript{}, nil
	k := 0
	for i, us := range strings.Split(a["zones"], ",") {
		z := site.Zone{Name: fmt.Sprintf("z%d", i+1), Units: strings.Split(us, "+")}
		for j := 0; j < per; j++ {
			k++
			name := fmt.Sprintf("s%d", k)
			s := &sensorScript{id: sid(k, 1)}
			r.sensors[name] = s
			r.order = append(r.order, name)
			z.Sensors = append(z.Sensors, s.id)
		}
		c.Zones = append(c.Zones, z)
	}
	ct := &c.Control
	if v, ok := a["period"]; ok {
		ct.Period.Duration = r.dur(v)
	}
	if v, ok := a["kp"]; ok {
		ct.FanTuning.Kp, ct.FanTuning.Ti = r.num(v), 150
	}
	if v, ok := a["ti"]; ok {
		ct.FanTuning.Ti = r.num(v)
	}
	if v, ok := a["rate"]; ok {
		ct.FanRatePct = r.num(v)
	}
	if v, ok := a["safe"]; ok {
		ct.SafeFanPct = r.num(v)
	}
	if v, ok := a["alarm"]; ok {
		ct.AlarmC = r.num(v)
	}
	if v, ok := a["setpoint"]; ok {
		ct.SetpointC = r.num(v)
	}
	c.ApplyDefaults()
	if v, ok := a["min"]; ok {
		for i := range c.Units {
			c.Units[i].MinFanPct = r.num(v)
		}
	}
	for i := range c.Lines {
		c.Lines[i].Timeout.Duration = min(c.Lines[i].Timeout.Duration, c.Control.PhaseBudget())
	}
	e, err := New(c)
	if err != nil {
		return "error: " + err.Error()
	}
	r.e, r.cfg = e, c
	r.report = 30 * time.Second
	if v, ok := a["report"]; ok {
		r.report = r.dur(v)
	}
	r.units = nil
	for range c.Units {
		r.units = append(r.units, &unitScript{st: UnitState{FanPct: 60, ValvePct: 50, SupplyC: 18, ReturnC: 30, Running: true, Remote: true}})
	}
	return fmt.Sprintf("%d units, %d zones, %d sensors; period %v, setpoint %.1f C, alarm %.1f C, fan %g..%g %% at %g %%/s, safe %g %%",
		len(c.Units), len(c.Zones), len(r.order), c.Control.Period.Duration, c.Control.SetpointC, c.Control.AlarmC,
		c.Units[0].MinFanPct, c.Units[0].MaxFanPct, c.Units[0].FanRatePct, c.Units[0].SafeFanPct)
}

// tick runs n periods: sensors report on their schedule, units are read, the engine ticks and
// the commands are written.
func (r *script) tick(n int) string {
	var lines []string
	var cmds []Command
	per := r.cfg.Control.Period.Duration
	for k := 0; k < n; k++ {
		r.now = r.now.Add(per)
		for _, name := range r.order {
			s := r.sensors[name]
			if s.dead || !s.set && !s.fault || !s.report && r.now.Sub(s.last) < r.report {
				continue
			}
			s.report, s.last = false, r.now
			s.seq++
			r.e.Observe(Reading{Sensor: s.id, Value: s.v, Fault: s.fault, Time: r.now, Seq: s.seq, Arrival: r.now})
		}
		for j, u := range r.cfg.Units {
			us := r.units[j]
			if us.noIO {
				r.e.UpdateUnit(u.Name, UnitState{}, fmt.Errorf("modbus: timeout"), r.now)
				continue
			}
			st := us.st
			if us.tripped {
				st.FanPct = 0
			}
			r.e.UpdateUnit(u.Name, st, nil, r.now)
		}
		cmds = r.e.Tick(r.now)
		for j, c := range cmds {
			us := r.units[j]
			if !c.Write || us.noIO {
				continue
			}
			us.st.Fallback = false
			if !us.tripped {
				us.st.FanPct, us.st.ValvePct = c.FanPct, c.ValvePct
			}
		}
		for _, ev := range r.e.Events() {
			lines = append(lines, fmt.Sprintf("+%v %s", ev.Time.Sub(t0), ev.Text()))
		}
	}
	snap := r.e.Snapshot()
	for j, c := range cmds {
		w := ""
		if !c.Write {
			w = " (not written)"
		}
		lines = append(lines, fmt.Sprintf("%s %s fan=%.1f valve=%.1f%s", c.Unit, snap.Units[j].Mode, c.FanPct, c.ValvePct, w))
	}
	return strings.Join(lines, "\n")
}

func (r *script) status() string {
	s := r.e.Snapshot()
	var lines []string
	for _, z := range s.Zones {
		m := "-"
		if !math.IsNaN(z.MeasureC) {
			m = fmt.Sprintf("%.2f", z.MeasureC)
		}
		lines = append(lines, fmt.Sprintf("zone %s measure %s demand %.1f valid %d/%d", z.Name, m, z.DemandPct, z.Valid, z.Total))
		al := append([]string(nil), z.Alarms...)
		sort.Strings(al)
		for _, a := range al {
			lines = append(lines, "  alarm "+a)
		}
	}
	for _, u := range s.Units {
		lines = append(lines, fmt.Sprintf("unit %s %s fan %.1f: %s", u.Name, u.Mode, u.FanPct, u.Why))
		for _, a := range u.Alarms {
			lines = append(lines, "  alarm "+a)
		}
	}
	return strings.Join(lines, "\n")
}
