package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Defaults.
const (
	// DefaultTimeout is how long Open waits for the file lock before reporting ErrInUse.
	DefaultTimeout = time.Second
	// DefaultEventLimit is the size of the event ring.
	DefaultEventLimit = 2000
)

// Options tune Open. The zero value (or nil) is the controller's normal read-write open.
type Options struct {
	// Timeout bounds the wait for the file lock; 0 means DefaultTimeout. There is no way to wait
	// forever: a second controller must fail clearly, not hang.
	Timeout time.Duration
	// ReadOnly opens with a shared lock and refuses writes (db check, backup, export).
	ReadOnly bool
	// MustExist refuses to create a new file (implied by ReadOnly).
	MustExist bool
	// EventLimit is the number of events kept; 0 means DefaultEventLimit.
	EventLimit int
	// Now stamps configuration versions, events and checkpoints; nil means time.Now.
	Now func() time.Time
	// Mode is the permission of a new file; 0 means 0600.
	Mode os.FileMode
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Timeout <= 0 {
		r.Timeout = DefaultTimeout
	}
	if r.EventLimit <= 0 {
		r.EventLimit = DefaultEventLimit
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Mode == 0 {
		r.Mode = 0o600
	}
	if r.ReadOnly {
		r.MustExist = true
	}
	return r
}

// DB is an open coldaisle database. Its methods are safe for concurrent use.
type DB struct {
	bolt     *bolt.DB
	path     string
	opts     Options
	commits  atomic.Uint64
	closed   atomic.Bool
	baseline int64 // bbolt PageAlloc when Open finished, so Stats counts only our commits
	pageSize int   // read once at Open: bbolt's Info reads the mmap unlocked, racing a commit that grows it
}

// Open opens (or creates) the database at path, takes its lock, checks that the file is sound
// and brings its schema to SchemaVersion. Errors wrap ErrInUse, ErrCorrupt, ErrSchema or
// fs.ErrNotExist.
func Open(path string, opts *Options) (*DB, error) {
	o := opts.withDefaults()
	return open(path, o, false)
}

// open with allowOld accepts an older schema read-only (Restore migrates a copy).
func open(path string, o Options, allowOld bool) (*DB, error) {
	if path == "" {
		return nil, invalid("empty database path")
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if o.MustExist {
			return nil, fmt.Errorf("storage: %s does not exist: %w", path, fs.ErrNotExist)
		}
	case err != nil:
		return nil, fmt.Errorf("storage: %w", err)
	case st.IsDir():
		return nil, fmt.Errorf("storage: %s is a directory, not a database file: %w", path, ErrInvalid)
	}

	flag := os.O_RDWR | os.O_CREATE
	if o.ReadOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, o.Mode)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	// Lock before looking at the file: a meta page read while another process commits could be
	// half written and look corrupt.
	if err := lockFile(f, !o.ReadOnly, o.Timeout); err != nil {
		f.Close()
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, &inUseError{path: path, cause: err}
		}
		return nil, fmt.Errorf("storage: lock %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("storage: %w", err)
	}
	if fi.Size() == 0 && o.MustExist {
		f.Close()
		return nil, corrupt(path, "the file is empty")
	}
	if fi.Size() > 0 {
		if err := precheck(f, path, fi.Size()); err != nil {
			f.Close()
			return nil, err
		}
	}

	handed := false
	bo := &bolt.Options{
		Timeout:  o.Timeout,
		ReadOnly: o.ReadOnly,
		NoSync:   false, // every commit is on disk when it returns
		// 4 KiB pages whatever the kernel's page size: on a 16 or 64 KiB arm64 kernel bbolt
		// would otherwise write 4 or 16 times the bytes per commit. Existing files keep theirs.
		PageSize:     4096,
		FreelistType: bolt.FreelistArrayType,
		// Hand bbolt the descriptor we locked and checked; its own flock on the same open file
		// description succeeds at once.
		OpenFile: func(string, int, os.FileMode) (*os.File, error) {
			if handed {
				return nil, errors.New("storage: bbolt opened the file twice")
			}
			handed = true
			return f, nil
		},
	}
	var bdb *bolt.DB
	err = guard(path, "open", func() error {
		var err error
		bdb, err = bolt.Open(path, o.Mode, bo)
		return err
	})
	if err != nil {
		f.Close() // bbolt closes it on a clean error; after a panic we must, to drop the lock
		switch {
		case errors.Is(err, ErrCorrupt):
			return nil, err
		case errors.Is(err, berrors.ErrTimeout):
			return nil, &inUseError{path: path, cause: err}
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
			return nil, &corruptError{path: path, cause: err}
		}
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	db := &DB{bolt: bdb, path: path, opts: o}
	if err := db.openSchema(allowOld); err != nil {
		bdb.Close()
		return nil, err
	}
	bst := bdb.Stats()
	db.baseline = bst.TxStats.GetPageAlloc()
	db.pageSize = bdb.Info().PageSize
	db.commits.Store(0) // Stats counts from here, like the baseline
	return db, nil
}

// lockFile takes a flock on f, retrying until timeout. flock locks belong to the open file
// description, so a second Open of the same file in the same process is refused as well.
func lockFile(f *os.File, exclusive bool, timeout time.Duration) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	start := time.Now()
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			return err
		}
		if time.Since(start) >= timeout {
			return berrors.ErrTimeout
		}
		time.Sleep(20 * time.Millisecond) // polling a lock held by another process: no event to wait on
	}
}

