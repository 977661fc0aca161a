package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coldaisle/coldaisle/board"
	"github.com/coldaisle/coldaisle/board/identity"
	"github.com/coldaisle/coldaisle/board/ops"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/field"
	"github.com/coldaisle/coldaisle/storage"
)

// Sentinel errors.
var (
	// ErrNoConfig: the database holds no configuration and no site file was given.
	ErrNoConfig = errors.New("appliance: no configuration (give --config site.toml on first boot)")
	// ErrRefused: the controller will not control (corrupt database, invalid stored configuration).
	ErrRefused = errors.New("appliance: refusing to control")
)

// Options configure Run.
type Options struct {
	ConfigPath string // site file: imported on first boot, or always with Import
	DBPath     string // bbolt file
	Import     bool   // replace the stored configuration with ConfigPath
	Version    string // software version for the console and the event log

	// Console, if set, serves the technician's console on it (a serial port, a pty, stdio).
	Console io.ReadWriter
	// NoBoard skips periph, LEDs, relay and watchdog (the simulator).
	NoBoard bool
	// Log receives operational messages as slog records (levels, key=value fields). When nil,
	// Logf receives them as lines; when both are nil they go to stderr.
	Log  *slog.Logger
	Logf func(format string, args ...any)
	// OnPeriod is called after every control period (the simulator's view).
	OnPeriod func(engine.PeriodReport, engine.Snapshot)
	// OnEvents is called with the engine's events (mode changes, alarms with their reasons) as
	// they are drained for the event log (the simulator's view of what the controller did).
	OnEvents func([]engine.Event)
	// HTTPListen overrides the site's http.listen: an ADDR:PORT, or "off" (empty: the site's).
	HTTPListen string
	// HTTPAnyPort: when the HTTP address is in use, listen on any free port of the same host
	// instead (the simulator; a board reports the clash as an alarm).
	HTTPAnyPort bool
	// OnHTTP is called with the operations server's address once it listens.
	OnHTTP func(addr string)
	// OnFirstCommand is called once with the time from Run's start to the first command written.
	OnFirstCommand func(time.Duration)
	// Identity, if set, runs this board as one of a 2N pair (board/identity): its node id is
	// the owner id written to the units, its gateway overrides the site's mesh port.
	Identity *identity.Identity
	// SimSpeed > 1: the units are a simulated room running that many times faster than the wall
	// clock (coldaisle sim); the write-volume line at shutdown says its figures are not a field day.
	SimSpeed float64
}

// App is a running appliance. Its methods are safe for concurrent use (the console calls them).
type App struct {
	opts  Options
	start time.Time
	db    *storage.DB
	eng   *engine.Engine
	ckpt  *storage.Checkpointer
	brd   *board.Board

	mu      sync.Mutex
	cfg     *site.Config
	version int
	ctx     context.Context

	bkOnce sync.Once
	bk     *backend // the console's Backend (backend.go), made once

	fieldWG    sync.WaitGroup // the field's mesh session and unit configuration
	fld        fieldHandle    // the open field (fieldHandle); its pair is set by Open
	firstWrite atomic.Bool
	periods    atomic.Uint64
	overruns   atomic.Uint64

	hub             *alarmHub      // every alarm: the engine's, the controller's, the batteries'
	pub             *ops.Publisher // the View of the last period, for every operations client
	httpAddr        atomic.Value   // string: the operations server's address
	bmsAddr         atomic.Value   // string: the BMS server's address
	sensMu          sync.Mutex     // the View's sensors, rebuilt every few seconds (view.go)
	sensView        []ops.Sensor
	sensAt          time.Time
	sensObs         uint64
	pend            pendingState  // a commit confirmed waiting for its confirmation
	storageFailures atomic.Uint64 // failed database writes (checkpoints, events, pending commit)
	lastStorageFail atomic.Int64  // unix nanos of the last failed write
	lastWrite       atomic.Int64  // unix nanos of the last period with a command written
	wear            wearMeter     // write volume after the start-up (wear.go)

	pn         *pairNode    // the 2N pair (nil: a board alone)
	ownReading atomic.Int64 // unix nanos of the last reading of this board's own gateway
	lastRead   atomic.Int64 // units read in the last control period
}

// logf logs an informational message; warnf one an operator should look at.
func (a *App) logf(format string, args ...any)  { a.logAt(slog.LevelInfo, format, args...) }
func (a *App) warnf(format string, args ...any) { a.logAt(slog.LevelWarn, format, args...) }

