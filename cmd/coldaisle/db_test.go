package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/storage"
)

type result struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, bin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{code, out.String(), errb.String()}
}

func expect(t *testing.T, r result, code int, inStdout, inStderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout, inStdout) || !strings.Contains(r.stderr, inStderr) {
		t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stdout with %q, stderr with %q", r.code, code, r.stdout, r.stderr, inStdout, inStderr)
	}
}

func TestDBCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "coldaisle.db")
	cfg1 := filepath.Join(dir, "site1.toml")
	cfg2 := filepath.Join(dir, "site2.toml")
	bad := filepath.Join(dir, "bad.toml")
	siteFile := func(name, extra string) []byte {
		return []byte(fmt.Sprintf("site = %q\n%s\n[[line]]\nname = \"bms\"\ntarget = \"tcp://127.0.0.1:5020\"\n\n"+
			"[[unit]]\nname = \"crah-1\"\nline = \"bms\"\nunit_id = 1\n\n"+
			"[[zone]]\nname = \"z1\"\nunits = [\"crah-1\"]\nsensors = [\"00-17-0d-00-00-38-0a-1f/1\"]\n", name, extra))
	}
	os.WriteFile(cfg1, siteFile("hall-b", ""), 0o600)
	os.WriteFile(cfg2, siteFile("hall-c", ""), 0o600)
	os.WriteFile(bad, []byte("[site\nname = \n"), 0o600)
	hot := filepath.Join(dir, "hot.toml")
	os.WriteFile(hot, siteFile("hall-d", "[control]\nsetpoint_c = 40.0\n"), 0o600)

	// Usage errors: exit 2.
	expect(t, runBin(t, bin, "db"), 2, "", "missing verb")
	expect(t, runBin(t, bin, "db", "frobnicate", "--db", db), 2, "", `unknown verb "frobnicate"`)
	expect(t, runBin(t, bin, "db", "backup", "--db", db), 2, "", "needs exactly one FILE")
	expect(t, runBin(t, bin, "db", "check", "extra", "--db", db), 2, "", "two databases")
	expect(t, runBin(t, bin, "db", "export-config", "extra", "--db", db), 2, "", "takes no argument")
	expect(t, runBin(t, bin, "db", "check", "--db", db, "--timeout", "0s"), 2, "", "--timeout 0s is outside 1ms..10m")
	expect(t, runBin(t, bin, "db", "check", "--db", db, "--version", "2"), 2, "", "--version is only for export-config")
	expect(t, runBin(t, bin, "db", "export-config", "--db", db, "--who", "bob"), 2, "", "--who is only for import-config")
	expect(t, runBin(t, bin, "db", "import-config", cfg1, "--db", db, "--comment", "two\nlines"), 2, "", "control character")
	expect(t, runBin(t, bin, "db", "check", "--bogus"), 2, "", "flag provided but not defined")
	expect(t, runBin(t, bin, "db", "-h"), 0, "verbs:", "")

	// A database that does not exist yet: check fails clearly, creates nothing.
	expect(t, runBin(t, bin, "db", "check", "--db", db), 1, "", "does not exist")
	if _, err := os.Stat(db); err == nil {
		t.Fatal("check created the database")
	}

	// import-config: valid TOML creates version 1; invalid TOML stores nothing.
	expect(t, runBin(t, bin, "db", "import-config", cfg1, "--db", db, "--who", "alice"), 0, "configuration version 1", "")
	expect(t, runBin(t, bin, "db", "--db", db, "import-config", bad), 1, "", "nothing stored")
	// Issue 9: the controller's full validation runs before anything is stored.
	expect(t, runBin(t, bin, "db", "--db", db, "import-config", hot), 1, "", "hot.toml:3: control.setpoint_c: 40 is outside 15..32")
	expect(t, runBin(t, bin, "db", "import-config", filepath.Join(dir, "nope.toml"), "--db", db), 1, "", "does not exist")

	// Flags before or after the verb.
	expect(t, runBin(t, bin, "db", "check", "--db", db), 0, "ok (schema 2, 1 configuration versions", "")
	expect(t, runBin(t, bin, "db", "--db", db, "check"), 0, ": ok", "")

	r := runBin(t, bin, "db", "export-config", "--db", db)
	if r.code != 0 || !strings.Contains(r.stdout, `site = "hall-b"`) || !strings.Contains(r.stdout, "min_fan_pct = 30.0") {
		t.Fatalf("export-config (the stored form, defaults written out): exit %d, %q", r.code, r.stdout)
	}

	// backup, change, restore.
	backup := filepath.Join(dir, "backup.db")
	expect(t, runBin(t, bin, "db", "backup", backup, "--db", db), 0, "verified", "")
	expect(t, runBin(t, bin, "db", "import-config", cfg2, "--db", db), 0, "configuration version 2", "")
	expect(t, runBin(t, bin, "db", "export-config", "--version", "1", "--db", db), 0, "hall-b", "")
	expect(t, runBin(t, bin, "db", "export-config", "--db", db), 0, "hall-c", "")
	expect(t, runBin(t, bin, "db", "export-config", "--version", "7", "--db", db), 1, "", "version 7 does not exist")
	expect(t, runBin(t, bin, "db", "restore", backup, "--db", db), 0, "restored", "")
	expect(t, runBin(t, bin, "db", "export-config", "--db", db), 0, "hall-b", "")

	expect(t, runBin(t, bin, "db", "compact", "--db", db), 0, "compact", "") // restored from a backup: already compact
	expect(t, runBin(t, bin, "db", "check", "--db", db), 0, ": ok", "")

	// In use: the test process holds the database.
	held, err := storage.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	expect(t, runBin(t, bin, "db", "check", "--db", db, "--timeout", "200ms"), 1, "", "is in use by another process")
	expect(t, runBin(t, bin, "db", "import-config", cfg2, "--db", db, "--timeout", "200ms"), 1, "", "is in use by another process")
	expect(t, runBin(t, bin, "db", "restore", backup, "--db", db, "--timeout", "200ms"), 1, "", "is in use by another process")
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("in-use refusals took %v", el)
	}
	held.Close()

	// Corrupt: a truncated copy and a garbage file fail every reading verb with exit 1.
	good, _ := os.ReadFile(db)
	broken := filepath.Join(dir, "broken.db")
	os.WriteFile(broken, good[:len(good)/2], 0o600)
	expect(t, runBin(t, bin, "db", "check", "--db", broken), 1, "", "is corrupt")
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, bytes.Repeat([]byte("not a database "), 2000), 0o600)
	expect(t, runBin(t, bin, "db", "check", "--db", garbage), 1, "", "is corrupt")
	expect(t, runBin(t, bin, "db", "export-config", "--db", garbage), 1, "", "restore a backup")
	expect(t, runBin(t, bin, "db", "compact", "--db", garbage), 1, "", "is corrupt")
	// A corrupt backup is refused and the database is left alone.
	expect(t, runBin(t, bin, "db", "restore", garbage, "--db", db), 1, "", "is corrupt")
	after, _ := os.ReadFile(db)
	if !bytes.Equal(good, after) {
		t.Fatal("a refused restore changed the database")
	}
	// Restoring the good backup repairs a broken database.
	expect(t, runBin(t, bin, "db", "restore", backup, "--db", broken), 0, "restored", "")
	expect(t, runBin(t, bin, "db", "check", "--db", broken), 0, ": ok", "")
}

