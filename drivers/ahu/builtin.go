package ahu

import (
	"fmt"
	"math"
	"sort"
)

var inf = math.Inf(1)

// pt builds a point with the common defaults (ABCD, offset 0, unbounded).
func pt(name string, role Role, t Table, addr uint16, typ Type, scale float64) Point {
	return Point{Name: name, Role: role, Table: t, Addr: addr, Type: typ, Order: ABCD, Scale: scale, Min: -inf, Max: inf}
}

func (p Point) rw(min, max float64) Point {
	p.Writable, p.Min, p.Max = true, min, max
	return p
}

func (p Point) order(o WordOrder) Point { p.Order = o; return p }

func (p Point) limits(min, max float64) Point { p.Min, p.Max = min, max; return p }

func (p Point) bits(b map[string]uint8) Point { p.Bits = b; return p }

// builtins builds the profiles of /work/shared/specs/crah-modbus.md afresh on every call, so a
// caller can never change the shipped tables.
var builtins = map[string]func() *Profile{
	"crah-generic": func() *Profile {
		const in, hold = TableInput, TableHolding
		return &Profile{
			Name:        "crah-generic",
			Kind:        KindCRAH,
			Description: "chilled-water CRAH with a BMS interface (heartbeat, local fallback, optional fencing)",
			Points: []Point{
				pt("return air temperature", RoleReturnTemp, in, 0, Int16, 0.1).limits(-40, 80),
				pt("supply air temperature", RoleSupplyTemp, in, 1, Int16, 0.1).limits(-40, 80),
				pt("fan speed feedback", RoleFanFeedback, in, 2, Uint16, 0.1).limits(0, 100),
				pt("chilled-water valve feedback", RoleValveFeedback, in, 3, Uint16, 0.1).limits(0, 100),
				pt("status bits", RoleStatus, in, 4, Uint16, 1).bits(map[string]uint8{
					BitRunning: 0, BitAlarm: 1, BitFallback: 2, BitFanFault: 3, BitRemote: 4}),
				pt("alarm code", RoleAlarmCode, in, 5, Uint16, 1),
				pt("fan electrical power", RoleFanPower, in, 6, Float32, 1),
				pt("cooling delivered", RoleCoolingPower, in, 8, Float32, 1).order(CDAB),

				pt("remote control enable", RoleRemoteEnable, hold, 0, Uint16, 1).rw(0, 1),
				pt("BMS timeout", RoleBMSTimeout, hold, 1, Uint16, 1).rw(0, 65535),
				pt("fallback fan speed", RoleFallbackFan, hold, 2, Uint16, 0.1).rw(0, 100),
				pt("local supply air setpoint", RoleLocalSupplySP, hold, 3, Int16, 0.1).rw(-40, 80),
				pt("minimum fan speed", RoleMinFan, hold, 4, Uint16, 0.1).rw(0, 100),
				pt("owner node id", RoleOwner, hold, 10, Uint16, 1).rw(0, 65535),
				pt("owner epoch", RoleEpoch, hold, 11, Uint16, 1).rw(0, 65535),
				pt("BMS heartbeat", RoleHeartbeat, hold, 12, Uint16, 1).rw(0, 65535),
				pt("fan speed command", RoleFanCmd, hold, 13, Uint16, 0.1).rw(0, 100),
				pt("chilled-water valve command", RoleValveCmd, hold, 14, Uint16, 0.1).rw(0, 100),
				pt("fencing enable", RoleFencing, hold, 15, Uint16, 1).rw(0, 1),
			},
		}
	},
	"vfd-fan": func() *Profile {
		const hold = TableHolding
		return &Profile{
			Name:        "vfd-fan",
			Kind:        KindVFD,
			Description: "fan on a general-purpose variable-speed drive (no coil), comm-loss fallback",
			Points: []Point{
				pt("control word", RoleControlWord, hold, 0, Uint16, 1).rw(0, 65535).bits(map[string]uint8{BitRun: 0}),
				pt("speed reference", RoleSpeedRef, hold, 1, Uint16, 0.005).rw(0, 100),
				pt("status word", RoleStatusWord, hold, 2, Uint16, 1).bits(map[string]uint8{
					BitRunning: 0, BitFanFault: 1, BitAlarm: 1, BitFallback: 2}),
				pt("actual speed", RoleActualSpeed, hold, 3, Int16, 0.005).limits(0, 100),
				pt("output power", RoleFanPower, hold, 4, Float32, 1).order(CDAB),
				pt("comm-loss timeout", RoleCommLossTimeout, hold, 6, Uint16, 0.1).rw(0, 6553.5),
				pt("comm-loss action", RoleCommLossAction, hold, 7, Uint16, 1).rw(0, 2),
				pt("fallback speed", RoleFallbackSpeed, hold, 8, Uint16, 0.005).rw(0, 100),
			},
		}
	},
}

// Builtin returns a fresh copy of a shipped profile: "crah-generic" or "vfd-fan".
func Builtin(name string) (*Profile, error) {
	mk, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (built-in: %v)", ErrUnknownProfile, name, BuiltinNames())
	}
	p := mk()
	p.sortPoints()
	return p, nil
}

// BuiltinNames lists the shipped profiles, sorted.
func BuiltinNames() []string {
	out := make([]string, 0, len(builtins))
	for n := range builtins {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
