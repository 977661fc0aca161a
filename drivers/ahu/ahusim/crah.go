package ahusim

import (
	"math"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// Holding registers of the crah-generic profile (crah-modbus.md).
const (
	CRAHRemoteEnable  = 0
	CRAHBMSTimeout    = 1
	CRAHFallbackFan   = 2
	CRAHLocalSupplySP = 3
	CRAHMinFan        = 4
	CRAHOwner         = 10
	CRAHEpoch         = 11
	CRAHHeartbeat     = 12
	CRAHFanCmd        = 13
	CRAHValveCmd      = 14
	CRAHFencing       = 15
)

// crahInputs is the number of input registers (0..9).
const crahInputs = 10

// crahRange is the accepted raw range of each listed holding register; an address missing
// from the map is not listed.
var crahRange = map[uint16][2]int{
	CRAHRemoteEnable:  {0, 1},
	CRAHBMSTimeout:    {0, 65535},
	CRAHFallbackFan:   {0, 1000},
	CRAHLocalSupplySP: {-400, 800}, // int16, -40..80 °C
	CRAHMinFan:        {0, 1000},
	CRAHOwner:         {0, 65535},
	CRAHEpoch:         {0, 65535},
	CRAHHeartbeat:     {0, 65535},
	CRAHFanCmd:        {0, 1000},
	CRAHValveCmd:      {0, 1000},
	CRAHFencing:       {0, 1},
}

var crahNames = map[uint16]string{
	CRAHRemoteEnable: "remote control enable", CRAHBMSTimeout: "BMS timeout", CRAHFallbackFan: "fallback fan speed",
	CRAHLocalSupplySP: "local supply air setpoint", CRAHMinFan: "minimum fan speed", CRAHOwner: "owner node id",
	CRAHEpoch: "owner epoch", CRAHHeartbeat: "BMS heartbeat", CRAHFanCmd: "fan speed command",
	CRAHValveCmd: "chilled-water valve command", CRAHFencing: "fencing enable",
}

// CRAH is a simulated chilled-water CRAH with the crah-generic register map. It is safe for
// concurrent use by the Modbus server and the plant loop.
type CRAH struct {
	core
	hold     [16]uint16
	lastHB   time.Duration // last heartbeat write, or the moment remote control was enabled
	timedOut bool          // BMS timeout latched until the next heartbeat
	alarm    uint16
}

// NewCRAH makes a CRAH with the power-up values of the spec: BMS timeout 10 s, fallback fan
// 100 %, local supply setpoint 18 °C, minimum fan 30 %, fencing off, owner/epoch/heartbeat 0.
// Remote control is off unless opt.RemoteEnabled (a unit fresh from the factory runs its own
// local control until commissioning enables the BMS). Fan and valve commands power up at 100 %:
// a unit whose remote control is enabled before its first command errs on more air and more
// cooling.
func NewCRAH(id byte, opt Options) *CRAH {
	c := &CRAH{}
	c.init(id, "crah", opt)
	c.hold[CRAHBMSTimeout] = 10
	c.hold[CRAHFallbackFan] = 1000
	c.hold[CRAHLocalSupplySP] = 180
	c.hold[CRAHMinFan] = 300
	c.hold[CRAHFanCmd] = 1000
	c.hold[CRAHValveCmd] = 1000
	if opt.RemoteEnabled {
		c.hold[CRAHRemoteEnable] = 1
	}
	c.lastHB = c.last
	return c
}

// lock takes the mutex and brings the BMS timer up to date.
func (c *CRAH) lock() time.Duration {
	now := c.lockNow()
	if c.hold[CRAHRemoteEnable] == 1 && c.hold[CRAHBMSTimeout] > 0 && !c.timedOut &&
		now-c.lastHB >= time.Duration(c.hold[CRAHBMSTimeout])*time.Second {
		c.timedOut = true
	}
	return now
}

func (c *CRAH) fallback() bool {
	return c.forced || c.hold[CRAHRemoteEnable] == 1 && c.timedOut
}

func (c *CRAH) effective() Effective {
	min := float64(c.hold[CRAHMinFan])
	fb := c.fallback()
	e := Effective{
		Remote:        c.hold[CRAHRemoteEnable] == 1 && !fb,
		Fan:           math.Max(float64(c.hold[CRAHFanCmd]), min) / 1000,
		Valve:         float64(c.hold[CRAHValveCmd]) / 1000,
		LocalFan:      math.Max(float64(c.hold[CRAHFallbackFan]), min) / 1000,
		LocalSupplySP: float64(int16(c.hold[CRAHLocalSupplySP])) / 10,
		Fallback:      fb,
		Tripped:       c.tripped,
	}
	if c.tripped {
		e.Fan, e.LocalFan = 0, 0
	}
	return e
}

// Effective is what the unit does now: remote (obeying registers 13/14, raised to the minimum
// fan) or local (fallback fan speed, also raised to the minimum, valve on the local supply-air
// setpoint). Local control with remote disabled uses the same fallback speed.
func (c *CRAH) Effective() Effective {
	c.lock()
	defer c.mu.Unlock()
	return c.effective()
}

// SetAlarm sets the alarm code reported when there is no fan fault (0 clears it).
func (c *CRAH) SetAlarm(code uint16) {
	c.mu.Lock()
	c.alarm = code
	c.mu.Unlock()
}

// Holding returns a holding register as stored (tests and the twin's status page).
func (c *CRAH) Holding(addr uint16) (uint16, bool) {
	c.lock()
	defer c.mu.Unlock()
	if _, ok := crahRange[addr]; !ok {
		return 0, false
	}
	return c.hold[addr], true
}

func (c *CRAH) inputs() [crahInputs]uint16 {
	e := c.effective()
	fb := c.fb
	if !c.fbSet {
		fb = Feedback{ReturnC: 24, SupplyC: 18, FanFrac: e.LocalFan}
		if e.Remote {
			fb.FanFrac, fb.ValveFrac = e.Fan, e.Valve
		}
	}
	fault := c.tripped || fb.FanFault
	code := c.alarm
	if fault {
		code = AlarmFanFault
	}
	var status uint16
	if frac(fb.FanFrac) > 0 && !fault {
		status |= 1 << 0
	}
	if code != 0 {
		status |= 1 << 1
	}
	if e.Fallback {
		status |= 1 << 2
	}
	if fault {
		status |= 1 << 3
	}
	if c.hold[CRAHRemoteEnable] == 1 {
		status |= 1 << 4
	}
	var r [crahInputs]uint16
	r[0] = i16(fb.ReturnC)
	r[1] = i16(fb.SupplyC)
	r[2] = uint16(scaled(frac(fb.FanFrac), 1000, 0, 1000))
	r[3] = uint16(scaled(frac(fb.ValveFrac), 1000, 0, 1000))
	r[4] = status
	r[5] = code
	r[6], r[7] = f32(fb.FanKW) // ABCD
	hi, lo := f32(fb.CoolKW)
	r[8], r[9] = lo, hi // CDAB
	return r
}

// ReadInputRegisters answers function 04 for addresses 0..9; others get 0x02.
func (c *CRAH) ReadInputRegisters(addr, count uint16) ([]uint16, error) {
	c.lock()
	defer c.mu.Unlock()
	if count == 0 {
		return nil, modbussim.ExIllegalValue
	}
	if int(addr)+int(count) > crahInputs {
		return nil, modbussim.ExIllegalAddress
	}
	in := c.inputs()
	return append([]uint16(nil), in[addr:int(addr)+int(count)]...), nil
}

// ReadHoldingRegisters answers function 03; a range touching an unlisted address (5..9, 16
// and up) gets 0x02. Reads never reset the BMS timer.
func (c *CRAH) ReadHoldingRegisters(addr, count uint16) ([]uint16, error) {
	c.lock()
	defer c.mu.Unlock()
	if count == 0 {
		return nil, modbussim.ExIllegalValue
	}
	out := make([]uint16, count)
	for i := range out {
		a := int(addr) + i
		if _, ok := crahRange[uint16(a)]; !ok || a > 0xFFFF {
			return nil, modbussim.ExIllegalAddress
		}
		out[i] = c.hold[a]
	}
	return out, nil
}

// WriteHoldingRegisters applies a function 6 or 16 write atomically, or refuses it whole:
// 0x02 when any address is not a listed holding register, 0x03 when any value is out of range,
// 0x04 when fencing is on and the write carries an epoch below the stored one. Every write is
// logged.
func (c *CRAH) WriteHoldingRegisters(client string, fc byte, addr uint16, values []uint16) error {
	who := c.writer(client)
	now := c.lock()
	defer c.mu.Unlock()
	f := c.write(now, fc, addr, values)
	return c.recordWrite(Entry{
		TPlant: now.Seconds(), FC: int(fc), Addr: int(addr), Values: append([]uint16(nil), values...), Client: client, Writer: who,
		Owner: int(c.hold[CRAHOwner]), Epoch: int(c.hold[CRAHEpoch]),
		Remote: c.hold[CRAHRemoteEnable] == 1, BMSTimeout: float64(c.hold[CRAHBMSTimeout]),
	}, f)
}

func (c *CRAH) write(now time.Duration, fc byte, addr uint16, values []uint16) *fail {
	if f := checkWrite(fc, values); f != nil {
		return f
	}
	for i := range values {
		a := int(addr) + i
		if _, ok := crahRange[uint16(a)]; !ok || a > 0xFFFF {
			return refuse(modbussim.ExIllegalAddress, "holding register %d is not in the crah-generic map", a)
		}
	}
	for i, v := range values {
		a := addr + uint16(i)
		rg := crahRange[a]
		x := int(v)
		if a == CRAHLocalSupplySP {
			x = int(int16(v))
		}
		if x < rg[0] || x > rg[1] {
			return refuse(modbussim.ExIllegalValue, "holding register %d (%s) = %d, want %d..%d", a, crahNames[a], x, rg[0], rg[1])
		}
	}
	covers := func(r uint16) (uint16, bool) {
		if r < addr || int(r) >= int(addr)+len(values) {
			return 0, false
		}
		return values[r-addr], true
	}
	if ep, ok := covers(CRAHEpoch); ok && c.hold[CRAHFencing] == 1 && ep < c.hold[CRAHEpoch] {
		return refuse(modbussim.ExSlaveDeviceFailure, "fenced: epoch %d is below the stored epoch %d of owner %d", ep, c.hold[CRAHEpoch], c.hold[CRAHOwner])
	}
	wasRemote := c.hold[CRAHRemoteEnable] == 1
	copy(c.hold[addr:], values)
	if v, ok := covers(CRAHRemoteEnable); ok {
		if v == 1 && !wasRemote {
			c.lastHB, c.timedOut = now, false // the timer starts when the BMS takes over
		}
		if v == 0 {
			c.timedOut = false
		}
	}
	if _, ok := covers(CRAHHeartbeat); ok {
		c.lastHB, c.timedOut = now, false
	}
	return nil
}
