package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

type v1Event struct {
	t time.Time
	e event1
}

type v1Data struct {
	config     []byte
	who        string
	configTime time.Time
	epoch      uint64
	loops      map[string]loopState1
	events     []v1Event
	rawLoops   map[string]string // written as is (for broken records)
}

// writeV1 writes a database in the schema-1 layout, as coldaisle 0.1 did.
func writeV1(t testing.TB, path string, d v1Data) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bMeta)
		meta.Put(kSchema, []byte("1"))
		meta.Put(kEpoch, []byte(strconv.FormatUint(d.epoch, 10)))
		if d.config != nil {
			site, _ := tx.CreateBucket(bSite1)
			site.Put(kConfig1, d.config)
			site.Put(kConfigWho1, []byte(d.who))
			site.Put(kConfigTime1, []byte(d.configTime.Format(time.RFC3339Nano)))
		}
		loops, _ := tx.CreateBucket(bLoops1)
		for name, l := range d.loops {
			raw, _ := json.Marshal(l)
			loops.Put([]byte(name), raw)
		}
		for name, raw := range d.rawLoops {
			loops.Put([]byte(name), []byte(raw))
		}
		ev, _ := tx.CreateBucket(bEvents)
		for _, e := range d.events {
			raw, _ := json.Marshal(e.e)
			if err := ev.Put(u64(uint64(e.t.UnixNano())), raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func rawSchema(t *testing.T, path string) string {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var s string
	bdb.View(func(tx *bolt.Tx) error { s = string(tx.Bucket(bMeta).Get(kSchema)); return nil })
	return s
}

func TestMigrateFromSchema1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	t0 := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	d := v1Data{
		config: []byte("[site]\nname = \"hall-b\"\n"), who: "carol", configTime: t0, epoch: 7,
		loops: map[string]loopState1{
			"crah-01": {Integrator: 12.5, LastOut: 40, Mode: "auto"},
			"crah-02": {Integrator: -3.25, LastOut: 100, Mode: "manual"},
		},
	}
	for i := range 30 {
		d.events = append(d.events, v1Event{t0.Add(time.Duration(i) * time.Minute), event1{Kind: "alarm", Who: "engine", Text: fmt.Sprintf("old %d", i)}})
	}
	writeV1(t, path, d)

	// Read-only cannot migrate: a clear refusal, nothing changed.
	_, err := Open(path, &Options{ReadOnly: true})
	if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "schema 1") || !strings.Contains(err.Error(), "read-write") {
		t.Fatalf("read-only Open of schema 1: %v", err)
	}
	if s := rawSchema(t, path); s != "1" {
		t.Fatalf("read-only open changed the schema to %q", s)
	}

	db, err := Open(path, &Options{EventLimit: 20})
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	track(t, db)
	if s := rawSchema2(t, db); s != strconv.Itoa(SchemaVersion) {
		t.Fatalf("schema after migration %q", s)
	}
	cv, err := db.Config()
	if err != nil || cv.Version != 1 || string(cv.Data) != string(d.config) || cv.Who != "carol" || !cv.Time.Equal(t0) || cv.Comment != "migrated from schema 1" {
		t.Fatalf("migrated Config = %+v, %v", cv, err)
	}
	loops, err := db.LoadLoopStates()
	if err != nil || len(loops) != 2 || !loops["crah-02"].equal(LoopState{Mode: "manual", Integrator: -3.25, LastOut: 100}) {
		t.Fatalf("migrated loops = %+v, %v", loops, err)
	}
	if e, _ := db.Epoch(); e != 7 {
		t.Fatalf("migrated epoch = %d", e)
	}
	ev, _ := db.Events(0)
	if len(ev) != 20 || ev[0].Text != "old 29" || ev[19].Text != "old 10" || !ev[0].Time.Equal(t0.Add(29*time.Minute)) {
		t.Fatalf("migrated events: %d, first %+v", len(ev), ev[0])
	}
	// The new layout is fully usable.
	if v, err := db.SaveConfig([]byte("[site]\nname = \"hall-c\"\n"), "dave", ""); err != nil || v != 2 {
		t.Fatalf("SaveConfig after migration = %d, %v", v, err)
	}
}

func rawSchema2(t *testing.T, db *DB) string {
	var s string
	db.view("schema", func(tx *bolt.Tx) error { s = string(tx.Bucket(bMeta).Get(kSchema)); return nil })
	return s
}

func TestMigrateWithoutConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	writeV1(t, path, v1Data{epoch: 0})
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	track(t, db)
	if _, err := db.Config(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Config: %v", err)
	}
}

// A schema-1 record that does not decode aborts the migration: the file keeps its old layout.
func TestMigrateBrokenRecordChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	writeV1(t, path, v1Data{config: []byte("a = 1\n"), who: "x", epoch: 1, rawLoops: map[string]string{"crah-09": "{not json"}})
	_, err := Open(path, nil)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), `schema 1 loop "crah-09"`) {
		t.Fatalf("Open: %v", err)
	}
	if s := rawSchema(t, path); s != "1" {
		t.Fatalf("failed migration left schema %q", s)
	}
}