func (a *App) logAt(level slog.Level, format string, args ...any) {
	switch {
	case a.opts.Log != nil:
		a.opts.Log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	case a.opts.Logf != nil:
		a.opts.Logf(format, args...)
	default:
		fmt.Fprintf(os.Stderr, "coldaisle: "+format+"\n", args...)
	}
}

// Run runs the appliance until ctx ends. It returns nil after a clean shutdown.
func Run(ctx context.Context, o Options) error {
	a, err := Open(ctx, o)
	if err != nil {
		return err
	}
	return a.Serve(ctx)
}

// Open does everything up to the first control period: database, configuration, epoch, engine
// with its restored state, field, board.
func Open(ctx context.Context, o Options) (*App, error) {
	a := &App{opts: o, start: time.Now()}
	// The alarm list exists from the start (a stored configuration that does not load raises
	// one); its longest shelf is the site's default until the configuration says otherwise.
	a.hub = newAlarmHub(a, 8*time.Hour)
	a.pub = newPublisher()
	if o.DBPath == "" {
		return nil, fmt.Errorf("appliance: no database path (--db)")
	}
	if err := a.firstBootCheck(); err != nil {
		return nil, err
	}
	db, err := storage.Open(o.DBPath, &storage.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, storage.ErrCorrupt) {
			return nil, fmt.Errorf("%w: %w; the units stay on their own BMS fallback; restore a backup with 'coldaisle db restore FILE --db %s'", ErrRefused, err, o.DBPath)
		}
		return nil, fmt.Errorf("appliance: %w", err)
	}
	a.db = db
	ok := false
	defer func() {
		if !ok {
			db.Close()
		}
	}()
	if err := db.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w; the units stay on their own BMS fallback", ErrRefused, err)
	}
	cfg, version, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	a.cfg, a.version = cfg, version
	a.hub.setMaxShelve(cfg.Alarms.MaxShelf.Duration)

	var epoch uint64
	if o.Identity != nil {
		// A pair never bumps at start: the epoch rises only on a takeover, above every one seen.
		if epoch, err = db.Epoch(); err != nil {
			return nil, fmt.Errorf("appliance: read epoch: %w", err)
		}
		if a.pn, err = newPairNode(a, o.Identity, cfg, epoch); err != nil {
			return nil, err
		}
		a.fld.pair = a.pn
	} else if epoch, err = db.BumpEpoch(); err != nil {
		return nil, fmt.Errorf("appliance: bump epoch: %w", err)
	}
	ok2 := false
	defer func() {
		if !ok2 && a.pn != nil {
			a.pn.link.Close()
		}
	}()
	eng, err := engine.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: configuration v%d: %w", ErrRefused, version, err)
	}
	eng.SetEpoch(uint16(epoch))
	a.eng = eng
	if cp, err := db.LoadCheckpoint(); err != nil {
		a.warnf("state: %v (starting from tracking)", err)
	} else if cp.Seq == 0 {
		// a new database: nothing to restore
	} else if age := time.Since(cp.Time); age < 0 || age > cfg.Control.RestoreMaxAge.Duration {
		// Old state describes a room that has moved on (or the board's clock cannot say how old
		// it is): start from tracking, bumpless from what the units read back.
		a.logf("state checkpoint %d of %s not restored: %s (control.restore_max_age %v); starting from tracking",
			cp.Seq, cp.Time.Format(time.RFC3339), ageText(age), cfg.Control.RestoreMaxAge.Duration)
	} else if st, ok := fromLoops(cp.Loops); ok {
		st.Epoch = uint16(epoch)
		if err := eng.Restore(st); err != nil {
			a.logf("state checkpoint %d not restored: %v (starting from tracking)", cp.Seq, err)
		} else {
			a.logf("resumed from checkpoint %d of %s", cp.Seq, cp.Time.Format(time.RFC3339))
		}
	}
	a.ckpt = storage.NewCheckpointer(db, cfg.Control.Checkpoint.Duration, time.Now)

	if !o.NoBoard {
		p := boardProfile(cfg.Board)
		if err := board.ValidateTimeouts(cfg.Control.Period.Duration, maxBMS(cfg), p.WatchdogTime); err != nil && p.Watchdog != "" {
			return nil, fmt.Errorf("%w: %w", ErrRefused, err)
		}
		b, err := board.Open(p, &board.Options{ControlPeriod: cfg.Control.Period.Duration})
		if err != nil {
			return nil, fmt.Errorf("appliance: board: %w", err)
		}
		for _, w := range b.Warnings() {
			a.logf("board: %s (running without it)", w)
		}
		a.brd = b
	}
	if a.pn != nil {
		a.event(storage.KindSystem, "system", fmt.Sprintf("start %s, configuration v%d, node %d of a pair, epoch %d (waiting for the peer or the witness)", o.Version, version, o.Identity.NodeID, epoch))
	} else {
		a.event(storage.KindSystem, "system", fmt.Sprintf("start %s, configuration v%d, epoch %d", o.Version, version, epoch))
	}
	ok, ok2 = true, true
	return a, nil
}

