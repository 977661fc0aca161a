package field

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/ahu"
	"github.com/coldaisle/coldaisle/drivers/mesh"
	"github.com/coldaisle/coldaisle/drivers/modbus"
	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// The built-in register-map profiles are named in one place, drivers/ahu; site learns them here,
// in every program that can reach a unit.
func init() { site.RegisterBuiltinProfiles(ahu.BuiltinNames()...) }

// ErrUnknownUnit is returned for a unit name the site does not have.
var ErrUnknownUnit = errors.New("field: unknown unit")

// ErrLineDeferred: the unit's line is one Options.Defer kept closed (a standby's RTU line or a
// line of drives); OpenDeferred opens it.
var ErrLineDeferred = errors.New("field: line not opened on this board (it is not active)")

// ErrNeedsReopen: UpdateUnits cannot take a configuration whose lines, mesh port, profiles or
// units' addresses differ; open a new Field for it.
var ErrNeedsReopen = errors.New("field: the change needs the field reopened")

// Options tune the field. Zero fields take the defaults.
type Options struct {
	// Now is the clock readings are stamped with on arrival (default time.Now: monotonic).
	Now func() time.Time
	// Logf receives link-level messages (port reopen, unit configure failures).
	Logf func(format string, args ...any)
	// OtherReading, if set, gets the mesh readings that are not temperatures.
	OtherReading func(mesh.Reading)
	// WriteGate, if set, is asked right before every write goes on any line (modbus.Options):
	// the 2N pair's role and lease. nil: a board alone, always allowed.
	WriteGate func(now time.Time) error
	// Defer, if set, names the lines Open leaves closed until OpenDeferred: a 2N standby never
	// opens a line with one master (RTU) or with no owner block to witness (drives only).
	// Their units answer ErrLineDeferred meanwhile.
	Defer func(l site.Line) bool
}

// Witnessable reports whether a line lets a standby watch who writes: a TCP line (many masters)
// with at least one unit whose profile has an owner block (kind crah). Any other line has one
// master, or nothing to read who wrote: a 2N pair defers it (Options.Defer).
func Witnessable(cfg *site.Config, line site.Line) bool {
	t, err := modbus.ParseTarget(line.Target)
	if err != nil || t.Kind != "tcp" {
		return false
	}
	for _, u := range cfg.Units {
		if u.Line == line.Name && !u.DisableControls && profileKind(cfg, u.Profile) == ahu.KindCRAH {
			return true
		}
	}
	return false
}

func profileKind(cfg *site.Config, name string) ahu.Kind {
	if cfg.Profiles != "" {
		if ps, err := ahu.ParseProfiles([]byte(cfg.Profiles), "site profiles"); err == nil {
			for _, p := range ps {
				if p.Name == name {
					return p.Kind
				}
			}
		}
	}
	if p, err := ahu.Builtin(name); err == nil {
		return p.Kind
	}
	return ""
}

// Field is the open field I/O of one site. It implements engine.UnitIO.
type Field struct {
	cfg   *site.Config
	opts  Options
	ctx   context.Context
	buses map[string]*modbus.Bus // by line name, the lines opened at Open (never changed after)
	lazy  map[string]*lazyConn   // by line name, the lines Defer kept closed
	units map[string]*unitRef    // by unit name

	mu      sync.Mutex
	mesh    *mesh.Client
	battery map[string]uint16 // newest known battery (mV) by node (the sensor id before "/")
}

type unitRef struct {
	cfg                  site.Unit // replaced by UpdateUnits under Field.mu; read it with the lock
	id                   byte      // cfg.UnitID, fixed for the field's life
	hasSupply, hasReturn bool
	line                 string
	bus                  *modbus.Bus
	u                    *ahu.Unit
}

