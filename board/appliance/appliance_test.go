package appliance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/storage"
)

const siteTOML = `site = "test-room"
node_id = 7

[mesh]
port = "/nonexistent/coldaisle-gw"

[[line]]
name = "bms"
target = "tcp://127.0.0.1:1"
timeout = "100ms"

[[unit]]
name = "crah-1"
line = "bms"
unit_id = 1

[[zone]]
name = "z1"
units = ["crah-1"]
sensors = ["00-17-0d-00-00-38-0a-1f/1", "00-17-0d-00-00-38-0a-1f/2"]
`

func writeSite(t testing.TB, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "site.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func quiet(string, ...any) {}

func checkDB(t *testing.T, path string) {
	t.Helper()
	db, err := storage.Open(path, &storage.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatalf("reopen %s: %v", path, err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatalf("check: %v", err)
	}
}

func TestInvalidConfigChangesNothing(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeSite(t, dir, strings.Replace(siteTOML, "unit_id = 1", "unit_id = 1\nmin_fan_pct = 150", 1))
	dbPath := filepath.Join(dir, "state.db")
	_, err := Open(context.Background(), Options{ConfigPath: cfgPath, DBPath: dbPath, NoBoard: true, Logf: quiet})
	if err == nil || !errors.Is(err, site.ErrInvalid) || !strings.Contains(err.Error(), "site.toml:16: unit[0](crah-1).min_fan_pct") {
		t.Fatalf("want an error naming file, line and field, got %v", err)
	}
	// A failed first start leaves nothing behind (no empty database to trip the next start).
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a database file was left behind: %v", err)
	}
}

func TestCorruptDatabaseIsRefused(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "state.db")
	junk := make([]byte, 64*1024)
	for i := range junk {
		junk[i] = byte(i * 7)
	}
	if err := os.WriteFile(dbPath, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), Options{ConfigPath: writeSite(t, dir, siteTOML), DBPath: dbPath, NoBoard: true, Logf: quiet})
	if !errors.Is(err, ErrRefused) || !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("want ErrRefused wrapping ErrCorrupt, got %v", err)
	}
}

func TestFirstBootImportsThenRunsFromDatabase(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeSite(t, dir, siteTOML)
	dbPath := filepath.Join(dir, "state.db")
	run := func(o Options) {
		t.Helper()
		o.DBPath, o.NoBoard, o.Logf = dbPath, true, quiet
		ctx, cancel := context.WithCancel(context.Background())
		a, err := Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- a.Serve(ctx) }()
		deadline := time.Now().Add(10 * time.Second)
		for a.periods.Load() < 2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // polling a counter, not synchronising on time
		}
		if a.periods.Load() < 2 {
			t.Fatal("no control period completed")
		}
		stop := time.Now()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("serve: %v", err)
		}
		// The bound is 2 s; assert a generous one.
		if d := time.Since(stop); d > 5*time.Second {
			t.Fatalf("shutdown took %v", d)
		}
		checkDB(t, dbPath)
	}
	run(Options{ConfigPath: cfgPath})
	// Second boot: the file changes but is not re-imported without --import.
	writeSite(t, dir, strings.Replace(siteTOML, `site = "test-room"`, `site = "renamed"`, 1))
	run(Options{ConfigPath: cfgPath})
	db, err := storage.Open(dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := db.Config()
	db.Close()
	if err != nil || cv.Version != 1 || !strings.Contains(string(cv.Data), "test-room") {
		t.Fatalf("stored config after second boot: v%d %v", cv.Version, err)
	}
	run(Options{ConfigPath: cfgPath, Import: true})
	db, _ = storage.Open(dbPath, nil)
	cv, err = db.Config()
	cp, _ := db.LoadCheckpoint()
	ep, _ := db.Epoch()
	db.Close()
	if err != nil || cv.Version != 2 || !strings.Contains(string(cv.Data), "renamed") {
		t.Fatalf("--import did not replace the configuration: v%d %v", cv.Version, err)
	}
	if ep != 3 {
		t.Fatalf("epoch %d after three boots, want 3", ep)
	}
	if _, ok := fromLoops(cp.Loops); !ok {
		t.Fatalf("no engine state in the final checkpoint: %+v", cp.Loops)
	}
}

func TestSecondProcessGetsInUse(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "state.db")
	a, err := Open(context.Background(), Options{ConfigPath: writeSite(t, dir, siteTOML), DBPath: dbPath, NoBoard: true, Logf: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer a.db.Close()
	_, err = Open(context.Background(), Options{DBPath: dbPath, NoBoard: true, Logf: quiet})
	if !errors.Is(err, storage.ErrInUse) {
		t.Fatalf("want ErrInUse, got %v", err)
	}
}
