package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenNewDatabase(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 11, 23, 20, 0, 0, 0, time.UTC)}
	db, path := openTest(t, &Options{Now: clk.Now})
	if e, err := db.Epoch(); err != nil || e != 0 {
		t.Fatalf("Epoch of a new database = %d, %v; want 0", e, err)
	}
	if _, err := db.Config(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Config of a new database: %v, want ErrNotFound", err)
	}
	cp, err := db.LoadCheckpoint()
	if err != nil || cp.Seq != 0 || len(cp.Loops) != 0 || len(cp.Counters) != 0 {
		t.Fatalf("LoadCheckpoint of a new database = %+v, %v", cp, err)
	}
	if db.Path() != path || db.ReadOnly() {
		t.Fatalf("Path %q ReadOnly %v", db.Path(), db.ReadOnly())
	}
	if ev, err := db.Events(0); err != nil || len(ev) != 0 {
		t.Fatalf("Events = %v, %v", ev, err)
	}
}

func TestOpenMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.db")
	for _, o := range []*Options{{ReadOnly: true}, {MustExist: true}} {
		_, err := Open(path, o)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%+v) of a missing file: %v", *o, err)
		}
		if fileExists(path) {
			t.Fatalf("Open(%+v) created %s", *o, path)
		}
	}
	if _, err := Open(t.TempDir(), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open of a directory: %v", err)
	}
	if _, err := Open("", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open of an empty path: %v", err)
	}
}

func TestInUseSameProcess(t *testing.T) {
	db, path := openTest(t, nil)
	for _, ro := range []bool{false, true} {
		start := time.Now()
		second, err := Open(path, &Options{Timeout: 150 * time.Millisecond, ReadOnly: ro})
		if err == nil {
			second.Close()
			t.Fatalf("second Open (read-only %v) succeeded while the first is open", ro)
		}
		if !errors.Is(err, ErrInUse) {
			t.Fatalf("second Open (read-only %v): %v, want ErrInUse", ro, err)
		}
		if want := "storage: " + path + " is in use by another process"; err.Error() != want {
			t.Fatalf("message %q, want %q", err.Error(), want)
		}
		if el := time.Since(start); el < 100*time.Millisecond || el > 5*time.Second {
			t.Fatalf("second Open gave up after %v, want about the 150 ms timeout", el)
		}
	}
	// The first DB still works: the failed opens released nothing of its lock.
	if _, err := db.BumpEpoch(); err != nil {
		t.Fatal(err)
	}
	// Two read-only opens share the lock.
	db.Close()
	r1, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.BumpEpoch(); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("BumpEpoch on a read-only DB: %v", err)
	}
	if _, err := Open(path, &Options{Timeout: 50 * time.Millisecond}); !errors.Is(err, ErrInUse) {
		t.Fatalf("read-write Open while readers hold it: %v", err)
	}
	r1.Close()
	r2.Close()
	db, err = Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := db.Epoch(); e != 1 {
		t.Fatalf("epoch after reopen = %d, want 1", e)
	}
	track(t, db)
}

const childEnv = "COLDAISLE_STORAGE_CHILD"

// TestChildProcess is not a test: re-executed with childEnv set it becomes the helper process
// of TestInUseOtherProcess and TestCrash.
func TestChildProcess(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	switch mode {
	case "hold":
		holdChild(os.Getenv(childEnv + "_DB"))
	case "crash":
		crashChild(os.Getenv(childEnv + "_DB"))
	}
	os.Exit(0)
}

func holdChild(path string) {
	report := os.NewFile(3, "report")
	db, err := Open(path, nil)
	if err != nil {
		fmt.Fprintf(report, "error %v\n", err)
		os.Exit(1)
	}
	defer db.Close()
	fmt.Fprintln(report, "locked")
	// Hold the lock until the parent closes our stdin.
	buf := make([]byte, 1)
	os.Stdin.Read(buf)
}

func TestInUseOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a second process")
	}
	db, path := openTest(t, nil)
	db.Close()

	child := startChild(t, "hold", path)
	if line, err := child.readLine(20 * time.Second); err != nil || line != "locked" {
		t.Fatalf("child said %q, %v", line, err)
	}
	_, err := Open(path, &Options{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrInUse) || err.Error() != "storage: "+path+" is in use by another process" {
		t.Fatalf("Open while another process holds the database: %v", err)
	}
	child.stdin.Close() // the child closes the database and exits
	if err := child.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	db2, err := Open(path, nil)
	if err != nil {
		t.Fatalf("Open after the other process exited: %v", err)
	}
	checkAndClose(t, db2)
}

func TestCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	db, err := Open(good, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if _, err := db.SaveConfig(bytes.Repeat([]byte(fmt.Sprintf("# %d\n", i)), 500), "test", ""); err != nil {
			t.Fatal(err)
		}
	}
	checkAndClose(t, db)
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := 4096
	garbage := make([]byte, 64*1024)
	for i := range garbage {
		garbage[i] = byte(i*7919 + i/13)
	}
	badMeta := append([]byte(nil), goodBytes...)
	badMeta[16+56] ^= 0xff          // meta 0 checksum
	badMeta[pageSize+16+56] ^= 0xff // meta 1 checksum
	oneMeta := append([]byte(nil), goodBytes...)
	oneMeta[16+56] ^= 0xff

	otherBolt := filepath.Join(dir, "other.db")
	bdb, err := bolt.Open(otherBolt, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
	bdb.Close()
	otherBytes, _ := os.ReadFile(otherBolt)

	cases := []struct {
		name string
		data []byte
		ro   bool
		ok   bool
		want string
	}{
		{name: "garbage", data: garbage, want: "no valid meta page"},
		{name: "tiny", data: []byte("not a database"), want: "too short"},
		{name: "truncated", data: goodBytes[:len(goodBytes)/2], want: "truncated"},
		{name: "truncated to meta pages", data: goodBytes[:2*pageSize], want: "truncated"},
		{name: "both meta pages bad", data: badMeta, want: "no valid meta page"},
		{name: "one meta page bad", data: oneMeta, ok: true},
		{name: "empty read-only", data: []byte{}, ro: true, want: "empty"},
		{name: "not a coldaisle database", data: otherBytes, want: "not a coldaisle database"},
		{name: "text file", data: []byte(strings.Repeat("[site]\nname = \"x\"\n", 400)), want: "no valid meta page"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			if err := os.WriteFile(path, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := Open(path, &Options{ReadOnly: c.ro})
			if c.ok {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				// bbolt falls back to the other meta page: the newest commit or the one before.
				if cv, err := db.Config(); err != nil || cv.Version < 29 {
					t.Fatalf("Config = %d, %v", cv.Version, err)
				}
				checkAndClose(t, db)
				return
			}
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open: %v; want ErrCorrupt naming the file and %q", err, c.want)
			}
			// A refused file is released: it can be replaced and opened right away.
			if err := os.WriteFile(path, goodBytes, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err = Open(path, &Options{Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatalf("Open of the repaired file: %v", err)
			}
			checkAndClose(t, db)
		})
	}
}

// TestDamagedPages overwrites data pages of a sound database with garbage, one at a time: Open or
// Check must report ErrCorrupt (or the page was unused), and nothing may panic or crash.
func TestDamagedPages(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	db, err := Open(good, &Options{EventLimit: 300})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		db.SaveConfig(bytes.Repeat([]byte(fmt.Sprintf("k%d = %d\n", i, i)), 300), "t", "")
		loops, counters := sampleState(16, i)
		db.SaveCheckpoint(Checkpoint{Loops: loops, Counters: counters})
		db.AppendEvent(Event{Kind: KindAlarm, Text: strings.Repeat("x", 100)})
	}
	checkAndClose(t, db)
	goodBytes, _ := os.ReadFile(good)
	pages := len(goodBytes) / 4096
	patterns := [][]byte{
		bytes.Repeat([]byte{0xff}, 4096),
		bytes.Repeat([]byte{0x00}, 4096),
		bytes.Repeat([]byte{0x02, 0x00, 0x10, 0x00, 0xff, 0xff, 0x00, 0x00}, 512),
	}
	detected := 0
	for p := 2; p < pages; p++ {
		for pi, pat := range patterns {
			data := append([]byte(nil), goodBytes...)
			copy(data[p*4096+16:(p+1)*4096], pat) // keep the page id so only the content is bad
			path := filepath.Join(dir, fmt.Sprintf("bad-%d-%d.db", p, pi))
			os.WriteFile(path, data, 0o600)
			db, err := Open(path, nil)
			if err == nil {
				err = db.Check()
				db.Close()
			}
			if err != nil {
				detected++
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("page %d pattern %d: %v, want ErrCorrupt", p, pi, err)
				}
			}
			os.Remove(path)
		}
	}
	if detected == 0 {
		t.Fatalf("no damaged page of %d was detected", pages-2)
	}
	t.Logf("%d pages x %d patterns: %d detected (the rest hit free pages)", pages-2, len(patterns), detected)
}

