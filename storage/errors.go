package storage

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// Sentinel errors. Every error returned by this package that falls in one of these classes wraps
// the sentinel, so callers test with errors.Is.
var (
	// ErrInUse: another process (or another DB in this process) holds the database's lock.
	ErrInUse = errors.New("storage: database is in use by another process")
	// ErrCorrupt: the file is not a sound coldaisle database (garbage, truncated, bad meta page,
	// broken b-tree, undecodable record, missing bucket, gap in the configuration history).
	ErrCorrupt = errors.New("storage: database is corrupt")
	// ErrSchema: the schema version cannot be used as is (newer than this program, or older and
	// the database was opened read-only so it cannot be migrated).
	ErrSchema = errors.New("storage: unsupported schema version")
	// ErrNotFound: the requested record (configuration, version, user) does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrReadOnly: a write was attempted on a database opened read-only.
	ErrReadOnly = errors.New("storage: database is open read-only")
	// ErrInvalid: bad input to a write (empty name, non-finite number, oversized record); nothing
	// was changed.
	ErrInvalid = errors.New("storage: invalid input")
)

// inUseError carries the exact message "storage: PATH is in use by another process".
type inUseError struct {
	path  string
	cause error
}

func (e *inUseError) Error() string   { return "storage: " + e.path + " is in use by another process" }
func (e *inUseError) Unwrap() []error { return []error{ErrInUse, e.cause} }

// corruptError names the file and what is wrong with it.
type corruptError struct {
	path  string
	cause error
}

func (e *corruptError) Error() string {
	return "storage: " + e.path + " is corrupt: " + e.cause.Error()
}
func (e *corruptError) Unwrap() []error { return []error{ErrCorrupt, e.cause} }

func corrupt(path string, format string, args ...any) error {
	return &corruptError{path: path, cause: fmt.Errorf(format, args...)}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("storage: %s: %w", fmt.Sprintf(format, args...), ErrInvalid)
}

// guard runs fn with faults on memory-mapped pages turned into panics and converts any panic into
// an ErrCorrupt error. bbolt trusts the file it maps: a damaged page can make it index out of
// range or touch memory past the end of a truncated file. Such a fault is fatal unless
// SetPanicOnFault is on for the goroutine that touches the page, so every access to the map from
// this package goes through guard.
func guard(path, what string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = &corruptError{path: path, cause: fmt.Errorf("%s: bbolt failed on a damaged page: %v", what, r)}
		}
	}()
	return fn()
}

// badRecord marks a stored record that does not decode; wrap turns it into ErrCorrupt. Other
// errors from inside a transaction (I/O, disk full) are not corruption and keep their own class.
type badRecord struct{ err error }

func (e badRecord) Error() string { return e.err.Error() }
func (e badRecord) Unwrap() error { return e.err }

func bad(format string, args ...any) error { return badRecord{fmt.Errorf(format, args...)} }
