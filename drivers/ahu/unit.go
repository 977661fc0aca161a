package ahu

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// Conn is the Modbus client the Unit talks through; *modbus.Bus satisfies it. unit is the
// Modbus unit (slave) id, addresses are 0-based protocol addresses.
type Conn interface {
	ReadHolding(ctx context.Context, unit byte, addr, count uint16) ([]uint16, error)
	ReadInput(ctx context.Context, unit byte, addr, count uint16) ([]uint16, error)
	WriteMultiple(ctx context.Context, unit byte, addr uint16, values []uint16) error // function 16
	WriteSingle(ctx context.Context, unit byte, addr, value uint16) error             // function 6
}

// MaxReadRegisters is the most registers one read request may ask for (Modbus limit).
const MaxReadRegisters = 125

// State is one reading of a unit. Temperatures a profile does not have are NaN (a missing
// reading must never look like a cold one); powers, valve and alarm code it does not have are 0.
// A measurement the unit reports as not available (the 0x7FFF sentinel) or outside its valid
// range (temperatures -40..80 °C, percentages 0..100) is NaN too.
type State struct {
	ReturnC, SupplyC   float64
	FanPct, ValvePct   float64
	Running, Alarm     bool
	Fallback, FanFault bool
	// Remote: the unit obeys the controller. From the status "remote" bit where the profile has
	// one; a drive has no local mode, so there it is true unless the drive is in comm-loss fallback.
	Remote     bool
	AlarmCode  uint16
	FanKW      float64
	CoolingKW  float64
	StatusWord uint16 // the raw status register
}

// Command is one control write. FanPct and ValvePct are in percent; WriteCommand clamps them.
type Command struct {
	Owner, Epoch, Heartbeat uint16
	FanPct, ValvePct        float64
}

// Owner is the writer a CRAH last accepted a command block from.
type Owner struct {
	Node, Epoch, Heartbeat uint16
}

// Settings are the unit's own configuration registers. Zero numeric fields leave the unit's
// register as it is (a zero BMS timeout or fallback fan would defeat the fail-safe, so they are
// never written); the two booleans are always written where the profile has the register.
// A drive has no remote enable (RemoteEnable is ignored there) and no fencing (Fencing true is
// an error); its minimum fan lives only in the Unit.
type Settings struct {
	RemoteEnable   bool
	BMSTimeout     time.Duration // CRAH: whole seconds; drive: comm-loss timeout in 0.1 s
	FallbackFanPct float64       // fan speed after a BMS timeout / comm loss
	MinFanPct      float64       // the unit raises commands below it; WriteCommand never goes below it
	LocalSupplyC   float64       // supply-air setpoint of the unit's own valve loop
	Fencing        bool          // reject block writes with a stale epoch
}

// readBlock is one read request covering adjacent points of one table.
type readBlock struct {
	table       Table
	addr, count uint16
	points      []*Point
}

// Unit drives one air handler through a Conn according to its profile. Its methods are safe
// for concurrent use; requests are serialised by the Conn.
type Unit struct {
	c      Conn
	id     byte
	p      *Profile
	err    error // profile problems found by NewUnit, returned by every method
	state  []readBlock
	owner  []readBlock
	cmd    []*Point
	mu     sync.Mutex
	minFan float64
}

// NewUnit binds a profile to unit id on c. The profile is copied; an invalid profile makes
// every method return the validation error.
func NewUnit(c Conn, id byte, p *Profile) *Unit {
	u := &Unit{c: c, id: id}
	if p == nil {
		u.p = &Profile{}
		u.err = fmt.Errorf("ahu: unit %d: %w: nil profile", id, ErrInvalidProfile)
		return u
	}
	u.p = p.Clone()
	u.p.sortPoints()
	if err := u.p.Validate(); err != nil {
		u.err = fmt.Errorf("ahu: unit %d: %w", id, err)
		return u
	}
	var st, ow []*Point
	for i := range u.p.Points {
		pt := &u.p.Points[i]
		switch pt.Role {
		case RoleReturnTemp, RoleSupplyTemp, RoleFanFeedback, RoleValveFeedback, RoleStatus, RoleAlarmCode,
			RoleFanPower, RoleCoolingPower, RoleStatusWord, RoleActualSpeed:
			st = append(st, pt)
		case RoleOwner, RoleEpoch, RoleHeartbeat:
			ow = append(ow, pt)
		}
	}
	u.state = plan(st)
	u.owner = plan(ow)
	u.cmd, _ = commandBlock(u.p) // validated above
	return u
}

