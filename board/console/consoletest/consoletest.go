package consoletest

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/control/site"
)

// Clock is a fake console.Clock that moves only when told to.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
}

type timer struct {
	c  *Clock
	at time.Time
	ch chan time.Time
}

// NewClock returns a clock at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// TimerAt returns a timer that fires when the clock reaches deadline (at once if it has).
func (c *Clock) TimerAt(deadline time.Time) console.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{c: c, at: deadline, ch: make(chan time.Time, 1)}
	if !c.now.Before(deadline) {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, x := range t.c.timers {
		if x == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			return
		}
	}
}

// Advance moves the clock and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.timers[:0]
	for _, t := range c.timers {
		if !c.now.Before(t.at) {
			t.ch <- c.now
			continue
		}
		keep = append(keep, t)
	}
	c.timers = keep
}

// Pending returns how many timers wait.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

type version struct {
	cfg *site.Config
	v   console.ConfigVersion
}

// Backend is an in-memory console.Backend. The exported fields are knobs for tests; set them
// before the console uses the backend.
type Backend struct {
	clk console.Clock

	// HoldTune makes Autotune and TestUnit run until their context is cancelled (to test aborts).
	HoldTune bool
	// TestFails makes TestUnit report a fan that does not follow its command.
	TestFails bool
	// CommitErr makes CommitConfig fail (nothing stored).
	CommitErr error
	// SaveUserErr makes SaveUser fail (nothing stored).
	SaveUserErr error
	// RebootErr makes RebootPermitted (and Reboot) refuse.
	RebootErr error
	// EditUnits, if set, changes what Units returns (unavailable read-backs and the like).
	EditUnits func([]console.UnitStatus)
	// EditSensors, if set, changes what Sensors returns.
	EditSensors func([]console.SensorReading)

	mu       sync.Mutex
	users    map[string]console.User
	versions []version
	events   []console.Event
	modes    map[string]console.LoopMode
	reboots  int
	reads    int
	aborted  int
	regs     map[string][]uint16 // "target/unit/table" -> registers from 0
	alarms   []console.Alarm
	pending  *console.PendingCommit
	pendAt   time.Time // clock reading when pending was stored
	trend    []console.TrendPoint
	trendErr error
}

// NewBackend returns a backend whose version 1 is cfg (defaults applied), with no users.
func NewBackend(cfg *site.Config, clk console.Clock) *Backend {
	c, err := cfg.Clone()
	if err != nil {
		c = cfg // not encodable: use it as given
	}
	c.ApplyDefaults()
	b := &Backend{clk: clk, users: map[string]console.User{}, modes: map[string]console.LoopMode{},
		regs: map[string][]uint16{}}
	b.versions = []version{{cfg: c, v: console.ConfigVersion{N: 1, Time: clk.Now(), User: "factory", Comment: "initial"}}}
	// crah-generic input registers of every unit: return 24.5 C, supply 18.0 C, fan 45.0 %,
	// valve 60.0 %, status running+remote, no alarm, fan kW 2.5 (ABCD), cooling kW 30.25 (CDAB).
	for _, u := range c.Units {
		l := c.Line(u.Line)
		if l == nil {
			continue
		}
		fan := math.Float32bits(2.5)
		cool := math.Float32bits(30.25)
		b.regs[fmt.Sprintf("%s/%d/input", l.Target, u.UnitID)] = []uint16{245, 180, 450, 600, 0x11, 0,
			uint16(fan >> 16), uint16(fan), uint16(cool), uint16(cool >> 16)}
		b.regs[fmt.Sprintf("%s/%d/holding", l.Target, u.UnitID)] = []uint16{1, 10, 1000, 180, 300}
		b.regs[fmt.Sprintf("%s/%d/coil", l.Target, u.UnitID)] = []uint16{1, 0, 1, 1, 0, 0, 0, 0, 1, 0}
		b.regs[fmt.Sprintf("%s/%d/discrete", l.Target, u.UnitID)] = []uint16{0, 1, 0, 0, 1}
	}
	return b
}

// LookupUser implements console.Users.
func (b *Backend) LookupUser(_ context.Context, name string) (console.User, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[name]
	if !ok {
		return console.User{}, fmt.Errorf("user %q: %w", name, console.ErrNoUser)
	}
	return u, nil
}

