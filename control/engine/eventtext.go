package engine

import (
	"fmt"
	"strings"
	"time"
)

// fallbackAlarmPeriods: a unit still in local fallback after this many periods in which it was
// already commanded is alarmed. A unit found in fallback at start (no controller wrote to it yet)
// leaves it with the first heartbeat written; that is a start-up, not an alarm.
const fallbackAlarmPeriods = 5

// alarmWords names each alarm key for people (the reason texts carry the detail).
var alarmWords = map[string]string{
	"tripped":      "tripped",
	"fallback":     "in local fallback",
	"isolated":     "isolated",
	"degraded":     "degraded",
	"unit-alarm":   "unit alarm",
	"write":        "write failed",
	"insufficient": "insufficient sensors",
	"inlet-high":   "inlet above the alarm limit",
	"hot-spot":     "hot spot",
	"read-back":    "read-back point not available",
	"implausible":  "implausible reading",
	"sensor-range": "reading above the plausible range",
}

// Text is the event as one line for people (the event log, the simulator's view): who, what and
// why, e.g. "crah-2 alarm: tripped: not running, fan fault reported; crah-1, fan-3 pick up its
// share" or "zone row-a alarm: inlet 27.4 C above alarm limit 27.0 C".
func (e Event) Text() string {
	who := e.Unit
	if who == "" && e.Zone != "" {
		who = "zone " + e.Zone
	}
	var s string
	switch e.Kind {
	case EventMode:
		s = fmt.Sprintf("%s -> %s", e.From, e.To)
		if e.Reason != "" {
			s += ": " + e.Reason
		}
	case EventAlarm:
		s = "alarm: " + e.Reason
	case EventClear:
		w := alarmWords[e.Alarm]
		if w == "" {
			w = e.Alarm
		}
		s = "alarm cleared: " + w
	default:
		s = e.Reason
	}
	if who == "" {
		return s
	}
	return who + " " + s
}

// pickUp says which units carry unit j's air now that it gives none (tripped or isolated): the
// units in auto sharing a zone with it, which the allocator raises in the same period. The
// caller holds e.mu.
func (e *Engine) pickUp(j int) string {
	var names []string
	for k, o := range e.units {
		if k == j || o.mode != ModeAuto || o.tripped || o.isolated {
			continue
		}
		for _, z := range e.zones {
			if z.share[j] > 0 && z.share[k] > 0 {
				names = append(names, o.cfg.Name)
				break
			}
		}
	}
	switch len(names) {
	case 0:
		return "no other unit in auto serves its zones"
	case 1:
		return names[0] + " picks up its share"
	}
	return strings.Join(names, ", ") + " pick up its share"
}

// tripText is the tripped alarm's reason: what the unit reports, and who carries its air (its
// alarm code is the unit-alarm's).
func (e *Engine) tripText(u *unitRT) string {
	why := "not running"
	if u.st.FanFault {
		why += ", fan fault reported"
	}
	return "tripped: " + why + "; " + e.pickUp(e.byName[u.cfg.Name])
}

// autoReason says why a unit enters auto, from the mode it leaves.
func autoReason(from Mode) string {
	switch from {
	case ModeFailSafe:
		return "cause of the fail-safe cleared"
	case ModeTracking:
		return "tracking done"
	case ModeManual:
		return "operator returned it to auto"
	}
	return "auto"
}

// startGrace is how long after the first tick a zone whose sensors have not reported yet is not
// alarmed (it runs fail-safe meanwhile): about one sensor report interval.
func (e *Engine) startGrace() time.Duration {
	g := min(e.cfg.Control.MaxAge.Duration/3, time.Minute)
	return max(g, 2*e.period)
}