// plan groups points into the fewest read requests: adjacent points (no gap, since a gap may be
// an address the unit refuses) of the same table, at most MaxReadRegisters each.
func plan(pts []*Point) []readBlock {
	sort.Slice(pts, func(i, j int) bool {
		if pts[i].Table != pts[j].Table {
			return pts[i].Table < pts[j].Table
		}
		return pts[i].Addr < pts[j].Addr
	})
	var out []readBlock
	for _, pt := range pts {
		n := len(out)
		if n > 0 {
			b := &out[n-1]
			end := int(b.addr) + int(b.count)
			if b.table == pt.Table && int(pt.Addr) == end && pt.End()-int(b.addr) <= MaxReadRegisters {
				b.count = uint16(pt.End() - int(b.addr))
				b.points = append(b.points, pt)
				continue
			}
		}
		out = append(out, readBlock{table: pt.Table, addr: pt.Addr, count: uint16(pt.Type.Words()), points: []*Point{pt}})
	}
	return out
}

// ID is the unit's Modbus id.
func (u *Unit) ID() byte { return u.id }

// Profile returns a copy of the unit's profile.
func (u *Unit) Profile() *Profile { return u.p.Clone() }

// MinFanPct is the floor WriteCommand applies to the fan command.
func (u *Unit) MinFanPct() float64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.minFan
}

// SetMinFanPct sets the floor WriteCommand applies to the fan command (Configure sets it too).
func (u *Unit) SetMinFanPct(pct float64) error {
	if math.IsNaN(pct) || pct < 0 || pct > 100 {
		return fmt.Errorf("ahu: unit %d: %w: minimum fan %g %%: want 0..100", u.id, ErrBadValue, pct)
	}
	u.mu.Lock()
	u.minFan = pct
	u.mu.Unlock()
	return nil
}

func (u *Unit) read(ctx context.Context, b readBlock) ([]uint16, error) {
	var words []uint16
	var err error
	if b.table == TableInput {
		words, err = u.c.ReadInput(ctx, u.id, b.addr, b.count)
	} else {
		words, err = u.c.ReadHolding(ctx, u.id, b.addr, b.count)
	}
	if err == nil && len(words) != int(b.count) {
		err = fmt.Errorf("%w: %d registers, want %d", ErrShortReply, len(words), b.count)
	}
	if err != nil {
		return nil, fmt.Errorf("ahu: unit %d: read %s (%s %d..%d): %w", u.id, names(b.points), b.table, b.addr, int(b.addr)+int(b.count)-1, err)
	}
	return words, nil
}

func names(pts []*Point) string {
	if len(pts) == 1 {
		return fmt.Sprintf("%q", pts[0].Name)
	}
	return fmt.Sprintf("%q..%q", pts[0].Name, pts[len(pts)-1].Name)
}

// ReadState reads every state point with the fewest requests and decodes them.
func (u *Unit) ReadState(ctx context.Context) (State, error) {
	s := State{ReturnC: math.NaN(), SupplyC: math.NaN()}
	if u.err != nil {
		return s, u.err
	}
	remoteBit := false
	for _, b := range u.state {
		words, err := u.read(ctx, b)
		if err != nil {
			return State{ReturnC: math.NaN(), SupplyC: math.NaN()}, err
		}
		for _, pt := range b.points {
			off := int(pt.Addr - b.addr)
			v, err := pt.Decode(words[off : off+pt.Type.Words()])
			if err != nil {
				return State{ReturnC: math.NaN(), SupplyC: math.NaN()}, fmt.Errorf("ahu: unit %d: %w", u.id, err)
			}
			if !plausible(pt, words[off:off+pt.Type.Words()], v) {
				v = math.NaN() // not available: never a value (the engine refuses a NaN read-back)
			}
			switch pt.Role {
			case RoleReturnTemp:
				s.ReturnC = v
			case RoleSupplyTemp:
				s.SupplyC = v
			case RoleFanFeedback, RoleActualSpeed:
				s.FanPct = v
			case RoleValveFeedback:
				s.ValvePct = v
			case RoleAlarmCode:
				s.AlarmCode = uint16(v)
			case RoleFanPower:
				s.FanKW = v
			case RoleCoolingPower:
				s.CoolingKW = v
			case RoleStatus, RoleStatusWord:
				raw, _ := pt.Raw(words[off : off+1])
				s.StatusWord = uint16(raw)
				bit := func(m string) bool {
					n, ok := pt.Bits[m]
					return ok && raw&(1<<n) != 0
				}
				s.Running, s.Alarm, s.Fallback, s.FanFault = bit(BitRunning), bit(BitAlarm), bit(BitFallback), bit(BitFanFault)
				_, remoteBit = pt.Bits[BitRemote]
				s.Remote = bit(BitRemote)
			}
		}
	}
	if !remoteBit {
		s.Remote = !s.Fallback
	}
	if s.AlarmCode != 0 {
		s.Alarm = true
	}
	return s, nil
}

