package engine

import (
	"errors"
	"time"

	"github.com/coldaisle/coldaisle/control/site"
)

// Sentinel errors.
var (
	// ErrUnknownUnit: the name is not a unit of the site.
	ErrUnknownUnit = errors.New("engine: unknown unit")
	// ErrDisabled: the unit is disabled in the configuration and is never written.
	ErrDisabled = errors.New("engine: unit is disabled")
	// ErrBadValue: a value is out of range or not a number.
	ErrBadValue = errors.New("engine: bad value")
	// ErrBusy: an autotune experiment is already running on the unit.
	ErrBusy = errors.New("engine: autotune already running")
	// ErrNoFeedback: the operation needs the unit's read-back and the zone measurement.
	ErrNoFeedback = errors.New("engine: unit has no valid feedback")
	// ErrBadState: a checkpoint does not fit this engine.
	ErrBadState = errors.New("engine: bad state")
)

// Mode is how a unit's fan is driven.
type Mode uint8

// The unit modes. The zero value is ModeTracking: every unit starts by tracking its read-back.
const (
	ModeTracking Mode = iota // the loop follows the unit's read-back, the command holds it; then auto
	ModeAuto                 // zone loops + coordinator
	ModeManual               // operator fan %
	ModeFailSafe             // configured safe fan speed
	ModeAutotune             // relay experiment in place of the zone loop
	ModeDisabled             // never written
)

var modeNames = [...]string{"tracking", "auto", "manual", "fail-safe", "autotune", "disabled"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "unknown"
}

// ParseMode is the inverse of Mode.String.
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if n == s {
			return Mode(i), nil
		}
	}
	return 0, errors.New("engine: unknown mode " + s)
}

// MarshalText implements encoding.TextMarshaler (checkpoints and JSON snapshots).
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Reading is one sensor value as the mesh delivered it.
type Reading struct {
	Sensor  string    // "00-17-0d-00-00-38-0a-1f/2"
	Value   float64   // degrees C
	Fault   bool      // the node flagged the channel as faulty
	Time    time.Time // gateway time stamp: orders readings (ages use Arrival)
	Seq     uint8     // the node's report sequence number (duplicate detection)
	Arrival time.Time // when it reached the controller, on the engine's (monotonic) clock
}

// UnitState is a unit's read-back.
type UnitState struct {
	ReturnC, SupplyC float64
	FanPct, ValvePct float64 // feedback
	Running          bool
	Alarm            bool
	Fallback         bool // in local fallback (BMS timeout)
	FanFault         bool
	Remote           bool
	AlarmCode        uint16
	FanKW, CoolingKW float64
}

// Command is what the engine wants written to one unit this period.
type Command struct {
	Unit      string
	Owner     uint16 // the site's node id
	Epoch     uint16 // set by the caller with SetEpoch
	Heartbeat uint16 // incremented every period
	FanPct    float64
	ValvePct  float64
	Write     bool // false: do not write at all (disabled units)
}

// EventKind classifies an Event.
type EventKind uint8

// Event kinds.
const (
	EventMode     EventKind = iota + 1 // a unit changed mode
	EventAlarm                         // an alarm was raised
	EventClear                         // an alarm cleared
	EventAutotune                      // an autotune experiment finished or failed
	EventConfig                        // a configuration was applied
)

var eventNames = [...]string{"", "mode", "alarm", "clear", "autotune", "config"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Event is one entry for the event log.
type Event struct {
	Time     time.Time
	Kind     EventKind
	Unit     string // empty for zone events
	Zone     string // empty for unit events
	From, To Mode   // EventMode
	Alarm    string // alarm key, e.g. "isolated", "insufficient", "inlet-high"
	Reason   string
	Tuning   *site.Tuning // EventAutotune on success
}

// UnitSnapshot is one unit for a console or UI.
type UnitSnapshot struct {
	Name          string
	Mode          Mode
	Reason        string
	FanPct        float64 // last command
	ValvePct      float64
	FanFeedback   float64
	ValveFeedback float64
	SupplyC       float64
	ReturnC       float64
	Zone          string  // the zone the unit serves most
	MeasureC      float64 // that zone's measurement (NaN if insufficient)
	SetpointC     float64
	Isolated      bool
	Tripped       bool
	Alarm         bool
	Alarms        []string
	Heartbeat     uint16
	// ManualLeft is what is left of an operator's manual mode (0 when not in manual, or in the
	// configuration's manual_fan_pct, which does not expire).
	ManualLeft time.Duration
	FanKW      float64 // fan power the unit reports (0 when it does not)
	// Why says in words why the fan runs at its speed: the mode, or the binding zone's demand and
	// the unit's share, and the limit that applies.
	Why string
}

// ZoneSnapshot is one zone for a console or UI.
type ZoneSnapshot struct {
	Name      string
	MeasureC  float64 // NaN if insufficient
	SetpointC float64
	Valid     int
	Total     int
	OK        bool
	DemandPct float64 // zone loop output (weighted airflow demand)
	Alarm     bool
	HottestC  float64 // hottest counted inlet (raw), NaN when none
	HottestID string
	Alarms    []string // active alarm texts, sorted
}

// Snapshot is the whole engine for a console or UI.
type Snapshot struct {
	Time  time.Time
	Epoch uint16
	Units []UnitSnapshot
	Zones []ZoneSnapshot
}