func TestConfigHistory(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 11, 23, 8, 0, 0, 0, time.UTC)}
	db, path := openTest(t, &Options{Now: clk.Now})
	texts := []string{"[site]\nname = \"a\"\n", "[site]\nname = \"b\"\n", "[site]\nname = \"c\"\n"}
	for i, txt := range texts {
		clk.Advance(time.Minute)
		v, err := db.SaveConfig([]byte(txt), "alice", fmt.Sprintf("change %d", i+1))
		if err != nil || v != i+1 {
			t.Fatalf("SaveConfig = %d, %v; want %d", v, err, i+1)
		}
	}
	cv, err := db.Config()
	if err != nil || cv.Version != 3 || string(cv.Data) != texts[2] || cv.Who != "alice" || cv.Comment != "change 3" || !cv.Time.Equal(clk.t) {
		t.Fatalf("Config = %+v, %v", cv, err)
	}
	hist, err := db.ConfigHistory()
	if err != nil || len(hist) != 3 {
		t.Fatalf("ConfigHistory = %v, %v", hist, err)
	}
	for i, h := range hist {
		if h.Version != i+1 || h.Data != nil || h.Size != len(texts[i]) || h.SHA256 == "" {
			t.Fatalf("history[%d] = %+v", i, h)
		}
	}
	v1, err := db.ConfigVersionN(1)
	if err != nil || string(v1.Data) != texts[0] {
		t.Fatalf("ConfigVersionN(1) = %q, %v", v1.Data, err)
	}
	if _, err := db.ConfigVersionN(9); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ConfigVersionN(9): %v", err)
	}
	if _, err := db.ConfigVersionN(0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ConfigVersionN(0): %v", err)
	}
	v, err := db.RestoreConfig(1, "bob")
	if err != nil || v != 4 {
		t.Fatalf("RestoreConfig = %d, %v", v, err)
	}
	cv, _ = db.Config()
	if cv.Version != 4 || string(cv.Data) != texts[0] || cv.Who != "bob" || cv.Comment != "restore of version 1" {
		t.Fatalf("after restore Config = %+v", cv)
	}
	// Each save logged a config event, newest first.
	ev, _ := db.Events(0)
	if len(ev) != 4 || ev[0].Kind != KindConfig || !strings.Contains(ev[0].Text, "version 4") || ev[0].Who != "bob" {
		t.Fatalf("events = %+v", ev)
	}

	// Bad input changes nothing.
	for _, c := range []struct {
		data         []byte
		who, comment string
	}{
		{nil, "x", ""},
		{[]byte("a=1"), "", ""},
		{make([]byte, MaxConfigSize+1), "x", ""},
		{[]byte("a=1"), strings.Repeat("w", 100), ""},
		{[]byte("a=1"), "x", string([]byte{0xff, 0xfe})},
	} {
		if _, err := db.SaveConfig(c.data, c.who, c.comment); !errors.Is(err, ErrInvalid) {
			t.Errorf("SaveConfig(%d bytes, %q): %v, want ErrInvalid", len(c.data), c.who, err)
		}
	}
	if hist, _ := db.ConfigHistory(); len(hist) != 4 {
		t.Fatalf("bad input changed the history: %d versions", len(hist))
	}

	// History survives a reopen.
	db.Close()
	db2, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	track(t, db2)
	if cv, err := db2.ConfigVersionN(2); err != nil || string(cv.Data) != texts[1] {
		t.Fatalf("after reopen version 2 = %q, %v", cv.Data, err)
	}
}

