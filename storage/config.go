package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Limits on a configuration version.
const (
	MaxConfigSize  = 1 << 20
	maxWhoLen      = 64
	maxCommentLen  = 1024
	maxEventText   = 4096
	maxNameLen     = 64
	maxCounterName = 128
)

// ConfigVersion is one saved site configuration. Data is the configuration exactly as saved
// (TOML text; this package does not parse it).
type ConfigVersion struct {
	Version int
	Time    time.Time
	Who     string
	Comment string
	Size    int
	SHA256  string // hex digest of Data, checked on every read
	Data    []byte // nil in ConfigHistory
}

type configRecord struct {
	Time    time.Time `json:"time"`
	Who     string    `json:"who"`
	Comment string    `json:"comment,omitempty"`
	Size    int       `json:"size"`
	SHA256  string    `json:"sha256"`
}

func putConfig(b *bolt.Bucket, version uint64, r configRecord, data []byte) error {
	sum := sha256.Sum256(data)
	r.Size = len(data)
	r.SHA256 = hex.EncodeToString(sum[:])
	hdr, err := json.Marshal(r)
	if err != nil {
		return err
	}
	v := make([]byte, 0, len(hdr)+1+len(data))
	v = append(append(append(v, hdr...), '\n'), data...)
	return b.Put(u64(version), v)
}

// decodeConfig decodes one stored version, verifying its size and digest. withData false
// leaves Data nil (the digest is still checked).
func decodeConfig(k, v []byte, withData bool) (ConfigVersion, error) {
	if len(k) != 8 {
		return ConfigVersion{}, bad("config key %x is not 8 bytes", k)
	}
	n := binary.BigEndian.Uint64(k)
	i := bytes.IndexByte(v, '\n')
	if i < 0 {
		return ConfigVersion{}, bad("config version %d: no header", n)
	}
	var r configRecord
	if err := json.Unmarshal(v[:i], &r); err != nil {
		return ConfigVersion{}, bad("config version %d: header: %v", n, err)
	}
	data := v[i+1:]
	if len(data) != r.Size {
		return ConfigVersion{}, bad("config version %d: %d bytes stored, header says %d", n, len(data), r.Size)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != r.SHA256 {
		return ConfigVersion{}, bad("config version %d: sha256 mismatch", n)
	}
	cv := ConfigVersion{Version: int(n), Time: r.Time, Who: r.Who, Comment: r.Comment, Size: r.Size, SHA256: r.SHA256}
	if withData {
		cv.Data = append([]byte(nil), data...)
	}
	return cv, nil
}

func checkText(field, s string, max int) error {
	if len(s) > max {
		return invalid("%s is %d bytes, more than %d", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return invalid("%s is not valid UTF-8", field)
	}
	return nil
}

// SaveConfig stores data as the next configuration version and returns its number (1 for the
// first). It also records a "config" event in the same transaction. The commit is on disk when
// SaveConfig returns.
func (db *DB) SaveConfig(data []byte, who, comment string) (int, error) {
	if len(data) == 0 {
		return 0, invalid("configuration is empty")
	}
	if len(data) > MaxConfigSize {
		return 0, invalid("configuration is %d bytes, more than %d", len(data), MaxConfigSize)
	}
	if who == "" {
		return 0, invalid("who is required for a configuration change")
	}
	if err := checkText("who", who, maxWhoLen); err != nil {
		return 0, err
	}
	if err := checkText("comment", comment, maxCommentLen); err != nil {
		return 0, err
	}
	var version int
	err := db.update("save config", func(tx *bolt.Tx) error {
		var err error
		version, err = db.saveConfigTx(tx, data, who, comment)
		return err
	})
	return version, db.wrap(err)
}

func (db *DB) saveConfigTx(tx *bolt.Tx, data []byte, who, comment string) (int, error) {
	b, err := db.bucket(tx, bConfig)
	if err != nil {
		return 0, err
	}
	next := uint64(1)
	if k, _ := b.Cursor().Last(); k != nil {
		if len(k) != 8 {
			return 0, bad("config key %x is not 8 bytes", k)
		}
		next = binary.BigEndian.Uint64(k) + 1
	}
	now := db.opts.Now().UTC()
	if err := putConfig(b, next, configRecord{Time: now, Who: who, Comment: comment}, data); err != nil {
		return 0, err
	}
	text := fmt.Sprintf("configuration version %d saved (%d bytes)", next, len(data))
	if comment != "" {
		text += ": " + comment
	}
	if len(text) > maxEventText {
		text = text[:maxEventText]
	}
	if err := db.appendEventTx(tx, Event{Time: now, Kind: KindConfig, Who: who, Text: text}); err != nil {
		return 0, err
	}
	return int(next), nil
}

// Config returns the latest configuration version, or an error wrapping ErrNotFound when none
// was ever saved.
func (db *DB) Config() (ConfigVersion, error) {
	var cv ConfigVersion
	err := db.view("read config", func(tx *bolt.Tx) error {
		b, err := db.bucket(tx, bConfig)
		if err != nil {
			return err
		}
		k, v := b.Cursor().Last()
		if k == nil {
			return fmt.Errorf("storage: no configuration saved yet: %w", ErrNotFound)
		}
		cv, err = decodeConfig(k, v, true)
		return err
	})
	return cv, db.wrap(err)
}

// ConfigVersionN returns version n with its data.
func (db *DB) ConfigVersionN(n int) (ConfigVersion, error) {
	if n < 1 {
		return ConfigVersion{}, invalid("configuration version %d: versions start at 1", n)
	}
	var cv ConfigVersion
	err := db.view("read config", func(tx *bolt.Tx) error {
		b, err := db.bucket(tx, bConfig)
		if err != nil {
			return err
		}
		k := u64(uint64(n))
		v := b.Get(k)
		if v == nil {
			return fmt.Errorf("storage: configuration version %d does not exist: %w", n, ErrNotFound)
		}
		cv, err = decodeConfig(k, v, true)
		return err
	})
	return cv, db.wrap(err)
}

// ConfigHistory lists every version, oldest first, without data.
func (db *DB) ConfigHistory() ([]ConfigVersion, error) {
	var out []ConfigVersion
	err := db.view("read config history", func(tx *bolt.Tx) error {
		b, err := db.bucket(tx, bConfig)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			cv, err := decodeConfig(k, v, false)
			if err != nil {
				return err
			}
			out = append(out, cv)
			return nil
		})
	})
	return out, db.wrap(err)
}

// RestoreConfig saves version n again as a new version (history is never rewritten) and
// returns the new version's number.
func (db *DB) RestoreConfig(n int, who string) (int, error) {
	old, err := db.ConfigVersionN(n)
	if err != nil {
		return 0, err
	}
	return db.SaveConfig(old.Data, who, fmt.Sprintf("restore of version %d", n))
}

// bucket returns a schema bucket or a corrupt error naming it.
func (db *DB) bucket(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
	b := tx.Bucket(name)
	if b == nil {
		return nil, corrupt(db.path, "bucket %q is missing", name)
	}
	return b, nil
}

// wrap classifies an error from inside a transaction: decoding failures of stored records are
// corruption; errors already carrying a sentinel pass through.
func (db *DB) wrap(err error) error {
	var br badRecord
	switch {
	case err == nil || isClassified(err):
		return err
	case errors.As(err, &br):
		return &corruptError{path: db.path, cause: err}
	}
	return fmt.Errorf("storage: %s: %w", db.path, err)
}
