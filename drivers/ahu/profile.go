package ahu

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Sentinel errors. Every error of this package wraps one of them (or a Conn error) with context.
var (
	// ErrInvalidProfile: a profile failed Validate (or could not be decoded).
	ErrInvalidProfile = errors.New("ahu: invalid profile")
	// ErrUnknownProfile: Builtin was asked for a name it does not ship.
	ErrUnknownProfile = errors.New("ahu: unknown profile")
	// ErrNoPoint: the operation needs a point the unit's profile does not have.
	ErrNoPoint = errors.New("ahu: profile has no such point")
	// ErrBadValue: a value is NaN, outside the point's limits or outside its data type.
	ErrBadValue = errors.New("ahu: bad value")
	// ErrShortReply: the Conn returned fewer registers than requested.
	ErrShortReply = errors.New("ahu: short reply")
)

// Table is the Modbus register table a point lives in.
type Table uint8

// Register tables.
const (
	TableInput   Table = iota + 1 // function 04, read-only
	TableHolding                  // functions 03, 06, 16
)

func (t Table) String() string {
	switch t {
	case TableInput:
		return "input"
	case TableHolding:
		return "holding"
	}
	return fmt.Sprintf("table(%d)", uint8(t))
}

// Type is the data type of a point on the wire.
type Type uint8

// Data types.
const (
	Int16 Type = iota + 1
	Uint16
	Int32
	Uint32
	Float32
)