// Open dials every line and builds every unit of cfg. The buses stop when ctx ends or on Close.
func Open(ctx context.Context, cfg *site.Config, opts Options) (*Field, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	profiles := map[string]*ahu.Profile{}
	if cfg.Profiles != "" {
		ps, err := ahu.ParseProfiles([]byte(cfg.Profiles), "site profiles")
		if err != nil {
			return nil, fmt.Errorf("field: %w", err)
		}
		for _, p := range ps {
			profiles[p.Name] = p
		}
	}
	f := &Field{cfg: cfg, opts: opts, ctx: ctx, buses: map[string]*modbus.Bus{}, lazy: map[string]*lazyConn{}, units: map[string]*unitRef{}}
	for _, l := range cfg.Lines {
		if opts.Defer != nil && opts.Defer(l) {
			f.lazy[l.Name] = &lazyConn{line: l}
			continue
		}
		// No breaker on the control path: the engine is the one owner of a unit's failures
		// (it isolates, and the runner spaces the retries), so failures are not counted twice.
		b, err := modbus.DialContext(ctx, l.Target, modbus.Options{Timeout: l.Timeout.Duration, BreakerThreshold: -1, WriteGate: opts.WriteGate})
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("field: line %q: %w", l.Name, err)
		}
		f.buses[l.Name] = b
	}
	for _, uc := range cfg.Units {
		p, ok := profiles[uc.Profile]
		if !ok {
			var err error
			if p, err = ahu.Builtin(uc.Profile); err != nil {
				f.Close()
				return nil, fmt.Errorf("field: unit %q: %w", uc.Name, err)
			}
		}
		b := f.buses[uc.Line]
		var conn ahu.Conn = b
		if lz := f.lazy[uc.Line]; lz != nil {
			conn = lz
		} else if b == nil {
			f.Close()
			return nil, fmt.Errorf("field: unit %q: line %q is not declared", uc.Name, uc.Line)
		}
		u := ahu.NewUnit(conn, byte(uc.UnitID), p)
		if err := u.SetMinFanPct(uc.MinFanPct); err != nil {
			f.Close()
			return nil, fmt.Errorf("field: unit %q: %w", uc.Name, err)
		}
		_, hasSupply := p.Point(ahu.RoleSupplyTemp)
		_, hasReturn := p.Point(ahu.RoleReturnTemp)
		f.units[uc.Name] = &unitRef{cfg: uc, id: byte(uc.UnitID), line: uc.Line, bus: b, u: u, hasSupply: hasSupply, hasReturn: hasReturn}
	}
	return f, nil
}

// Close stops every bus.
func (f *Field) Close() {
	for _, b := range f.buses {
		b.Close()
	}
	f.CloseDeferred()
}

