package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board"
	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/drivers/field"
	"github.com/coldaisle/coldaisle/storage"
)

// logRec collects what the appliance logs.
type logRec struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRec) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logRec) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// bootOnce opens the appliance (no Serve) and closes its database again, as a power cut would
// leave it: no shutdown, no final checkpoint.
func bootOnce(t *testing.T, o Options) (*App, *logRec) {
	t.Helper()
	rec := &logRec{}
	o.NoBoard, o.Logf = true, rec.logf
	a, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open: %v\nlog:\n%s", err, rec.text())
	}
	t.Cleanup(func() { a.db.Close() })
	return a, rec
}

func withDB(t *testing.T, path string, fn func(db *storage.DB)) {
	t.Helper()
	db, err := storage.Open(path, &storage.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fn(db)
}

// Issue 9 item 5: a stored version that fails the full validation at start (an older release
// stored it) does not leave the room without a controller: the newest version that passes runs,
// with an alarm that says why.
func TestStoredVersionThatFailsFallsBack(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "state.db")
	a, _ := bootOnce(t, Options{ConfigPath: writeSite(t, dir, siteTOML), DBPath: dbPath})
	a.db.Close()
	withDB(t, dbPath, func(db *storage.DB) {
		bad := siteTOML + "\n[control]\nsetpoint_c = 40.0\n"
		if _, err := db.SaveConfig([]byte(bad), "old-release", "stored before validation was whole"); err != nil {
			t.Fatal(err)
		}
	})
	a, rec := bootOnce(t, Options{DBPath: dbPath})
	if a.version != 1 {
		t.Fatalf("running version %d, want 1 (the newest that loads)\nlog:\n%s", a.version, rec.text())
	}
	st, err := a.backend().Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(st.Alarms, "\n")
	if !strings.Contains(got, "configuration v2 does not load") || !strings.Contains(got, "control.setpoint_c: 40 is outside 15..32") || !strings.Contains(got, "running v1") {
		t.Fatalf("alarms: %q", got)
	}
}

// A first start that cannot work leaves no database behind and says what to do.
func TestFirstStartMessages(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "state.db")
	_, err := Open(context.Background(), Options{DBPath: dbPath, NoBoard: true, Logf: quiet})
	if !errors.Is(err, ErrNoConfig) || !strings.Contains(err.Error(), "give the site file: coldaisle run --config site.toml --db "+dbPath) {
		t.Fatalf("no flags: %v", err)
	}
	_, err = Open(context.Background(), Options{DBPath: dbPath, ConfigPath: filepath.Join(dir, "nope.toml"), NoBoard: true, Logf: quiet})
	if err == nil || !strings.Contains(err.Error(), "site file: open") || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing site file: %v", err)
	}
	_, err = Open(context.Background(), Options{DBPath: filepath.Join(dir, "no-dir", "state.db"), ConfigPath: writeSite(t, dir, siteTOML), NoBoard: true, Logf: quiet})
	if err == nil || !strings.Contains(err.Error(), "database directory") {
		t.Fatalf("missing directory: %v", err)
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed first start left %s: %v", dbPath, err)
	}
}

// With a stored configuration, a site file given again is not what runs: the log says so, with
// the difference, and a missing file is said to be missing (not "ignored").
func TestSiteFileDifferenceIsShown(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "state.db")
	cfgPath := writeSite(t, dir, siteTOML)
	a, _ := bootOnce(t, Options{ConfigPath: cfgPath, DBPath: dbPath})
	a.db.Close()
	writeSite(t, dir, strings.Replace(siteTOML, "unit_id = 1", "unit_id = 1\nmin_fan_pct = 35.0", 1))
	a, rec := bootOnce(t, Options{ConfigPath: cfgPath, DBPath: dbPath})
	a.db.Close()
	log := rec.text()
	for _, want := range []string{"differs from stored configuration v1, which is what runs", "--import", "-  min_fan_pct = 30.0", "+  min_fan_pct = 35.0"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	os.Remove(cfgPath)
	_, rec = bootOnce(t, Options{ConfigPath: cfgPath, DBPath: dbPath})
	if log := rec.text(); !strings.Contains(log, "no such file or directory; running stored configuration v1") {
		t.Errorf("missing site file: %s", log)
	}
}

