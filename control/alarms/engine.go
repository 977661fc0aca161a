package alarms

import (
	"strings"

	"github.com/coldaisle/coldaisle/control/engine"
)

// KeyOf is the key of an alarm of this kind from this source: the source's words joined by
// "/" and the kind, e.g. ("zone row-a", "inlet-high") "zone/row-a/inlet-high", ("unit
// crah-2", "tripped") "unit/crah-2/tripped", ("controller", "storage") "controller/storage".
// A "/" inside a name becomes "_", so the key splits back into its parts.
func KeyOf(source, kind string) string {
	parts := strings.Fields(cleanText(source, MaxNameLen))
	parts = append(parts, cleanWord(kind, MaxNameLen, false))
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, "/", "_")
	}
	return cut(strings.Join(parts, "/"), MaxKeyLen)
}

// FromEngine feeds one engine event to r: EventAlarm raises, EventClear clears the alarm
// KeyOf(source, ev.Alarm), source "zone NAME" for a zone event, "unit NAME" for a unit event
// ("controller" when it names neither). Other kinds return nil.
func FromEngine(r *Registry, ev engine.Event) []Effect {
	source := "controller"
	switch {
	case ev.Zone != "":
		source = "zone " + ev.Zone
	case ev.Unit != "":
		source = "unit " + ev.Unit
	}
	switch ev.Kind {
	case engine.EventAlarm:
		return r.Raise(KeyOf(source, ev.Alarm), source, ev.Alarm, ev.Reason, ev.Time)
	case engine.EventClear:
		return r.Clear(KeyOf(source, ev.Alarm), ev.Time)
	}
	return nil
}
