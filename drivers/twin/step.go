package twin

import (
	"fmt"
	"math"
	"time"

	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/mesh"
	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// maxRecent is how many timeline events Snapshot keeps.
const maxRecent = 12

// couple feeds the plant's outputs back into the register banks (input registers, trip).
func (t *Twin) couple() {
	outs := t.m.Units()
	for _, u := range t.units {
		o := outs[u.idx]
		if o.Tripped != u.tripped {
			u.tripped = o.Tripped
			u.sim.Trip(o.Tripped)
		}
		u.sim.SetFeedback(ahusim.Feedback{
			ReturnC: o.ReturnC, SupplyC: o.SupplyC,
			FanFrac: o.Fan, ValveFrac: o.Valve,
			FanKW: o.FanKW, CoolKW: o.CoolKW,
			FanFault: o.FanFault,
		})
	}
}

// input turns what a simulated unit does into the plant's unit input.
func input(e ahusim.Effective) plant.UnitInput {
	return plant.UnitInput{Remote: e.Remote, Fan: e.Fan, Valve: e.Valve, LocalFan: e.LocalFan, LocalSupplySP: e.LocalSupplySP}
}

// stepLocked advances the room by one plant second with the units coupled: inputs from the
// register banks, the step, feedback into the banks, the timeline's field events, sensor
// reports. paced: the units' clock interpolates from now on (wall time); otherwise it shows the
// step's plant time only.
func (t *Twin) stepLocked(paced bool) {
	for _, u := range t.units {
		t.m.SetUnitInput(u.idx, input(u.sim.Effective()))
	}
	t.m.Step(1)
	t.base.Step(1)
	now := t.m.Time()
	mk := &clockMark{plant: time.Duration(math.Round(now * float64(time.Second)))}
	if paced {
		mk.wall = time.Now()
	}
	t.mark.Store(mk)
	t.couple()
	for _, ev := range t.m.DueEvents() {
		t.apply(ev)
	}
	for _, g := range t.gws {
		if g.down && now >= g.downUntil {
			g.down = false
			g.want.Store(false)
			g.kickGateway()
			if len(t.gws) == 1 {
				t.note("twin: t=%s gateway is back up", clockStr(now))
			} else {
				t.note("twin: t=%s gateway %d is back up", clockStr(now), g.idx+1)
			}
		}
	}
	t.report(now)
	if m := int64(now / 60); m != t.lastMinute {
		t.lastMinute = m
		t.statusDue = true
	}
}

// note queues a log line (emitted by the paced loop after the lock is released).
func (t *Twin) note(format string, args ...any) {
	if t.opts.Logf != nil {
		t.pending = append(t.pending, fmt.Sprintf(format, args...))
	}
}

// apply acts on one timeline event. Physical events are already applied by the plant (a trip
// reaches the register bank through couple); field events act on the links.
func (t *Twin) apply(ev plant.Event) {
	t.recent = append(t.recent, ev)
	if len(t.recent) > maxRecent {
		t.recent = t.recent[len(t.recent)-maxRecent:]
	}
	msg := ev.String()
	if ev.Note != "" {
		msg += " (" + ev.Note + ")"
	}
	t.note("twin: event %s", msg)
	sensor := t.sc.SensorIndex(ev.Sensor)
	switch ev.Kind {
	case plant.EvSensorDie:
		if sensor >= 0 {
			t.dead[sensor] = true
		}
	case plant.EvSensorFreeze:
		if sensor >= 0 && !t.frozen[sensor] {
			t.frozen[sensor] = true
			t.frozenV[sensor] = t.m.Sensors()[sensor].MeasuredC
		}
	case plant.EvSensorRevive:
		if sensor >= 0 {
			t.dead[sensor], t.frozen[sensor] = false, false
		}
	case plant.EvMeshLoss, plant.EvMeshDuplicates, plant.EvMeshReorder, plant.EvMeshDelay:
		// The mesh is one radio network: every gateway suffers the event, each with its own
		// random draws.
		for _, g := range t.gws {
			switch ev.Kind {
			case plant.EvMeshLoss:
				g.im.Loss = ev.Probability
			case plant.EvMeshDuplicates:
				g.im.Duplicate = ev.Probability
			case plant.EvMeshReorder:
				g.im.Reorder = ev.Probability
			case plant.EvMeshDelay:
				g.im.Delay = time.Duration(ev.Delay / t.speed * float64(time.Second))
			}
			g.gw.SetImpairments(g.im)
		}
	case plant.EvGatewayReboot:
		for _, g := range t.gws {
			t.rebootLocked(g, ev.Duration)
		}
	case plant.EvUnitNoAnswer, plant.EvUnitAnswerAgain:
		if i := t.sc.UnitIndex(ev.Unit); i >= 0 {
			u := t.units[i]
			u.noAns = ev.Kind == plant.EvUnitNoAnswer
			t.srv.SetFault(u.sim.ID(), modbussim.Fault{NoAnswer: u.noAns})
		}
	}
}

// maxQueuedPerNode bounds what the gateway holds for a controller that is not there (a real
// manager's buffer is finite too): beyond it, reports are dropped and counted.
const maxQueuedPerNode = 4

// report sends every node report that is due: the node's live channels' measured values (a
// frozen channel repeats its value), stamped with the plant-derived UTC time.
func (t *Twin) report(now float64) {
	interval := t.opts.ReportInterval.Seconds()
	var due []*node
	for _, n := range t.nodes {
		if n.next <= now+1e-9 {
			due = append(due, n)
		}
	}
	if len(due) == 0 {
		return
	}
	t.sensorsBuf = t.m.AppendSensors(t.sensorsBuf)
	queued := t.queuedBuf[:0]
	for range t.gws {
		queued = append(queued, -1)
	}
	t.queuedBuf = queued
	stamp := t.opts.Epoch.Add(time.Duration(math.Round(now*1e3)) * time.Millisecond)
	for _, n := range due {
		for n.next <= now+1e-9 {
			n.next += interval
		}
		var recs []mesh.Record
		for i, s := range n.sensors {
			if t.dead[s] {
				continue
			}
			v := t.sensorsBuf[s].MeasuredC
			if t.frozen[s] {
				v = t.frozenV[s]
			}
			recs = append(recs, mesh.Record{Channel: n.chans[i], Kind: mesh.KindTemperature, Value: centi(v)})
		}
		if len(recs) == 0 {
			for _, g := range t.gws {
				g.stats.Dead++
			}
			continue
		}
		n.seq++ // the node sent it, whatever happens to it on the way
		// Every gateway hears the same report (the same sequence number and values); each
		// loses it on its own (down, full).
		for gi, g := range t.gws {
			if g.down {
				g.stats.GatewayDown++
				continue
			}
			if queued[gi] < 0 {
				queued[gi] = g.gw.Stats().Queued
			}
			if queued[gi] >= maxQueuedPerNode*len(t.nodes) {
				g.stats.QueueFull++
				continue
			}
			for rest := recs; len(rest) > 0; { // a payload carries at most 16 records
				k := min(len(rest), mesh.MaxRecords)
				g.gw.Report(n.mac, n.seq, n.battery, rest[:k], stamp)
				g.stats.Sent++
				g.stats.Readings += uint64(k)
				queued[gi]++
				rest = rest[k:]
			}
		}
	}
}

// centi is a temperature in the payload's 0.01 C, clamped clear of the fault marker 0x8000.
func centi(v float64) int16 {
	if math.IsNaN(v) {
		return math.MinInt16 // probe fault
	}
	return int16(math.Max(-32767, math.Min(32767, math.Round(v*100))))
}

// clockStr formats plant seconds as h:mm:ss.
func clockStr(s float64) string {
	d := time.Duration(math.Round(s)) * time.Second
	return fmt.Sprintf("%d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}
