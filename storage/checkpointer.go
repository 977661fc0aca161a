package storage

import (
	"maps"
	"sync"
	"time"
)

// DefaultCheckpointInterval is the steady-state spacing of checkpoint commits. See doc.go for
// the write-volume budget that sets it.
const DefaultCheckpointInterval = 20 * time.Second

// CheckpointSaver is what a Checkpointer commits to; *DB implements it.
type CheckpointSaver interface {
	SaveCheckpoint(Checkpoint) (uint64, error)
}

// CheckpointStats counts what a Checkpointer did.
type CheckpointStats struct {
	Offers    uint64    // states offered
	Commits   uint64    // commits that succeeded
	Unchanged uint64    // due commits skipped because the state equalled the last committed one
	Failures  uint64    // commits that failed
	LastSeq   uint64    // sequence of the last successful commit
	Last      time.Time // clock time of the last successful commit
}

// Checkpointer rate-limits checkpoint commits: the control loop offers its state every period,
// and the Checkpointer commits at most once per interval in steady state, at once for the
// changes that must survive a crash (configuration, role), and never when nothing changed.
// It is driven by its callers (no goroutine) and reads time only from the injected clock.
type Checkpointer struct {
	mu       sync.Mutex
	s        CheckpointSaver
	interval time.Duration
	now      func() time.Time

	pending   *Checkpoint // newest offered state not yet committed
	committed *Checkpoint // last state committed
	lastTry   time.Time   // last commit attempt, successful or not
	tried     bool
	stats     CheckpointStats
}

// NewCheckpointer returns a Checkpointer committing to s at most once per interval
// (DefaultCheckpointInterval when <= 0), reading time from now (time.Now when nil).
func NewCheckpointer(s CheckpointSaver, interval time.Duration, now func() time.Time) *Checkpointer {
	if interval <= 0 {
		interval = DefaultCheckpointInterval
	}
	if now == nil {
		now = time.Now
	}
	return &Checkpointer{s: s, interval: interval, now: now}
}

// Interval is the steady-state spacing of commits.
func (c *Checkpointer) Interval() time.Duration { return c.interval }

// Offer records the latest state (the maps are copied) and commits it when the interval has
// passed since the last commit attempt. It reports whether it committed. After a failed commit
// the next attempt waits a full interval, so a failing disk is not hammered at the loop rate.
func (c *Checkpointer) Offer(loops map[string]LoopState, counters map[string]uint64) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Offers++
	c.pending = &Checkpoint{Loops: maps.Clone(loops), Counters: maps.Clone(counters)}
	if c.tried && c.now().Sub(c.lastTry) < c.interval {
		return false, nil
	}
	return c.commitLocked()
}

// Urgent records the state and commits it at once, whatever the interval: a configuration or
// role change must not be lost to a crash a few seconds later. The interval restarts from now.
func (c *Checkpointer) Urgent(loops map[string]LoopState, counters map[string]uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Offers++
	c.pending = &Checkpoint{Loops: maps.Clone(loops), Counters: maps.Clone(counters)}
	_, err := c.commitLocked()
	return err
}

// Flush commits the newest offered state if it was not committed yet (call it on shutdown).
func (c *Checkpointer) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		return nil
	}
	_, err := c.commitLocked()
	return err
}

// Stats returns the counts so far.
func (c *Checkpointer) Stats() CheckpointStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Checkpointer) commitLocked() (bool, error) {
	p := c.pending
	if p == nil {
		return false, nil
	}
	if c.committed != nil && maps.EqualFunc(p.Loops, c.committed.Loops, LoopState.equal) && maps.Equal(p.Counters, c.committed.Counters) {
		c.pending = nil
		c.stats.Unchanged++
		return false, nil
	}
	now := c.now()
	c.tried, c.lastTry = true, now
	seq, err := c.s.SaveCheckpoint(Checkpoint{Time: now, Loops: p.Loops, Counters: p.Counters})
	if err != nil {
		c.stats.Failures++
		return false, err
	}
	c.pending, c.committed = nil, p
	c.stats.Commits++
	c.stats.LastSeq, c.stats.Last = seq, now
	return true, nil
}