func TestLoopStatesAndCounters(t *testing.T) {
	db, path := openTest(t, nil)
	loops, counters := sampleState(16, 3)
	seq, err := db.SaveCheckpoint(Checkpoint{Loops: loops, Counters: counters})
	if err != nil || seq != 1 {
		t.Fatalf("SaveCheckpoint = %d, %v", seq, err)
	}
	got, err := db.LoadLoopStates()
	if err != nil || len(got) != 16 || !got["crah-05"].equal(loops["crah-05"]) {
		t.Fatalf("LoadLoopStates = %v, %v", got, err)
	}
	// Replacing the loops removes the ones no longer present and keeps the counters.
	if err := db.SaveLoopStates(map[string]LoopState{"crah-01": {Mode: "manual", LastOut: 55}}); err != nil {
		t.Fatal(err)
	}
	cp, err := db.LoadCheckpoint()
	if err != nil || cp.Seq != 2 || len(cp.Loops) != 1 || cp.Loops["crah-01"].Mode != "manual" || cp.Counters["mesh.frames"] != counters["mesh.frames"] {
		t.Fatalf("LoadCheckpoint = %+v, %v", cp, err)
	}
	if err := db.SaveCounters(map[string]uint64{"x": 7}); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Counters(); len(c) != 1 || c["x"] != 7 {
		t.Fatalf("Counters = %v", c)
	}
	if l, _ := db.LoadLoopStates(); len(l) != 1 {
		t.Fatalf("SaveCounters changed the loops: %v", l)
	}
	// Bad input is refused and changes nothing.
	for _, bad := range []Checkpoint{
		{Loops: map[string]LoopState{"a": {Integrator: math.NaN()}}},
		{Loops: map[string]LoopState{"a": {LastOut: math.Inf(1)}}},
		{Loops: map[string]LoopState{"": {}}},
		{Loops: map[string]LoopState{"a/b": {}}},
		{Loops: map[string]LoopState{"a b": {}}},
		{Counters: map[string]uint64{"": 1}},
	} {
		if _, err := db.SaveCheckpoint(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SaveCheckpoint(%+v): %v, want ErrInvalid", bad, err)
		}
	}
	if cp2, _ := db.LoadCheckpoint(); cp2.Seq != 3 {
		t.Fatalf("bad input changed the state: seq %d", cp2.Seq)
	}
	db.Close()
	db2, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	track(t, db2)
	if c, _ := db2.Counters(); c["x"] != 7 {
		t.Fatalf("after reopen Counters = %v", c)
	}
}

func TestEpochDurable(t *testing.T) {
	db, path := openTest(t, nil)
	for want := uint64(1); want <= 3; want++ {
		if e, err := db.BumpEpoch(); err != nil || e != want {
			t.Fatalf("BumpEpoch = %d, %v; want %d", e, err, want)
		}
	}
	db.Close()
	db2, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	track(t, db2)
	if e, err := db2.Epoch(); err != nil || e != 3 {
		t.Fatalf("Epoch after reopen = %d, %v", e, err)
	}
}