// firstBootCheck runs before the database is opened: on a first boot (no database file yet) the
// site file must exist and pass, so that a failed start leaves no empty database behind and says
// what to do.
func (a *App) firstBootCheck() error {
	_, err := os.Stat(a.opts.DBPath)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if a.opts.ConfigPath == "" {
		return fmt.Errorf("%w: there is no database at %s yet; on a first boot give the site file: coldaisle run --config site.toml --db %s", ErrNoConfig, a.opts.DBPath, a.opts.DBPath)
	}
	data, err := os.ReadFile(a.opts.ConfigPath)
	if err != nil {
		return fmt.Errorf("appliance: site file: %w (nothing was created)", err)
	}
	if _, err := ParseConfig(data, a.opts.ConfigPath); err != nil {
		return err
	}
	if dir := filepath.Dir(a.opts.DBPath); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return fmt.Errorf("appliance: database directory: %w (create it, or give --db PATH)", err)
		}
	}
	return nil
}

func ageText(age time.Duration) string {
	if age < 0 {
		return "of unknown age (the clock reads before it)"
	}
	return fmt.Sprintf("%v old", age.Round(time.Second))
}

func maxBMS(cfg *site.Config) time.Duration {
	var m time.Duration
	for _, u := range cfg.Units {
		m = max(m, u.BMSTimeout.Duration)
	}
	return m
}

func boardProfile(b site.Board) board.Profile {
	return board.Profile{
		Name: b.Name, LEDRole: b.LEDRole, LEDHealth: b.LEDHealth, LEDField: b.LEDField, LEDActiveLow: b.LEDActiveLow,
		Relay: b.Relay, RelayActiveLow: b.RelayActiveLow, RelayPulse: b.RelayPulse, Watchdog: b.Watchdog, WatchdogTime: b.WatchdogTimeout.Duration,
		Strict: b.Strict,
	}
}

// Serve runs the control loop (and the console, if any) until ctx ends, then shuts down cleanly.
func (a *App) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.ctx = ctx
	var wg sync.WaitGroup
	if err := a.openField(ctx); err != nil {
		a.shutdown()
		return err
	}
	if a.brd != nil {
		if a.pn == nil {
			a.brd.SetRole(board.RoleActive)
			if err := a.brd.SetControlling(true); err != nil {
				a.warnf("board: relay: %v", err)
			}
		} else {
			// A pair's board energises the relay only when it becomes active.
			a.brd.SetRole(board.RoleUnknown)
			_ = a.brd.SetControlling(false)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.brd.Run(ctx, func(err error) { a.warnf("board: %v", err) })
		}()
	}
	a.startOps(ctx, &wg)
	if a.opts.Console != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.serveConsole(ctx, a.opts.Console); err != nil && ctx.Err() == nil {
				a.warnf("console: %v", err)
			}
		}()
	}
	r := &engine.Runner{Engine: a.eng, IO: &a.fld, Hook: a.hook}
	if pn := a.pn; pn != nil {
		// The standby reads the units it may (never a deferred line), writes and ticks nothing.
		r.Passive = func() bool { return !pn.isActive() }
		r.PassiveRead = func(unit string) bool {
			f, _ := a.openedField()
			return f != nil && !f.Deferred(unit)
		}
		pn.runner.Store(r)
		pn.run(ctx, &wg)
	}
	err := r.Run(ctx)
	cancel()
	wg.Wait()
	a.shutdown()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// openField builds the field for the current configuration and starts its mesh session and the