// A compaction never makes the file bigger: a backup (written at its exact size) compacts to
// less, and compacting again says it is already compact and leaves the file alone. A database
// given as the argument of check or compact is the database.
func TestDBCompactNeverGrows(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testBinary(t)
	dir := t.TempDir()
	db, backup, cfg := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db"), filepath.Join(dir, "site.toml")
	for i := range 10 {
		os.WriteFile(cfg, []byte(fmt.Sprintf("site = \"x%d\"\n# %s\n", i, strings.Repeat("x", 300))), 0o600)
		expect(t, runBin(t, bin, "db", "import-config", cfg, "--db", db), 0, "configuration version", "")
	}
	expect(t, runBin(t, bin, "db", "backup", backup, "--db", db), 0, "verified", "")
	size := func() int64 {
		fi, err := os.Stat(backup)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	expect(t, runBin(t, bin, "db", "compact", backup), 0, "compacted", "")
	after := size()
	t.Logf("backup %d bytes, compacted %d bytes", before, after)
	if after >= before {
		t.Fatalf("compact: %d -> %d bytes", before, after)
	}
	data, _ := os.ReadFile(backup)
	expect(t, runBin(t, bin, "db", "compact", "--db", backup), 0, "already compact", "")
	if again, _ := os.ReadFile(backup); !bytes.Equal(again, data) {
		t.Fatal("a compaction that gained nothing changed the file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Fatalf("files left: %v", entries)
	}
	expect(t, runBin(t, bin, "db", "check", backup), 0, "b.db: ok (schema 2, 10 configuration versions", "")
	expect(t, runBin(t, bin, "db", "export-config", "--db", backup), 0, "x9", "")
}

// db reset-epoch sets a stored epoch back to 0, says what else to reset, and refuses a
// database that is not there (it never creates one).
func TestDBResetEpoch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testBinary(t)
	path := filepath.Join(t.TempDir(), "e.db")
	expect(t, runBin(t, bin, "db", "reset-epoch", "--db", path), 1, "", "no database to reset")
	db, err := storage.Open(path, &storage.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.StoreEpoch(65535); err != nil {
		t.Fatal(err)
	}
	db.Close()
	expect(t, runBin(t, bin, "db", "reset-epoch", "--db", path), 0, "epoch reset from 65535 to 0", "")
	db, err = storage.Open(path, &storage.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if e, err := db.Epoch(); err != nil || e != 0 {
		t.Fatalf("epoch after reset: %d, %v", e, err)
	}
}
