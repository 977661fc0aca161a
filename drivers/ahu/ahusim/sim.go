package ahusim

import (
	"fmt"
	"math"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// Unit is what the twin holds for each simulated air handler: the Modbus side (Device) and the
// plant side (Effective, SetFeedback), plus the failure injections that live in the register
// bank. *CRAH and *VFD implement it.
type Unit interface {
	modbussim.Device
	// ID is the Modbus unit id; Kind is "crah" or "vfd".
	ID() byte
	Kind() string
	// Effective is what the unit does right now, for the plant model.
	Effective() Effective
	// SetFeedback feeds the plant's outputs back into the input registers.
	SetFeedback(Feedback)
	// ForceFallback holds the unit in local fallback (status fallback bit set) while on,
	// whatever the heartbeats; off returns it to the normal timer logic.
	ForceFallback(on bool)
	// Trip sets (or clears) a fan fault: the fan stops, status fan-fault and alarm bits set.
	Trip(on bool)
}

// Effective is what a simulated unit does, in the terms of the plant model's unit input.
type Effective struct {
	// Remote: the unit follows the controller's Fan and Valve. false: it runs on its own at
	// LocalFan with its valve on the LocalSupplySP loop (BMS fallback, remote control disabled,
	// or a drive's comm-loss fallback).
	Remote        bool
	Fan, Valve    float64 // 0..1, the commands in force (minimum fan applied)
	LocalFan      float64 // 0..1, the unit's own fan speed when not Remote
	LocalSupplySP float64 // °C, the unit's own supply-air setpoint when not Remote
	// Fallback: in BMS / comm-loss fallback (status bit set). Tripped: fan fault, airflow must
	// be zero; Fan and LocalFan are 0 then.
	Fallback bool
	Tripped  bool
}

// Feedback is what the plant reports back for a unit; it fills the input registers.
type Feedback struct {
	ReturnC, SupplyC float64
	FanFrac          float64 // 0..1
	ValveFrac        float64 // 0..1
	FanKW, CoolKW    float64
	FanFault         bool
}

// Options configure a simulated unit.
type Options struct {
	// Clock is plant time (monotonic, may run faster than real time). nil: real time since the
	// unit was made.
	Clock func() time.Duration
	// Log receives one JSON line per write; nil: no log.
	Log *Log
	// RemoteEnabled powers a CRAH up with remote control enabled (register 0 = 1). A real unit
	// ships with it off; the twin turns it on through ahu.Unit.Configure like a site would.
	RemoteEnabled bool
}

func (o Options) clock() func() time.Duration {
	if o.Clock != nil {
		return o.Clock
	}
	start := time.Now()
	return func() time.Duration { return time.Since(start) }
}

// AlarmFanFault is the alarm code a tripped CRAH reports in input register 5.
const AlarmFanFault = 31

// fail is a refused write: the exception for the Modbus reply and the reason for the log.
type fail struct {
	ex     modbussim.Exception
	reason string
}

func (f *fail) Error() string { return f.ex.Error() + ": " + f.reason }

// Unwrap lets errors.As find the Exception, which is what the server answers with.
func (f *fail) Unwrap() error { return f.ex }

func refuse(ex modbussim.Exception, format string, args ...any) *fail {
	return &fail{ex: ex, reason: fmt.Sprintf(format, args...)}
}

// scaled turns a physical value into a register value, clamped to the register's range (a
// sensor reading out of range saturates, it does not wrap).
func scaled(v, scale, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Max(lo, math.Min(hi, math.Round(v*scale)))
}

func i16(v float64) uint16 { return uint16(int16(scaled(v, 10, math.MinInt16, math.MaxInt16))) }

func frac(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Max(0, math.Min(1, v))
}

func f32(v float64) (hi, lo uint16) {
	b := math.Float32bits(float32(v))
	return uint16(b >> 16), uint16(b)
}