// SaveUser implements console.Users.
func (b *Backend) SaveUser(_ context.Context, u console.User) error {
	if b.SaveUserErr != nil {
		return b.SaveUserErr
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.users[u.Name] = u
	return nil
}

// ListUsers implements console.Users.
func (b *Backend) ListUsers(context.Context) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for n := range b.users {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// User returns a stored user (for assertions).
func (b *Backend) User(name string) (console.User, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[name]
	return u, ok
}

// RunningConfig implements console.Configs: the newest version.
func (b *Backend) RunningConfig(context.Context) (*site.Config, console.ConfigVersion, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := b.versions[len(b.versions)-1]
	c, err := v.cfg.Clone()
	return c, v.v, err
}

// CommitConfig implements console.Configs; it refuses an invalid configuration like a real one.
func (b *Backend) CommitConfig(_ context.Context, cfg *site.Config, info console.CommitInfo) (console.ConfigVersion, error) {
	if b.CommitErr != nil {
		return console.ConfigVersion{}, b.CommitErr
	}
	c, err := cfg.Clone()
	if err != nil {
		return console.ConfigVersion{}, err
	}
	if err := c.Validate(); err != nil {
		return console.ConfigVersion{}, fmt.Errorf("refused: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	v := console.ConfigVersion{N: len(b.versions) + 1, Time: info.Time, User: info.User, Comment: info.Comment}
	b.versions = append(b.versions, version{cfg: c, v: v})
	b.pending = nil
	if info.ConfirmWithin > 0 {
		b.pending = &console.PendingCommit{Version: v.N, RollbackTo: info.RollbackTo, User: info.User, Window: info.ConfirmWithin, Remaining: info.ConfirmWithin}
		b.pendAt = b.clk.Now()
	}
	return v, nil
}

// PendingCommit implements console.Configs: the commit confirmed stored, as a restarted
// controller would find it (a new Console over the same Backend re-arms it).
func (b *Backend) PendingCommit(context.Context) (*console.PendingCommit, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		return nil, nil
	}
	p := *b.pending
	p.Remaining = max(p.Window-b.clk.Now().Sub(b.pendAt), 0)
	return &p, nil
}

// ConfirmCommit implements console.Configs.
func (b *Backend) ConfirmCommit(_ context.Context, n int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending != nil && b.pending.Version == n {
		b.pending = nil
	}
	return nil
}

// ConfigVersion implements console.Configs.
func (b *Backend) ConfigVersion(_ context.Context, n int) (*site.Config, console.ConfigVersion, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n < 1 || n > len(b.versions) {
		return nil, console.ConfigVersion{}, fmt.Errorf("version %d: %w", n, console.ErrNoVersion)
	}
	v := b.versions[n-1]
	c, err := v.cfg.Clone()
	return c, v.v, err
}

// ConfigHistory implements console.Configs.
func (b *Backend) ConfigHistory(_ context.Context, limit int) ([]console.ConfigVersion, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []console.ConfigVersion
	for i := len(b.versions) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, b.versions[i].v)
	}
	return out, nil
}

// Versions returns how many versions are stored.
func (b *Backend) Versions() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.versions)
}

// LogEvent implements console.EventLog.
func (b *Backend) LogEvent(_ context.Context, e console.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, e)
	return nil
}

// Events implements console.EventLog.
func (b *Backend) Events(_ context.Context, limit int) ([]console.Event, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	from := max(0, len(b.events)-limit)
	return append([]console.Event(nil), b.events[from:]...), nil
}

// EventsOf returns the logged events of one kind.
func (b *Backend) EventsOf(kind string) []console.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []console.Event
	for _, e := range b.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (b *Backend) running() *site.Config {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.versions[len(b.versions)-1].cfg
}

// Status implements console.Controller.
func (b *Backend) Status(context.Context) (console.Status, error) {
	return console.Status{Software: "v0.9.0-test", State: "controlling", Uptime: 3*time.Hour + 12*time.Minute}, nil
}

// Sensors implements console.Controller; values creep up by 0.1 C on every call, so a refresh shows.
func (b *Backend) Sensors(context.Context) ([]console.SensorReading, error) {
	cfg := b.running()
	b.mu.Lock()
	b.reads++
	n := b.reads
	b.mu.Unlock()
	var out []console.SensorReading
	i := 0
	for _, z := range cfg.Zones {
		for _, id := range z.Sensors {
			out = append(out, console.SensorReading{ID: id, Zone: z.Name, Rack: fmt.Sprintf("R%02d", 10+i), Kind: "temperature",
				Value: 22.0 + 0.5*float64(i) + 0.1*float64(n), Unit: "C", Age: time.Duration(3+i) * time.Second, State: "ok", BatteryMV: 3000})
			i++
		}
	}
	if b.EditSensors != nil {
		b.EditSensors(out)
	}
	return out, nil
}