// OpenDeferred opens the lines Options.Defer kept closed (the board became active). A line that
// cannot be opened is reported and stays closed; the others open.
func (f *Field) OpenDeferred() error {
	var errs []error
	for name, lz := range f.lazy {
		lz.mu.Lock()
		if lz.bus == nil {
			b, err := modbus.DialContext(f.ctx, lz.line.Target, modbus.Options{Timeout: lz.line.Timeout.Duration, BreakerThreshold: -1, WriteGate: f.opts.WriteGate})
			if err != nil {
				errs = append(errs, fmt.Errorf("field: line %q: %w", name, err))
			} else {
				lz.bus = b
			}
		}
		lz.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Abort fails every request in progress and resets the TCP connections (modbus.Bus.Abort): a
// board that stops being active leaves nothing on the wire that could land later.
func (f *Field) Abort() {
	for _, b := range f.buses {
		b.Abort()
	}
}

// CloseDeferred closes the deferred lines again (the board is no longer active).
func (f *Field) CloseDeferred() {
	for _, lz := range f.lazy {
		lz.mu.Lock()
		if lz.bus != nil {
			lz.bus.Close()
			lz.bus = nil
		}
		lz.mu.Unlock()
	}
}

// lazyConn is a deferred line: no bus until OpenDeferred.
type lazyConn struct {
	line site.Line
	mu   sync.Mutex
	bus  *modbus.Bus
}

func (l *lazyConn) get() (*modbus.Bus, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bus == nil {
		return nil, fmt.Errorf("%w: %s", ErrLineDeferred, l.line.Name)
	}
	return l.bus, nil
}

func (l *lazyConn) ReadHolding(ctx context.Context, unit byte, addr, count uint16) ([]uint16, error) {
	b, err := l.get()
	if err != nil {
		return nil, err
	}
	return b.ReadHolding(ctx, unit, addr, count)
}

func (l *lazyConn) ReadInput(ctx context.Context, unit byte, addr, count uint16) ([]uint16, error) {
	b, err := l.get()
	if err != nil {
		return nil, err
	}
	return b.ReadInput(ctx, unit, addr, count)
}

func (l *lazyConn) WriteMultiple(ctx context.Context, unit byte, addr uint16, values []uint16) error {
	b, err := l.get()
	if err != nil {
		return err
	}
	return b.WriteMultiple(ctx, unit, addr, values)
}

func (l *lazyConn) WriteSingle(ctx context.Context, unit byte, addr, value uint16) error {
	b, err := l.get()
	if err != nil {
		return err
	}
	return b.WriteSingle(ctx, unit, addr, value)
}

// Deferred reports whether the unit's line is deferred and not open now.
func (f *Field) Deferred(unit string) bool {
	u, ok := f.units[unit]
	if !ok {
		return false
	}
	lz := f.lazy[u.line]
	if lz == nil {
		return false
	}
	_, err := lz.get()
	return err != nil
}

func (f *Field) logf(format string, args ...any) {
	if f.opts.Logf != nil {
		f.opts.Logf(format, args...)
	}
}

func (f *Field) unit(name string) (*unitRef, error) {
	u, ok := f.units[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownUnit, name)
	}
	return u, nil
}

// HasTemps reports whether the named unit's profile maps a supply and a return air temperature
// (a bare fan drive has neither, and no coil to control); false for an unknown unit.
func (f *Field) HasTemps(name string) (supply, ret bool) {
	u, ok := f.units[name]
	if !ok {
		return false, false
	}
	return u.hasSupply, u.hasReturn
}

// Unit returns the typed unit called name (for the console's commissioning and probes).
func (f *Field) Unit(name string) (*ahu.Unit, error) {
	u, err := f.unit(name)
	if err != nil {
		return nil, err
	}
	return u.u, nil
}

// Bus returns the bus of a line (false for a deferred line that is not open).
func (f *Field) Bus(line string) (*modbus.Bus, bool) {
	if lz := f.lazy[line]; lz != nil {
		b, err := lz.get()
		return b, err == nil
	}
	b, ok := f.buses[line]
	return b, ok
}

// BusOf returns the bus and Modbus id of a unit.
func (f *Field) BusOf(unit string) (*modbus.Bus, byte, error) {
	u, err := f.unit(unit)
	if err != nil {
		return nil, 0, err
	}
	b, ok := f.Bus(u.line)
	if !ok {
		return nil, 0, fmt.Errorf("%w: %s", ErrLineDeferred, u.line)
	}
	return b, u.id, nil
}

// ReadState implements engine.UnitIO.
func (f *Field) ReadState(ctx context.Context, name string) (engine.UnitState, error) {
	u, err := f.unit(name)
	if err != nil {
		return engine.UnitState{}, err
	}
	s, err := u.u.ReadState(ctx)
	if err != nil {
		return engine.UnitState{}, fmt.Errorf("field: unit %q: %w", name, err)
	}
	// A profile without temperature points (a bare fan drive) reads NaN there; the engine takes
	// 0 as "no coil to control", as in the lockstep bench. A unit that has the points and
	// returns garbage still reaches the engine as NaN and is refused there.
	if !u.hasSupply && math.IsNaN(s.SupplyC) {
		s.SupplyC = 0
	}
	if !u.hasReturn && math.IsNaN(s.ReturnC) {
		s.ReturnC = 0
	}
	return engine.UnitState{
		ReturnC: s.ReturnC, SupplyC: s.SupplyC,
		FanPct: s.FanPct, ValvePct: s.ValvePct,
		Running: s.Running, Alarm: s.Alarm, Fallback: s.Fallback, FanFault: s.FanFault, Remote: s.Remote,
		AlarmCode: s.AlarmCode, FanKW: s.FanKW, CoolingKW: s.CoolingKW,
	}, nil
}

// WriteCommand implements engine.UnitIO: the whole command block in one request.
func (f *Field) WriteCommand(ctx context.Context, name string, c engine.Command) error {
	u, err := f.unit(name)
	if err != nil {
		return err
	}
	if !c.Write {
		return nil
	}
	err = u.u.WriteCommand(ctx, ahu.Command{Owner: c.Owner, Epoch: c.Epoch, Heartbeat: c.Heartbeat, FanPct: c.FanPct, ValvePct: c.ValvePct})
	if err != nil {
		return fmt.Errorf("field: unit %q: %w", name, err)
	}
	return nil
}

// ReadOwner reads the owner block a unit last accepted (for a standby that checks who drives).
func (f *Field) ReadOwner(ctx context.Context, name string) (ahu.Owner, error) {
	u, err := f.unit(name)
	if err != nil {
		return ahu.Owner{}, err
	}
	return u.u.ReadOwner(ctx)
}

// ReadCommand reads back the command block a unit holds (owner block, fan, valve), for a 2N
// standby's witness and a bumpless takeover.
func (f *Field) ReadCommand(ctx context.Context, name string) (ahu.Command, error) {
	u, err := f.unit(name)
	if err != nil {
		return ahu.Command{}, err
	}
	return u.u.ReadCommand(ctx)
}

// Settings returns the unit settings the site asks for.
func Settings(u site.Unit) ahu.Settings {
	return ahu.Settings{
		RemoteEnable:   !u.DisableControls,
		BMSTimeout:     u.BMSTimeout.Duration,
		FallbackFanPct: u.FallbackFanPct,
		MinFanPct:      u.MinFanPct,
		LocalSupplyC:   u.SupplySPC,
		Fencing:        u.Fencing,
	}
}

// Change is what a new configuration asks of a Field built for an old one.
type Change int

const (
	Same         Change = iota // nothing the field uses changed
	SettingsOnly               // only units' own settings: UpdateUnits takes them
	Reopen                     // lines, mesh port, profiles, the set of units or an address: a new Field
)

// Compare says what a Field built for old needs to serve next: nothing; new unit settings (BMS
// timeout, fallback and minimum fan...), which UpdateUnits writes without dropping the Modbus
// connections or the mesh session; or a new Field for lines, the mesh port, custom profiles,
// the set of units, or a unit's line, id or profile.
func Compare(old, next *site.Config) Change {
	if old.Mesh != next.Mesh || old.Profiles != next.Profiles || !reflect.DeepEqual(old.Lines, next.Lines) ||
		len(old.Units) != len(next.Units) {
		return Reopen
	}
	change := Same
	seen := map[string]bool{}
	for _, u := range old.Units {
		n := next.Unit(u.Name)
		if n == nil || seen[u.Name] {
			return Reopen
		}
		seen[u.Name] = true
		if u.Line != n.Line || u.UnitID != n.UnitID || u.Profile != n.Profile {
			return Reopen
		}
		if Settings(u) != Settings(*n) {
			change = SettingsOnly
		}
	}
	return change
}

// UpdateUnits takes the unit settings of next (BMS timeout, fallback and minimum fan, local
// supply setpoint, fencing, remote enable) without reopening anything, when next keeps every
// line, the mesh port, the custom profiles and each unit's line, id and profile; otherwise it
// changes nothing and returns ErrNeedsReopen. It returns the units whose settings changed: the
// caller writes them (ConfigureUnit, or ConfigureUnits to retry until they answer).
func (f *Field) UpdateUnits(next *site.Config) ([]string, error) {
	// f.cfg keeps what the field was built from: UpdateUnits changes only units' settings, which
	// Compare does not hold against a reopen.
	if Compare(f.cfg, next) == Reopen {
		return nil, ErrNeedsReopen
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range next.Units {
		if math.IsNaN(n.MinFanPct) || n.MinFanPct < 0 || n.MinFanPct > 100 {
			return nil, fmt.Errorf("field: unit %q: minimum fan %g %%: want 0..100", n.Name, n.MinFanPct)
		}
	}
	var changed []string
	for _, n := range next.Units {
		u := f.units[n.Name]
		if Settings(u.cfg) != Settings(n) {
			changed = append(changed, n.Name)
		}
		u.cfg = n
		_ = u.u.SetMinFanPct(n.MinFanPct) // in range: checked above
	}
	sort.Strings(changed)
	return changed, nil
}

// ConfigureUnits writes every unit's own settings (remote enable, BMS timeout, fallback fan,
// minimum fan, local supply setpoint, fencing). Units that fail are returned by name; the
// caller retries them later (a unit that was unreachable at start must still be configured).
func (f *Field) ConfigureUnits(ctx context.Context, timeout time.Duration) map[string]error {
	type res struct {
		name string
		err  error
	}
	out := make(chan res, len(f.units))
	for name, u := range f.units {
		go func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			out <- res{name, u.u.Configure(cctx, f.settings(u))}
		}()
	}
	errs := map[string]error{}
	for range f.units {
		r := <-out
		if r.err != nil {
			errs[r.name] = r.err
			f.logf("field: configure unit %q: %v", r.name, r.err)
		}
	}
	return errs
}

// settings are u's current settings (UpdateUnits may replace them while a retry runs).
func (f *Field) settings(u *unitRef) ahu.Settings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Settings(u.cfg)
}

