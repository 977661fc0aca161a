package storage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout this program reads and writes. Open migrates every earlier
// version in one transaction: a crash during a migration leaves the old layout intact.
const SchemaVersion = 2

// Schema 2 layout (all integers big-endian so keys sort numerically):
//
//	meta    "schema" -> decimal ASCII ("2"); "epoch" -> u64; "created" -> RFC 3339 time
//	config  u64 version (1, 2, ...) -> JSON header, '\n', the configuration bytes
//	state   "cp" -> JSON {seq, time}; "counters" -> JSON {name: n}; "loop/NAME" -> JSON LoopState
//	events  u64 sequence -> JSON Event (a ring: the oldest are deleted past the limit)
//	users   name -> JSON User
var (
	bMeta    = []byte("meta")
	bConfig  = []byte("config")
	bState   = []byte("state")
	bEvents  = []byte("events")
	bUsers   = []byte("users")
	buckets2 = [][]byte{bMeta, bConfig, bState, bEvents, bUsers}

	kSchema  = []byte("schema")
	kEpoch   = []byte("epoch")
	kCreated = []byte("created")
)

// Schema 1 layout (coldaisle 0.1, before configuration history, users and counters):
//
//	meta    "schema" -> "1"; "epoch" -> decimal ASCII
//	site    "config" -> the current configuration bytes; "config_time" -> RFC 3339; "config_who"
//	loops   loop name -> JSON {"integrator": f, "last_out": f, "mode": s}
//	events  u64 unix nanoseconds -> JSON {"kind", "who", "text"} (unbounded)
var (
	bSite1       = []byte("site")
	bLoops1      = []byte("loops")
	kConfig1     = []byte("config")
	kConfigTime1 = []byte("config_time")
	kConfigWho1  = []byte("config_who")
)

type loopState1 struct {
	Integrator float64 `json:"integrator"`
	LastOut    float64 `json:"last_out"`
	Mode       string  `json:"mode"`
}

type event1 struct {
	Kind string `json:"kind"`
	Who  string `json:"who"`
	Text string `json:"text"`
}

// migrations[v] turns layout v into layout v+1 inside the caller's transaction.
var migrations = map[int]func(tx *bolt.Tx, o *Options) error{
	1: migrate1to2,
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// openSchema creates the layout in a new file, migrates an old one, or refuses one it cannot use.
func (db *DB) openSchema(allowOld bool) error {
	var v int
	err := db.view("open", func(tx *bolt.Tx) error {
		var err error
		v, err = readSchema(tx)
		return err
	})
	if err != nil {
		return db.wrap(err)
	}
	switch {
	case v > SchemaVersion:
		return fmt.Errorf("storage: %s has schema %d, newer than this program's %d: use a newer coldaisle: %w", db.path, v, SchemaVersion, ErrSchema)
	case v == SchemaVersion:
		return nil
	case db.opts.ReadOnly && v == 0:
		return corrupt(db.path, "no buckets: an empty bbolt file, not a coldaisle database")
	case db.opts.ReadOnly && !allowOld:
		return fmt.Errorf("storage: %s has schema %d, this program uses %d: open it read-write once to migrate: %w", db.path, v, SchemaVersion, ErrSchema)
	case db.opts.ReadOnly:
		return nil
	}
	err = db.update("migrate", func(tx *bolt.Tx) error {
		if v == 0 {
			return createSchema2(tx, db.opts.Now())
		}
		for ; v < SchemaVersion; v++ {
			m := migrations[v]
			if m == nil {
				return fmt.Errorf("storage: no migration from schema %d: %w", v, ErrSchema)
			}
			if err := m(tx, &db.opts); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
			if err := tx.Bucket(bMeta).Put(kSchema, []byte(strconv.Itoa(v+1))); err != nil {
				return err
			}
		}
		return nil
	})
	return db.wrap(err)
}

func isClassified(err error) bool {
	for _, s := range []error{ErrCorrupt, ErrSchema, ErrInUse, ErrReadOnly, ErrInvalid, ErrNotFound} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// readSchema returns 0 for a file without any bucket (new), the stored version otherwise.
func readSchema(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bMeta)
	if meta == nil {
		var names []string
		_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, strconv.Quote(string(name)))
			return nil
		})
		if len(names) == 0 {
			return 0, nil
		}
		return 0, bad("no meta bucket (buckets: %s): not a coldaisle database", strings.Join(names, ", "))
	}
	raw := meta.Get(kSchema)
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 1 {
		return 0, bad("meta bucket: bad schema version %q", raw)
	}
	return v, nil
}