func (t Type) String() string {
	switch t {
	case Int16:
		return "int16"
	case Uint16:
		return "uint16"
	case Int32:
		return "int32"
	case Uint32:
		return "uint32"
	case Float32:
		return "float32"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Words is the number of 16-bit registers the type occupies (0 for an unknown type).
func (t Type) Words() int {
	switch t {
	case Int16, Uint16:
		return 1
	case Int32, Uint32, Float32:
		return 2
	}
	return 0
}

func (t Type) integer() bool { return t != Float32 }

// WordOrder is the byte layout of a value, written as the order in which the bytes A (most
// significant) to D (least significant) of a 32-bit value appear on the wire. For 16-bit types
// only the byte order inside the word matters: BADC and DCBA swap the two bytes, ABCD and CDAB
// do not.
type WordOrder uint8

// Word orders.
const (
	ABCD WordOrder = iota + 1 // big-endian, high word first (the Modbus norm)
	CDAB                      // low word first, bytes big-endian inside each word
	BADC                      // high word first, bytes swapped inside each word
	DCBA                      // little-endian
)

func (o WordOrder) String() string {
	switch o {
	case ABCD:
		return "ABCD"
	case CDAB:
		return "CDAB"
	case BADC:
		return "BADC"
	case DCBA:
		return "DCBA"
	}
	return fmt.Sprintf("order(%d)", uint8(o))
}

// Kind is what sort of unit a profile describes; it decides which roles are required.
type Kind string

// Unit kinds.
const (
	KindCRAH Kind = "crah" // fan and chilled-water valve, BMS heartbeat and local fallback
	KindVFD  Kind = "vfd"  // a fan on a variable-speed drive, comm-loss fallback
)

// Role says what a point means to the controller.
type Role string

// Roles of a CRAH.
const (
	RoleReturnTemp    Role = "return_temp"     // °C
	RoleSupplyTemp    Role = "supply_temp"     // °C
	RoleFanFeedback   Role = "fan_feedback"    // %
	RoleValveFeedback Role = "valve_feedback"  // %
	RoleStatus        Role = "status"          // bit field, see Point.Bits
	RoleAlarmCode     Role = "alarm_code"      // 0 = none
	RoleFanPower      Role = "fan_power"       // kW
	RoleCoolingPower  Role = "cooling_power"   // kW
	RoleRemoteEnable  Role = "remote_enable"   // 0/1
	RoleBMSTimeout    Role = "bms_timeout"     // s
	RoleFallbackFan   Role = "fallback_fan"    // %
	RoleLocalSupplySP Role = "local_supply_sp" // °C
	RoleMinFan        Role = "min_fan"         // %
	RoleOwner         Role = "owner"           // node id
	RoleEpoch         Role = "epoch"           // failover epoch
	RoleHeartbeat     Role = "heartbeat"       // counter
	RoleFanCmd        Role = "fan_cmd"         // %
	RoleValveCmd      Role = "valve_cmd"       // %
	RoleFencing       Role = "fencing"         // 0/1
)

// Roles of a fan drive.
const (
	RoleControlWord     Role = "control_word"      // bit field, Bits["run"]
	RoleSpeedRef        Role = "speed_ref"         // %
	RoleStatusWord      Role = "status_word"       // bit field, see Point.Bits
	RoleActualSpeed     Role = "actual_speed"      // %
	RoleCommLossTimeout Role = "comm_loss_timeout" // s
	RoleCommLossAction  Role = "comm_loss_action"  // 0 none, 1 hold, 2 fallback speed
	RoleFallbackSpeed   Role = "fallback_speed"    // %
)

// Status bit meanings understood by ReadState (keys of Point.Bits on a status or status_word
// point), and the run bit of a control word.
const (
	BitRunning  = "running"
	BitAlarm    = "alarm"
	BitFallback = "fallback"
	BitFanFault = "fan_fault"
	BitRemote   = "remote"
	BitRun      = "run"
)

// roleInfo describes what a role may be.
type roleInfo struct {
	kinds    []Kind
	group    roleGroup
	rawInt16 bool // a 16-bit integer with scale 1 and offset 0
	integer  bool // any integer type
	bits     []string
}

type roleGroup uint8

const (
	groupState roleGroup = iota + 1
	groupCommand
	groupSetting
)

var (
	crahOnly = []Kind{KindCRAH}
	vfdOnly  = []Kind{KindVFD}
	both     = []Kind{KindCRAH, KindVFD}
)

var roles = map[Role]roleInfo{
	RoleReturnTemp:    {kinds: crahOnly, group: groupState},
	RoleSupplyTemp:    {kinds: crahOnly, group: groupState},
	RoleFanFeedback:   {kinds: crahOnly, group: groupState},
	RoleValveFeedback: {kinds: crahOnly, group: groupState},
	RoleStatus:        {kinds: crahOnly, group: groupState, rawInt16: true, bits: []string{BitRunning, BitAlarm, BitFallback, BitFanFault, BitRemote}},
	RoleAlarmCode:     {kinds: both, group: groupState, integer: true},
	RoleFanPower:      {kinds: both, group: groupState},
	RoleCoolingPower:  {kinds: crahOnly, group: groupState},
	RoleRemoteEnable:  {kinds: crahOnly, group: groupSetting, integer: true},
	RoleBMSTimeout:    {kinds: crahOnly, group: groupSetting},
	RoleFallbackFan:   {kinds: crahOnly, group: groupSetting},
	RoleLocalSupplySP: {kinds: crahOnly, group: groupSetting},
	RoleMinFan:        {kinds: crahOnly, group: groupSetting},
	RoleOwner:         {kinds: crahOnly, group: groupCommand, rawInt16: true},
	RoleEpoch:         {kinds: crahOnly, group: groupCommand, rawInt16: true},
	RoleHeartbeat:     {kinds: crahOnly, group: groupCommand, rawInt16: true},
	RoleFanCmd:        {kinds: crahOnly, group: groupCommand},
	RoleValveCmd:      {kinds: crahOnly, group: groupCommand},
	RoleFencing:       {kinds: crahOnly, group: groupSetting, integer: true},

	RoleControlWord:     {kinds: vfdOnly, group: groupCommand, rawInt16: true, bits: []string{BitRun}},
	RoleSpeedRef:        {kinds: vfdOnly, group: groupCommand},
	RoleStatusWord:      {kinds: vfdOnly, group: groupState, rawInt16: true, bits: []string{BitRunning, BitAlarm, BitFallback, BitFanFault, BitRemote}},
	RoleActualSpeed:     {kinds: vfdOnly, group: groupState},
	RoleCommLossTimeout: {kinds: vfdOnly, group: groupSetting},
	RoleCommLossAction:  {kinds: vfdOnly, group: groupSetting, integer: true},
	RoleFallbackSpeed:   {kinds: vfdOnly, group: groupSetting},
}

// required lists, per kind, the roles the Unit cannot work without.
var required = map[Kind][]Role{
	KindCRAH: {RoleReturnTemp, RoleSupplyTemp, RoleFanFeedback, RoleStatus, RoleHeartbeat, RoleFanCmd, RoleValveCmd, RoleRemoteEnable, RoleBMSTimeout},
	KindVFD:  {RoleControlWord, RoleSpeedRef, RoleStatusWord, RoleActualSpeed, RoleCommLossTimeout},
}

// Roles lists every role a profile may use, sorted.
func Roles() []Role {
	out := make([]Role, 0, len(roles))
	for r := range roles {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Point is one named value in a unit's register map. The engineering value is raw*Scale+Offset.
type Point struct {
	Name     string
	Role     Role // "" for a documented point the controller does not use
	Table    Table
	Addr     uint16 // 0-based protocol address of the first register
	Type     Type
	Order    WordOrder
	Scale    float64
	Offset   float64
	Writable bool
	// Min and Max bound the engineering value the controller may write (and document the range a
	// reading should have); ±Inf when unbounded.
	Min, Max float64
	// Bits names the bits of a bit-field point: meaning -> bit number (0 = least significant).
	Bits map[string]uint8
}

// End is the address after the point's last register.
func (p *Point) End() int { return int(p.Addr) + p.Type.Words() }

func (p *Point) String() string {
	return fmt.Sprintf("point %q (%s %d)", p.Name, p.Table, p.Addr)
}

// Raw joins the point's registers into its raw bit pattern (16 or 32 bits), honouring the word
// order. words must hold Type.Words() registers.
func (p *Point) Raw(words []uint16) (uint32, error) {
	if len(words) != p.Type.Words() {
		return 0, fmt.Errorf("%w: %s needs %d registers, got %d", ErrShortReply, p, p.Type.Words(), len(words))
	}
	if p.Type.Words() == 1 {
		w := words[0]
		if p.Order == BADC || p.Order == DCBA {
			w = swap16(w)
		}
		return uint32(w), nil
	}
	w0, w1 := words[0], words[1]
	switch p.Order {
	case CDAB:
		return uint32(w1)<<16 | uint32(w0), nil
	case BADC:
		return uint32(swap16(w0))<<16 | uint32(swap16(w1)), nil
	case DCBA:
		return uint32(swap16(w1))<<16 | uint32(swap16(w0)), nil
	}
	return uint32(w0)<<16 | uint32(w1), nil
}

// Decode turns the point's registers into its engineering value.
func (p *Point) Decode(words []uint16) (float64, error) {
	raw, err := p.Raw(words)
	if err != nil {
		return 0, err
	}
	var v float64
	switch p.Type {
	case Int16:
		v = float64(int16(uint16(raw)))
	case Uint16:
		v = float64(uint16(raw))
	case Int32:
		v = float64(int32(raw))
	case Uint32:
		v = float64(raw)
	case Float32:
		v = float64(math.Float32frombits(raw))
	}
	return v*p.Scale + p.Offset, nil
}

// Encode turns an engineering value into the point's registers. It refuses NaN, values
// outside [Min, Max] and values the data type cannot hold, with an error wrapping ErrBadValue.
func (p *Point) Encode(v float64) ([]uint16, error) {
	if math.IsNaN(v) {
		return nil, fmt.Errorf("%w: %s: NaN", ErrBadValue, p)
	}
	if v < p.Min || v > p.Max {
		return nil, fmt.Errorf("%w: %s: %g outside limits %g..%g", ErrBadValue, p, v, p.Min, p.Max)
	}
	r := (v - p.Offset) / p.Scale
	var raw uint32
	switch p.Type {
	case Float32:
		if math.IsInf(r, 0) || math.Abs(r) > math.MaxFloat32 {
			return nil, fmt.Errorf("%w: %s: %g does not fit float32", ErrBadValue, p, v)
		}
		raw = math.Float32bits(float32(r))
	default:
		r = math.Round(r)
		lo, hi := p.Type.rawRange()
		if r < lo || r > hi {
			return nil, fmt.Errorf("%w: %s: %g is raw %g, outside %s range %g..%g", ErrBadValue, p, v, r, p.Type, lo, hi)
		}
		if r < 0 {
			raw = uint32(int32(r))
		} else {
			raw = uint32(r)
		}
	}
	return p.words(raw), nil
}

// words splits a raw bit pattern into registers in the point's word order.
func (p *Point) words(raw uint32) []uint16 {
	if p.Type.Words() == 1 {
		w := uint16(raw)
		if p.Order == BADC || p.Order == DCBA {
			w = swap16(w)
		}
		return []uint16{w}
	}
	hi, lo := uint16(raw>>16), uint16(raw)
	switch p.Order {
	case CDAB:
		return []uint16{lo, hi}
	case BADC:
		return []uint16{swap16(hi), swap16(lo)}
	case DCBA:
		return []uint16{swap16(lo), swap16(hi)}
	}
	return []uint16{hi, lo}
}

func (t Type) rawRange() (lo, hi float64) {
	switch t {
	case Int16:
		return math.MinInt16, math.MaxInt16
	case Uint16:
		return 0, math.MaxUint16
	case Int32:
		return math.MinInt32, math.MaxInt32
	case Uint32:
		return 0, math.MaxUint32
	}
	return math.Inf(-1), math.Inf(1)
}

func swap16(w uint16) uint16 { return w<<8 | w>>8 }

// Profile is a unit's register map: named points with roles. Points are kept sorted by table
// and address.
type Profile struct {
	Name        string
	Kind        Kind
	Description string
	Points      []Point
}

// Point returns the point with the given role.
func (p *Profile) Point(r Role) (*Point, bool) {
	for i := range p.Points {
		if p.Points[i].Role == r {
			return &p.Points[i], true
		}
	}
	return nil, false
}

// Clone returns a deep copy, so a caller may change it without touching the original.
func (p *Profile) Clone() *Profile {
	c := *p
	c.Points = make([]Point, len(p.Points))
	for i, pt := range p.Points {
		if pt.Bits != nil {
			b := make(map[string]uint8, len(pt.Bits))
			for k, v := range pt.Bits {
				b[k] = v
			}
			pt.Bits = b
		}
		c.Points[i] = pt
	}
	return &c
}

func (p *Profile) sortPoints() {
	sort.SliceStable(p.Points, func(i, j int) bool {
		a, b := p.Points[i], p.Points[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		return a.Addr < b.Addr
	})
}

// Validate checks the profile: every point well formed, no two points sharing a register, no
// writable input register, roles known, unique, allowed for the kind and of a fitting type,
// every role the kind needs present, and the command block one run of adjacent writable holding
// registers (so WriteCommand is one atomic request). The error wraps ErrInvalidProfile and lists
// every problem found.
func (p *Profile) Validate() error {
	probs := p.problems()
	if len(probs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: profile %q: %s", ErrInvalidProfile, p.Name, strings.Join(probs, "; "))
}

// problems lists everything Validate objects to.
func (p *Profile) problems() []string {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if p.Name == "" {
		add("no name")
	}
	if p.Kind != KindCRAH && p.Kind != KindVFD {
		add("kind %q: want %q or %q", p.Kind, KindCRAH, KindVFD)
	}
	if len(p.Points) == 0 {
		add("no points")
	}
	names := map[string]bool{}
	byRole := map[Role]*Point{}
	for i := range p.Points {
		pt := &p.Points[i]
		where := fmt.Sprintf("point %q", pt.Name)
		if pt.Name == "" {
			where = fmt.Sprintf("point #%d", i+1)
			add("%s: no name", where)
		} else if names[pt.Name] {
			add("%s: name used twice", where)
		}
		names[pt.Name] = true
		if pt.Table != TableInput && pt.Table != TableHolding {
			add("%s: table %s: want input or holding", where, pt.Table)
		}
		if pt.Type.Words() == 0 {
			add("%s: type %s: want int16, uint16, int32, uint32 or float32", where, pt.Type)
		}
		if pt.Order < ABCD || pt.Order > DCBA {
			add("%s: word order %s: want ABCD, CDAB, BADC or DCBA", where, pt.Order)
		}
		if pt.Scale == 0 || math.IsNaN(pt.Scale) || math.IsInf(pt.Scale, 0) {
			add("%s: scale %g: want a finite non-zero number", where, pt.Scale)
		}
		if math.IsNaN(pt.Offset) || math.IsInf(pt.Offset, 0) {
			add("%s: offset %g: want a finite number", where, pt.Offset)
		}
		if math.IsNaN(pt.Min) || math.IsNaN(pt.Max) || pt.Min > pt.Max {
			add("%s: limits %g..%g: want min <= max", where, pt.Min, pt.Max)
		}
		if pt.Table == TableInput && pt.Writable {
			add("%s: an input register cannot be writable", where)
		}
		if w := pt.Type.Words(); w > 0 && int(pt.Addr)+w > 65536 {
			add("%s: address %d + %d registers runs past 65535", where, pt.Addr, w)
		}
		for m, b := range pt.Bits {
			if int(b) >= 16*pt.Type.Words() {
				add("%s: bit %q = %d does not fit %s", where, m, b, pt.Type)
			}
		}
		if pt.Role == "" {
			if len(pt.Bits) > 0 && !pt.Type.integer() {
				add("%s: bits on a %s point", where, pt.Type)
			}
			continue
		}
		info, ok := roles[pt.Role]
		if !ok {
			add("%s: unknown role %q", where, pt.Role)
			continue
		}
		if prev, dup := byRole[pt.Role]; dup {
			add("%s: role %s already taken by point %q", where, pt.Role, prev.Name)
		}
		byRole[pt.Role] = pt
		if !kindAllowed(info.kinds, p.Kind) && (p.Kind == KindCRAH || p.Kind == KindVFD) {
			add("%s: role %s does not belong to a %s profile", where, pt.Role, p.Kind)
		}
		if info.rawInt16 && (pt.Type.Words() != 1 || pt.Scale != 1 || pt.Offset != 0) {
			add("%s: role %s wants a 16-bit integer with scale 1 and offset 0", where, pt.Role)
		}
		if info.integer && !pt.Type.integer() {
			add("%s: role %s wants an integer type, not %s", where, pt.Role, pt.Type)
		}
		if (info.group == groupCommand || info.group == groupSetting) && (pt.Table != TableHolding || !pt.Writable) {
			add("%s: role %s must be a writable holding register", where, pt.Role)
		}
		for m := range pt.Bits {
			if !contains(info.bits, m) {
				add("%s: bit meaning %q not known for role %s (known: %s)", where, m, pt.Role, strings.Join(info.bits, ", "))
			}
		}
	}
	if p.Kind == KindCRAH || p.Kind == KindVFD {
		for _, r := range required[p.Kind] {
			if _, ok := byRole[r]; !ok {
				add("a %s profile needs a point with role %s", p.Kind, r)
			}
		}
	}
	if cw, ok := byRole[RoleControlWord]; ok {
		if _, ok := cw.Bits[BitRun]; !ok {
			add("point %q: control word needs bits.run", cw.Name)
		}
	}
	probs = append(probs, overlaps(p.Points)...)
	if len(probs) == 0 {
		if _, err := commandBlock(p); err != nil {
			probs = append(probs, err.Error())
		}
	}
	return probs
}

func kindAllowed(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// overlaps reports pairs of points of the same table that share a register.
func overlaps(pts []Point) []string {
	idx := make([]int, len(pts))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		pa, pb := pts[idx[a]], pts[idx[b]]
		if pa.Table != pb.Table {
			return pa.Table < pb.Table
		}
		return pa.Addr < pb.Addr
	})
	var out []string
	for k := 1; k < len(idx); k++ {
		// Compare with every earlier point of the table that could still reach this one.
		cur := &pts[idx[k]]
		for j := k - 1; j >= 0; j-- {
			prev := &pts[idx[j]]
			if prev.Table != cur.Table {
				break
			}
			if prev.End() > int(cur.Addr) {
				out = append(out, fmt.Sprintf("point %q (%s %d..%d) overlaps point %q (%s %d..%d)",
					cur.Name, cur.Table, cur.Addr, cur.End()-1, prev.Name, prev.Table, prev.Addr, prev.End()-1))
			}
			if int(cur.Addr)-int(prev.Addr) > 2 {
				break
			}
		}
	}
	return out
}

// commandBlock returns the command points in address order and checks that they are one run
// of adjacent writable holding registers.
func commandBlock(p *Profile) ([]*Point, error) {
	var pts []*Point
	for i := range p.Points {
		if info, ok := roles[p.Points[i].Role]; ok && info.group == groupCommand {
			pts = append(pts, &p.Points[i])
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].Addr < pts[j].Addr })
	for i := 1; i < len(pts); i++ {
		if int(pts[i].Addr) != pts[i-1].End() {
			return nil, fmt.Errorf("command points must be adjacent holding registers so one request writes them atomically: point %q ends at %d, point %q starts at %d",
				pts[i-1].Name, pts[i-1].End()-1, pts[i].Name, pts[i].Addr)
		}
	}
	if len(pts) > 0 && pts[len(pts)-1].End()-int(pts[0].Addr) > 123 {
		return nil, fmt.Errorf("command block is longer than 123 registers")
	}
	return pts, nil
}
