package commission

import (
	"context"
	"errors"
	"iter"
	"time"
)

// Clock is the time a sequence runs on: the wall clock on a board, the plant's clock on the
// lockstep bench. Its Now must be on the same time line as the engine's read-back times.
type Clock interface {
	Now() time.Time
	// Until returns nil once Now() is at or past t, or ctx's error if ctx is done first.
	Until(ctx context.Context, t time.Time) error
}

// Wall is the wall clock.
type Wall struct{}

// Now is time.Now.
func (Wall) Now() time.Time { return time.Now() }

// Until sleeps until t or until ctx is done.
func (Wall) Until(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// ErrStopped is what a wait on a Lockstep returns once the Lockstep was stopped.
var ErrStopped = errors.New("commission: lockstep stopped")

// Lockstep runs one sequence as a coroutine of a simulation loop: the sequence runs only inside
// Start and Advance, up to its next wait, so the whole is as deterministic as the loop and the
// sequence may call the loop's engine without locks of its own. The loop calls Advance with its
// time after every step (a control period on the bench); a wait ends at the first Advance at or
// past its time. A cancelled context is seen at the next Advance, never in between (the
// sequence never runs beside the loop).
//
// A Lockstep is not safe for concurrent use; Now may be called by the loop between Advances.
type Lockstep struct {
	now   time.Time
	yield func(struct{}) bool
	next  func() (struct{}, bool)
	stop  func()
	ended bool
}

// NewLockstep returns a Lockstep whose clock reads start.
func NewLockstep(start time.Time) *Lockstep { return &Lockstep{now: start} }

// Now is the time of the last Advance (or the start).
func (l *Lockstep) Now() time.Time { return l.now }

// Until yields to the loop until an Advance reaches t. Only the sequence Start runs may call it.
func (l *Lockstep) Until(ctx context.Context, t time.Time) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !l.now.Before(t) {
			return nil
		}
		if l.yield == nil || !l.yield(struct{}{}) {
			return ErrStopped
		}
	}
}

// Start runs fn up to its first wait and reports whether it has already ended. fn gets the
// Lockstep as its clock. Start may be called once.
func (l *Lockstep) Start(fn func(Clock)) (ended bool) {
	if l.next != nil {
		panic("commission: Lockstep started twice")
	}
	seq := func(yield func(struct{}) bool) {
		l.yield = yield
		fn(l)
	}
	l.next, l.stop = iter.Pull(iter.Seq[struct{}](seq))
	return l.resume()
}

// Advance sets the clock to now (never backwards) and runs the sequence until it waits again or
// ends; it reports whether the sequence has ended.
func (l *Lockstep) Advance(now time.Time) (ended bool) {
	if now.After(l.now) {
		l.now = now
	}
	return l.resume()
}

func (l *Lockstep) resume() bool {
	if l.ended || l.next == nil {
		return l.ended
	}
	if _, ok := l.next(); !ok {
		l.ended = true
	}
	return l.ended
}

// Stop ends a sequence still waiting: its wait returns ErrStopped and it runs to its end (its
// deferred clean-up included) before Stop returns. A sequence that waits again after ErrStopped
// gets ErrStopped at once.
func (l *Lockstep) Stop() {
	if l.stop != nil {
		l.stop()
	}
	l.ended = true
}