// unit configuration. A previous field (configuration change) is stopped after the swap.
func (a *App) openField(ctx context.Context) error {
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	f, fctx, stop, err := a.dialField(ctx, cfg)
	if err != nil {
		return err
	}
	a.useField(fctx, f, stop, cfg)
	return nil
}

// dialField opens the field of cfg without using it yet: a commit opens the new field before it
// stores anything, so a line that cannot be opened changes nothing.
func (a *App) dialField(ctx context.Context, cfg *site.Config) (*field.Field, context.Context, context.CancelFunc, error) {
	fctx, stop := context.WithCancel(ctx)
	fo := field.Options{Logf: a.logf}
	if pn := a.pn; pn != nil {
		fo.WriteGate = pn.gate
		active := pn.isActive()
		fo.Defer = func(l site.Line) bool { return !active && !field.Witnessable(cfg, l) }
		if gw := pn.id.Gateway; gw != "" {
			// This board's own gateway; the stored site keeps the shared mesh.port.
			c, err := cfg.Clone()
			if err != nil {
				stop()
				return nil, nil, nil, fmt.Errorf("appliance: %w", err)
			}
			c.Mesh.Port = gw
			cfg = c
		}
	}
	f, err := field.Open(fctx, cfg, fo)
	if err != nil {
		stop()
		return nil, nil, nil, fmt.Errorf("appliance: %w", err)
	}
	return f, fctx, stop, nil
}

// useField swaps f (opened by dialField for cfg) in under the runner, stops the previous field,
// and starts f's mesh session and the configuration of its units.
func (a *App) useField(fctx context.Context, f *field.Field, stop context.CancelFunc, cfg *site.Config) {
	old, oldStop := a.fld.swap(f, fctx, stop)
	if oldStop != nil {
		oldStop()
	}
	if old != nil {
		old.Close()
	}
	// The field's goroutines stop with fctx (a newer field, or shutdown) and shutdown waits for them.
	a.fieldWG.Add(2)
	go func() {
		defer a.fieldWG.Done()
		if err := f.RunMesh(fctx, a.observe); err != nil && fctx.Err() == nil {
			a.warnf("mesh: %v", err)
		}
	}()
	go func() {
		defer a.fieldWG.Done()
		if a.pn != nil && !a.pn.isActive() {
			return // configured when this board becomes active (configuration is writing)
		}
		a.configureUnits(fctx, f, cfg)
	}()
}

// openedField is the field in use and the context it runs in (nil before the first is open and
// after shutdown). A commit may swap it at any time: use what it returns, do not ask twice.
func (a *App) openedField() (*field.Field, context.Context) { return a.fld.get() }

// updateUnitSettings hands a committed configuration's unit settings to the open field, when
// nothing else of the field changed, and writes them to the units (retrying the ones that do
// not answer) without reopening the lines or the mesh session. It reports false when the field
// must be reopened instead.
func (a *App) updateUnitSettings(cfg *site.Config) bool {
	f, fctx := a.openedField()
	if f == nil {
		return false
	}
	changed, err := f.UpdateUnits(cfg)
	if err != nil {
		a.warnf("appliance: %v", err)
		return false
	}
	if len(changed) > 0 {
		a.logf("writing the new settings of %s", strings.Join(changed, ", "))
		a.fieldWG.Add(1)
		go func() {
			defer a.fieldWG.Done()
			a.configureUnits(fctx, f, cfg)
		}()
	}
	return true
}