// Units implements console.Controller.
func (b *Backend) Units(context.Context) ([]console.UnitStatus, error) {
	cfg := b.running()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []console.UnitStatus
	for _, u := range cfg.Units {
		st := console.UnitStatus{Name: u.Name, Line: u.Line, UnitID: u.UnitID, Mode: "auto", FanPct: 45, ValvePct: 60,
			SupplyC: 18.1, ReturnC: 27.4, FanKW: 2.5}
		if u.Profile == "vfd-fan" { // a fan drive: no coil, no temperatures (as the appliance)
			st.NoValve, st.NoSupply, st.NoReturn = true, true, true
		}
		if m := b.modes[u.Name]; m.Manual {
			st.Mode, st.FanPct = "manual", m.FanPct
		}
		out = append(out, st)
	}
	if b.EditUnits != nil {
		b.EditUnits(out)
	}
	return out, nil
}

// Loops implements console.Controller.
func (b *Backend) Loops(context.Context) ([]console.LoopStatus, error) {
	cfg := b.running()
	var out []console.LoopStatus
	for _, u := range cfg.Units {
		var zones []string
		for _, i := range cfg.ZonesOf(u.Name) {
			zones = append(zones, cfg.Zones[i].Name)
		}
		zone := strings.Join(zones, ",")
		t := cfg.Control.FanTuning
		if u.FanTuning != nil {
			t = *u.FanTuning
		}
		out = append(out, console.LoopStatus{Unit: u.Name, Loop: "fan", Zone: zone, Mode: "auto", SetpointC: cfg.Control.SetpointC,
			MeasuredC: 24.6, OutputPct: 45, Kp: t.Kp, Ti: t.Ti, Td: t.Td})
	}
	return out, nil
}

// Counters implements console.Controller.
func (b *Backend) Counters(context.Context) ([]console.Counter, error) {
	return []console.Counter{
		{Name: "mesh.frames_ok", Value: 123456}, {Name: "mesh.fcs_errors", Value: 2},
		{Name: "modbus.bms.requests", Value: 98765}, {Name: "modbus.bms.timeouts", Value: 3},
		{Name: "loop.crah-1.fan.saturated_seconds_while_zone_above_setpoint_total", Value: 42},
	}, nil
}

// SetLoopMode implements console.Controller.
func (b *Backend) SetLoopMode(_ context.Context, unit string, m console.LoopMode) error {
	if b.running().Unit(unit) == nil {
		return fmt.Errorf("no unit %q", unit)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.modes[unit] = m
	return nil
}

// Mode returns the loop mode set for a unit.
func (b *Backend) Mode(unit string) console.LoopMode {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.modes[unit]
}

func (b *Backend) hold(ctx context.Context, progress func(string)) error {
	if !b.HoldTune {
		return nil
	}
	progress("waiting for the plant to settle")
	<-ctx.Done()
	b.mu.Lock()
	b.aborted++
	b.mu.Unlock()
	return ctx.Err()
}

// Aborted returns how many tune/test runs were cancelled.
func (b *Backend) Aborted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.aborted
}

// Autotune implements console.Controller with canned relay-experiment numbers.
func (b *Backend) Autotune(ctx context.Context, unit, loop string, progress func(string)) (site.Tuning, error) {
	if b.running().Unit(unit) == nil {
		return site.Tuning{}, fmt.Errorf("no unit %q", unit)
	}
	if err := b.hold(ctx, progress); err != nil {
		return site.Tuning{}, err
	}
	for i := 1; i <= 4; i++ {
		progress(fmt.Sprintf("relay cycle %d/4: amplitude 0.4%d C, period 31%d s", i, i, i))
	}
	return site.Tuning{Kp: 6.5, Ti: 140, Td: 0, Method: "relay+simc", Data: "4 relay cycles, amplitude 0.42 C, period 312 s"}, nil
}

