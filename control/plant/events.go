package plant

import (
	"fmt"
	"sort"
)

// EventKind names a scenario event. The kinds and the fields each one takes are listed in doc.go
// and checked by the scenario loader (a field a kind does not take is an error).
type EventKind string

// Physical events: applied by the Model itself at their time.
const (
	EvITLoad      EventKind = "it_load"      // Rack|Zone|all; KW (absolute per rack) or Factor (times current)
	EvUnitTrip    EventKind = "unit_trip"    // Unit; fan fault: airflow and fan power to zero, Tripped
	EvUnitRestore EventKind = "unit_restore" // Unit; clears trip and fan fault, fan ramps up again
	EvFanFault    EventKind = "fan_fault"    // Unit, Factor (remaining fan capacity 0..1, default 0.5)
	EvChwTemp     EventKind = "chw_temp"     // Unit or all; Value = chilled-water supply temperature, C
)

// Field events: returned by DueEvents for the twin (mesh simulator, Modbus simulator) to act on.
const (
	EvSensorDie       EventKind = "sensor_die"        // Sensor; stops reporting
	EvSensorFreeze    EventKind = "sensor_freeze"     // Sensor; keeps reporting its last value
	EvSensorRevive    EventKind = "sensor_revive"     // Sensor; ends die/freeze
	EvMeshLoss        EventKind = "mesh_loss"         // Probability of losing a report (0 ends it)
	EvMeshDelay       EventKind = "mesh_delay"        // Delay: extra seconds on each report (0 ends it)
	EvMeshDuplicates  EventKind = "mesh_duplicates"   // Probability of a duplicate report
	EvMeshReorder     EventKind = "mesh_reorder"      // Probability of a report swapping with the next
	EvGatewayReboot   EventKind = "gateway_reboot"    // Duration: seconds the gateway stays down (0 = at once)
	EvUnitNoAnswer    EventKind = "unit_no_answer"    // Unit; Modbus stops answering
	EvUnitAnswerAgain EventKind = "unit_answer_again" // Unit; answers again
)

// Physical reports whether the Model applies this kind itself.
func (k EventKind) Physical() bool {
	switch k {
	case EvITLoad, EvUnitTrip, EvUnitRestore, EvFanFault, EvChwTemp:
		return true
	}
	return false
}

// eventFields lists, per kind, which optional fields it takes ("target" = rack/zone selector).
var eventFields = map[EventKind]struct {
	rack, zone, unit, sensor, kw, factor, prob, delay, duration, value bool
}{
	EvITLoad:          {rack: true, zone: true, kw: true, factor: true},
	EvUnitTrip:        {unit: true, duration: true},
	EvUnitRestore:     {unit: true},
	EvFanFault:        {unit: true, factor: true, duration: true},
	EvChwTemp:         {unit: true, value: true},
	EvSensorDie:       {sensor: true, duration: true},
	EvSensorFreeze:    {sensor: true, duration: true},
	EvSensorRevive:    {sensor: true},
	EvMeshLoss:        {prob: true, duration: true},
	EvMeshDelay:       {delay: true, duration: true},
	EvMeshDuplicates:  {prob: true, duration: true},
	EvMeshReorder:     {prob: true, duration: true},
	EvGatewayReboot:   {duration: true},
	EvUnitNoAnswer:    {unit: true, duration: true},
	EvUnitAnswerAgain: {unit: true},
}

// EventKinds returns every kind the loader accepts, sorted.
func EventKinds() []EventKind {
	out := make([]EventKind, 0, len(eventFields))
	for k := range eventFields {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Event is one timeline entry. Zero fields are "not given" except where a kind documents a default.
type Event struct {
	At          float64   // plant seconds from the start
	Kind        EventKind //
	Rack        string    // it_load: one rack ("" with Zone "" = every rack)
	Zone        string    // it_load: every rack of a zone
	Unit        string    // unit_*, fan_fault, chw_temp ("" = all units for chw_temp)
	Sensor      string    // sensor_*: "mac/ch"
	KW          float64   // it_load: new load per selected rack (HasKW)
	HasKW       bool      //
	Factor      float64   // it_load: multiply current load; fan_fault: remaining capacity
	Probability float64   // mesh_loss, mesh_duplicates, mesh_reorder: 0..1
	Delay       float64   // mesh_delay: seconds
	Duration    float64   // gateway_reboot: outage; others: expanded into an ending event (see doc.go)
	Value       float64   // chw_temp: degrees C
	Note        string    // free text for the story (shown by the twin)
	Generated   bool      // true for an ending event expanded from Duration
}

// Physical reports whether the Model applies this event itself.
func (e Event) Physical() bool { return e.Kind.Physical() }

func (e Event) String() string {
	s := fmt.Sprintf("t=%gs %s", e.At, e.Kind)
	for _, kv := range [][2]string{{"rack", e.Rack}, {"zone", e.Zone}, {"unit", e.Unit}, {"sensor", e.Sensor}} {
		if kv[1] != "" {
			s += " " + kv[0] + "=" + kv[1]
		}
	}
	switch {
	case e.HasKW:
		s += fmt.Sprintf(" kw=%g", e.KW)
	case e.Kind == EvITLoad || e.Kind == EvFanFault:
		s += fmt.Sprintf(" factor=%g", e.Factor)
	case e.Kind == EvMeshLoss || e.Kind == EvMeshDuplicates || e.Kind == EvMeshReorder:
		s += fmt.Sprintf(" p=%g", e.Probability)
	case e.Kind == EvMeshDelay:
		s += fmt.Sprintf(" delay=%gs", e.Delay)
	case e.Kind == EvChwTemp:
		s += fmt.Sprintf(" value=%gC", e.Value)
	}
	if e.Kind == EvGatewayReboot {
		s += fmt.Sprintf(" duration=%gs", e.Duration)
	}
	return s
}

// expandDurations turns "X with Duration d" into X plus its ending event at At+d, for the kinds
// that have one, and returns the timeline sorted by time (stable: file order within one instant).
func expandDurations(evs []Event) []Event {
	out := make([]Event, 0, len(evs))
	for _, e := range evs {
		out = append(out, e)
		if e.Duration <= 0 || e.Kind == EvGatewayReboot {
			continue
		}
		end := Event{At: e.At + e.Duration, Generated: true, Unit: e.Unit, Sensor: e.Sensor}
		switch e.Kind {
		case EvUnitTrip, EvFanFault:
			end.Kind = EvUnitRestore
		case EvSensorDie, EvSensorFreeze:
			end.Kind = EvSensorRevive
		case EvMeshLoss, EvMeshDuplicates, EvMeshReorder:
			end.Kind = e.Kind // Probability 0
		case EvMeshDelay:
			end.Kind = e.Kind // Delay 0
		case EvUnitNoAnswer:
			end.Kind = EvUnitAnswerAgain
		default:
			continue
		}
		out = append(out, end)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}