// ConfigureUnit writes one unit's settings.
func (f *Field) ConfigureUnit(ctx context.Context, name string) error {
	u, err := f.unit(name)
	if err != nil {
		return err
	}
	return u.u.Configure(ctx, f.settings(u))
}

// RunMesh runs the mesh gateway session on the site's mesh port until ctx ends, passing every
// temperature reading to deliver with its arrival time on the field clock. A port that vanishes
// is reopened.
func (f *Field) RunMesh(ctx context.Context, deliver func(engine.Reading)) error {
	port, baud := f.cfg.Mesh.Port, f.cfg.Mesh.Baud
	if port == "" {
		<-ctx.Done()
		return ctx.Err()
	}
	open := func() (io.ReadWriteCloser, error) {
		return serialport.Open(port, serialport.Config{Baud: baud, ReadTimeout: 200 * time.Millisecond})
	}
	c := mesh.NewClient(open, mesh.Options{Logf: f.opts.Logf})
	f.mu.Lock()
	f.mesh = c
	f.mu.Unlock()
	return c.Run(ctx, func(r mesh.Reading) {
		if r.BatteryMV != 0 { // 0: the node did not say
			node, _, _ := strings.Cut(r.Sensor, "/")
			f.mu.Lock()
			if f.battery == nil {
				f.battery = map[string]uint16{}
			}
			f.battery[node] = r.BatteryMV
			f.mu.Unlock()
		}
		if r.Kind != mesh.KindTemperature {
			if f.opts.OtherReading != nil {
				f.opts.OtherReading(r)
			}
			return
		}
		deliver(engine.Reading{Sensor: r.Sensor, Value: r.Value, Fault: r.Fault, Time: r.Time, Seq: r.NodeSeq, Arrival: f.opts.Now()})
	})
}

