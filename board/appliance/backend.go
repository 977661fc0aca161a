package appliance

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coldaisle/coldaisle/board"
	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/field"
	"github.com/coldaisle/coldaisle/storage"
)

// ErrRebootNotPermitted: the console asked for a reboot on a machine that is not a board set up
// for it (/sbin/reboot present and COLDAISLE_ALLOW_REBOOT=1).
var ErrRebootNotPermitted = errors.New("reboot: not permitted on this machine")

// backend is the console's Backend over the running App: users, configuration versions and the
// event log in storage, live state and commands through the engine and the field.
type backend struct {
	a *App
	// bootBoard is the board profile in force (board settings apply at the next start).
	bootBoard site.Board

	// cfgMu orders every change of the engine's configuration: commits, and the valve holds of
	// the commissioning test (which apply the running configuration with a held valve on top).
	cfgMu sync.Mutex
	holds map[string]float64 // unit -> valve % held by TestUnit

	testMu  sync.Mutex
	testing map[string]bool // units under TestUnit or Autotune

	// Knobs (tests shorten them).
	tol           float64       // feedback tolerance of TestUnit, %
	followSlack   time.Duration // added to the rate-limited ramp time when waiting for a feedback
	inletWait     time.Duration // how long TestUnit watches the zone's inlets after the fan step
	progressEvery time.Duration // TestUnit tells how it goes at least this often
	tunePoll      time.Duration // AutotuneStatus poll period
	rebootPath    string
	rebootEnv     string
}

// backend returns the App's console backend (one per App: its locks are shared by every line).
func (a *App) backend() *backend {
	a.bkOnce.Do(func() {
		a.mu.Lock()
		bb := a.cfg.Board
		a.mu.Unlock()
		a.bk = &backend{a: a, bootBoard: bb, holds: map[string]float64{}, testing: map[string]bool{},
			tol: 5, followSlack: 30 * time.Second, inletWait: time.Minute, progressEvery: 10 * time.Second, tunePoll: time.Second,
			rebootPath: "/sbin/reboot", rebootEnv: "COLDAISLE_ALLOW_REBOOT"}
	})
	return a.bk
}

var _ console.Backend = (*backend)(nil)

func (b *backend) running() (*site.Config, int) {
	b.a.mu.Lock()
	defer b.a.mu.Unlock()
	return b.a.cfg, b.a.version
}

// ---- Users ----

// LookupUser implements console.Users. A disabled account is no account.
func (b *backend) LookupUser(_ context.Context, name string) (console.User, error) {
	u, err := b.a.db.User(name)
	if errors.Is(err, storage.ErrNotFound) || err == nil && u.Disabled {
		return console.User{}, fmt.Errorf("user %q: %w", name, console.ErrNoUser)
	}
	if err != nil {
		return console.User{}, err
	}
	return console.User{Name: u.Name, Hash: string(u.Hash), MustChange: u.MustChange}, nil
}

// SaveUser implements console.Users; the role and state of an existing account are kept.
func (b *backend) SaveUser(_ context.Context, u console.User) error {
	su, err := b.a.db.User(u.Name)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if errors.Is(err, storage.ErrNotFound) {
		su = storage.User{Name: u.Name, Role: "admin"}
	}
	su.Hash, su.MustChange = []byte(u.Hash), u.MustChange
	return b.a.db.PutUser(su)
}

// ListUsers implements console.Users.
func (b *backend) ListUsers(context.Context) ([]string, error) {
	us, err := b.a.db.Users()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(us))
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out, nil
}

// ---- Configs ----

// RunningConfig implements console.Configs. The copy is the caller's.
func (b *backend) RunningConfig(context.Context) (*site.Config, console.ConfigVersion, error) {
	cfg, n := b.running()
	c, err := cfg.Clone()
	if err != nil {
		return nil, console.ConfigVersion{}, err
	}
	v := console.ConfigVersion{N: n}
	if cv, err := b.a.db.ConfigVersionN(n); err == nil {
		v = console.ConfigVersion{N: n, Time: cv.Time, User: cv.Who, Comment: cv.Comment}
	}
	return c, v, nil
}

