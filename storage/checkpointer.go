package storage

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
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
	Events    uint64    // events committed with checkpoints
	Dropped   uint64    // events dropped because MaxPendingEvents were already waiting
	LastSeq   uint64    // sequence of the last successful commit
	Last      time.Time // clock time of the last successful commit
}

// MaxPendingEvents bounds the events a Checkpointer holds between commits (a disk that keeps
// failing must not grow memory without end); past it the oldest waiting events are dropped and
// counted in CheckpointStats.Dropped.
const MaxPendingEvents = 1024

// pendingEvent is a logged event and how many times the same event (kind, who and text) was
// logged again before the commit.
type pendingEvent struct {
	Event
	more int
	last time.Time
}

// event is what gets committed: a repeated event says how often and until when.
func (p pendingEvent) event() Event {
	if p.more == 0 {
		return p.Event
	}
	e := p.Event
	suffix := fmt.Sprintf(" (and %d more times until %s)", p.more, p.last.UTC().Format("15:04:05"))
	text := e.Text
	for len(text)+len(suffix) > maxEventText || !utf8.ValidString(text) {
		text = text[:len(text)-1]
	}
	e.Text = text + suffix
	return e
}

// Checkpointer rate-limits checkpoint commits: the control loop offers its state every period,
// and the Checkpointer commits at most once per interval in steady state, at once for the
// changes that must survive a crash (configuration, role), and never when nothing changed.
// Events given to Log wait for the next commit and go in it, so an alarm that flaps every
// period costs no commit of its own; an event logged again before the commit (same kind, who
// and text) is kept once with a count, so it adds one record, not one per period. Like the
// state, the log is at most one interval behind after a crash. It is driven by its callers (no
// goroutine) and reads time only from the injected clock.
type Checkpointer struct {
	mu       sync.Mutex
	s        CheckpointSaver
	interval time.Duration
	now      func() time.Time

	pending   *Checkpoint    // newest offered state not yet committed
	events    []pendingEvent // logged, not yet committed, oldest first
	committed *Checkpoint    // last state committed
	lastTry   time.Time      // last commit attempt, successful or not
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
func (c *Checkpointer) Interval() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.interval
}

// SetInterval changes the steady-state spacing (DefaultCheckpointInterval when <= 0) from the
// next offer on: a configuration commit applies it without a restart.
func (c *Checkpointer) SetInterval(d time.Duration) {
	if d <= 0 {
		d = DefaultCheckpointInterval
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.interval = d
}

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

// Log queues events for the next commit (times left zero are stamped now). An event equal in
// kind, who and text to one already waiting is counted on that one instead ("... and N more
// times until HH:MM:SS"). Events are validated here, so a bad event is refused at once and
// never blocks a checkpoint; on error none is queued.
func (c *Checkpointer) Log(evs ...Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for i := range evs {
		if err := validateEvent(evs[i]); err != nil {
			return err
		}
	}
next:
	for _, e := range evs {
		if e.Time.IsZero() {
			e.Time = now
		}
		for i := range c.events {
			if p := &c.events[i]; p.Kind == e.Kind && p.Who == e.Who && p.Text == e.Text {
				p.more++
				p.last = e.Time
				continue next
			}
		}
		c.events = append(c.events, pendingEvent{Event: e})
	}
	if over := len(c.events) - MaxPendingEvents; over > 0 {
		c.stats.Dropped += uint64(over)
		c.events = slices.Delete(c.events, 0, over)
	}
	return nil
}

// Pending returns the events waiting for the next commit, oldest first, as they will be
// committed (a log view shows them with the committed ones).
func (c *Checkpointer) Pending() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pendingLocked()
}

func (c *Checkpointer) pendingLocked() []Event {
	if len(c.events) == 0 {
		return nil
	}
	out := make([]Event, len(c.events))
	for i, p := range c.events {
		out[i] = p.event()
	}
	return out
}

// Flush commits the newest offered state and any waiting events if they were not committed yet
// (call it on shutdown).
func (c *Checkpointer) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil && len(c.events) == 0 {
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
		if len(c.events) == 0 {
			return false, nil
		}
		// Only events are waiting: commit them with the state as last committed (nil maps
		// keep the stored loops and counters).
		p = &Checkpoint{}
		if c.committed != nil {
			p.Loops, p.Counters = c.committed.Loops, c.committed.Counters
		}
	}
	if len(c.events) == 0 && c.committed != nil && maps.EqualFunc(p.Loops, c.committed.Loops, LoopState.equal) && maps.Equal(p.Counters, c.committed.Counters) {
		c.pending = nil
		c.stats.Unchanged++
		return false, nil
	}
	now := c.now()
	c.tried, c.lastTry = true, now
	n := len(c.events)
	seq, err := c.s.SaveCheckpoint(Checkpoint{Time: now, Loops: p.Loops, Counters: p.Counters, Events: c.pendingLocked()})
	if err != nil {
		c.stats.Failures++
		return false, err // the state and the events stay pending for the next attempt
	}
	c.events = nil
	c.pending, c.committed = nil, p
	c.stats.Commits++
	c.stats.Events += uint64(n)
	c.stats.LastSeq, c.stats.Last = seq, now
	return true, nil
}