// Issue 9 item 4: a commit confirmed interrupted by a crash or a power loss does not keep its
// change for good. Time is the boot clock's, never the wall clock's.
func TestPendingCommitAcrossRestarts(t *testing.T) {
	addr, _ := simulator(t, 1)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "state.db")
	cfgPath := writeSite(t, dir, fmt.Sprintf(rigTOML, addr))
	console := struct{ *os.File }{os.Stdin} // Open only asks whether a console will run

	a, _ := bootOnce(t, Options{ConfigPath: cfgPath, DBPath: dbPath, Console: console})
	b := a.backend()
	next, _ := a.cfg.Clone()
	next.Units[0].MinFanPct = 35
	if _, err := b.CommitConfig(context.Background(), next, commitConfirmed(5*time.Minute, 1)); err != nil {
		t.Fatal(err)
	}
	// Power cut: the database is closed as it is, no rollback ran.
	a.shutdownField()
	a.db.Close()

	// Restart within the window, same boot: still pending, with what is left of it.
	a, rec := bootOnce(t, Options{DBPath: dbPath, Console: console})
	if a.version != 2 {
		t.Fatalf("running v%d after a restart inside the window, want v2\n%s", a.version, rec.text())
	}
	p, err := a.backend().PendingCommit(context.Background())
	if err != nil || p == nil || p.Version != 2 || p.RollbackTo != 1 || p.Remaining > 5*time.Minute || p.Remaining < 4*time.Minute {
		t.Fatalf("pending after restart: %+v %v", p, err)
	}
	a.db.Close()

	// The window ran out on this boot's clock while the controller was down: rolled back at start.
	withDB(t, dbPath, func(db *storage.DB) {
		rec, err := db.PendingCommitRecord()
		if err != nil || rec == nil {
			t.Fatalf("record: %+v %v", rec, err)
		}
		_, up := board.BootClock()
		rec.BootAt = up - 6*time.Minute
		if err := db.SetPendingCommit(rec); err != nil {
			t.Fatal(err)
		}
	})
	a, lg := bootOnce(t, Options{DBPath: dbPath, Console: console})
	if a.version != 3 || a.cfg.Units[0].MinFanPct != 30 {
		t.Fatalf("after the window ran out: v%d min_fan_pct %g, want v3 with 30\n%s", a.version, a.cfg.Units[0].MinFanPct, lg.text())
	}
	if !strings.Contains(lg.text(), "automatic rollback at start to version 1: commit confirmed of version 2") {
		t.Fatalf("log: %s", lg.text())
	}
	evs, _ := a.db.Events(20)
	found := false
	for _, e := range evs {
		found = found || strings.Contains(e.Text, "automatic rollback at start")
	}
	if !found {
		t.Fatalf("no event for the rollback: %+v", evs)
	}
	if p, _ := a.db.PendingCommitRecord(); p != nil {
		t.Fatalf("still pending after the rollback: %+v", p)
	}
}

func TestPendingElapsedUsesTheBootClock(t *testing.T) {
	p := &storage.PendingCommit{Window: 5 * time.Minute, Elapsed: time.Minute, BootID: "a", BootAt: time.Hour}
	if got := pendingElapsed(p, "a", time.Hour+2*time.Minute); got != 3*time.Minute {
		t.Fatalf("same boot: %v, want 3m", got)
	}
	// After a reboot: what was stored plus this boot's uptime (the time off is not known).
	if got := pendingElapsed(p, "b", 30*time.Second); got != 90*time.Second {
		t.Fatalf("new boot: %v, want 1m30s", got)
	}
}

// Issue 9 item 11: state older than control.restore_max_age (or of unknown age) is not restored.
func TestOnlyRecentStateIsRestored(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "state.db")
	a, _ := bootOnce(t, Options{ConfigPath: writeSite(t, dir, siteTOML), DBPath: dbPath})
	a.eng.Tick(time.Now())
	loops := toLoops(a.eng.State())
	a.db.Close()
	for _, tc := range []struct {
		name string
		age  time.Duration
		want string
	}{
		{"recent", time.Minute, "resumed from checkpoint"},
		{"old", 3 * time.Hour, "not restored: 3h0m0s old (control.restore_max_age 10m0s)"},
		{"future", -time.Hour, "not restored: of unknown age"},
	} {
		withDB(t, dbPath, func(db *storage.DB) {
			if _, err := db.SaveCheckpoint(storage.Checkpoint{Time: time.Now().Add(-tc.age), Loops: loops}); err != nil {
				t.Fatal(err)
			}
		})
		a, rec := bootOnce(t, Options{DBPath: dbPath})
		a.db.Close()
		if !strings.Contains(rec.text(), tc.want) {
			t.Errorf("%s: log lacks %q:\n%s", tc.name, tc.want, rec.text())
		}
	}
}

