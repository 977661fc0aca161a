package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/control/site"
)

// ErrTimeout is what a unit's read or write counts as when it did not finish in Runner.Timeout.
var ErrTimeout = errors.New("engine: unit did not answer in time")

// ErrInFlight: the unit's previous request has not returned yet, so no new one was started.
var ErrInFlight = errors.New("engine: previous request still in flight")

// UnitIO is the field side of the runner: drivers/ahu behind an adapter, or a simulation.
// Implementations must honour ctx (the runner gives every call a deadline).
type UnitIO interface {
	ReadState(ctx context.Context, unit string) (UnitState, error)
	WriteCommand(ctx context.Context, unit string, cmd Command) error
}

// Clock is the runner's time source. Now must carry a monotonic reading (time.Now does).
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// PeriodReport describes one completed control period.
type PeriodReport struct {
	Start    time.Time
	Elapsed  time.Duration // read + tick + write
	Overrun  bool          // Elapsed exceeded the period
	Overruns uint64        // since Run started
	Period   uint64        // count of completed periods
	Commands []Command
	Read     int              // units read successfully
	Written  int              // commands written successfully
	Skipped  []string         // units not tried this period (isolated, waiting for their retry)
	Errors   map[string]error // unit -> read or write error this period
}

// Runner is the I/O loop around an Engine: every period it reads all units concurrently, feeds the
// engine, ticks it, writes all commands concurrently and calls Hook. A unit that stops answering
// is isolated by the engine and retried here with exponential backoff (period, 2x, 4x, ... up to
// MaxBackoff); the other units keep their rhythm because every request has its own deadline and
// the runner never waits for one longer than Timeout.
type Runner struct {
	Engine *Engine
	IO     UnitIO
	Clock  Clock // default SystemClock
	// Timeout bounds each read phase and each write phase, and so every request in it (default
	// the site's phase budget, two fifths of the period: site.Control.PhaseBudget, which every
	// line's timeout must fit; the drivers apply the line's own timeout per request inside it).
	Timeout time.Duration
	// MaxBackoff caps the retry interval of an isolated unit (default 1 min).
	MaxBackoff time.Duration
	// Hook runs after each completed period (checkpoints, watchdog pets). It runs on the loop's
	// goroutine: keep it short.
	Hook func(ctx context.Context, r PeriodReport)
	// Passive, when set and true at the start of a period, makes that period read only: the
	// units PassiveRead allows are read (their read-backs kept for a later takeover, their
	// failures not counted: this board does not own them), nothing is ticked or written, and
	// Hook still runs. The standby of a 2N pair.
	Passive     func() bool
	PassiveRead func(unit string) bool

	kick     chan struct{}
	kickOnce sync.Once
	mu       sync.Mutex
	inflight map[string]bool
	nextTry  map[string]time.Time
	wg       sync.WaitGroup
}

type ioResult struct {
	unit string
	st   UnitState
	err  error
}

// Kick starts the next period now instead of on the grid (a standby that became active): the
// grid restarts from the kicked period. It never blocks.
func (r *Runner) Kick() {
	select {
	case r.kicks() <- struct{}{}:
	default:
	}
}

func (r *Runner) kicks() chan struct{} {
	r.kickOnce.Do(func() { r.kick = make(chan struct{}, 1) })
	return r.kick
}

