package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxProblems bounds the problems Check lists; a badly damaged file can produce thousands.
const maxProblems = 20

// Check verifies the whole database: bbolt's own consistency check (page reachability, freelist,
// key order) and this package's schema (every bucket present, every record decodes, the
// configuration history is contiguous from version 1 and matches its digests). A failure wraps
// ErrCorrupt and lists the first problems found.
//
// On a read-write DB the check runs in a write transaction (rolled back) so that no commit
// changes the freelist under it; it blocks writers for its duration (milliseconds for a few MB).
func (db *DB) Check() error {
	var problems []string
	extra := 0
	add := func(err error) {
		if len(problems) < maxProblems {
			problems = append(problems, err.Error())
		} else {
			extra++
		}
	}
	run := func(tx *bolt.Tx) error {
		// Validate the structure through ReadAt first: tx.Check reads the map in a goroutine
		// where a fault on a damaged page could not be recovered. No commit can run meanwhile
		// (write transaction, or read-only DB), so the file holds exactly tx's state.
		f, err := os.Open(db.path)
		if err != nil {
			return fmt.Errorf("storage: check: %w", err)
		}
		fi, err := f.Stat()
		if err == nil {
			err = precheck(f, db.path, fi.Size())
		}
		f.Close()
		if err != nil {
			add(err)
			return nil
		}
		for err := range tx.Check() {
			add(err)
		}
		for _, err := range db.checkSchema(tx) {
			add(err)
		}
		return nil
	}
	var err error
	if db.opts.ReadOnly {
		err = db.view("check", run)
	} else {
		err = guard(db.path, "check", func() error {
			tx, err := db.bolt.Begin(true)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			return run(tx)
		})
	}
	if err != nil {
		return db.wrap(err)
	}
	if len(problems) == 0 {
		return nil
	}
	msg := strings.Join(problems, "; ")
	if extra > 0 {
		msg += fmt.Sprintf("; and %d more", extra)
	}
	n := len(problems) + extra
	return corrupt(db.path, "%d problem%s: %s", n, plural(n), msg)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (db *DB) checkSchema(tx *bolt.Tx) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	v, err := readSchema(tx)
	if err != nil {
		return []error{err}
	}
	if v != SchemaVersion {
		return []error{fmt.Errorf("schema %d, want %d", v, SchemaVersion)}
	}
	known := map[string]bool{}
	for _, name := range buckets2 {
		known[string(name)] = true
		if tx.Bucket(name) == nil {
			bad("bucket %q is missing", name)
		}
	}
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if !known[string(name)] {
			bad("unexpected bucket %q", name)
		}
		return nil
	})
	if len(errs) > 0 {
		return errs
	}

	if _, err := db.readEpoch(tx); err != nil {
		errs = append(errs, err)
	}
	if _, err := time.Parse(time.RFC3339Nano, string(tx.Bucket(bMeta).Get(kCreated))); err != nil {
		bad("meta: created time %q does not parse", tx.Bucket(bMeta).Get(kCreated))
	}

	want := 1
	_ = tx.Bucket(bConfig).ForEach(func(k, v []byte) error {
		cv, err := decodeConfig(k, v, false)
		switch {
		case err != nil:
			errs = append(errs, err)
		case cv.Version != want:
			bad("configuration history jumps from version %d to %d", want-1, cv.Version)
		}
		want = cv.Version + 1
		return nil
	})

	cp := Checkpoint{Loops: map[string]LoopState{}, Counters: map[string]uint64{}}
	if err := decodeState(tx.Bucket(bState), &cp); err != nil {
		errs = append(errs, err)
	}
	for name, l := range cp.Loops {
		if err := l.validate(name); err != nil {
			bad("state: %v", err)
		}
	}

	eb := tx.Bucket(bEvents)
	seq := eb.Sequence()
	_ = eb.ForEach(func(k, v []byte) error {
		e, err := decodeEvent(k, v)
		if err != nil {
			errs = append(errs, err)
		} else if e.Seq > seq {
			bad("event %d is beyond the bucket sequence %d", e.Seq, seq)
		}
		return nil
	})

	_ = tx.Bucket(bUsers).ForEach(func(k, v []byte) error {
		var u User
		if err := json.Unmarshal(v, &u); err != nil {
			bad("user %q: %v", k, err)
		} else if u.Name != string(k) {
			bad("user stored as %q is named %q", k, u.Name)
		}
		return nil
	})
	return errs
}

// Backup writes a consistent copy of the database to w while it stays in use (bbolt
// Tx.WriteTo inside a read transaction) and returns the number of bytes written.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.view("backup", func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("storage: backup of %s: %w", db.path, db.wrap(err))
	}
	return n, nil
}

// BackupFile writes a backup to path atomically (temporary file, fsync, rename) and verifies it
// (Open read-only and Check) before it replaces path. A failed backup leaves path as it was.
func (db *DB) BackupFile(path string) error {
	if same, err := sameFile(path, db.path); err != nil {
		return err
	} else if same {
		return fmt.Errorf("storage: backup to %s would overwrite the database itself: %w", path, ErrInvalid)
	}
	return writeAtomically(path, func(f *os.File) error {
		if _, err := db.Backup(f); err != nil {
			return err
		}
		return nil
	}, Verify)
}

