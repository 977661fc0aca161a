package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeIO answers every unit at once, except hanging ones, which block until their context ends
// (or, with ignoreCtx, until released).
type fakeIO struct {
	mu        sync.Mutex
	hang      map[string]bool
	ignoreCtx bool
	release   chan struct{}
	reads     map[string]int
	writes    map[string][]Command
}

func newFakeIO() *fakeIO {
	return &fakeIO{hang: map[string]bool{}, release: make(chan struct{}), reads: map[string]int{}, writes: map[string][]Command{}}
}

func (f *fakeIO) block(ctx context.Context, unit string) error {
	f.mu.Lock()
	h, ign := f.hang[unit], f.ignoreCtx
	f.mu.Unlock()
	if !h {
		return nil
	}
	if ign {
		<-f.release
		return errors.New("late")
	}
	<-ctx.Done()
	return ctx.Err()
}

func (f *fakeIO) ReadState(ctx context.Context, unit string) (UnitState, error) {
	if err := f.block(ctx, unit); err != nil {
		return UnitState{}, err
	}
	f.mu.Lock()
	f.reads[unit]++
	f.mu.Unlock()
	return UnitState{FanPct: 50, ValvePct: 40, SupplyC: 18, ReturnC: 30, Running: true, Remote: true}, nil
}

func (f *fakeIO) WriteCommand(ctx context.Context, unit string, cmd Command) error {
	if err := f.block(ctx, unit); err != nil {
		return err
	}
	f.mu.Lock()
	f.writes[unit] = append(f.writes[unit], cmd)
	f.mu.Unlock()
	return nil
}

func (f *fakeIO) count(unit string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.writes[unit])
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func runnerSetup(t *testing.T, ignoreCtx bool) (*Runner, *fakeIO, *[]PeriodReport, *sync.Mutex) {
	cfg := testConfig(t, 3, [][]string{{"u1", "u2", "u3"}}, 2)
	setPeriod(cfg, 100*time.Millisecond)
	for i := range cfg.Units {
		cfg.Units[i].BMSTimeout.Duration = time.Second
	}
	cfg.Board.WatchdogTimeout.Duration = 5 * time.Second
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	io := newFakeIO()
	io.ignoreCtx = ignoreCtx
	io.hang["u2"] = true
	var mu sync.Mutex
	var reps []PeriodReport
	r := &Runner{Engine: e, IO: io, Timeout: 20 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
		Hook: func(_ context.Context, rep PeriodReport) {
			mu.Lock()
			reps = append(reps, rep)
			mu.Unlock()
		}}
	return r, io, &reps, &mu
}

func TestRunnerHangingUnitDoesNotDelayOthers(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		name := "honours-ctx"
		if ignore {
			name = "ignores-ctx"
		}
		t.Run(name, func(t *testing.T) {
			r, io, reps, mu := runnerSetup(t, ignore)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			waitFor(t, 10*time.Second, "20 periods", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(*reps) >= 20
			})
			cancel()
			if ignore {
				close(io.release)
			}
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("Run returned %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			n := len(*reps)
			// u1 and u3 written in (nearly) every period despite u2 hanging
			if c1, c3 := io.count("u1"), io.count("u3"); c1 < n-1 || c3 < n-1 {
				t.Fatalf("periods %d, writes u1 %d u3 %d", n, c1, c3)
			}
			if io.count("u2") != 0 {
				t.Fatalf("hanging unit recorded writes")
			}
			skipped := 0
			for _, rep := range *reps {
				// the period itself stays short: the hanging unit costs at most one timeout per op
				if rep.Elapsed > time.Second {
					t.Errorf("period took %v", rep.Elapsed)
				}
				for _, s := range rep.Skipped {
					if s == "u2" {
						skipped++
					}
				}
			}
			if skipped == 0 {
				t.Fatal("isolated unit never skipped: no backoff")
			}
			if !r.Engine.Isolated("u2") {
				t.Fatal("u2 not isolated")
			}
			// heartbeats of a healthy unit increase by one per period
			w := io.writes["u1"]
			for k := 1; k < len(w); k++ {
				if w[k].Heartbeat != w[k-1].Heartbeat+1 {
					t.Fatalf("heartbeat %d -> %d", w[k-1].Heartbeat, w[k].Heartbeat)
				}
			}
		})
	}
}

func TestRunnerRecoversIsolatedUnit(t *testing.T) {
	r, io, reps, mu := runnerSetup(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitFor(t, 10*time.Second, "u2 isolated", func() bool { return r.Engine.Isolated("u2") })
	io.mu.Lock()
	io.hang["u2"] = false
	io.mu.Unlock()
	// retried within MaxBackoff, then written again
	waitFor(t, 10*time.Second, "u2 back", func() bool { return !r.Engine.Isolated("u2") })
	waitFor(t, 10*time.Second, "u2 written", func() bool { return io.count("u2") > 0 })
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(*reps) == 0 {
		t.Fatal("no reports")
	}
}

// A passive runner (the standby of a pair) reads only what PassiveRead allows, writes nothing and
// ticks nothing; Kick starts an active period at once, without waiting for the grid.
func TestRunnerPassiveThenKick(t *testing.T) {
	cfg := testConfig(t, 3, [][]string{{"u1", "u2", "u3"}}, 2)
	setPeriod(cfg, 20*time.Second) // only the first period and the kicked one run
	for i := range cfg.Units {
		cfg.Units[i].BMSTimeout.Duration = time.Minute
	}
	cfg.Board.WatchdogTimeout.Duration = 2 * time.Minute
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	io := newFakeIO()
	var mu sync.Mutex
	var reps []PeriodReport
	r := &Runner{Engine: e, IO: io, Timeout: time.Second, Hook: func(_ context.Context, rep PeriodReport) {
		mu.Lock()
		reps = append(reps, rep)
		mu.Unlock()
	}}
	var passive sync.Mutex
	isPassive := true
	r.Passive = func() bool { passive.Lock(); defer passive.Unlock(); return isPassive }
	r.PassiveRead = func(u string) bool { return u != "u3" } // u3: a drive on an RTU line
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	periods := func() int { mu.Lock(); defer mu.Unlock(); return len(reps) }
	waitFor(t, 5*time.Second, "a passive period", func() bool { return periods() == 1 })
	io.mu.Lock()
	if io.reads["u1"] != 1 || io.reads["u3"] != 0 || len(io.writes) != 0 {
		t.Fatalf("passive period: reads %v writes %v", io.reads, io.writes)
	}
	io.mu.Unlock()
	passive.Lock()
	isPassive = false
	passive.Unlock()
	r.Kick()
	waitFor(t, 5*time.Second, "the kicked period's writes", func() bool { return io.count("u1") == 1 && io.count("u3") == 1 })
	// The hook runs after the writes: wait for its report too.
	waitFor(t, 5*time.Second, "the kicked period's report", func() bool { return periods() == 2 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if reps[0].Written != 0 || len(reps[0].Commands) != 0 || reps[1].Written == 0 {
		t.Fatalf("reports: %+v", reps)
	}
}