func TestEventRing(t *testing.T) {
	db, _ := openTest(t, &Options{EventLimit: 50})
	for i := 1; i <= 200; i++ {
		seq, err := db.AppendEvent(Event{Kind: KindAlarm, Who: "engine", Text: fmt.Sprintf("event %d", i)})
		if err != nil || seq != uint64(i) {
			t.Fatalf("AppendEvent = %d, %v", seq, err)
		}
	}
	ev, err := db.Events(0)
	if err != nil || len(ev) != 50 {
		t.Fatalf("Events(0) returned %d, %v", len(ev), err)
	}
	for i, e := range ev {
		if want := fmt.Sprintf("event %d", 200-i); e.Text != want || e.Seq != uint64(200-i) || e.Time.IsZero() {
			t.Fatalf("event %d = %+v, want %q", i, e, want)
		}
	}
	if ev, _ := db.Events(3); len(ev) != 3 || ev[2].Text != "event 198" {
		t.Fatalf("Events(3) = %+v", ev)
	}
	var stored int
	db.view("count", func(tx *bolt.Tx) error { stored = tx.Bucket(bEvents).Stats().KeyN; return nil })
	if stored > 50+50/16 {
		t.Fatalf("%d events stored, limit 50 plus slack %d", stored, 50/16)
	}
	for _, bad := range []Event{{Kind: "", Text: "x"}, {Kind: "Alarm", Text: "x"}, {Kind: "alarm", Text: ""}, {Kind: "alarm", Text: strings.Repeat("x", 5000)}} {
		if _, err := db.AppendEvent(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("AppendEvent(%q, %d bytes): %v", bad.Kind, len(bad.Text), err)
		}
	}
}