// writeAtomically creates a temporary file next to path, fills it, syncs it, runs verify on it
// and renames it over path.
func writeAtomically(path string, fill func(*os.File) error, verify func(string) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("storage: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if verify != nil {
		if err := verify(tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("storage: sync directory %s: %w", dir, err)
	}
	return nil
}

func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: %w", err)
	}
	fb, err := os.Stat(b)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: %w", err)
	}
	return os.SameFile(fa, fb), nil
}

// Verify opens path read-only and checks it. It fails with ErrInUse while a controller holds the
// file, ErrCorrupt when it is damaged, ErrSchema when it needs a migration.
func Verify(path string) error {
	db, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Check()
}

// Restore replaces the database at dst with the backup at src. src is verified first (a copy of
// it is opened, migrated if it has an older schema, and checked); dst is replaced only when the
// copy passed, by an atomic rename, while dst's lock is held so a controller cannot be using it.
// opts gives the lock timeout.
func Restore(src, dst string, opts *Options) error {
	o := opts.withDefaults()
	if same, err := sameFile(src, dst); err != nil {
		return err
	} else if same {
		return fmt.Errorf("storage: restore: %s and %s are the same file: %w", src, dst, ErrInvalid)
	}
	s, err := open(src, Options{ReadOnly: true, MustExist: true, Timeout: o.Timeout, EventLimit: o.EventLimit, Now: o.Now, Mode: o.Mode}, true)
	if err != nil {
		return fmt.Errorf("storage: restore: source: %w", err)
	}
	defer s.Close()

	if f, err := os.OpenFile(dst, os.O_RDWR, 0); err == nil {
		defer f.Close()
		if err := lockFile(f, true, o.Timeout); err != nil {
			return fmt.Errorf("storage: restore: %w", &inUseError{path: dst, cause: err})
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("storage: restore: %w", err)
	}

	err = writeAtomically(dst, func(f *os.File) error {
		_, err := s.Backup(f)
		return err
	}, func(tmp string) error {
		c, err := Open(tmp, &Options{MustExist: true, Timeout: o.Timeout, EventLimit: o.EventLimit, Now: o.Now})
		if err != nil {
			return err
		}
		err = c.Check()
		if cerr := c.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: restore from %s failed, %s unchanged: %w", src, dst, err)
	}
	return nil
}

// Compact writes a compacted copy of the database to dst, which must not exist, and verifies it.
func (db *DB) Compact(dst string) error {
	f, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, db.opts.Mode)
	if err != nil {
		return fmt.Errorf("storage: compact: %w", err)
	}
	f.Close()
	ok := false
	defer func() {
		if !ok {
			os.Remove(dst)
		}
	}()
	ddb, err := bolt.Open(dst, db.opts.Mode, &bolt.Options{Timeout: db.opts.Timeout})
	if err != nil {
		return fmt.Errorf("storage: compact: %w", err)
	}
	err = guard(db.path, "compact", func() error { return bolt.Compact(ddb, db.bolt, 0) })
	// bbolt grows a file to its mmap size (32 KiB doubling), so the copy ends in unused pages:
	// cut it at its high-water mark, as a backup (tx.WriteTo) is.
	var used int64
	if err == nil {
		err = ddb.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	}
	if cerr := ddb.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Truncate(dst, used)
	}
	if err != nil {
		return fmt.Errorf("storage: compact %s: %w", db.path, db.wrap(err))
	}
	c, err := Open(dst, &Options{MustExist: true, Timeout: db.opts.Timeout, EventLimit: db.opts.EventLimit, Now: db.opts.Now})
	if err != nil {
		return fmt.Errorf("storage: compact: the copy does not open: %w", err)
	}
	err = c.Check()
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage: compact: the copy fails its check: %w", err)
	}
	ok = true
	return syncDir(filepath.Dir(dst))
}

// CompactFile compacts the database at path in place: it opens it (taking the lock), writes a
// verified compacted copy next to it and renames the copy over it before releasing the lock.
// It returns the file sizes before and after; when the copy would not be smaller the original
// is kept as it is and after == before.
func CompactFile(path string, opts *Options) (before, after int64, err error) {
	o := opts.withDefaults()
	o.MustExist = true
	db, err := Open(path, &o)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	if err := db.Check(); err != nil {
		return 0, 0, fmt.Errorf("storage: not compacting a damaged database (restore a backup): %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("storage: %w", err)
	}
	tmp := path + ".compact-tmp"
	// A leftover from a compaction that crashed: we hold the lock, so nobody else is writing it.
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, 0, fmt.Errorf("storage: %w", err)
	}
	if err := db.Compact(tmp); err != nil {
		return 0, 0, err
	}
	// A copy that is not smaller is no gain: keep the original (after == before says so).
	if ft, err := os.Stat(tmp); err != nil || ft.Size() >= fi.Size() {
		os.Remove(tmp)
		if err != nil {
			return 0, 0, fmt.Errorf("storage: %w", err)
		}
		return fi.Size(), fi.Size(), nil
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("storage: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return 0, 0, err
	}
	fa, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("storage: %w", err)
	}
	return fi.Size(), fa.Size(), nil
}
