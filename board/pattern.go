package board

import (
	"fmt"
	"time"
)

// Pattern is a blink pattern, a pure function of the time since it was set.
type Pattern int

// Patterns. Timings are chosen so that each is told apart at a glance from across a room:
// steady, 1 Hz, 5 Hz, one blip every 2 s, two blips every 2 s.
const (
	Off       Pattern = iota // dark
	On                       // steady
	Slow                     // 500 ms on, 500 ms off
	Fast                     // 100 ms on, 100 ms off
	Heartbeat                // 100 ms on every 2 s
	Double                   // two 100 ms blips every 2 s
)

func (p Pattern) String() string {
	switch p {
	case Off:
		return "off"
	case On:
		return "on"
	case Slow:
		return "slow"
	case Fast:
		return "fast"
	case Heartbeat:
		return "heartbeat"
	case Double:
		return "double"
	}
	return fmt.Sprintf("pattern(%d)", int(p))
}

// Level reports whether the LED is lit at elapsed time into the pattern.
func (p Pattern) Level(elapsed time.Duration) bool {
	if elapsed < 0 {
		elapsed = 0
	}
	ms := elapsed.Milliseconds()
	switch p {
	case On:
		return true
	case Slow:
		return ms%1000 < 500
	case Fast:
		return ms%200 < 100
	case Heartbeat:
		return ms%2000 < 100
	case Double:
		m := ms % 2000
		return m < 100 || (m >= 200 && m < 300)
	}
	return false
}

// Role is what the role LED shows.
type Role int

// Roles: steady = active (this board controls), slow = standby, fast = fault, dark = not
// running yet.
const (
	RoleUnknown Role = iota
	RoleActive
	RoleStandby
	RoleFault
)

// Pattern maps the role to its blink pattern.
func (r Role) Pattern() Pattern {
	switch r {
	case RoleActive:
		return On
	case RoleStandby:
		return Slow
	case RoleFault:
		return Fast
	}
	return Off
}

// Health is what the health LED shows.
type Health int

// Health states: heartbeat = running well (it also proves the software is alive), double blip
// = degraded (e.g. stale sensors, a unit in fallback), fast = fault (control loop late, storage
// failing).
const (
	HealthOK Health = iota
	HealthDegraded
	HealthFault
)

// Pattern maps the health to its blink pattern.
func (h Health) Pattern() Pattern {
	switch h {
	case HealthDegraded:
		return Double
	case HealthFault:
		return Fast
	}
	return Heartbeat
}

// Field is what the field LED shows about the field links (mesh gateway, Modbus lines).
type Field int

// Field states: steady = every link up, slow = some down, fast = all down, dark = none configured.
const (
	FieldNone Field = iota
	FieldOK
	FieldDegraded
	FieldDown
)

// Pattern maps the field state to its blink pattern.
func (f Field) Pattern() Pattern {
	switch f {
	case FieldOK:
		return On
	case FieldDegraded:
		return Slow
	case FieldDown:
		return Fast
	}
	return Off
}
