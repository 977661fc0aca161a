package storage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// LoopState is what a control loop needs to resume without a bump after a restart or failover.
// It is stored as JSON with short keys: every checkpoint rewrites all of them, and keeping the
// whole state bucket on one 4 KiB page is what keeps the write volume low (see doc.go).
type LoopState struct {
	Mode       string  `json:"m"`            // "auto", "manual", "hold", "fallback", ...
	Integrator float64 `json:"i"`            // PID integral term, in output units
	LastOut    float64 `json:"o"`            // last commanded output (percent)
	Setpoint   float64 `json:"sp,omitempty"` // active setpoint
	LastError  float64 `json:"e,omitempty"`  // previous error, for the derivative term
	// Data is the loop owner's own checkpoint (JSON), for state the fields above do not cover
	// (the engine's allocator warm start, manual flags, the valve PID's memory).
	Data json.RawMessage `json:"d,omitempty"`
}

func (l LoopState) equal(o LoopState) bool {
	return l.Mode == o.Mode && l.Integrator == o.Integrator && l.LastOut == o.LastOut &&
		l.Setpoint == o.Setpoint && l.LastError == o.LastError && bytes.Equal(l.Data, o.Data)
}

// MaxLoopData bounds LoopState.Data so the hot state stays small (flash wear, see doc.go).
const MaxLoopData = 1024

func (l LoopState) validate(name string) error {
	if err := checkName("loop", name, maxNameLen); err != nil {
		return err
	}
	for _, f := range []struct {
		n string
		v float64
	}{{"integrator", l.Integrator}, {"last output", l.LastOut}, {"setpoint", l.Setpoint}, {"last error", l.LastError}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return invalid("loop %q: %s is %v", name, f.n, f.v)
		}
	}
	if len(l.Data) > MaxLoopData {
		return invalid("loop %q: data is %d bytes, more than %d", name, len(l.Data), MaxLoopData)
	}
	if len(l.Data) > 0 && !json.Valid(l.Data) {
		return invalid("loop %q: data is not JSON", name)
	}
	return checkText(fmt.Sprintf("loop %q mode", name), l.Mode, maxNameLen)
}

// checkName accepts printable ASCII names without spaces or slashes.
func checkName(what, name string, max int) error {
	if name == "" {
		return invalid("%s name is empty", what)
	}
	if len(name) > max {
		return invalid("%s name %q is longer than %d bytes", what, name, max)
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || c == '/' {
			return invalid("%s name %q contains %q (use letters, digits and .-_:)", what, name, c)
		}
	}
	return nil
}

// Checkpoint is the control state saved together: every loop and the counters.
type Checkpoint struct {
	Seq      uint64 // assigned by SaveCheckpoint: 1, 2, ...; 0 when nothing was ever saved
	Time     time.Time
	Loops    map[string]LoopState
	Counters map[string]uint64
	// Events are appended to the event log in the same commit (SaveCheckpoint only; a loaded
	// Checkpoint has none): the control loop's alarms and mode changes ride on the checkpoint
	// instead of costing a commit each.
	Events []Event
}

type cpRecord struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
}

var (
	kCheckpoint = []byte("cp")
	kCounters   = []byte("counters")
	loopPrefix  = []byte("loop/")
)

func validateCheckpoint(cp Checkpoint) error {
	for name, l := range cp.Loops {
		if err := l.validate(name); err != nil {
			return err
		}
	}
	for name := range cp.Counters {
		if err := checkName("counter", name, maxCounterName); err != nil {
			return err
		}
	}
	for _, e := range cp.Events {
		if err := validateEvent(e); err != nil {
			return err
		}
	}
	return nil
}