// configureUnits writes every unit's own settings (remote enable, BMS timeout, fallback) and
// retries the units that did not answer, so a unit that was off at start is still configured.
func (a *App) configureUnits(ctx context.Context, f *field.Field, cfg *site.Config) {
	wait := cfg.Control.Period.Duration
	for {
		errs := f.ConfigureUnits(ctx, 2*time.Second)
		if len(errs) == 0 || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// observe takes a reading of this board's own gateway (and forwards it to a standby).
func (a *App) observe(r engine.Reading) {
	a.ownReading.Store(time.Now().UnixNano())
	a.eng.Observe(r)
	if a.pn != nil {
		a.pn.forward(r)
	}
}

func (a *App) hook(ctx context.Context, rep engine.PeriodReport) {
	a.periods.Add(1)
	a.lastRead.Store(int64(rep.Read))
	if a.pn != nil {
		a.pn.sendState()
	}
	if rep.Overrun {
		a.overruns.Add(1)
	}
	if rep.Written > 0 {
		a.lastWrite.Store(time.Now().UnixNano())
		if a.firstWrite.CompareAndSwap(false, true) {
			d := time.Since(a.start)
			a.logf("first command written %v after start", d.Round(time.Millisecond))
			if a.opts.OnFirstCommand != nil {
				a.opts.OnFirstCommand(d)
			}
		}
	}
	// The engine's events (alarms, mode changes) ride on the next checkpoint commit: an alarm
	// that flaps every period costs no commit of its own (flash wear), and after a crash the log
	// is at most one checkpoint behind, like the state. The console shows the waiting ones too.
	evs := a.eng.Events()
	if len(evs) > 0 {
		batch := make([]storage.Event, 0, len(evs))
		for _, e := range evs {
			batch = append(batch, engineEvent(e))
		}
		if err := a.ckpt.Log(batch...); err != nil {
			a.warnf("event log: %v", err)
			a.storageFailed("event log", err)
		}
		if a.opts.OnEvents != nil {
			a.opts.OnEvents(evs)
		}
	}
	a.hub.engineEvents(evs, time.Now())
	if cfg, _ := a.runningConfig(); cfg != nil {
		a.hub.batteries(a.batteries(), cfg.Control.LowBatteryV)
	}
	st := a.eng.State()
	if wrote, err := a.ckpt.Offer(toLoops(st), a.counters()); err != nil {
		a.warnf("checkpoint: %v", err)
		a.storageFailed("checkpoint", err)
	} else if wrote {
		a.storageOK()
	}
	a.savePending(time.Now())
	a.wear.mark(time.Now(), a.start, a.ckpt.Interval(), a.db.Stats)
	if a.brd != nil {
		if a.brd.Watchdog != nil {
			// Pet only for a period that completed; a stalled loop never gets here.
			a.brd.Watchdog.Pet(time.Now())
		}
		switch {
		case rep.Written == 0 && len(rep.Commands) > 0:
			a.brd.SetField(board.FieldDown)
		case len(rep.Errors) > 0:
			a.brd.SetField(board.FieldDegraded)
		default:
			a.brd.SetField(board.FieldOK)
		}
	}
	a.publish(rep)
	if a.opts.OnPeriod != nil {
		a.opts.OnPeriod(rep, a.eng.Snapshot())
	}
}

func engineEvent(e engine.Event) storage.Event {
	kind := storage.KindAlarm
	switch e.Kind {
	case engine.EventMode:
		kind = storage.KindMode
	case engine.EventConfig:
		kind = storage.KindConfig
	}
	text := e.Text() // who, what and why, once ("crah-2 alarm: tripped: ...")
	return storage.Event{Time: e.Time, Kind: kind, Who: "engine", Text: clip(text, 400)}
}

func (a *App) event(kind, who, text string) {
	if _, err := a.db.AppendEvent(storage.Event{Kind: kind, Who: who, Text: clip(text, 400)}); err != nil {
		a.warnf("event log: %v", err)
		a.storageFailed("event log", err)
	}
}

func (a *App) counters() map[string]uint64 {
	f, _ := a.openedField()
	out := map[string]uint64{"engine.periods": a.periods.Load(), "engine.overruns": a.overruns.Load(),
		"storage.failures": a.storageFailures.Load()}
	if f != nil {
		for k, v := range f.Counters() {
			out[sanitize(k)] = v
		}
	}
	return out
}

func sanitize(k string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r >= 0x7f || r == '/' {
			return '_'
		}
		return r
	}, k)
}

// shutdown checkpoints, logs, drops the relay, disarms the watchdog and closes the database.
func (a *App) shutdown() {
	if err := a.ckpt.Urgent(toLoops(a.eng.State()), a.counters()); err != nil {
		a.warnf("final checkpoint: %v", err)
	}
	f, stop := a.fld.swap(nil, nil, nil)
	if stop != nil {
		stop()
	}
	a.fieldWG.Wait()
	if f != nil {
		f.Close()
	}
	a.event(storage.KindSystem, "system", "stop: state checkpointed, units left on their BMS timeout")
	if st, now := a.db.Stats(), time.Now(); now.After(a.start) {
		// Flash wear, for the operator: what this run wrote, and over a day only from a
		// representative window (wear.go).
		base, at, ok := a.wear.window()
		a.logf("%s", wearLine(st, now.Sub(a.start), base, now.Sub(at), ok, a.ckpt.Interval(), a.opts.SimSpeed))
	}
	if a.brd != nil {
		if err := a.brd.Close(); err != nil {
			a.warnf("board close: %v", err)
		}
	}
	if err := a.db.Close(); err != nil {
		a.warnf("database close: %v", err)
	}
}

