package bms

import (
	"math"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/board/ops"
)

// The fixed layout (register-map.md documents it; TestRegisterMapDocument holds the two
// together). Changing an address is a new MapVersion.
const (
	MapVersion = 1

	HeaderBase = 0
	HeaderSize = 100

	ZoneBase   = 100
	ZoneStride = 24
	MaxZones   = 32

	UnitBase   = 1000
	UnitStride = 32
	MaxUnits   = 64

	AlarmBase   = 4000
	AlarmStride = 32
	MaxAlarms   = 32

	// Size is one past the last address: reads at or past it get exception 0x02.
	Size = AlarmBase + AlarmStride*MaxAlarms

	// NotAvailable is an int16 value that is unknown (NaN, a unit with no valve, an absent
	// zone or unit): 0x8000, -32768 as int16.
	NotAvailable uint16 = 0x8000
	// NotAvailable32 is a uint32 value that is unknown (the view's age before the first view).
	NotAvailable32 uint32 = 0xFFFFFFFF

	textWords = 8 // 16 ASCII characters
)

// Register types, as register-map.md names them.
const (
	tU16   = "uint16"
	tI16   = "int16"
	tU32   = "uint32"
	tBits  = "bits"
	tASCII = "ascii"
)

// field is one value of a block: its offset and width in registers, its type and scale as the
// document states them, and how to get it from the block's source. get returns a float64 for
// int16 (scaled by mult), a uint64 for uint16, uint32 and bits, a string for ascii.
type field[T any] struct {
	Off, Words int
	Type       string
	Scale      string // as documented: "0.1 °C", "1", "s", ...
	Name       string
	mult       float64 // int16: value × mult is the register
	get        func(T) any
}

// Field is a field without its getter, for the document check.
type Field struct {
	Off, Words  int
	Type, Scale string
	Name        string
}

func fieldsOf[T any](fs []field[T]) []Field {
	out := make([]Field, len(fs))
	for i, f := range fs {
		out[i] = Field{f.Off, f.Words, f.Type, f.Scale, f.Name}
	}
	return out
}

// Layout returns each block's fields by block name (header, zone, unit, alarm), offsets within
// the block.
func Layout() map[string][]Field {
	return map[string][]Field{
		"header": fieldsOf(headerFields),
		"zone":   fieldsOf(zoneFields),
		"unit":   fieldsOf(unitFields),
		"alarm":  fieldsOf(alarmFields),
	}
}

// Codes. Unknown strings get the "other" code; the text registers carry the words.
var (
	stateCodes = map[string]uint64{"starting": 0, "controlling": 1, "standby": 2, "fail-safe": 3}
	roleCodes  = map[string]uint64{"active": 1, "standby": 2, "fault": 3}
	modeCodes  = map[string]uint64{"auto": 1, "manual": 2, "fail-safe": 3, "tracking": 4, "autotune": 5, "disabled": 6}
	sevCodes   = map[string]uint64{"critical": 1, "major": 2, "minor": 3, "warning": 4}
)

const codeOther = 0xFF

func code(m map[string]uint64, s string) uint64 {
	if c, ok := m[s]; ok {
		return c
	}
	return codeOther
}

// Header status bits.
const (
	hdrViewAvailable = 1 << iota
	hdrStale
	hdrZonesTruncated
	hdrUnitsTruncated
	hdrAlarmsTruncated
	hdrCritical
)