// Valid ranges of the read-back values: the crah-generic map gives temperatures as -40..80 °C
// and percentages as 0..1000 tenths (0..100 %).
const (
	minTempC, maxTempC = -40.0, 80.0
	minPct, maxPct     = 0.0, 100.0
)

// plausible reports whether a decoded measurement can be real: not the "not available" sentinel
// of a 16-bit register (0x7FFF, and 0x8000 as int16: 3276.7 % or -3276.8 °C at the usual 0.1
// scale), finite, and within the range of its kind. Status words and alarm codes are not
// measurements and always pass.
func plausible(pt *Point, words []uint16, v float64) bool {
	switch pt.Role {
	case RoleReturnTemp, RoleSupplyTemp, RoleFanFeedback, RoleActualSpeed, RoleValveFeedback, RoleFanPower, RoleCoolingPower:
	default:
		return true
	}
	if pt.Type.Words() == 1 {
		raw, err := pt.Raw(words)
		if err != nil || raw == 0x7fff || pt.Type == Int16 && raw == 0x8000 {
			return false
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	switch pt.Role {
	case RoleReturnTemp, RoleSupplyTemp:
		return v >= minTempC && v <= maxTempC
	case RoleFanFeedback, RoleActualSpeed, RoleValveFeedback:
		return v >= minPct && v <= maxPct
	}
	return v >= 0 // a power is never negative
}

// clampFan applies the fail-safe floor: 0..100 %, never below the unit's minimum, within the
// point's limits.
func clampPct(v, lo float64, pt *Point) float64 {
	v = math.Max(lo, math.Min(100, v))
	return math.Max(pt.Min, math.Min(pt.Max, v))
}

// WriteCommand writes the command block in one function-16 request: owner, epoch, heartbeat,
// fan and valve on a CRAH; control word (run bit) and speed reference on a drive. Fan and valve
// are clamped to 0..100 % and the fan is never below the unit's minimum (fail safe: more air).
// A NaN fan or valve is refused and nothing is written.
func (u *Unit) WriteCommand(ctx context.Context, c Command) error {
	if u.err != nil {
		return u.err
	}
	if math.IsNaN(c.FanPct) || math.IsNaN(c.ValvePct) {
		return fmt.Errorf("ahu: unit %d: %w: command fan %g %%, valve %g %%", u.id, ErrBadValue, c.FanPct, c.ValvePct)
	}
	fan := clampPct(c.FanPct, math.Max(0, u.MinFanPct()), mustPoint(u.cmd, RoleFanCmd, RoleSpeedRef))
	values := make([]uint16, 0, 8)
	for _, pt := range u.cmd {
		var v float64
		switch pt.Role {
		case RoleOwner:
			v = float64(c.Owner)
		case RoleEpoch:
			v = float64(c.Epoch)
		case RoleHeartbeat:
			v = float64(c.Heartbeat)
		case RoleFanCmd, RoleSpeedRef:
			v = fan
		case RoleValveCmd:
			v = clampPct(c.ValvePct, 0, pt)
		case RoleControlWord:
			if fan > 0 {
				v = float64(uint32(1) << pt.Bits[BitRun])
			}
		}
		w, err := pt.Encode(v)
		if err != nil {
			return fmt.Errorf("ahu: unit %d: command: %w", u.id, err)
		}
		values = append(values, w...)
	}
	first := u.cmd[0]
	if err := u.c.WriteMultiple(ctx, u.id, first.Addr, values); err != nil {
		return fmt.Errorf("ahu: unit %d: write command %s (holding %d..%d): %w", u.id, names(u.cmd), first.Addr, int(first.Addr)+len(values)-1, err)
	}
	return nil
}

func mustPoint(pts []*Point, rs ...Role) *Point {
	for _, pt := range pts {
		for _, r := range rs {
			if pt.Role == r {
				return pt
			}
		}
	}
	return &Point{Min: 0, Max: 100}
}

// ReadOwner reads the owner, epoch and heartbeat registers of a CRAH.
func (u *Unit) ReadOwner(ctx context.Context) (Owner, error) {
	if u.err != nil {
		return Owner{}, u.err
	}
	if len(u.owner) == 0 {
		return Owner{}, fmt.Errorf("ahu: unit %d: %w: profile %q has no owner, epoch or heartbeat point", u.id, ErrNoPoint, u.p.Name)
	}
	var o Owner
	for _, b := range u.owner {
		words, err := u.read(ctx, b)
		if err != nil {
			return Owner{}, err
		}
		for _, pt := range b.points {
			w := words[pt.Addr-b.addr]
			raw, _ := pt.Raw([]uint16{w})
			switch pt.Role {
			case RoleOwner:
				o.Node = uint16(raw)
			case RoleEpoch:
				o.Epoch = uint16(raw)
			case RoleHeartbeat:
				o.Heartbeat = uint16(raw)
			}
		}
	}
	return o, nil
}

// ReadCommand reads back the whole command block as the unit holds it (the last block it
// accepted, from whichever writer): owner, epoch, heartbeat, fan and valve. A 2N board that
// takes over rewrites it with its own owner block and the same fan and valve (bumpless), and a
// standby reads it as the witness.
func (u *Unit) ReadCommand(ctx context.Context) (Command, error) {
	if u.err != nil {
		return Command{}, u.err
	}
	if len(u.cmd) == 0 {
		return Command{}, fmt.Errorf("ahu: unit %d: %w: profile %q has no command block", u.id, ErrNoPoint, u.p.Name)
	}
	first, last := u.cmd[0], u.cmd[len(u.cmd)-1]
	n := last.End() - int(first.Addr)
	if n <= 0 || n > MaxReadRegisters {
		return Command{}, fmt.Errorf("ahu: unit %d: %w: command block of %d registers", u.id, ErrInvalidProfile, n)
	}
	words, err := u.c.ReadHolding(ctx, u.id, first.Addr, uint16(n))
	if err != nil {
		return Command{}, fmt.Errorf("ahu: unit %d: read command %s: %w", u.id, names(u.cmd), err)
	}
	if len(words) < n {
		return Command{}, fmt.Errorf("ahu: unit %d: read command: %d registers, want %d", u.id, len(words), n)
	}
	var c Command
	for _, pt := range u.cmd {
		off := int(pt.Addr - first.Addr)
		v, err := pt.Decode(words[off : off+pt.Type.Words()])
		if err != nil {
			return Command{}, fmt.Errorf("ahu: unit %d: read command: %w", u.id, err)
		}
		switch pt.Role {
		case RoleOwner:
			c.Owner = uint16(v)
		case RoleEpoch:
			c.Epoch = uint16(v)
		case RoleHeartbeat:
			c.Heartbeat = uint16(v)
		case RoleFanCmd, RoleSpeedRef:
			c.FanPct = v
		case RoleValveCmd:
			c.ValvePct = v
		}
	}
	return c, nil
}

// setting is one configuration register to write.
type setting struct {
	pt    *Point
	words []uint16
}

// Configure writes the unit's configuration registers: on a CRAH remote enable, BMS timeout,
// fallback fan, local supply setpoint, minimum fan and fencing; on a drive the comm-loss
// timeout, comm-loss action 2 (run at the fallback speed) and the fallback speed. Every value is
// checked before anything is written; adjacent registers go in one function-16 request, and
// the request holding remote enable goes last so the unit never obeys the BMS half configured.
// It also sets the fan floor of WriteCommand: MinFanPct, or when that is 0 the unit's own
// minimum-fan register where it has one.
func (u *Unit) Configure(ctx context.Context, s Settings) error {
	if u.err != nil {
		return u.err
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("ahu: unit %d: configure: "+format, append([]any{u.id}, args...)...)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"fallback fan", s.FallbackFanPct}, {"minimum fan", s.MinFanPct}, {"local supply setpoint", s.LocalSupplyC}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fail("%w: %s %g", ErrBadValue, f.name, f.v)
		}
	}
	if s.BMSTimeout < 0 {
		return fail("%w: BMS timeout %v is negative", ErrBadValue, s.BMSTimeout)
	}
	if s.FallbackFanPct < 0 || s.MinFanPct < 0 {
		return fail("%w: fallback fan %g %% / minimum fan %g %% must not be negative", ErrBadValue, s.FallbackFanPct, s.MinFanPct)
	}
	if s.FallbackFanPct > 0 && s.FallbackFanPct < s.MinFanPct {
		return fail("%w: fallback fan %g %% is below the minimum fan %g %%", ErrBadValue, s.FallbackFanPct, s.MinFanPct)
	}
	var sets []setting
	want := func(r Role, v float64, need bool, what string) error {
		pt, ok := u.p.Point(r)
		if !ok {
			if need {
				return fail("%w: %s needs a %s point, profile %q has none", ErrNoPoint, what, r, u.p.Name)
			}
			return nil
		}
		w, err := pt.Encode(v)
		if err != nil {
			return fail("%s: %w", what, err)
		}
		sets = append(sets, setting{pt, w})
		return nil
	}
	secs := s.BMSTimeout.Seconds()
	var err error
	switch u.p.Kind {
	case KindVFD:
		if s.BMSTimeout > 0 {
			err = firstErr(err, want(RoleCommLossTimeout, math.Max(0.1, math.Round(secs*10)/10), true, "BMS timeout"))
		}
		err = firstErr(err, want(RoleCommLossAction, 2, false, "comm-loss action"))
		if s.FallbackFanPct > 0 {
			err = firstErr(err, want(RoleFallbackSpeed, s.FallbackFanPct, false, "fallback fan"))
		}
		if s.Fencing {
			err = firstErr(err, fail("%w: fencing asked for, profile %q has no fencing point", ErrNoPoint, u.p.Name))
		}
	default:
		if s.BMSTimeout > 0 {
			err = firstErr(err, want(RoleBMSTimeout, math.Max(1, math.Round(secs)), true, "BMS timeout"))
		}
		if s.FallbackFanPct > 0 {
			err = firstErr(err, want(RoleFallbackFan, s.FallbackFanPct, true, "fallback fan"))
		}
		if s.LocalSupplyC != 0 {
			err = firstErr(err, want(RoleLocalSupplySP, s.LocalSupplyC, true, "local supply setpoint"))
		}
		if s.MinFanPct > 0 {
			err = firstErr(err, want(RoleMinFan, s.MinFanPct, false, "minimum fan"))
		}
		err = firstErr(err, want(RoleFencing, b2f(s.Fencing), s.Fencing, "fencing"))
		err = firstErr(err, want(RoleRemoteEnable, b2f(s.RemoteEnable), true, "remote enable"))
	}
	if err != nil {
		return err
	}
	for _, run := range runs(sets) {
		if err := u.c.WriteMultiple(ctx, u.id, run.addr, run.words); err != nil {
			return fmt.Errorf("ahu: unit %d: configure %s (holding %d..%d): %w", u.id, run.names, run.addr, int(run.addr)+len(run.words)-1, err)
		}
	}
	min := s.MinFanPct
	if min == 0 {
		if pt, ok := u.p.Point(RoleMinFan); ok {
			words, err := u.read(ctx, readBlock{table: pt.Table, addr: pt.Addr, count: uint16(pt.Type.Words()), points: []*Point{pt}})
			if err != nil {
				return err
			}
			if v, err := pt.Decode(words); err == nil && v >= 0 && v <= 100 {
				min = v
			}
		}
	}
	if min > 0 {
		u.mu.Lock()
		u.minFan = min
		u.mu.Unlock()
	}
	return nil
}

type writeRun struct {
	addr   uint16
	words  []uint16
	names  string
	remote bool
}

// runs merges settings at adjacent addresses into single writes, the one with remote enable
// last.
func runs(sets []setting) []writeRun {
	sort.Slice(sets, func(i, j int) bool { return sets[i].pt.Addr < sets[j].pt.Addr })
	var out []writeRun
	var pts []*Point
	flush := func() {
		if len(pts) > 0 {
			out[len(out)-1].names = names(pts)
		}
		pts = nil
	}
	for _, s := range sets {
		n := len(out)
		if n > 0 && int(out[n-1].addr)+len(out[n-1].words) == int(s.pt.Addr) {
			out[n-1].words = append(out[n-1].words, s.words...)
		} else {
			flush()
			out = append(out, writeRun{addr: s.pt.Addr, words: append([]uint16(nil), s.words...)})
		}
		pts = append(pts, s.pt)
		if s.pt.Role == RoleRemoteEnable {
			out[len(out)-1].remote = true
		}
	}
	flush()
	sort.SliceStable(out, func(i, j int) bool { return !out[i].remote && out[j].remote })
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