// CommitConfig implements console.Configs: validate everything (site, profiles, a throw-away
// engine, the watchdog ordering), open a new field if the field's part changed, store, then apply
// without a restart: the new field swapped in under the runner, the engine's loops retuned
// bumplessly. Nothing is stored and nothing changes unless every check and the new field's open
// succeed.
func (b *backend) CommitConfig(ctx context.Context, cfg *site.Config, info console.CommitInfo) (console.ConfigVersion, error) {
	if cfg == nil {
		return console.ConfigVersion{}, errors.New("no configuration")
	}
	if pn := b.a.pn; pn != nil && !pn.isActive() {
		// The active streams every commit to this board; two boards committing apart would
		// leave the pair with two configurations.
		st := pn.status()
		where := "its peer"
		if st.PeerHeard.IsZero() {
			where = "its peer (not heard yet)"
		} else if len(pn.id.Peers) > 0 {
			where = fmt.Sprintf("the peer, node %d at %s", st.Peer.NodeID, pn.id.Peers[0])
		}
		return console.ConfigVersion{}, fmt.Errorf("%w: this board is %s; commit on %s, which streams it here", ErrStandby, st.Role, where)
	}
	v, err := b.commitConfig(ctx, cfg, info)
	if err == nil && b.a.pn != nil {
		b.a.pn.sendConfig(v.User, v.Comment)
	}
	return v, err
}

// commit stores and applies a configuration that came from the pair's active (no role check,
// no commit confirmed: the active holds the confirmation).
func (b *backend) commit(ctx context.Context, cfg *site.Config, who, comment string, _ bool) (console.ConfigVersion, error) {
	return b.commitConfig(ctx, cfg, console.CommitInfo{User: who, Comment: comment, Time: time.Now()})
}

