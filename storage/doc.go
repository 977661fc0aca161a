// Package storage keeps coldaisle's durable state in one bbolt file: the site configuration with
// its full history, the control state of every loop with the counters (checkpoints), the
// failover epoch, a bounded event log and the console's users.
//
// # Usage
//
// Example opens a database (a second open gets ErrInUse), saves and restores configuration
// versions, bumps the epoch on taking control, checkpoints loops through a Checkpointer (Offer
// every control period, cheap unless due; Log queues events for the next commit; Urgent commits
// at once; Flush on shutdown), appends an event, checks the file and makes a hot backup. A file
// that fails to open with ErrCorrupt is replaced from a backup with Restore.
//
// # Sentinel errors
//
// ErrInUse (the lock is held: "storage: PATH is in use by another process"), ErrCorrupt (the
// file or a record is damaged; the message names the file and the first problems), ErrSchema
// (schema newer than this program, or older on a read-only open), ErrNotFound, ErrReadOnly,
// ErrInvalid (bad input: nothing was changed). Test with errors.Is.
//
// # Durability and crashes
//
// Every write is one bbolt transaction with sync on: when a method returns, its change is on
// disk. Batch is never used (its function may run twice). Open always sets a lock timeout
// (default 1 s), so a second process fails with ErrInUse instead of hanging; flock locks belong
// to the open file, so a second Open inside the same process is refused too. A test kills a
// committing process with SIGKILL 100 times and checks after each kill that the file opens,
// passes Check, holds every configuration the process reported, and a checkpoint at most one
// commit old.
//
// # Corrupt files
//
// bbolt maps the file and follows its pointers unchecked, partly in goroutines of its own where
// a fault ends the process. Open therefore reads both meta pages and walks the whole b-tree
// itself through ReadAt, checking every page reference, element offset and length, before bbolt
// sees the file (validate.go); Check does the same before bbolt's Tx.Check. Every access to the
// map also runs with debug.SetPanicOnFault and recover. Garbage, truncated files, bad meta pages
// and damaged pages come back as ErrCorrupt (tests: fixed damage, 400 random byte flips per
// run, and FuzzOpen). Caveat: after a recovered panic inside bbolt.Open the file's mapping is
// not unmapped until the process exits.
//
// # Write volume (flash wear)
//
// A steady-state checkpoint (16 loops and ~32 counters, 2.2 KB of JSON) rewrites four 4 KiB
// pages: the state bucket's leaf, the root leaf (the bucket's page moved), the freelist and a
// meta page: 16 KiB per commit, measured from bbolt's own statistics (TestWriteVolume,
// BenchmarkCheckpoint) and confirmed within 3 % by the block device's sector counter. At one
// commit every 5 s that is 283 MB/day, over the 100 MB/day budget; so the steady-state interval
// is 20 s (70.8 MB/day), the state is kept on one page (short JSON keys, one bucket), unchanged
// states are not written, and the page size is fixed at 4 KiB whatever the kernel's. Commits
// that must not wait (configuration, role, epoch) are immediate; a crash loses at most 20 s of
// integrator drift, which the loops absorb. Further savings if ever needed: NoFreelistSync
// (-4 KiB per commit, but bbolt then rebuilds the freelist at Open in an unguarded goroutine).
// Each AppendEvent is a commit of its own (~16-20 KiB), so it is for rare, human-rate events
// (logins, commits, start and stop); the control loop's alarms and mode changes go through
// Checkpointer.Log and ride on the next checkpoint commit, and an event repeated before that
// commit is stored once with a count. Measured with 16 loops at the 20 s interval: 71 MB/day
// with no events; 108 MB/day with an alarm that flaps every second all day (2 records per
// commit), where one commit per event wrote 1.86 GB/day.
//
// # Schema
//
// SchemaVersion is 2 (layout in schema.go). Open migrates older layouts in one transaction (a
// crash mid-migration leaves the old layout); schema 1 (no history, no users, decimal epoch) is
// defined there too, with a test that migrates it. A read-only Open refuses an older schema
// (ErrSchema) rather than migrate it.
package storage
