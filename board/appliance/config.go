package appliance

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/board"
	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/field"
	"github.com/coldaisle/coldaisle/storage"
)

// ParseConfig is the one validation a configuration passes before it is stored or run, on every
// path (first boot, --import, db import-config, a console commit, a start from the database): the
// site file's own rules (site.Parse), the custom register-map profiles and every unit's profile
// (drivers/field), and the engine's own build of it. A configuration that passes here also loads
// at the next start, so validation never happens in layers that a stored version could slip
// between (a restart loop with nobody in control).
func ParseConfig(data []byte, name string) (*site.Config, error) {
	cfg, err := site.Parse(data, name)
	if err != nil {
		return nil, err
	}
	if err := CheckConfig(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// CheckConfig runs what ParseConfig adds to site's rules on a configuration already decoded.
func CheckConfig(cfg *site.Config) error {
	if err := field.Check(cfg); err != nil {
		return err
	}
	if _, err := engine.New(cfg); err != nil {
		return err
	}
	return nil
}

// loadConfig imports the site file on first boot (or with Import) and returns the configuration
// the controller runs from: the newest stored version that passes ParseConfig.
func (a *App) loadConfig() (*site.Config, int, error) {
	cur, err := a.db.Config()
	haveStored := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, 0, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if a.opts.ConfigPath != "" && (!haveStored || a.opts.Import) {
		data, err := os.ReadFile(a.opts.ConfigPath)
		if err != nil {
			return nil, 0, fmt.Errorf("appliance: site file: %w", err)
		}
		cfg, err := ParseConfig(data, a.opts.ConfigPath)
		if err != nil {
			return nil, 0, err // names file, line, field and reason; nothing was stored
		}
		a.warnConfig(cfg)
		canon, err := site.Encode(cfg)
		if err != nil {
			return nil, 0, err
		}
		v, err := a.db.SaveConfig(canon, "import", "imported from "+a.opts.ConfigPath)
		if err != nil {
			return nil, 0, fmt.Errorf("appliance: store configuration: %w", err)
		}
		if err := a.db.SetPendingCommit(nil); err != nil {
			return nil, 0, fmt.Errorf("appliance: store configuration: %w", err)
		}
		a.logf("configuration %s imported as version %d", a.opts.ConfigPath, v)
		return cfg, v, nil
	}
	if !haveStored {
		return nil, 0, ErrNoConfig
	}
	if err := a.resolvePending(); err != nil {
		return nil, 0, err
	}
	if cur, err = a.db.Config(); err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	cfg, v, err := a.newestValid(cur)
	if err != nil {
		return nil, 0, err
	}
	a.noteSiteFile(cfg, v)
	return cfg, v, nil
}

// newestValid parses cur, or when it fails (written by an older release, say), the newest older
// version that passes, with an alarm: a board that cannot load its latest version still controls
// rather than restart forever.
func (a *App) newestValid(cur storage.ConfigVersion) (*site.Config, int, error) {
	name := func(v int) string { return fmt.Sprintf("%s (configuration v%d)", a.opts.DBPath, v) }
	cfg, firstErr := ParseConfig(cur.Data, name(cur.Version))
	if firstErr == nil {
		return cfg, cur.Version, nil
	}
	a.warnf("stored configuration v%d does not load: %v", cur.Version, firstErr)
	for v := cur.Version - 1; v >= 1; v-- {
		cv, err := a.db.ConfigVersionN(v)
		if err != nil {
			continue
		}
		cfg, err := ParseConfig(cv.Data, name(v))
		if err != nil {
			continue
		}
		text := fmt.Sprintf("configuration v%d does not load (%s); running v%d, the newest version that does: fix and commit, or import a site file",
			cur.Version, oneLine(firstErr.Error(), 300), v)
		a.raiseAlarm("config", text)
		a.warnf("%s", text)
		return cfg, v, nil
	}
	return nil, 0, fmt.Errorf("%w: no stored configuration loads; the newest: %w; the units stay on their own BMS fallback; import a site file with --import", ErrRefused, firstErr)
}

// noteSiteFile tells the operator what a --config file given at a start with a stored
// configuration means: the file is not what runs, and how it differs.
func (a *App) noteSiteFile(running *site.Config, v int) {
	p := a.opts.ConfigPath
	if p == "" {
		return
	}
	data, err := os.ReadFile(p)
	if err != nil {
		a.warnf("site file %s: %v; running stored configuration v%d", p, err, v)
		return
	}
	file, err := site.Parse(data, p)
	if err != nil {
		a.warnf("site file %s does not load (%s); running stored configuration v%d", p, oneLine(err.Error(), 300), v)
		return
	}
	fa, _ := site.Encode(running)
	fb, _ := site.Encode(file)
	if d := console.UnifiedDiff(fmt.Sprintf("stored v%d (running)", v), p, string(fa), string(fb)); d != "" {
		a.warnf("site file %s differs from stored configuration v%d, which is what runs; to apply the file: coldaisle run --import (or scripts/install-board.sh --import). The difference:\n%s", p, v, strings.TrimRight(d, "\n"))
	}
}

// warnConfig logs what validation allows but warns of.
func (a *App) warnConfig(cfg *site.Config) {
	for _, w := range cfg.Warnings() {
		a.warnf("configuration warning: %s", w)
	}
}

// oneLine folds err text onto one line of at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

// pendingElapsed is how much of a pending commit's window has passed: on the same boot, the boot
// clock says exactly; after a reboot, what was stored plus the time this boot has been up (the
// time the board was off is unknowable without a battery-backed clock and does not count).
func pendingElapsed(p *storage.PendingCommit, bootID string, up time.Duration) time.Duration {
	if p.BootID != "" && p.BootID == bootID && up >= p.BootAt {
		return p.Elapsed + (up - p.BootAt)
	}
	return p.Elapsed + up
}

// resolvePending decides, at start, what becomes of a commit confirmed that a crash or a power
// loss interrupted: its window has run out (or no console runs to confirm it) -> rolled back now,
// with a note in the log; otherwise it stays pending with what is left of its window.
func (a *App) resolvePending() error {
	p, err := a.db.PendingCommitRecord()
	if err != nil {
		// The record does not say what to roll back to: drop it, keep what runs, and say so
		// loudly so a technician checks the history.
		a.warnf("pending commit: %v; dropped, the newest configuration stays", err)
		a.raiseAlarm("config", "a pending commit confirmed could not be read at start ("+oneLine(err.Error(), 200)+"); the newest configuration runs: check show history")
		if cerr := a.db.SetPendingCommit(nil); cerr != nil {
			return fmt.Errorf("appliance: %w", cerr)
		}
		return nil
	}
	if p == nil {
		return nil
	}
	id, up := board.BootClock()
	elapsed := pendingElapsed(p, id, up)
	why := ""
	switch {
	case elapsed >= p.Window:
		why = fmt.Sprintf("its %v window ran out across a restart (%v had passed)", p.Window, elapsed.Round(time.Second))
	case a.opts.Console == nil:
		why = "the controller restarted without a console to confirm it"
	}
	if why == "" {
		p.Elapsed, p.BootID, p.BootAt = elapsed, id, up
		a.pend.set(p, time.Now())
		a.logf("commit confirmed of version %d is still pending: %v left to confirm it", p.Version, (p.Window - elapsed).Round(time.Second))
		return a.db.SetPendingCommit(p)
	}
	cv, err := a.db.ConfigVersionN(p.RollbackTo)
	if err != nil {
		return fmt.Errorf("%w: pending commit of version %d: version %d: %w", ErrRefused, p.Version, p.RollbackTo, err)
	}
	comment := fmt.Sprintf("automatic rollback at start to version %d: commit confirmed of version %d by %s not confirmed: %s", p.RollbackTo, p.Version, p.User, why)
	v, err := a.db.SaveConfig(cv.Data, "system", comment)
	if err != nil {
		return fmt.Errorf("appliance: rollback: %w", err)
	}
	if err := a.db.SetPendingCommit(nil); err != nil {
		return fmt.Errorf("appliance: rollback: %w", err)
	}
	a.event(storage.KindConfig, "system", fmt.Sprintf("%s (now version %d)", comment, v))
	a.warnf("%s (now version %d)", comment, v)
	return nil
}

// pendingState is the commit confirmed the running controller holds, on its monotonic clock.
type pendingState struct {
	mu   sync.Mutex
	p    *storage.PendingCommit
	base time.Time // monotonic reading when p.Elapsed was current
	last time.Time // last time Elapsed was written to the database
}

func (s *pendingState) set(p *storage.PendingCommit, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.p, s.base, s.last = p, now, now
}

// get returns a copy of the pending commit with Elapsed brought up to now, or nil.
func (s *pendingState) get(now time.Time) *storage.PendingCommit {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p == nil {
		return nil
	}
	c := *s.p
	c.Elapsed += now.Sub(s.base)
	return &c
}

// pendingSaveEvery: how often the window's progress is stored while a commit is pending, so that
// after a power loss the window resumes at most this much too late.
const pendingSaveEvery = 10 * time.Second

// savePending stores the window's progress (from the control loop's hook).
func (a *App) savePending(now time.Time) {
	a.pend.mu.Lock()
	due := a.pend.p != nil && now.Sub(a.pend.last) >= pendingSaveEvery
	a.pend.mu.Unlock()
	if !due {
		return
	}
	p := a.pend.get(now)
	p.BootID, p.BootAt = board.BootClock()
	if err := a.db.SetPendingCommit(p); err != nil {
		a.storageFailed("pending commit", err)
		return
	}
	a.pend.set(p, now)
}

// raiseAlarm raises the controller's own alarm kind ("storage", "config") and, when it is new,
// notes it in the event log (after raising: a failing event log raises the storage alarm, which
// must find it raised already).
func (a *App) raiseAlarm(kind, text string) {
	_, had := a.hub.get("controller", kind)
	a.hub.raise("controller", kind, text)
	if !had {
		a.alarmEvent(kind, text, true)
	}
}

// clearAlarm clears the controller's alarm kind, noting it in the event log.
func (a *App) clearAlarm(kind string) {
	if _, had := a.hub.get("controller", kind); had {
		a.hub.clear("controller", kind)
		a.alarmEvent(kind, "", false)
	}
}

func (a *App) hasAlarm(kind string) bool {
	_, ok := a.hub.get("controller", kind)
	return ok
}

// storageClearAfter: the storage alarm clears only after this long without a failed write.
const storageClearAfter = 30 * time.Second

// storageFailed raises the storage alarm (with its counter and the health LED): a disk that
// refuses writes means the state, the event log and any commit are not being kept.
func (a *App) storageFailed(what string, err error) {
	a.storageFailures.Add(1)
	a.lastStorageFail.Store(time.Now().UnixNano())
	a.raiseAlarm("storage", fmt.Sprintf("%s failed: %s; state and events are not being saved", what, oneLine(err.Error(), 200)))
	if a.brd != nil {
		a.brd.SetHealth(board.HealthDegraded)
	}
}

// storageOK clears the storage alarm after a write succeeded, once no write has failed for
// storageClearAfter (a disk that refuses only some writes must not flap the alarm).
func (a *App) storageOK() {
	if !a.hasAlarm("storage") || time.Since(time.Unix(0, a.lastStorageFail.Load())) < storageClearAfter {
		return
	}
	a.clearAlarm("storage")
	if a.brd != nil {
		a.brd.SetHealth(board.HealthOK)
	}
}
