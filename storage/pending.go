package storage

import (
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

var kPending = []byte("pending_commit")

// PendingCommit is a "commit confirmed" waiting for its confirmation. It is stored so that a crash
// or a power loss inside the window cannot keep an unconfirmed change for good: at start the
// controller rolls back when the window has run out, or re-arms it with what is left.
//
// Time is counted on the board's monotonic boot clock, never the wall clock (a board without a
// battery may read 1970): BootID and BootAt place the commit on this boot's clock; Elapsed is how
// much of the window had passed at the last update, which is what counts after a reboot (the
// time the board was off is not known, so it does not count).
type PendingCommit struct {
	Version    int           `json:"version"`     // the version waiting for confirmation
	RollbackTo int           `json:"rollback_to"` // what an automatic rollback restores
	User       string        `json:"user"`
	Window     time.Duration `json:"window"`
	Elapsed    time.Duration `json:"elapsed"` // of the window, at the last update
	BootID     string        `json:"boot_id"` // the kernel's boot id when Elapsed was updated
	BootAt     time.Duration `json:"boot_at"` // boot clock reading when Elapsed was updated
}

// SetPendingCommit stores p (nil clears it). It is on disk when it returns.
func (db *DB) SetPendingCommit(p *PendingCommit) error {
	if p != nil && (p.Version < 1 || p.RollbackTo < 1 || p.Window <= 0 || p.Elapsed < 0) {
		return invalid("pending commit: version %d, rollback to %d, window %v, elapsed %v", p.Version, p.RollbackTo, p.Window, p.Elapsed)
	}
	return db.wrap(db.update("store pending commit", func(tx *bolt.Tx) error {
		b, err := db.bucket(tx, bMeta)
		if err != nil {
			return err
		}
		if p == nil {
			return b.Delete(kPending)
		}
		raw, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return b.Put(kPending, raw)
	}))
}

// PendingCommitRecord returns the stored pending commit, or nil when there is none. A record that
// does not decode or is out of range is reported as ErrCorrupt (the caller rolls back: the safe
// side).
func (db *DB) PendingCommitRecord() (*PendingCommit, error) {
	var p *PendingCommit
	err := db.view("read pending commit", func(tx *bolt.Tx) error {
		b, err := db.bucket(tx, bMeta)
		if err != nil {
			return err
		}
		raw := b.Get(kPending)
		if raw == nil {
			return nil
		}
		var v PendingCommit
		if err := json.Unmarshal(raw, &v); err != nil {
			return bad("pending commit: %v", err)
		}
		if v.Version < 1 || v.RollbackTo < 1 || v.Window <= 0 || v.Elapsed < 0 {
			return bad("pending commit out of range: %+v", v)
		}
		p = &v
		return nil
	})
	return p, db.wrap(err)
}