// Issue 9 item 8: a full disk is an alarm, a counter and an LED pattern, not "alarms none". The
// disk is a real tmpfs that really fills up (root only).
func TestFullDiskIsAlarmed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	mnt := filepath.Join(dir, "disk")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	r := startRig(t, func(o *Options) {
		o.DBPath = filepath.Join(mnt, "state.db")
		site, _ := os.ReadFile(o.ConfigPath)
		os.WriteFile(o.ConfigPath, []byte(strings.Replace(string(site), `period = "200ms"`, "period = \"200ms\"\ncheckpoint = \"1s\"", 1)), 0o644)
	})
	// Fill the disk.
	fill, err := os.Create(filepath.Join(mnt, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := fill.Write(chunk); err != nil {
			break
		}
	}
	fill.Close()
	// Steady checkpoints may rewrite pages the file already has; the event log grows, as it
	// does in a real room: log until the disk refuses.
	for i := 0; i < 2000; i++ {
		if err := r.b.LogEvent(context.Background(), console.Event{User: "tech", Kind: console.EventLogin, Text: strings.Repeat("x", 300)}); err != nil {
			break
		}
	}
	status := func() string {
		st, err := r.b.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(st.Alarms, "\n")
	}
	waitFor(t, 20*time.Second, "the storage alarm", func() bool {
		s := status()
		return strings.Contains(s, "major controller: ") && strings.Contains(s, "not being saved")
	})
	if n := r.a.storageFailures.Load(); n == 0 {
		t.Fatal("storage.failures counter is 0")
	}
	if got := r.a.counters()["storage.failures"]; got == 0 {
		t.Fatal("counters lack storage.failures")
	}
	// Room again: the alarm clears with a checkpoint written after a quiet spell.
	os.Remove(filepath.Join(mnt, "fill"))
	r.a.lastStorageFail.Store(time.Now().Add(-time.Hour).UnixNano())
	waitFor(t, 20*time.Second, "the storage alarm to clear", func() bool { return !strings.Contains(status(), "not being saved") })
}

func commitConfirmed(window time.Duration, rollbackTo int) console.CommitInfo {
	return console.CommitInfo{User: "tech", Time: time.Now(), Comment: "commit confirmed", ConfirmWithin: window, RollbackTo: rollbackTo}
}

// shutdownField stops a field opened by a commit on an App that was never served.
func (a *App) shutdownField() {
	f, stop := a.fld.swap(nil, nil, nil)
	if stop != nil {
		stop()
	}
	a.fieldWG.Wait()
	if f != nil {
		f.Close()
	}
}

// fieldNow is the open field (nil if none), for tests that compare it before and after a commit.
func (a *App) fieldNow() *field.Field {
	f, _ := a.fld.get()
	return f
}

// Issue 11: a zone's learned sensor offsets (what carries a lost hot spot) are in the checkpoint
// on a real database and restored at the next boot; a zone with long sensor ids keeps the
// hottest within the store's size for one loop.
func TestLearnedOffsetsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "state.db")
	a, _ := bootOnce(t, Options{ConfigPath: writeSite(t, dir, siteTOML), DBPath: dbPath})
	st := a.eng.State()
	z := st.Zones["z1"]
	z.Offsets = map[string]float64{sensor1: 0, sensor2: -1.25}
	st.Zones["z1"] = z
	a.db.Close()
	withDB(t, dbPath, func(db *storage.DB) {
		if _, err := db.SaveCheckpoint(storage.Checkpoint{Time: time.Now(), Loops: toLoops(st)}); err != nil {
			t.Fatal(err)
		}
	})
	b, rec := bootOnce(t, Options{DBPath: dbPath})
	if got := b.eng.State().Zones["z1"].Offsets; !maps.Equal(got, z.Offsets) {
		t.Fatalf("offsets after the restart %v, want %v\n%s", got, z.Offsets, rec.text())
	}

	long := engine.ZoneState{Offsets: map[string]float64{}}
	for i := range engine.CheckpointOffsets * 2 {
		long.Offsets[fmt.Sprintf("%062d/%d", i, i%8)] = -float64(i) / 10
	}
	data := zoneData(long)
	var back engine.ZoneState
	if err := json.Unmarshal(data, &back); err != nil || len(data) > storage.MaxLoopData || len(back.Offsets) == 0 {
		t.Fatalf("%d bytes, %d offsets kept: %v", len(data), len(back.Offsets), err)
	}
	for id, d := range back.Offsets {
		for id2, d2 := range long.Offsets {
			if _, kept := back.Offsets[id2]; !kept && d2 > d {
				t.Errorf("kept %s (%g) but dropped the hotter %s (%g)", id, d, id2, d2)
			}
		}
	}
}
