package ahusim

import (
	"fmt"
	"math"
	"sync"
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

// core is what every simulated unit has: its identity, plant clock and write log, the lock, the
// failure injections and the plant's feedback. *CRAH and *VFD embed it; it implements the
// Unit methods that do not depend on the register map.
type core struct {
	id        byte
	kind      string
	clock     func() time.Duration
	log       *Log
	connOwner func(client string) (int, bool)

	mu      sync.Mutex
	last    time.Duration // latest clock reading, so time never runs backwards per unit
	forced  bool
	tripped bool
	fb      Feedback
	fbSet   bool
}

func (c *core) init(id byte, kind string, opt Options) {
	c.id, c.kind, c.clock, c.log, c.connOwner = id, kind, opt.clock(), opt.Log, opt.ConnOwner
	c.last = c.clock()
}

// ID is the Modbus unit id.
func (c *core) ID() byte { return c.id }

// Kind is "crah" or "vfd".
func (c *core) Kind() string { return c.kind }

// lockNow takes the mutex and returns the plant time, never earlier than the last reading. The
// clock is read before locking so a clock that takes the plant's lock cannot deadlock against a
// plant loop calling Effective.
func (c *core) lockNow() time.Duration {
	now := c.clock()
	c.mu.Lock()
	if now < c.last {
		now = c.last
	}
	c.last = now
	return now
}

// SetFeedback stores the plant's outputs for the registers the unit reports. Until the first
// call a CRAH's feedback echoes its commands (temperatures 24.0 / 18.0 °C) and a drive's actual
// speed echoes the speed it runs at.
func (c *core) SetFeedback(f Feedback) {
	c.mu.Lock()
	c.fb, c.fbSet = f, true
	c.mu.Unlock()
}

// ForceFallback holds the unit in local fallback (status fallback bit set) while on.
func (c *core) ForceFallback(on bool) {
	c.mu.Lock()
	c.forced = on
	c.mu.Unlock()
}

// Trip sets or clears a fan fault: the fan stops; a CRAH sets status bits 1 and 3 and alarm
// code AlarmFanFault, a drive status bit 1.
func (c *core) Trip(on bool) {
	c.mu.Lock()
	c.tripped = on
	c.mu.Unlock()
}

// recordWrite logs a write (refused when f is not nil, with its reason) and returns f as the
// Modbus answer.
func (c *core) recordWrite(e Entry, f *fail) error {
	e.Unit, e.Kind, e.Accepted = int(c.id), c.kind, f == nil
	c.describe(&e)
	if f != nil {
		e.Reason = f.Error()
		e.Exception, e.Refusal = int(f.ex), refusalClass(f.ex)
		c.log.record(e)
		return f
	}
	c.log.record(e)
	return nil
}

// writer is who sent a write when the write does not say (no register 10 in it): the owner
// last written on the client's connection. Called before the unit's lock is taken.
func (c *core) writer(client string) *int {
	if c.connOwner == nil || c.log == nil {
		return nil
	}
	if o, ok := c.connOwner(client); ok {
		return &o
	}
	return nil
}

// describe fills the Entry's writer, writer_epoch, heartbeat, fan and valve from the values
// the write carried.
func (c *core) describe(e *Entry) {
	at := func(reg int) (int, bool) {
		i := reg - e.Addr
		if i < 0 || i >= len(e.Values) {
			return 0, false
		}
		return int(e.Values[i]), true
	}
	pct := func(v, full int) *float64 {
		x := math.Round(float64(v)*1000/float64(full)) / 10
		return &x
	}
	if c.kind == "vfd" {
		if v, ok := at(VFDSpeedRef); ok {
			e.Fan = pct(v, VFDFullSpeed)
		}
		return
	}
	if v, ok := at(CRAHOwner); ok {
		e.Writer = &v
	}
	if v, ok := at(CRAHEpoch); ok {
		e.WriterEpoch = &v
	}
	if v, ok := at(CRAHHeartbeat); ok {
		e.Heartbeat = &v
	}
	if v, ok := at(CRAHFanCmd); ok {
		e.Fan = pct(v, 1000)
	}
	if v, ok := at(CRAHValveCmd); ok {
		e.Valve = pct(v, 1000)
	}
}

func refusalClass(ex modbussim.Exception) string {
	switch ex {
	case modbussim.ExIllegalFunction:
		return "function"
	case modbussim.ExIllegalAddress:
		return "address"
	case modbussim.ExIllegalValue:
		return "value"
	case modbussim.ExSlaveDeviceFailure:
		return "fenced" // the only 0x04 a simulated unit answers
	}
	return "exception"
}

// checkWrite refuses what no unit writes: a function other than 6 and 16, or no values.
func checkWrite(fc byte, values []uint16) *fail {
	if fc != 6 && fc != 16 {
		return refuse(modbussim.ExIllegalFunction, "function %d cannot write", fc)
	}
	if len(values) == 0 {
		return refuse(modbussim.ExIllegalValue, "no values")
	}
	return nil
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
	// ConnOwner, if set, names the owner id last written on a client's connection
	// (modbussim.Server.ConnOwner): the write log's writer for writes without register 10.
	ConnOwner func(client string) (int, bool)
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