// Run drives the loop until ctx ends; it returns ctx.Err() after every request it started has
// returned.
func (r *Runner) Run(ctx context.Context) error {
	if r.Engine == nil || r.IO == nil {
		return fmt.Errorf("%w: runner needs an engine and a UnitIO", ErrBadValue)
	}
	clk := r.Clock
	if clk == nil {
		clk = SystemClock{}
	}
	r.mu.Lock()
	r.inflight, r.nextTry = map[string]bool{}, map[string]time.Time{}
	r.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		r.wg.Wait()
	}()
	var overruns, count uint64
	next := clk.Now()
	for {
		cfg := r.Engine.Config()
		period := cfg.Control.Period.Duration
		timeout := r.Timeout
		if timeout <= 0 {
			timeout = cfg.Control.PhaseBudget()
		}
		maxBack := r.MaxBackoff
		if maxBack <= 0 {
			maxBack = time.Minute
		}
		start := clk.Now()
		rep := PeriodReport{Start: start, Errors: map[string]error{}}
		if r.Passive != nil && r.Passive() {
			r.passive(ctx, cfg, timeout, &rep)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			count++
			rep.Elapsed = clk.Now().Sub(start)
			rep.Overruns, rep.Period = overruns, count
			if r.Hook != nil {
				r.Hook(ctx, rep)
			}
			if !r.wait(ctx, clk, &next, period) {
				return ctx.Err()
			}
			continue
		}
		var names []string
		for _, u := range cfg.Units {
			if !u.DisableControls {
				names = append(names, u.Name)
			}
		}

		// Reads.
		tried := map[string]bool{}
		var launch, failed []string
		for _, n := range names {
			r.mu.Lock()
			busy, due := r.inflight[n], !start.Before(r.nextTry[n])
			r.mu.Unlock()
			switch {
			case !due:
				rep.Skipped = append(rep.Skipped, n)
			case busy:
				tried[n] = true
				failed = append(failed, n)
			default:
				tried[n] = true
				launch = append(launch, n)
			}
		}
		res := r.fanOut(ctx, launch, timeout, func(c context.Context, n string) ioResult {
			st, err := r.IO.ReadState(c, n)
			return ioResult{unit: n, st: st, err: err}
		})
		for _, n := range failed {
			res[n] = ioResult{unit: n, err: ErrInFlight}
		}
		now := clk.Now()
		for _, n := range append(launch, failed...) {
			x := res[n]
			r.Engine.UpdateUnit(n, x.st, x.err, now)
			// The engine is the one owner of a unit's failures: it counts them (and isolates);
			// the runner only spaces its retries by that count.
			f := r.Engine.failures(n)
			if f > 0 && x.err == nil {
				x.err = r.Engine.lastError(n) // a read-back the engine refused
			}
			r.mu.Lock()
			if f > 0 {
				if f >= isolateAfter {
					back := period << min(f-isolateAfter, 20)
					if back > maxBack || back <= 0 {
						back = maxBack
					}
					r.nextTry[n] = start.Add(back)
				}
				rep.Errors[n] = x.err
			} else {
				delete(r.nextTry, n)
				rep.Read++
			}
			r.mu.Unlock()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}

		// Tick and writes. A unit skipped for its backoff is not written either; a unit whose read
		// failed this period is still written (a write may get through and keeps its BMS timer).
		cmds := r.Engine.Tick(clk.Now())
		rep.Commands = cmds
		byUnit := map[string]Command{}
		var wl []string
		for _, c := range cmds {
			if c.Write && tried[c.Unit] {
				r.mu.Lock()
				busy := r.inflight[c.Unit]
				r.mu.Unlock()
				if busy {
					continue
				}
				byUnit[c.Unit] = c
				wl = append(wl, c.Unit)
			}
		}
		wres := r.fanOut(ctx, wl, timeout, func(c context.Context, n string) ioResult {
			return ioResult{unit: n, err: r.IO.WriteCommand(c, n, byUnit[n])}
		})
		now = clk.Now()
		for _, n := range wl {
			x := wres[n]
			r.Engine.WriteResult(n, x.err, now)
			if x.err != nil {
				if rep.Errors[n] == nil {
					rep.Errors[n] = x.err
				}
			} else {
				rep.Written++
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		count++
		rep.Elapsed = clk.Now().Sub(start)
		if rep.Elapsed > period {
			rep.Overrun = true
			overruns++
		}
		rep.Overruns, rep.Period = overruns, count
		if r.Hook != nil {
			r.Hook(ctx, rep)
		}
		if !r.wait(ctx, clk, &next, period) {
			return ctx.Err()
		}
	}
}

// wait sleeps to the next period on the grid (periods missed by an overrun are skipped, not
// bunched) or to a Kick, which restarts the grid; false when ctx ended.
func (r *Runner) wait(ctx context.Context, clk Clock, next *time.Time, period time.Duration) bool {
	*next = next.Add(period)
	if now := clk.Now(); !next.After(now) {
		skip := now.Sub(*next)/period + 1
		*next = next.Add(skip * period)
	}
	select {
	case <-ctx.Done():
		return false
	case <-r.kicks():
		*next = clk.Now()
		return true
	case <-clk.After(next.Sub(clk.Now())):
		return true
	}
}

// passive is a read-only period (Passive): read-backs of the units PassiveRead allows.
func (r *Runner) passive(ctx context.Context, cfg *site.Config, timeout time.Duration, rep *PeriodReport) {
	var names []string
	for _, u := range cfg.Units {
		if !u.DisableControls && (r.PassiveRead == nil || r.PassiveRead(u.Name)) {
			r.mu.Lock()
			busy := r.inflight[u.Name]
			r.mu.Unlock()
			if !busy {
				names = append(names, u.Name)
			}
		}
	}
	res := r.fanOut(ctx, names, timeout, func(c context.Context, n string) ioResult {
		st, err := r.IO.ReadState(c, n)
		return ioResult{unit: n, st: st, err: err}
	})
	now := time.Now()
	if r.Clock != nil {
		now = r.Clock.Now()
	}
	for _, n := range names {
		if x := res[n]; x.err == nil {
			r.Engine.UpdateUnit(n, x.st, nil, now)
			rep.Read++
		} else {
			rep.Errors[n] = x.err
		}
	}
}

// fanOut runs op for every unit concurrently, each with its own deadline, and returns what came
// back within the deadline; a unit that did not answer in time gets ErrTimeout. A request that
// ignores its context keeps its unit marked in flight until it returns (no second request piles
// up behind it), and Run waits for it before returning.
func (r *Runner) fanOut(ctx context.Context, units []string, timeout time.Duration, op func(context.Context, string) ioResult) map[string]ioResult {
	out := make(map[string]ioResult, len(units))
	if len(units) == 0 {
		return out
	}
	ch := make(chan ioResult, len(units))
	for _, n := range units {
		r.mu.Lock()
		r.inflight[n] = true
		r.mu.Unlock()
		r.wg.Add(1)
		go func(n string) {
			defer r.wg.Done()
			c, cancel := context.WithTimeout(ctx, timeout)
			x := op(c, n)
			cancel()
			if x.err != nil && errors.Is(x.err, context.DeadlineExceeded) {
				x.err = fmt.Errorf("%w: %v", ErrTimeout, x.err)
			}
			r.mu.Lock()
			r.inflight[n] = false
			r.mu.Unlock()
			ch <- x
		}(n)
	}
	// Grace beyond the request deadline for well-behaved implementations to return.
	timer := time.NewTimer(timeout + timeout/4 + time.Millisecond)
	defer timer.Stop()
	for len(out) < len(units) {
		select {
		case x := <-ch:
			out[x.unit] = x
		case <-timer.C:
			for _, n := range units {
				if _, ok := out[n]; !ok {
					out[n] = ioResult{unit: n, err: ErrTimeout}
				}
			}
			return out
		case <-ctx.Done():
			for _, n := range units {
				if _, ok := out[n]; !ok {
					out[n] = ioResult{unit: n, err: ctx.Err()}
				}
			}
			return out
		}
	}
	return out
}
