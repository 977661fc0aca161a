package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func populate(t *testing.T, db *DB, configs int) {
	t.Helper()
	for i := range configs {
		if _, err := db.SaveConfig([]byte(fmt.Sprintf("[site]\nversion = %d\n", i+1)), "t", ""); err != nil {
			t.Fatal(err)
		}
	}
	loops, counters := sampleState(16, 1)
	if _, err := db.SaveCheckpoint(Checkpoint{Loops: loops, Counters: counters}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutUser(User{Name: "admin", Hash: []byte("hash")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.BumpEpoch(); err != nil {
		t.Fatal(err)
	}
}

func TestBackupRestore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	track(t, db)
	populate(t, db, 3)

	// A hot backup while another goroutine keeps committing checkpoints.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			loops, counters := sampleState(16, i)
			db.SaveCheckpoint(Checkpoint{Loops: loops, Counters: counters})
		}
	}()
	b1 := filepath.Join(dir, "b1.db")
	err = db.BackupFile(b1)
	var buf bytes.Buffer
	n, err2 := db.Backup(&buf)
	cancel()
	wg.Wait()
	if err != nil || err2 != nil {
		t.Fatalf("BackupFile: %v; Backup: %v", err, err2)
	}
	if n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup reported %d bytes, wrote %d", n, buf.Len())
	}
	b2 := filepath.Join(dir, "b2.db")
	os.WriteFile(b2, buf.Bytes(), 0o600)
	for _, b := range []string{b1, b2} {
		if err := Verify(b); err != nil {
			t.Fatalf("Verify(%s): %v", b, err)
		}
	}
	if err := db.BackupFile(path); !errors.Is(err, ErrInvalid) {
		t.Fatalf("BackupFile over the database itself: %v", err)
	}

	// Change the live database, then restore the backup over it.
	db.SaveConfig([]byte("[site]\nversion = 4\n"), "t", "")
	db.BumpEpoch()
	if err := Restore(b1, path, &Options{Timeout: 100 * time.Millisecond}); !errors.Is(err, ErrInUse) {
		t.Fatalf("Restore over an open database: %v", err)
	}
	db.Close()
	if err := Restore(b1, path, nil); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	db, err = Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	track(t, db)
	cv, _ := db.Config()
	e, _ := db.Epoch()
	u, _ := db.User("admin")
	if cv.Version != 3 || e != 1 || string(u.Hash) != "hash" {
		t.Fatalf("after restore: config %d, epoch %d, user %+v", cv.Version, e, u)
	}
	db.Close()

	// A corrupt source is refused and the target stays as it was.
	before, _ := os.ReadFile(path)
	bad := filepath.Join(dir, "bad.db")
	os.WriteFile(bad, before[:len(before)/3], 0o600)
	if err := Restore(bad, path, nil); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("Restore from a truncated file: %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("a failed restore changed the target")
	}
	if err := Restore(path, path, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Restore onto itself: %v", err)
	}

	// A schema-1 backup is migrated on the way in; a new target path is fine.
	old := filepath.Join(dir, "old.db")
	writeV1(t, old, v1Data{config: []byte("a = 1\n"), who: "x", epoch: 3})
	fresh := filepath.Join(dir, "fresh.db")
	if err := Restore(old, fresh, nil); err != nil {
		t.Fatalf("Restore of a schema-1 backup: %v", err)
	}
	db2, err := Open(fresh, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	track(t, db2)
	if e, _ := db2.Epoch(); e != 3 {
		t.Fatalf("restored schema-1 epoch = %d", e)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(matches) != 0 {
		t.Fatalf("temporary files left behind: %v", matches)
	}
}

func TestCompact(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	db, err := Open(path, &Options{EventLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	populate(t, db, 5)
	for i := range 300 {
		if _, err := db.AppendEvent(Event{Kind: KindAlarm, Text: strings.Repeat(fmt.Sprint(i), 50)}); err != nil {
			t.Fatal(err)
		}
	}
	// Grow the file, then free most of it: compaction has something to give back.
	for i := range 200 {
		if err := db.PutUser(User{Name: fmt.Sprintf("temp%03d", i), Hash: bytes.Repeat([]byte{byte(i)}, 1000)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 200 {
		if err := db.DeleteUser(fmt.Sprintf("temp%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Compact(path); err == nil {
		t.Fatal("Compact onto an existing file succeeded")
	}
	checkAndClose(t, db)
	before, after, err := CompactFile(path, &Options{EventLimit: 100})
	if err != nil {
		t.Fatalf("CompactFile: %v", err)
	}
	t.Logf("compacted %d -> %d bytes", before, after)
	if after >= before {
		t.Fatalf("compaction did not shrink the file: %d -> %d", before, after)
	}
	db, err = Open(path, &Options{EventLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	track(t, db)
	ev, _ := db.Events(1)
	cv, _ := db.Config()
	if len(ev) != 1 || ev[0].Seq != 305 || cv.Version != 5 {
		t.Fatalf("after compaction: events %+v, config %d", ev, cv.Version)
	}
	// The event sequence survived the copy: the next event continues it.
	if seq, _ := db.AppendEvent(Event{Kind: KindSystem, Text: "after"}); seq != 306 {
		t.Fatalf("next event sequence %d, want 306", seq)
	}
	if _, err := os.Stat(path + ".compact-tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
}