// SaveCheckpoint replaces the stored loop states and counters with cp's, and appends cp.Events
// to the event log, in one commit, and returns the sequence number it was given. A nil Loops or
// Counters map keeps the stored one.
// The commit is on disk when it returns. Use a Checkpointer to rate-limit calls.
func (db *DB) SaveCheckpoint(cp Checkpoint) (uint64, error) {
	if err := validateCheckpoint(cp); err != nil {
		return 0, err
	}
	var seq uint64
	err := db.update("save checkpoint", func(tx *bolt.Tx) error {
		b, err := db.bucket(tx, bState)
		if err != nil {
			return err
		}
		var prev cpRecord
		if raw := b.Get(kCheckpoint); raw != nil {
			if err := json.Unmarshal(raw, &prev); err != nil {
				return bad("checkpoint record: %v", err)
			}
		}
		seq = prev.Seq + 1
		t := cp.Time
		if t.IsZero() {
			t = db.opts.Now()
		}
		rec, _ := json.Marshal(cpRecord{Seq: seq, Time: t.UTC()})
		if err := b.Put(kCheckpoint, rec); err != nil {
			return err
		}
		if cp.Loops != nil {
			if err := putLoops(b, cp.Loops); err != nil {
				return err
			}
		}
		if cp.Counters != nil {
			raw, err := json.Marshal(cp.Counters)
			if err != nil {
				return err
			}
			if err := b.Put(kCounters, raw); err != nil {
				return err
			}
		}
		for _, e := range cp.Events {
			if e.Time.IsZero() {
				e.Time = t
			}
			e.Time = e.Time.UTC()
			if err := db.appendEventTx(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	return seq, db.wrap(err)
}

// putLoops replaces every "loop/" key with loops.
func putLoops(b *bolt.Bucket, loops map[string]LoopState) error {
	c := b.Cursor()
	var stale [][]byte
	for k, _ := c.Seek(loopPrefix); k != nil && bytes.HasPrefix(k, loopPrefix); k, _ = c.Next() {
		if _, ok := loops[string(k[len(loopPrefix):])]; !ok {
			stale = append(stale, append([]byte(nil), k...))
		}
	}
	for _, k := range stale {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	for name, l := range loops {
		raw, err := json.Marshal(l)
		if err != nil {
			return err
		}
		if err := b.Put(append(append([]byte(nil), loopPrefix...), name...), raw); err != nil {
			return err
		}
	}
	return nil
}

// LoadCheckpoint returns the stored state; Seq is 0 and the maps are empty when nothing was
// saved yet.
func (db *DB) LoadCheckpoint() (Checkpoint, error) {
	cp := Checkpoint{Loops: map[string]LoopState{}, Counters: map[string]uint64{}}
	err := db.view("load checkpoint", func(tx *bolt.Tx) error {
		b, err := db.bucket(tx, bState)
		if err != nil {
			return err
		}
		return decodeState(b, &cp)
	})
	if err != nil {
		return Checkpoint{}, db.wrap(err)
	}
	return cp, nil
}

func decodeState(b *bolt.Bucket, cp *Checkpoint) error {
	if raw := b.Get(kCheckpoint); raw != nil {
		var r cpRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return bad("checkpoint record: %v", err)
		}
		cp.Seq, cp.Time = r.Seq, r.Time
	}
	if raw := b.Get(kCounters); raw != nil {
		if err := json.Unmarshal(raw, &cp.Counters); err != nil {
			return bad("counters: %v", err)
		}
	}
	c := b.Cursor()
	for k, v := c.Seek(loopPrefix); k != nil && bytes.HasPrefix(k, loopPrefix); k, v = c.Next() {
		var l LoopState
		if err := json.Unmarshal(v, &l); err != nil {
			return bad("loop %q: %v", k[len(loopPrefix):], err)
		}
		cp.Loops[string(k[len(loopPrefix):])] = l
	}
	return nil
}

// SaveLoopStates replaces the stored loop states (loops missing from m are removed) and keeps
// the counters. It is a checkpoint: the sequence number advances.
func (db *DB) SaveLoopStates(m map[string]LoopState) error {
	if m == nil {
		m = map[string]LoopState{}
	}
	_, err := db.SaveCheckpoint(Checkpoint{Loops: m})
	return err
}

// LoadLoopStates returns the stored loop states (empty when none).
func (db *DB) LoadLoopStates() (map[string]LoopState, error) {
	cp, err := db.LoadCheckpoint()
	return cp.Loops, err
}

// SaveCounters replaces the stored counters and keeps the loop states.
func (db *DB) SaveCounters(m map[string]uint64) error {
	if m == nil {
		m = map[string]uint64{}
	}
	_, err := db.SaveCheckpoint(Checkpoint{Counters: maps.Clone(m)})
	return err
}

// Counters returns the stored counters (empty when none).
func (db *DB) Counters() (map[string]uint64, error) {
	cp, err := db.LoadCheckpoint()
	return cp.Counters, err
}