// header is the header block's source.
type header struct {
	v                 *ops.View // a zero View with State "starting" before the first
	have              bool
	now               time.Time
	stale             bool
	bySev             [5]uint64 // index: severity code (0 other)
	tripped, isolated uint64
	zonesNotOK        uint64
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func dur(d time.Duration, unit time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64(d / unit)
}

var headerFields = []field[*header]{
	{Off: 0, Words: 1, Type: tU16, Scale: "1", Name: "map version", get: func(*header) any { return uint64(MapVersion) }},
	{Off: 1, Words: 1, Type: tU16, Scale: "code", Name: "controller state", get: func(h *header) any { return code(stateCodes, h.v.State) }},
	{Off: 2, Words: 1, Type: tU16, Scale: "code", Name: "role", get: func(h *header) any {
		if !h.have {
			return uint64(0)
		}
		return code(roleCodes, h.v.Role)
	}},
	{Off: 3, Words: 1, Type: tBits, Scale: "bits", Name: "status", get: func(h *header) any {
		var b uint64
		if h.have {
			b |= hdrViewAvailable
		}
		if h.stale {
			b |= hdrStale
		}
		if len(h.v.Zones) > MaxZones {
			b |= hdrZonesTruncated
		}
		if len(h.v.Units) > MaxUnits {
			b |= hdrUnitsTruncated
		}
		if len(h.v.Alarms) > MaxAlarms {
			b |= hdrAlarmsTruncated
		}
		if h.bySev[1] > 0 {
			b |= hdrCritical
		}
		return b
	}},
	{Off: 4, Words: 1, Type: tU16, Scale: "1", Name: "failover epoch", get: func(h *header) any { return uint64(h.v.Epoch) }},
	{Off: 5, Words: 2, Type: tU32, Scale: "1", Name: "configuration version", get: func(h *header) any { return uint64(max(h.v.ConfigVersion, 0)) }},
	{Off: 7, Words: 1, Type: tU16, Scale: "1", Name: "zones", get: func(h *header) any { return uint64(len(h.v.Zones)) }},
	{Off: 8, Words: 1, Type: tU16, Scale: "1", Name: "units", get: func(h *header) any { return uint64(len(h.v.Units)) }},
	{Off: 9, Words: 1, Type: tU16, Scale: "1", Name: "active alarms", get: func(h *header) any { return uint64(len(h.v.Alarms)) }},
	{Off: 10, Words: 1, Type: tU16, Scale: "1", Name: "critical alarms", get: func(h *header) any { return h.bySev[1] }},
	{Off: 11, Words: 1, Type: tU16, Scale: "1", Name: "major alarms", get: func(h *header) any { return h.bySev[2] }},
	{Off: 12, Words: 1, Type: tU16, Scale: "1", Name: "minor alarms", get: func(h *header) any { return h.bySev[3] }},
	{Off: 13, Words: 1, Type: tU16, Scale: "1", Name: "warning alarms", get: func(h *header) any { return h.bySev[4] }},
	{Off: 14, Words: 2, Type: tU32, Scale: "1", Name: "control periods", get: func(h *header) any { return h.v.Period.Count }},
	{Off: 16, Words: 2, Type: tU32, Scale: "1", Name: "period overruns", get: func(h *header) any { return h.v.Period.Overruns }},
	{Off: 18, Words: 2, Type: tU32, Scale: "s", Name: "uptime", get: func(h *header) any { return dur(h.v.Uptime, time.Second) }},
	{Off: 20, Words: 2, Type: tU32, Scale: "s", Name: "view age", get: func(h *header) any {
		if !h.have {
			return uint64(NotAvailable32)
		}
		return dur(h.now.Sub(h.v.Time), time.Second)
	}},
	{Off: 22, Words: 1, Type: tU16, Scale: "ms", Name: "control period", get: func(h *header) any { return dur(h.v.Period.Length, time.Millisecond) }},
	{Off: 23, Words: 1, Type: tU16, Scale: "ms", Name: "last period took", get: func(h *header) any { return dur(h.v.Period.Last, time.Millisecond) }},
	{Off: 24, Words: 1, Type: tU16, Scale: "1", Name: "zone base", get: func(*header) any { return uint64(ZoneBase) }},
	{Off: 25, Words: 1, Type: tU16, Scale: "1", Name: "zone stride", get: func(*header) any { return uint64(ZoneStride) }},
	{Off: 26, Words: 1, Type: tU16, Scale: "1", Name: "zone max", get: func(*header) any { return uint64(MaxZones) }},
	{Off: 27, Words: 1, Type: tU16, Scale: "1", Name: "unit base", get: func(*header) any { return uint64(UnitBase) }},
	{Off: 28, Words: 1, Type: tU16, Scale: "1", Name: "unit stride", get: func(*header) any { return uint64(UnitStride) }},
	{Off: 29, Words: 1, Type: tU16, Scale: "1", Name: "unit max", get: func(*header) any { return uint64(MaxUnits) }},
	{Off: 30, Words: 1, Type: tU16, Scale: "1", Name: "alarm base", get: func(*header) any { return uint64(AlarmBase) }},
	{Off: 31, Words: 1, Type: tU16, Scale: "1", Name: "alarm stride", get: func(*header) any { return uint64(AlarmStride) }},
	{Off: 32, Words: 1, Type: tU16, Scale: "1", Name: "alarm max", get: func(*header) any { return uint64(MaxAlarms) }},
	{Off: 33, Words: 1, Type: tU16, Scale: "1", Name: "units tripped", get: func(h *header) any { return h.tripped }},
	{Off: 34, Words: 1, Type: tU16, Scale: "1", Name: "units isolated", get: func(h *header) any { return h.isolated }},
	{Off: 35, Words: 1, Type: tU16, Scale: "1", Name: "zones short of sensors", get: func(h *header) any { return h.zonesNotOK }},
	{Off: 40, Words: textWords, Type: tASCII, Scale: "16 chars", Name: "site", get: func(h *header) any { return h.v.Site }},
	{Off: 48, Words: textWords, Type: tASCII, Scale: "16 chars", Name: "software", get: func(h *header) any { return h.v.Software }},
	{Off: 56, Words: textWords, Type: tASCII, Scale: "16 chars", Name: "state text", get: func(h *header) any { return h.v.State }},
	{Off: 64, Words: textWords, Type: tASCII, Scale: "16 chars", Name: "role text", get: func(h *header) any { return h.v.Role }},
}

// Severity bits in zone and unit blocks: bit (code-1) for codes 1..4.
type zoneSrc struct {
	z      *ops.Zone
	sev    uint64
	alarms uint64
}

var zoneFields = []field[*zoneSrc]{
	{Off: 0, Words: 1, Type: tU16, Scale: "1", Name: "present", get: func(*zoneSrc) any { return uint64(1) }},
	{Off: 1, Words: 1, Type: tBits, Scale: "bits", Name: "status", get: func(s *zoneSrc) any { return b2u(s.z.OK) | b2u(s.z.Alarm)<<1 }},
	{Off: 2, Words: 1, Type: tBits, Scale: "bits", Name: "alarm severities", get: func(s *zoneSrc) any { return s.sev }},
	{Off: 3, Words: 1, Type: tU16, Scale: "1", Name: "active alarms", get: func(s *zoneSrc) any { return s.alarms }},
	{Off: 4, Words: 1, Type: tI16, Scale: "0.1 °C", mult: 10, Name: "measurement", get: func(s *zoneSrc) any { return s.z.MeasureC }},
	{Off: 5, Words: 1, Type: tI16, Scale: "0.1 °C", mult: 10, Name: "setpoint", get: func(s *zoneSrc) any { return s.z.SetpointC }},
	{Off: 6, Words: 1, Type: tI16, Scale: "0.1 °C", mult: 10, Name: "hottest inlet", get: func(s *zoneSrc) any { return s.z.HottestC }},
	{Off: 7, Words: 1, Type: tI16, Scale: "0.1 %", mult: 10, Name: "demand", get: func(s *zoneSrc) any { return s.z.DemandPct }},
	{Off: 8, Words: 1, Type: tU16, Scale: "1", Name: "valid sensors", get: func(s *zoneSrc) any { return uint64(max(s.z.Valid, 0)) }},
	{Off: 9, Words: 1, Type: tU16, Scale: "1", Name: "configured sensors", get: func(s *zoneSrc) any { return uint64(max(s.z.Total, 0)) }},
	{Off: 16, Words: textWords, Type: tASCII, Scale: "16 chars", Name: "name", get: func(s *zoneSrc) any { return s.z.Name }},
}

type unitSrc struct {
	u      *ops.Unit
	sev    uint64
	alarms uint64
}

var unitFields = []field[*unitSrc]{
	{Off: 0, Words: 1, Type: tU16, Scale: "1", Name: "present", get: func(*unitSrc) any { return uint64(1) }},
	{Off: 1, Words: 1, Type: tBits, Scale: "bits", Name: "status", get: func(s *unitSrc) any {
		return b2u(s.u.Isolated) | b2u(s.u.Tripped)<<1 | b2u(s.u.Alarm)<<2
	}},
	{Off: 2, Words: 1, Type: tBits, Scale: "bits", Name: "alarm severities", get: func(s *unitSrc) any { return s.sev }},
	{Off: 3, Words: 1, Type: tU16, Scale: "1", Name: "active alarms", get: func(s *unitSrc) any { return s.alarms }},
	{Off: 4, Words: 1, Type: tU16, Scale: "code", Name: "mode", get: func(s *unitSrc) any { return code(modeCodes, s.u.Mode) }},
	{Off: 5, Words: 1, Type: tI16, Scale: "0.1 %", mult: 10, Name: "fan command", get: func(s *unitSrc) any { return s.u.FanCmdPct }},
	{Off: 6, Words: 1, Type: tI16, Scale: "0.1 %", mult: 10, Name: "fan read-back", get: func(s *unitSrc) any { return s.u.FanFbPct }},
	{Off: 7, Words: 1, Type: tI16, Scale: "0.1 %", mult: 10, Name: "valve command", get: func(s *unitSrc) any { return s.u.ValveCmdPct }},
	{Off: 8, Words: 1, Type: tI16, Scale: "0.1 %", mult: 10, Name: "valve read-back", get: func(s *unitSrc) any { return s.u.ValveFbPct }},
	{Off: 9, Words: 1, Type: tI16, Scale: "0.1 °C", mult: 10, Name: "supply air", get: func(s *unitSrc) any { return s.u.SupplyC }},
	{Off: 10, Words: 1, Type: tI16, Scale: "0.1 °C", mult: 10, Name: "return air", get: func(s *unitSrc) any { return s.u.ReturnC }},
	{Off: 11, Words: 1, Type: tI16, Scale: "0.01 kW", mult: 100, Name: "fan power", get: func(s *unitSrc) any { return s.u.FanKW }},
	{Off: 12, Words: 1, Type: tU16, Scale: "1", Name: "modbus unit id", get: func(s *unitSrc) any { return uint64(max(s.u.UnitID, 0)) }},
	{Off: 16, Words: textWords, Type: tASCII, Scale: "16 chars", Name: "name", get: func(s *unitSrc) any { return s.u.Name }},
	{Off: 24, Words: textWords, Type: tASCII, Scale: "16 chars", Name: "mode text", get: func(s *unitSrc) any { return s.u.Mode }},
}

// Alarm source kinds.
const (
	srcOther      = 0
	srcController = 1
	srcZone       = 2
	srcUnit       = 3
)

type alarmSrc struct {
	a     *ops.Alarm
	now   time.Time
	kind  uint64
	name  string
	index int // block index of its zone or unit; -1 when none (or past the maxima)
}

var alarmFields = []field[*alarmSrc]{
	{Off: 0, Words: 1, Type: tU16, Scale: "1", Name: "present", get: func(*alarmSrc) any { return uint64(1) }},
	{Off: 1, Words: 1, Type: tU16, Scale: "code", Name: "severity", get: func(s *alarmSrc) any {
		if c, ok := sevCodes[s.a.Severity]; ok {
			return c
		}
		return uint64(0)
	}},
	{Off: 2, Words: 1, Type: tBits, Scale: "bits", Name: "flags", get: func(s *alarmSrc) any {
		return b2u(s.a.AckedBy != "" || !s.a.AckedAt.IsZero()) | b2u(s.a.ShelvedUntil.After(s.now))<<1
	}},
	{Off: 3, Words: 1, Type: tU16, Scale: "code", Name: "source kind", get: func(s *alarmSrc) any { return s.kind }},
	{Off: 4, Words: 1, Type: tU16, Scale: "1", Name: "source index", get: func(s *alarmSrc) any {
		if s.index < 0 {
			return uint64(0xFFFF)
		}
		return uint64(s.index)
	}},
	{Off: 5, Words: 2, Type: tU32, Scale: "s", Name: "age", get: func(s *alarmSrc) any {
		if s.a.Raised.IsZero() {
			return uint64(NotAvailable32)
		}
		return dur(s.now.Sub(s.a.Raised), time.Second)
	}},
	{Off: 8, Words: textWords, Type: tASCII, Scale: "16 chars", Name: "kind", get: func(s *alarmSrc) any { return s.a.Kind }},
	{Off: 16, Words: textWords, Type: tASCII, Scale: "16 chars", Name: "source name", get: func(s *alarmSrc) any { return s.name }},
}

// put encodes fs from src into block (a block's registers). With src absent (nil getter input
// is not used) the int16 fields get NotAvailable and everything else stays 0.
func put[T any](block []uint16, fs []field[T], src T, absent bool) {
	for _, f := range fs {
		dst := block[f.Off : f.Off+f.Words]
		if absent {
			if f.Type == tI16 {
				dst[0] = NotAvailable
			}
			continue
		}
		switch v := f.get(src).(type) {
		case float64:
			dst[0] = int16Reg(v * f.mult)
		case uint64:
			if f.Words == 2 {
				u := min(v, uint64(NotAvailable32))
				dst[0], dst[1] = uint16(u>>16), uint16(u)
			} else {
				dst[0] = uint16(min(v, 0xFFFF))
			}
		case string:
			putText(dst, v)
		}
	}
}

// int16Reg is v rounded to a signed register, saturated at ±32767 so that -32768 stays the
// sentinel; NaN and ±Inf are NotAvailable.
func int16Reg(v float64) uint16 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return NotAvailable
	}
	r := math.Round(v)
	r = math.Max(-32767, math.Min(32767, r))
	return uint16(int16(r))
}

// putText writes s as ASCII, two characters a register, high byte first, padded with NUL and
// cut at the width; bytes outside printable ASCII become '?'.
func putText(dst []uint16, s string) {
	b := make([]byte, 2*len(dst))
	for i := range b {
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < 0x20 || c > 0x7E {
			c = '?'
		}
		b[i] = c
	}
	for i := range dst {
		dst[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
}

// Text decodes an ascii field (for tests and for clients written in Go).
func Text(regs []uint16) string {
	var sb strings.Builder
	for _, r := range regs {
		for _, c := range []byte{byte(r >> 8), byte(r)} {
			if c == 0 {
				return sb.String()
			}
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