// toLoops stores the engine's checkpoint as storage loop states: the typed fields for people
// reading an export, the full loop checkpoint in Data.
func toLoops(s engine.State) map[string]storage.LoopState {
	out := make(map[string]storage.LoopState, len(s.Zones)+len(s.Units))
	for name, z := range s.Zones {
		data := zoneData(z)
		out["z:"+sanitize(name)] = storage.LoopState{Mode: "zone", Integrator: finite(z.Loop.Integral), LastOut: finite(z.Loop.Output), Data: data}
	}
	for name, u := range s.Units {
		data, _ := json.Marshal(u)
		out["u:"+sanitize(name)] = storage.LoopState{Mode: u.Mode.String(), LastOut: finite(u.FanPct), Data: data}
	}
	return out
}

// zoneData is a zone's checkpoint within storage.MaxLoopData: with long sensor ids it keeps
// fewer learned offsets, the hottest (the ones that carry a loss).
func zoneData(z engine.ZoneState) []byte {
	all := z.Offsets
	data, _ := json.Marshal(z)
	for n := len(all) - 1; len(data) > storage.MaxLoopData && n >= 0; n-- {
		z.Offsets = engine.HottestOffsets(all, n)
		data, _ = json.Marshal(z)
	}
	return data
}

func fromLoops(m map[string]storage.LoopState) (engine.State, bool) {
	s := engine.State{Version: engine.StateVersion, Zones: map[string]engine.ZoneState{}, Units: map[string]engine.UnitLoop{}}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		l := m[k]
		switch {
		case strings.HasPrefix(k, "z:"):
			var z engine.ZoneState
			if json.Unmarshal(l.Data, &z) == nil {
				s.Zones[k[2:]] = z
			}
		case strings.HasPrefix(k, "u:"):
			var u engine.UnitLoop
			if json.Unmarshal(l.Data, &u) == nil {
				s.Units[k[2:]] = u
			}
		}
	}
	return s, len(s.Zones)+len(s.Units) > 0
}

func finite(v float64) float64 {
	if v != v || v > 1e300 || v < -1e300 {
		return 0
	}
	return v
}

// fieldHandle is the one handle on the open field: the runner's UnitIO, the console's probes and
// a commit's swap all go through it, under one lock. A configuration change swaps the field under
// the running runner.
type fieldHandle struct {
	pair *pairNode // a 2N board: every command goes through its write path (owner block, gate)
	mu   sync.Mutex
	f    *field.Field
	ctx  context.Context    // ends with f
	stop context.CancelFunc // ends ctx
}

// swap puts f (running in ctx, ended by stop) in, and returns what was there.
func (h *fieldHandle) swap(f *field.Field, ctx context.Context, stop context.CancelFunc) (*field.Field, context.CancelFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old, oldStop := h.f, h.stop
	h.f, h.ctx, h.stop = f, ctx, stop
	return old, oldStop
}

// get returns the field in use and its context (nil before the first is open and after
// shutdown). A commit may swap it at any time: use what it returns, do not ask twice.
func (h *fieldHandle) get() (*field.Field, context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.f, h.ctx
}

func (h *fieldHandle) open() (*field.Field, error) {
	f, _ := h.get()
	if f == nil {
		return nil, errors.New("appliance: field not open")
	}
	return f, nil
}

// ReadState implements engine.UnitIO.
func (h *fieldHandle) ReadState(ctx context.Context, unit string) (engine.UnitState, error) {
	f, err := h.open()
	if err != nil {
		return engine.UnitState{}, err
	}
	return f.ReadState(ctx, unit)
}

// WriteCommand implements engine.UnitIO.
func (h *fieldHandle) WriteCommand(ctx context.Context, unit string, c engine.Command) error {
	f, err := h.open()
	if err != nil {
		return err
	}
	if h.pair != nil {
		return h.pair.write(ctx, f, unit, c)
	}
	return f.WriteCommand(ctx, unit, c)
}
