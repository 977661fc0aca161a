package ahusim

import (
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// Holding registers of the vfd-fan profile (crah-modbus.md).
const (
	VFDControlWord     = 0
	VFDSpeedRef        = 1
	VFDStatusWord      = 2
	VFDActualSpeed     = 3
	VFDPower           = 4 // and 5, float32 CDAB
	VFDCommLossTimeout = 6
	VFDCommLossAction  = 7
	VFDFallbackSpeed   = 8
)

// Comm-loss actions (register 7).
const (
	ActionNone     = 0
	ActionHold     = 1
	ActionFallback = 2
)

// VFDFullSpeed is the raw speed of 100 %.
const VFDFullSpeed = 20000

const vfdRegs = 9

// VFD is a simulated fan drive with the vfd-fan register map. It is safe for concurrent use.
type VFD struct {
	core
	hold     [vfdRegs]uint16 // 2..5 are computed on read
	lastMsg  time.Duration   // last write to register 0 or 1 (or power-up)
	commLoss bool            // latched until the next write to 0 or 1
	held     uint16          // speed held by action 1
}

// NewVFD makes a drive with the spec's power-up values: stopped (control word 0), speed
// reference 0, comm-loss timeout 10 s, action 2 (fallback speed), fallback speed 100 %. The
// comm-loss timer runs from power-up: a drive no master ever talks to goes to its fallback
// speed after the timeout (more air), like a drive configured for it in the field.
func NewVFD(id byte, opt Options) *VFD {
	v := &VFD{}
	v.init(id, "vfd", opt)
	v.hold[VFDCommLossTimeout] = 100
	v.hold[VFDCommLossAction] = ActionFallback
	v.hold[VFDFallbackSpeed] = VFDFullSpeed
	v.lastMsg = v.last
	return v
}

func (v *VFD) commanded() uint16 {
	if v.hold[VFDControlWord]&1 == 0 {
		return 0
	}
	return v.hold[VFDSpeedRef]
}

// lock takes the mutex and brings the comm-loss timer up to date.
func (v *VFD) lock() time.Duration {
	now := v.lockNow()
	if t := v.hold[VFDCommLossTimeout]; t > 0 && !v.commLoss && v.hold[VFDCommLossAction] != ActionNone &&
		now-v.lastMsg >= time.Duration(t)*100*time.Millisecond {
		v.commLoss = true
		v.held = v.commanded()
	}
	return now
}

// fallback reports whether the drive runs on its own: comm loss with an action, or forced.
func (v *VFD) fallback() bool {
	return v.forced || v.commLoss && v.hold[VFDCommLossAction] != ActionNone
}

// speed is the raw speed the drive runs at.
func (v *VFD) speed() uint16 {
	switch {
	case v.tripped:
		return 0
	case v.forced, v.commLoss && v.hold[VFDCommLossAction] == ActionFallback:
		return v.hold[VFDFallbackSpeed]
	case v.commLoss && v.hold[VFDCommLossAction] == ActionHold:
		return v.held
	}
	return v.commanded()
}

func (v *VFD) effective() Effective {
	fb := v.fallback()
	e := Effective{
		Remote:   !fb,
		Fan:      float64(v.commanded()) / VFDFullSpeed,
		LocalFan: float64(v.speed()) / VFDFullSpeed,
		Fallback: fb,
		Tripped:  v.tripped,
	}
	if v.tripped {
		e.Fan = 0
	}
	return e
}

// Effective is what the drive does now. A drive has no coil: Valve and LocalSupplySP are 0.
// In comm-loss fallback (or forced) Remote is false and LocalFan is the fallback or held speed.
func (v *VFD) Effective() Effective {
	v.lock()
	defer v.mu.Unlock()
	return v.effective()
}

func (v *VFD) registers() [vfdRegs]uint16 {
	r := v.hold
	fb := v.fb
	if !v.fbSet {
		fb = Feedback{FanFrac: float64(v.speed()) / VFDFullSpeed}
	}
	fault := v.tripped || fb.FanFault
	var st uint16
	if frac(fb.FanFrac) > 0 && !fault {
		st |= 1 << 0
	}
	if fault {
		st |= 1 << 1
	}
	if v.fallback() {
		st |= 1 << 2
	}
	r[VFDStatusWord] = st
	r[VFDActualSpeed] = uint16(scaled(frac(fb.FanFrac), VFDFullSpeed, 0, VFDFullSpeed))
	hi, lo := f32(fb.FanKW)
	r[VFDPower], r[VFDPower+1] = lo, hi // CDAB
	return r
}

// ReadInputRegisters: a drive has no input registers; every read gets 0x02.
func (v *VFD) ReadInputRegisters(addr, count uint16) ([]uint16, error) {
	return nil, modbussim.ExIllegalAddress
}

// ReadHoldingRegisters answers function 03 for 0..8; others get 0x02. Reads never reset the
// comm-loss timer.
func (v *VFD) ReadHoldingRegisters(addr, count uint16) ([]uint16, error) {
	v.lock()
	defer v.mu.Unlock()
	if count == 0 {
		return nil, modbussim.ExIllegalValue
	}
	if int(addr)+int(count) > vfdRegs {
		return nil, modbussim.ExIllegalAddress
	}
	r := v.registers()
	return append([]uint16(nil), r[addr:int(addr)+int(count)]...), nil
}

// WriteHoldingRegisters applies a write atomically or refuses it whole: 0x02 for an address
// past 8 or a read-only register (2..5: status, actual speed, power), 0x03 for a speed above
// 20000 or an action above 2. Only accepted writes covering register 0 or 1 reset the
// comm-loss timer.
func (v *VFD) WriteHoldingRegisters(client string, fc byte, addr uint16, values []uint16) error {
	who := v.writer(client)
	now := v.lock()
	defer v.mu.Unlock()
	f := v.write(now, fc, addr, values)
	return v.recordWrite(Entry{
		TPlant: now.Seconds(), FC: int(fc), Addr: int(addr), Values: append([]uint16(nil), values...), Client: client, Writer: who,
		Remote: true, BMSTimeout: float64(v.hold[VFDCommLossTimeout]) / 10,
	}, f)
}

func (v *VFD) write(now time.Duration, fc byte, addr uint16, values []uint16) *fail {
	if f := checkWrite(fc, values); f != nil {
		return f
	}
	for i := range values {
		a := int(addr) + i
		if a >= vfdRegs {
			return refuse(modbussim.ExIllegalAddress, "holding register %d is not in the vfd-fan map", a)
		}
		if a >= VFDStatusWord && a <= VFDPower+1 {
			return refuse(modbussim.ExIllegalAddress, "holding register %d is read-only", a)
		}
	}
	touched := false
	for i, x := range values {
		a := int(addr) + i
		switch {
		case (a == VFDSpeedRef || a == VFDFallbackSpeed) && x > VFDFullSpeed:
			return refuse(modbussim.ExIllegalValue, "holding register %d = %d, want 0..%d", a, x, VFDFullSpeed)
		case a == VFDCommLossAction && x > ActionFallback:
			return refuse(modbussim.ExIllegalValue, "holding register %d (comm-loss action) = %d, want 0..2", a, x)
		}
		touched = touched || a == VFDControlWord || a == VFDSpeedRef
	}
	copy(v.hold[addr:], values)
	if touched {
		v.lastMsg, v.commLoss = now, false
	}
	return nil
}