func createSchema2(tx *bolt.Tx, now time.Time) error {
	for _, name := range buckets2 {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bMeta)
	if err := meta.Put(kSchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
		return err
	}
	if err := meta.Put(kEpoch, u64(0)); err != nil {
		return err
	}
	return meta.Put(kCreated, []byte(now.UTC().Format(time.RFC3339Nano)))
}

func migrate1to2(tx *bolt.Tx, o *Options) error {
	meta := tx.Bucket(bMeta)
	epoch := uint64(0)
	if raw := meta.Get(kEpoch); len(raw) > 0 {
		var err error
		if epoch, err = strconv.ParseUint(string(raw), 10, 64); err != nil {
			return bad("schema 1 epoch %q: %w", raw, err)
		}
	}
	if err := meta.Put(kEpoch, u64(epoch)); err != nil {
		return err
	}
	if meta.Get(kCreated) == nil {
		if err := meta.Put(kCreated, []byte(o.Now().UTC().Format(time.RFC3339Nano))); err != nil {
			return err
		}
	}

	// Collect the schema-1 data before its buckets are replaced ("events" keeps its name).
	type oldEvent struct {
		t time.Time
		e event1
	}
	var events []oldEvent
	if b := tx.Bucket(bEvents); b != nil {
		err := b.ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return bad("schema 1 event key %x is not 8 bytes", k)
			}
			var e event1
			if err := json.Unmarshal(v, &e); err != nil {
				return bad("schema 1 event %x: %w", k, err)
			}
			events = append(events, oldEvent{time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC(), e})
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(bEvents); err != nil {
			return err
		}
	}
	loops := map[string]LoopState{}
	if b := tx.Bucket(bLoops1); b != nil {
		err := b.ForEach(func(k, v []byte) error {
			var l loopState1
			if err := json.Unmarshal(v, &l); err != nil {
				return bad("schema 1 loop %q: %w", k, err)
			}
			loops[string(k)] = LoopState{Mode: l.Mode, Integrator: l.Integrator, LastOut: l.LastOut}
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(bLoops1); err != nil {
			return err
		}
	}
	var cfg *configRecord
	var cfgData []byte
	if b := tx.Bucket(bSite1); b != nil {
		if data := b.Get(kConfig1); len(data) > 0 {
			cfgData = append([]byte(nil), data...)
			cfg = &configRecord{Who: string(b.Get(kConfigWho1)), Comment: "migrated from schema 1"}
			if cfg.Who == "" {
				cfg.Who = "migration"
			}
			if t, err := time.Parse(time.RFC3339Nano, string(b.Get(kConfigTime1))); err == nil {
				cfg.Time = t
			} else {
				cfg.Time = o.Now().UTC()
			}
		}
		if err := tx.DeleteBucket(bSite1); err != nil {
			return err
		}
	}

	for _, name := range buckets2 {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	if cfg != nil {
		if err := putConfig(tx.Bucket(bConfig), 1, *cfg, cfgData); err != nil {
			return err
		}
	}
	if len(loops) > 0 {
		if err := putLoops(tx.Bucket(bState), loops); err != nil {
			return err
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].t.Before(events[j].t) })
	if len(events) > o.EventLimit {
		events = events[len(events)-o.EventLimit:]
	}
	eb := tx.Bucket(bEvents)
	for _, e := range events {
		if _, err := putEvent(eb, Event{Time: e.t, Kind: e.e.Kind, Who: e.e.Who, Text: e.e.Text}); err != nil {
			return err
		}
	}
	return nil
}