// TestUnit implements console.Controller with canned commissioning numbers.
func (b *Backend) TestUnit(ctx context.Context, unit string, progress func(string)) (console.UnitTest, error) {
	if b.running().Unit(unit) == nil {
		return console.UnitTest{}, fmt.Errorf("no unit %q", unit)
	}
	if err := b.hold(ctx, progress); err != nil {
		return console.UnitTest{}, err
	}
	fan80, zone := 79.6, "-0.80 K in 1m0s"
	if b.TestFails {
		fan80, zone = 52.1, "no valid measurement (1 of 2 sensors valid)"
	}
	progress("fan 40%: feedback 39.8%")
	progress(fmt.Sprintf("fan 80%%: feedback %.1f%%", fan80))
	progress("valve 0% -> 100%: feedback 99.5%")
	progress("zone row-a inlets: 24.9 C -> 24.1 C in 180 s")
	checks := []console.TestCheck{
		{Name: "fan feedback at 40%", Want: "40 ±5 %", Got: "39.8 %", Pass: true},
		{Name: "fan feedback at 80%", Want: "80 ±5 %", Got: fmt.Sprintf("%.1f %%", fan80), Pass: !b.TestFails},
		{Name: "valve feedback at 100%", Want: "100 ±5 %", Got: "99.5 %", Pass: true},
		{Name: "zone row-a inlets respond", Want: "fall by 0.1 K or more", Got: zone, Pass: !b.TestFails},
	}
	return console.UnitTest{Unit: unit, Pass: !b.TestFails, Checks: checks}, nil
}

// ModbusRead implements console.Controller over canned crah-generic registers.
func (b *Backend) ModbusRead(_ context.Context, req console.ModbusRequest) ([]uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	regs, ok := b.regs[fmt.Sprintf("%s/%d/%s", req.Target, req.Unit, req.Table)]
	if !ok {
		return nil, fmt.Errorf("modbus: timeout (no answer from unit %d on %s)", req.Unit, req.Target)
	}
	if int(req.Addr)+int(req.Count) > len(regs) {
		fn := map[string]int{"coil": 1, "discrete": 2, "holding": 3, "input": 4}[req.Table]
		return nil, fmt.Errorf("modbus: exception 0x02 illegal data address (function %d)", fn)
	}
	return append([]uint16(nil), regs[req.Addr:int(req.Addr)+int(req.Count)]...), nil
}

// RebootPermitted implements console.Controller.
func (b *Backend) RebootPermitted(context.Context) error { return b.RebootErr }

// Reboot implements console.Controller (it only counts).
func (b *Backend) Reboot(context.Context) error {
	if b.RebootErr != nil {
		return b.RebootErr
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reboots++
	return nil
}

// Reboots returns how many reboots were asked for.
func (b *Backend) Reboots() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reboots
}

// SetTrend sets the trend Trend serves (none until set) and the error it returns instead.
func (b *Backend) SetTrend(pts []console.TrendPoint, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trend, b.trendErr = append([]console.TrendPoint(nil), pts...), err
}

// Trend implements console.Controller: the points set by SetTrend taken at or after since, in
// the order given.
func (b *Backend) Trend(_ context.Context, since time.Time) ([]console.TrendPoint, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.trendErr != nil {
		return nil, b.trendErr
	}
	var out []console.TrendPoint
	for _, p := range b.trend {
		if !p.Time.Before(since) {
			out = append(out, p)
		}
	}
	return out, nil
}

var _ console.Backend = (*Backend)(nil)

// RaiseAlarm adds an active alarm (tests).
func (b *Backend) RaiseAlarm(a console.Alarm) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.alarms = append([]console.Alarm{a}, b.alarms...)
}

// ActiveAlarms implements console.AlarmDesk.
func (b *Backend) ActiveAlarms(context.Context) ([]console.Alarm, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]console.Alarm(nil), b.alarms...), nil
}

func (b *Backend) alarm(key string) (*console.Alarm, error) {
	for i := range b.alarms {
		if b.alarms[i].Key == key {
			return &b.alarms[i], nil
		}
	}
	return nil, fmt.Errorf("%q: %w", key, console.ErrNoAlarm)
}

// AckAlarm implements console.AlarmDesk.
func (b *Backend) AckAlarm(_ context.Context, key, user string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.alarm(key)
	if err != nil {
		return err
	}
	a.AckedBy, a.AckedAt = user, b.clk.Now()
	return nil
}

// ShelveAlarm implements console.AlarmDesk.
func (b *Backend) ShelveAlarm(_ context.Context, key, user string, d time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.alarm(key)
	if err != nil {
		return err
	}
	if a.Severity == "critical" {
		return fmt.Errorf("%s is critical: a critical alarm cannot be shelved", key)
	}
	a.ShelvedBy, a.ShelvedUntil = user, b.clk.Now().Add(d)
	return nil
}

// UnshelveAlarm implements console.AlarmDesk.
func (b *Backend) UnshelveAlarm(_ context.Context, key, _ string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.alarm(key)
	if err != nil {
		return err
	}
	a.ShelvedBy, a.ShelvedUntil = "", time.Time{}
	return nil
}