// Batteries returns the newest known battery voltage (mV) of every node heard, by node (the
// sensor id before "/").
func (f *Field) Batteries() map[string]uint16 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.battery)
}

// MeshUp reports whether the mesh session is subscribed.
func (f *Field) MeshUp() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mesh != nil && f.mesh.Up()
}

// Counters returns the mesh counters and, per line, the bus statistics, flattened to names.
// LineCounters is one Modbus line's transaction counters, summed over its units.
type LineCounters struct {
	Name, Target string
	Requests     uint64
	Errors       uint64 // exceptions, CRC and protocol errors, failed connections
	Timeouts     uint64

	Exceptions, CRCErrors, ProtocolErrors, ConnectErrors uint64
}

// Lines returns every line's counters, in the configuration's order.
func (f *Field) Lines() []LineCounters {
	out := make([]LineCounters, 0, len(f.cfg.Lines))
	for _, l := range f.cfg.Lines {
		lc := LineCounters{Name: l.Name, Target: l.Target}
		if b, ok := f.Bus(l.Name); ok {
			for _, uc := range b.Stats().Units {
				lc.Requests += uc.Requests
				lc.Timeouts += uc.Timeouts
				lc.Errors += uc.Exceptions + uc.CRCErrors + uc.ProtocolErrors + uc.ConnectErrors
				lc.Exceptions += uc.Exceptions
				lc.CRCErrors += uc.CRCErrors
				lc.ProtocolErrors += uc.ProtocolErrors
				lc.ConnectErrors += uc.ConnectErrors
			}
		}
		out = append(out, lc)
	}
	return out
}

func (f *Field) Counters() map[string]uint64 {
	out := map[string]uint64{}
	f.mu.Lock()
	c := f.mesh
	f.mu.Unlock()
	if c != nil {
		for k, v := range c.Counters() {
			out["mesh."+k] = v
		}
	}
	names := make([]string, 0, len(f.units))
	for n := range f.units {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		u := f.units[n]
		b, ok := f.Bus(u.line)
		if !ok {
			continue
		}
		uc := b.Counters(u.id)
		out["modbus."+n+".requests"] = uc.Requests
		out["modbus."+n+".timeouts"] = uc.Timeouts
	}
	return out
}

// Check validates what the site package cannot: the custom profiles parse and every unit's
// profile exists. It opens nothing.
func Check(cfg *site.Config) error {
	names := map[string]bool{}
	for _, n := range ahu.BuiltinNames() {
		names[n] = true
	}
	if cfg.Profiles != "" {
		ps, err := ahu.ParseProfiles([]byte(cfg.Profiles), "profiles")
		if err != nil {
			return fmt.Errorf("field: %w", err)
		}
		for _, p := range ps {
			names[p.Name] = true
		}
	}
	var errs []error
	for i, u := range cfg.Units {
		if !names[u.Profile] {
			errs = append(errs, fmt.Errorf("field: unit[%d](%s).profile: %q is not a built-in or custom profile", i, u.Name, u.Profile))
		}
	}
	return errors.Join(errs...)
}