// bbolt's on-disk meta page (little-endian on every platform coldaisle runs on).
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	metaOff        = 16 // page header: id u64, flags u16, count u16, overflow u32
	metaLen        = 64
	noFreelistPgid = ^uint64(0)
)

type metaInfo struct {
	pageSize, root, freelist, pgid, txid uint64
}

func parseMeta(b []byte) (metaInfo, error) {
	if len(b) < metaOff+metaLen {
		return metaInfo{}, errors.New("short meta page")
	}
	m := b[metaOff : metaOff+metaLen]
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != boltMagic {
		return metaInfo{}, errors.New("bad magic")
	}
	if le.Uint32(m[4:]) != boltVersion {
		return metaInfo{}, fmt.Errorf("bbolt format version %d", le.Uint32(m[4:]))
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		return metaInfo{}, errors.New("meta checksum mismatch")
	}
	return metaInfo{
		pageSize: uint64(le.Uint32(m[8:])),
		root:     le.Uint64(m[16:]),
		freelist: le.Uint64(m[32:]),
		pgid:     le.Uint64(m[40:]),
		txid:     le.Uint64(m[48:]),
	}, nil
}

// precheck reads both meta pages itself, checks that the one bbolt will use fits in the file,
// and validates the tree it points to (validateTree). bbolt maps the file and trusts it: a
// truncated file or a damaged page would make it fault, so such a file is refused before bbolt
// sees it.
func precheck(f io.ReaderAt, path string, size int64) error {
	if size < 2*1024 {
		return corrupt(path, "file is %d bytes, too short for a bbolt database", size)
	}
	read := func(off int64) []byte {
		buf := make([]byte, metaOff+metaLen)
		n, _ := f.ReadAt(buf, off)
		return buf[:n]
	}
	m0, err0 := parseMeta(read(0))
	var m1 metaInfo
	err1 := errors.New("not found")
	if err0 == nil {
		if int64(m0.pageSize) < size {
			m1, err1 = parseMeta(read(int64(m0.pageSize)))
		}
	} else {
		// Page 0 is damaged: look for page 1 at every page size bbolt could have used.
		for ps := int64(1024); ps <= 1<<24 && ps < size; ps <<= 1 {
			if m1, err1 = parseMeta(read(ps)); err1 == nil && int64(m1.pageSize) == ps {
				break
			}
			err1 = errors.New("not found")
		}
	}
	var m metaInfo
	switch {
	case err0 != nil && err1 != nil:
		return corrupt(path, "no valid meta page (page 0: %v; page 1: %v): not a bbolt database or both meta pages are damaged", err0, err1)
	case err0 != nil:
		m = m1
	case err1 != nil:
		m = m0
	case m1.txid > m0.txid:
		m = m1
	default:
		m = m0
	}
	if m.pageSize < 1024 || m.pageSize > 1<<24 || m.pageSize&(m.pageSize-1) != 0 {
		return corrupt(path, "meta page gives page size %d", m.pageSize)
	}
	if m.pgid < 3 || m.pgid > uint64(size)/m.pageSize {
		return corrupt(path, "truncated: the file has %d bytes but its meta page (txid %d) needs %d pages of %d bytes", size, m.txid, m.pgid, m.pageSize)
	}
	if m.root < 2 || m.root >= m.pgid {
		return corrupt(path, "meta page points the root at page %d, outside 2..%d", m.root, m.pgid-1)
	}
	if m.freelist != noFreelistPgid && (m.freelist < 2 || m.freelist >= m.pgid) {
		return corrupt(path, "meta page points the freelist at page %d, outside 2..%d", m.freelist, m.pgid-1)
	}
	if err := validateTree(f, m); err != nil {
		return corrupt(path, "%v", err)
	}
	return nil
}

// Close releases the lock and the file. A second Close does nothing.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("storage: close %s: %w", db.path, err)
	}
	return nil
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

// ReadOnly reports whether the database was opened read-only.
func (db *DB) ReadOnly() bool { return db.opts.ReadOnly }

// Stats counts what this DB has written since Open.
type Stats struct {
	Commits      uint64 // read-write transactions committed through this DB
	BytesWritten int64  // bbolt pages written by those commits plus one meta page each
	PageSize     int
	FileSize     int64
}

// Stats reports the write volume since Open. Bytes are counted from bbolt's own statistics
// (every dirty page, including overflow and freelist pages, is written once per commit, then one
// meta page), so they are what the database asks the file system to write, before the file
// system's own journal. It is safe beside commits (the operations View asks every period).
func (db *DB) Stats() Stats {
	s := Stats{Commits: db.commits.Load(), PageSize: db.pageSize}
	bs := db.bolt.Stats()
	s.BytesWritten = bs.TxStats.GetPageAlloc() - db.baseline + int64(s.Commits)*int64(s.PageSize)
	if fi, err := os.Stat(db.path); err == nil {
		s.FileSize = fi.Size()
	}
	return s
}

func (db *DB) view(what string, fn func(*bolt.Tx) error) error {
	return guard(db.path, what, func() error { return db.bolt.View(fn) })
}

func (db *DB) update(what string, fn func(*bolt.Tx) error) error {
	if db.opts.ReadOnly {
		return fmt.Errorf("storage: %s: %s: %w", what, db.path, ErrReadOnly)
	}
	err := guard(db.path, what, func() error { return db.bolt.Update(fn) })
	if err == nil {
		db.commits.Add(1)
	}
	return err
}
