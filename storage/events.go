package storage

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Event kinds used by coldaisle. AppendEvent accepts any short lowercase kind; these are the
// ones other packages agree on.
const (
	KindAlarm  = "alarm"  // an alarm raised or cleared
	KindMode   = "mode"   // a loop changed mode (auto, manual, fallback)
	KindConfig = "config" // a configuration version was saved (written by SaveConfig itself)
	KindLogin  = "login"  // console login, logout, failed attempt
	KindRole   = "role"   // active/standby change, epoch bump
	KindSystem = "system" // start, stop, watchdog, storage maintenance
)

// Event is one entry of the event log.
type Event struct {
	Seq  uint64    `json:"-"` // assigned by AppendEvent, increasing
	Time time.Time `json:"t"` // zero: the DB's clock
	Kind string    `json:"k"`
	Who  string    `json:"w,omitempty"`
	Text string    `json:"x"`
}

func validateEvent(e Event) error {
	if e.Kind == "" || len(e.Kind) > 16 {
		return invalid("event kind %q must be 1 to 16 characters", e.Kind)
	}
	for _, c := range []byte(e.Kind) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return invalid("event kind %q: use lowercase letters, digits, - and _", e.Kind)
		}
	}
	if err := checkText("event who", e.Who, maxWhoLen); err != nil {
		return err
	}
	if e.Text == "" {
		return invalid("event text is empty")
	}
	return checkText("event text", e.Text, maxEventText)
}

// AppendEvent adds e to the log and returns its sequence number. The commit is on disk when it
// returns. When the log holds more than the limit (Options.EventLimit) the oldest are deleted,
// in slices of limit/16 so that most appends touch only the newest page.
func (db *DB) AppendEvent(e Event) (uint64, error) {
	if err := validateEvent(e); err != nil {
		return 0, err
	}
	if e.Time.IsZero() {
		e.Time = db.opts.Now()
	}
	e.Time = e.Time.UTC()
	var seq uint64
	err := db.update("append event", func(tx *bolt.Tx) error {
		if err := db.appendEventTx(tx, e); err != nil {
			return err
		}
		seq = tx.Bucket(bEvents).Sequence()
		return nil
	})
	return seq, db.wrap(err)
}

// AppendEvents adds several events in one commit (flash wear: a burst of alarms costs one
// commit, not one each). Every event is validated first; on error nothing is written.
func (db *DB) AppendEvents(evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	now := db.opts.Now()
	for i := range evs {
		if err := validateEvent(evs[i]); err != nil {
			return err
		}
		if evs[i].Time.IsZero() {
			evs[i].Time = now
		}
		evs[i].Time = evs[i].Time.UTC()
	}
	err := db.update("append events", func(tx *bolt.Tx) error {
		for _, e := range evs {
			if err := db.appendEventTx(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	return db.wrap(err)
}

func (db *DB) appendEventTx(tx *bolt.Tx, e Event) error {
	b, err := db.bucket(tx, bEvents)
	if err != nil {
		return err
	}
	seq, err := putEvent(b, e)
	if err != nil {
		return err
	}
	limit := uint64(db.opts.EventLimit)
	slack := max(limit/16, 1)
	if seq <= limit+slack {
		return nil
	}
	first, _ := b.Cursor().First()
	if first == nil || len(first) != 8 || binary.BigEndian.Uint64(first) > seq-limit-slack {
		return nil
	}
	// Delete everything older than the newest limit events.
	c := b.Cursor()
	for k, _ := c.First(); k != nil && len(k) == 8 && binary.BigEndian.Uint64(k) <= seq-limit; k, _ = c.First() {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func putEvent(b *bolt.Bucket, e Event) (uint64, error) {
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	return seq, b.Put(u64(seq), raw)
}

func decodeEvent(k, v []byte) (Event, error) {
	if len(k) != 8 {
		return Event{}, bad("event key %x is not 8 bytes", k)
	}
	var e Event
	if err := json.Unmarshal(v, &e); err != nil {
		return Event{}, bad("event %d: %v", binary.BigEndian.Uint64(k), err)
	}
	e.Seq = binary.BigEndian.Uint64(k)
	return e, nil
}

// Events returns up to limit events, newest first; limit <= 0 means the whole ring
// (Options.EventLimit).
func (db *DB) Events(limit int) ([]Event, error) {
	if limit <= 0 || limit > db.opts.EventLimit {
		limit = db.opts.EventLimit
	}
	var out []Event
	err := db.view("read events", func(tx *bolt.Tx) error {
		b, err := db.bucket(tx, bEvents)
		if err != nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			e, err := decodeEvent(k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, db.wrap(err)
}

// Epoch returns the failover epoch (0 in a new database).
func (db *DB) Epoch() (uint64, error) {
	var e uint64
	err := db.view("read epoch", func(tx *bolt.Tx) error {
		var err error
		e, err = db.readEpoch(tx)
		return err
	})
	return e, db.wrap(err)
}

func (db *DB) readEpoch(tx *bolt.Tx) (uint64, error) {
	b, err := db.bucket(tx, bMeta)
	if err != nil {
		return 0, err
	}
	raw := b.Get(kEpoch)
	if len(raw) != 8 {
		return 0, bad("epoch is %d bytes, want 8", len(raw))
	}
	return binary.BigEndian.Uint64(raw), nil
}

// BumpEpoch increments the failover epoch and returns the new value. It is on disk when it
// returns, so a board that takes over can never reuse an epoch after a crash.
func (db *DB) BumpEpoch() (uint64, error) {
	var e uint64
	err := db.update("bump epoch", func(tx *bolt.Tx) error {
		old, err := db.readEpoch(tx)
		if err != nil {
			return err
		}
		if old == ^uint64(0) {
			return fmt.Errorf("storage: epoch overflow")
		}
		e = old + 1
		return tx.Bucket(bMeta).Put(kEpoch, u64(e))
	})
	return e, db.wrap(err)
}

// StoreEpoch stores e as the failover epoch when it is higher than the stored one (a 2N board
// that takes over stores its new epoch before its first write), and returns what is stored. It
// is on disk when it returns.
func (db *DB) StoreEpoch(e uint64) (uint64, error) {
	var out uint64
	err := db.update("store epoch", func(tx *bolt.Tx) error {
		old, err := db.readEpoch(tx)
		if err != nil {
			return err
		}
		out = max(old, e)
		return tx.Bucket(bMeta).Put(kEpoch, u64(out))
	})
	return out, db.wrap(err)
}

// ResetEpoch sets the failover epoch back to 0 and returns the one it replaced: the way out of
// the 16-bit top of the units' epoch register, with both boards of a pair stopped and every
// unit's register 11 reset too (see the README). Never while a controller runs.
func (db *DB) ResetEpoch() (uint64, error) {
	var old uint64
	err := db.update("reset epoch", func(tx *bolt.Tx) error {
		var err error
		if old, err = db.readEpoch(tx); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kEpoch, u64(0))
	})
	return old, db.wrap(err)
}