func TestUsers(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	db, _ := openTest(t, &Options{Now: clk.Now})
	if err := db.PutUser(User{Name: "admin", Hash: []byte("h1"), MustChange: true, Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if err := db.PutUser(User{Name: "admin", Hash: []byte("h2"), Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutUser(User{Name: "ops", Hash: []byte("h3")}); err != nil {
		t.Fatal(err)
	}
	u, err := db.User("admin")
	if err != nil || string(u.Hash) != "h2" || u.MustChange || !u.Changed.Equal(clk.t) || !u.Created.Equal(clk.t.Add(-time.Hour)) {
		t.Fatalf("User = %+v, %v", u, err)
	}
	us, err := db.Users()
	if err != nil || len(us) != 2 || us[0].Name != "admin" || us[1].Name != "ops" {
		t.Fatalf("Users = %+v, %v", us, err)
	}
	if _, err := db.User("nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("User(nobody): %v", err)
	}
	if err := db.DeleteUser("ops"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser("ops"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteUser: %v", err)
	}
	for _, bad := range []User{{Name: "", Hash: []byte("x")}, {Name: "a b", Hash: []byte("x")}, {Name: "a"}} {
		if err := db.PutUser(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("PutUser(%+v): %v", bad, err)
		}
	}
}

// tamper opens the raw bbolt file and changes it behind the package's back.
func tamper(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(fn); err != nil {
		t.Fatal(err)
	}
	bdb.Close()
}

func TestCheckFindsSchemaProblems(t *testing.T) {
	cases := []struct {
		name string
		fn   func(tx *bolt.Tx) error
		want string
	}{
		{"missing bucket", func(tx *bolt.Tx) error { return tx.DeleteBucket(bUsers) }, `bucket "users" is missing`},
		{"gap in history", func(tx *bolt.Tx) error { return tx.Bucket(bConfig).Delete(u64(2)) }, "jumps from version 1 to 3"},
		{"digest mismatch", func(tx *bolt.Tx) error {
			b := tx.Bucket(bConfig)
			v := append([]byte(nil), b.Get(u64(1))...)
			v[len(v)-1] ^= 1
			return b.Put(u64(1), v)
		}, "sha256 mismatch"},
		{"bad loop", func(tx *bolt.Tx) error { return tx.Bucket(bState).Put([]byte("loop/x"), []byte("{")) }, `loop "x"`},
		{"bad epoch", func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kEpoch, []byte{1}) }, "epoch is 1 bytes"},
		{"bad event", func(tx *bolt.Tx) error { return tx.Bucket(bEvents).Put(u64(1), []byte("nope")) }, "event 1"},
		{"stray bucket", func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("junk")); return err }, `unexpected bucket "junk"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			db, err := Open(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				db.SaveConfig([]byte(fmt.Sprintf("v = %d\n", i)), "t", "")
			}
			db.AppendEvent(Event{Kind: KindSystem, Text: "start"})
			if err := db.Check(); err != nil {
				t.Fatalf("Check before tampering: %v", err)
			}
			db.Close()
			tamper(t, path, c.fn)
			db, err = Open(path, nil)
			if err != nil {
				if errors.Is(err, ErrCorrupt) && strings.Contains(err.Error(), c.want) {
					return // found at Open already
				}
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			err = db.Check()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check: %v; want ErrCorrupt with %q", err, c.want)
			}
		})
	}
}

func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	tamper(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kSchema, []byte("9")) })
	if _, err := Open(path, nil); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "schema 9") {
		t.Fatalf("Open of schema 9: %v", err)
	}
}

// TestRandomCorruption flips random bytes in the data pages of a sound database: every outcome
// must be a sound open or ErrCorrupt, never a crash (a fault inside bbolt would end the process).
func TestRandomCorruption(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	db, err := Open(good, &Options{EventLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		db.SaveConfig(bytes.Repeat([]byte(fmt.Sprintf("k%d = %d\n", i, i)), 100+i*20), "t", "")
		loops, counters := sampleState(16, i)
		db.SaveCheckpoint(Checkpoint{Loops: loops, Counters: counters})
		db.AppendEvent(Event{Kind: KindAlarm, Text: strings.Repeat("y", 60)})
		db.PutUser(User{Name: fmt.Sprintf("u%d", i%7), Hash: []byte("h")})
	}
	checkAndClose(t, db)
	goodBytes, _ := os.ReadFile(good)
	n := 400
	if testing.Short() {
		n = 60
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	path := filepath.Join(dir, "bad.db")
	outcomes := map[string]int{}
	for range n {
		data := append([]byte(nil), goodBytes...)
		for range 1 + rng.IntN(8) {
			i := 2*4096 + rng.IntN(len(data)-2*4096)
			data[i] ^= byte(1 + rng.IntN(255))
		}
		os.WriteFile(path, data, 0o600)
		db, err := Open(path, &Options{EventLimit: 100})
		stage := "open"
		if err == nil {
			stage = "check"
			err = db.Check()
			if err == nil {
				stage = "read"
				_, err = db.ConfigHistory()
				if err == nil {
					_, err = db.Events(0)
				}
				if err == nil {
					_, err = db.LoadCheckpoint()
				}
			}
			db.Close()
		}
		switch {
		case err == nil:
			outcomes["sound"]++
		case errors.Is(err, ErrCorrupt):
			outcomes["corrupt at "+stage]++
		default:
			t.Errorf("%s: %v, want nil or ErrCorrupt", stage, err)
		}
	}
	t.Logf("%d damaged copies: %v", n, outcomes)
}

func TestAppendEventsOneCommit(t *testing.T) {
	db, _ := openTest(t, &Options{EventLimit: 50})
	before := db.Stats().Commits
	evs := []Event{{Kind: KindAlarm, Who: "engine", Text: "a"}, {Kind: KindMode, Who: "engine", Text: "b"}, {Kind: KindAlarm, Who: "engine", Text: "c"}}
	if err := db.AppendEvents(evs); err != nil {
		t.Fatal(err)
	}
	if got := db.Stats().Commits - before; got != 1 {
		t.Fatalf("%d commits for one batch", got)
	}
	ev, err := db.Events(0)
	if err != nil || len(ev) != 3 || ev[0].Text != "c" || ev[2].Text != "a" {
		t.Fatalf("Events = %+v, %v", ev, err)
	}
	bad := append(evs, Event{Kind: "alarm", Text: ""})
	if err := db.AppendEvents(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a batch with a bad event: %v", err)
	}
	if ev, _ := db.Events(0); len(ev) != 3 {
		t.Fatalf("a refused batch wrote %d events", len(ev)-3)
	}
}

// Stats is read every control period beside commits that grow the file (the race detector
// watches this test).
func TestStatsBesideCommits(t *testing.T) {
	db, _ := openTest(t, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 300; i++ {
			if _, err := db.SaveConfig([]byte(strings.Repeat("x", 4000+i)), "t", "grow"); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			if st := db.Stats(); st.Commits < 300 || st.PageSize == 0 || st.BytesWritten <= 0 {
				t.Fatalf("stats %+v", st)
			}
			return
		default:
			_ = db.Stats()
		}
	}
}