func (b *backend) commitConfig(ctx context.Context, cfg *site.Config, info console.CommitInfo) (console.ConfigVersion, error) {
	b.cfgMu.Lock()
	defer b.cfgMu.Unlock()
	c, err := cfg.Clone()
	if err != nil {
		return console.ConfigVersion{}, err
	}
	data, err := site.Encode(c)
	if err != nil {
		return console.ConfigVersion{}, err
	}
	// Run from exactly what a restart would load, checked as every stored version is.
	next, err := ParseConfig(data, "candidate")
	if err != nil {
		return console.ConfigVersion{}, err
	}
	if b.bootBoard.Watchdog != "" && b.a.brd != nil {
		if err := board.ValidateTimeouts(next.Control.Period.Duration, maxBMS(next), b.bootBoard.WatchdogTimeout.Duration); err != nil {
			return console.ConfigVersion{}, fmt.Errorf("%w (the watchdog in force until the next start)", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return console.ConfigVersion{}, err
	}
	prev, _ := b.running()
	change := field.Compare(prev, next)
	reopen := change == field.Reopen
	var (
		f     *field.Field
		fctx  context.Context
		fstop context.CancelFunc
	)
	actx := b.a.ctx
	if actx == nil {
		actx = context.Background()
	}
	if reopen {
		if f, fctx, fstop, err = b.a.dialField(actx, next); err != nil {
			return console.ConfigVersion{}, err
		}
	}
	who := clip(info.User, 64)
	if who == "" {
		who = "console"
	}
	n, err := b.a.db.SaveConfig(data, who, clip(info.Comment, 1024))
	if err == nil {
		err = b.storePending(n, who, info)
	}
	if err != nil {
		if f != nil {
			fstop()
			f.Close()
		}
		b.a.storageFailed("commit", err)
		return console.ConfigVersion{}, err
	}
	// Stored: from here on the new configuration is the running one.
	if f != nil {
		b.a.useField(fctx, f, fstop, next)
	}
	if change == field.SettingsOnly && !b.a.updateUnitSettings(next) {
		// The open field did not come from prev (cannot happen short of a bug): reopen it.
		if f, fctx, fstop, err := b.a.dialField(actx, next); err != nil {
			b.a.warnf("configuration v%d stored; reopening the field: %v", n, err)
			b.a.event(storage.KindSystem, "system", fmt.Sprintf("configuration v%d stored but the field did not reopen: %v (restart to apply)", n, err))
		} else {
			b.a.useField(fctx, f, fstop, next)
		}
	}
	if err := b.a.eng.ApplyConfig(b.withHolds(next)); err != nil {
		// engine.New accepted it above; this cannot happen short of a bug. Say so loudly.
		b.a.warnf("configuration v%d stored but not applied by the engine: %v", n, err)
		b.a.event(storage.KindSystem, "system", fmt.Sprintf("configuration v%d stored but not applied: %v (restart to apply)", n, err))
	}
	b.a.mu.Lock()
	b.a.cfg, b.a.version = next, n
	b.a.mu.Unlock()
	if prev.Control.Checkpoint != next.Control.Checkpoint {
		b.a.ckpt.SetInterval(next.Control.Checkpoint.Duration)
	}
	if !reflect.DeepEqual(prev.Board, next.Board) {
		// Pins, LEDs, relay and watchdog are claimed once at start; a live swap could glitch
		// the bus-transfer relay.
		b.a.event(storage.KindConfig, who, fmt.Sprintf("configuration v%d: board settings take effect at the next start", n))
	}
	v := console.ConfigVersion{N: n, Time: info.Time, User: who, Comment: info.Comment}
	if cv, err := b.a.db.ConfigVersionN(n); err == nil {
		v.Time = cv.Time
	}
	return v, nil
}

// storePending records (or, for a plain commit, clears) the commit confirmed of version n, so
// that a crash inside its window cannot keep the change for good.
func (b *backend) storePending(n int, who string, info console.CommitInfo) error {
	if info.ConfirmWithin <= 0 {
		b.a.pend.set(nil, time.Now())
		return b.a.db.SetPendingCommit(nil)
	}
	id, up := board.BootClock()
	p := &storage.PendingCommit{Version: n, RollbackTo: info.RollbackTo, User: who, Window: info.ConfirmWithin, BootID: id, BootAt: up}
	if err := b.a.db.SetPendingCommit(p); err != nil {
		return err
	}
	b.a.pend.set(p, time.Now())
	return nil
}

// PendingCommit implements console.Configs.
func (b *backend) PendingCommit(context.Context) (*console.PendingCommit, error) {
	p := b.a.pend.get(time.Now())
	if p == nil {
		return nil, nil
	}
	return &console.PendingCommit{Version: p.Version, RollbackTo: p.RollbackTo, User: p.User, Window: p.Window,
		Remaining: max(p.Window-p.Elapsed, 0)}, nil
}

// ConfirmCommit implements console.Configs.
func (b *backend) ConfirmCommit(_ context.Context, n int) error {
	p := b.a.pend.get(time.Now())
	if p == nil || p.Version != n {
		return nil
	}
	if err := b.a.db.SetPendingCommit(nil); err != nil {
		b.a.storageFailed("confirm", err)
		return err
	}
	b.a.pend.set(nil, time.Now())
	return nil
}

// withHolds is cfg as the engine runs it: the valves held by a commissioning test on top.
// Callers hold cfgMu.
func (b *backend) withHolds(cfg *site.Config) *site.Config {
	if len(b.holds) == 0 {
		return cfg
	}
	c, err := cfg.Clone()
	if err != nil {
		return cfg
	}
	for name, v := range b.holds {
		if u := c.Unit(name); u != nil {
			v = min(max(v, u.MinValvePct), u.MaxValvePct)
			u.MinValvePct, u.MaxValvePct = v, v
		}
	}
	return c
}

// ConfigVersion implements console.Configs.
func (b *backend) ConfigVersion(_ context.Context, n int) (*site.Config, console.ConfigVersion, error) {
	if n < 1 {
		return nil, console.ConfigVersion{}, fmt.Errorf("version %d: %w", n, console.ErrNoVersion)
	}
	cv, err := b.a.db.ConfigVersionN(n)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, console.ConfigVersion{}, fmt.Errorf("version %d: %w", n, console.ErrNoVersion)
	}
	if err != nil {
		return nil, console.ConfigVersion{}, err
	}
	cfg, err := site.Parse(cv.Data, fmt.Sprintf("configuration v%d", n))
	if err != nil {
		return nil, console.ConfigVersion{}, err
	}
	return cfg, console.ConfigVersion{N: cv.Version, Time: cv.Time, User: cv.Who, Comment: cv.Comment}, nil
}

// ConfigHistory implements console.Configs: newest first.
func (b *backend) ConfigHistory(_ context.Context, limit int) ([]console.ConfigVersion, error) {
	hist, err := b.a.db.ConfigHistory()
	if err != nil {
		return nil, err
	}
	var out []console.ConfigVersion
	for i := len(hist) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		cv := hist[i]
		out = append(out, console.ConfigVersion{N: cv.Version, Time: cv.Time, User: cv.Who, Comment: cv.Comment})
	}
	return out, nil
}

// ---- EventLog ----

// storageKind maps the console's event kinds onto the storage kinds; the console's kind leads
// the text ("login-failed: ...") so that Events can give it back.
func storageKind(kind string) string {
	switch kind {
	case console.EventLogin, console.EventLoginFailed, console.EventLockout, console.EventLogout, console.EventPassword:
		return storage.KindLogin
	case console.EventCommit, console.EventConfirm, console.EventRollback:
		return storage.KindConfig
	case console.EventLoopMode, console.EventTune, console.EventTestUnit:
		return storage.KindMode
	default: // reboot, console errors, anything new
		return storage.KindSystem
	}
}

var consoleKinds = []string{console.EventLogin, console.EventLoginFailed, console.EventLockout, console.EventLogout,
	console.EventPassword, console.EventCommit, console.EventConfirm, console.EventRollback, console.EventLoopMode,
	console.EventTune, console.EventTestUnit, console.EventReboot, console.EventAlarm, console.EventPair, console.EventConsoleError}

// clip cuts s to at most n bytes of valid UTF-8 (a failed login may carry any name typed).
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// LogEvent implements console.EventLog.
func (b *backend) LogEvent(_ context.Context, e console.Event) error {
	kind := e.Kind
	if kind == "" {
		kind = console.EventConsoleError
	}
	text := clip(kind+": "+e.Text, 4000)
	_, err := b.a.db.AppendEvent(storage.Event{Time: e.Time, Kind: storageKind(kind), Who: clip(e.User, 64), Text: text})
	if err != nil {
		b.a.storageFailed("event log", err)
	}
	return err
}

// Events implements console.EventLog: the newest limit events, oldest first, the console's own
// kinds restored.
func (b *backend) Events(_ context.Context, limit int) ([]console.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	evs, err := b.a.db.Events(limit)
	if err != nil {
		return nil, err
	}
	// The engine's newest events wait for the next checkpoint commit; show them too. Merge by
	// time (newest first, as db.Events) since console events are committed at once.
	if pend := b.a.ckpt.Pending(); len(pend) > 0 {
		slices.Reverse(pend)
		evs = append(pend, evs...)
		slices.SortStableFunc(evs, func(x, y storage.Event) int { return y.Time.Compare(x.Time) })
		evs = evs[:min(len(evs), limit)]
	}
	out := make([]console.Event, 0, len(evs))
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		ce := console.Event{Time: e.Time, User: e.Who, Kind: e.Kind, Text: e.Text}
		for _, k := range consoleKinds {
			if rest, ok := strings.CutPrefix(e.Text, k+": "); ok && storageKind(k) == e.Kind && e.Who != "engine" {
				ce.Kind, ce.Text = k, rest
				break
			}
		}
		out = append(out, ce)
	}
	return out, nil
}
