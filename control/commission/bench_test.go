package commission_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/bench"
	"github.com/coldaisle/coldaisle/control/commission"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/plant"
)

// benchCase is one `test unit` on the lockstep bench: the scenario runs quiet (its timeline
// replaced by events) under normal control until startS, then the test runs on the bench's
// clock, one step per control period.
type benchCase struct {
	scenario, unit string
	startS         float64
	events         []plant.Event
	// before runs at the first control period at or after startS-60 (a unit put in manual).
	before func(*engine.Engine) error
	// line sees every progress line as it is printed, with the engine and the test's cancel.
	line func(l string, e *engine.Engine, cancel func())
}

type benchOutcome struct {
	res        commission.Result
	err        error
	lines      []string
	startS     float64       // plant time the test started
	tookS      float64       // plant seconds it ran (-1: never ended)
	wall       time.Duration // the whole bench run: warm-up, test, the rest of the run
	testWall   time.Duration // from the test's start to its end
	eng        *engine.Engine
	modeBefore engine.Mode
	lastCheck  string
}

// limitS bounds a test in plant seconds: every wait in it is bounded, so one that has not ended
// by then hangs.
const limitS = 300

func runOnBench(t *testing.T, bc benchCase) benchOutcome {
	t.Helper()
	sc, err := plant.LoadScenario(bc.scenario)
	if err != nil {
		t.Fatal(err)
	}
	s := *sc
	s.Events = slices.Clone(bc.events)
	slices.SortStableFunc(s.Events, func(a, b plant.Event) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	s.Duration = bc.startS + limitS
	cfg := bench.SiteConfig(&s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := benchOutcome{startS: -1, tookS: -1}
	var ls *commission.Lockstep
	var t0, wallStart time.Time
	var failed error
	beforeDone := false
	trace := func(tp float64, m *plant.Model, e *engine.Engine, _ []engine.Command) {
		out.eng = e
		if failed != nil {
			return
		}
		if bc.before != nil && !beforeDone && tp >= bc.startS-60 {
			beforeDone = true
			if err := bc.before(e); err != nil {
				failed = err
			}
			return
		}
		switch {
		case ls == nil && tp >= bc.startS:
			now := e.Snapshot().Time
			for _, u := range e.Snapshot().Units {
				if u.Name == bc.unit {
					out.modeBefore = u.Mode
				}
			}
			out.startS, t0 = tp, now
			wallStart = time.Now()
			ls = commission.NewLockstep(now)
			tester := commission.Tester{Engine: e, Valve: &commission.EngineValve{Engine: e}}
			progress := func(l string) {
				out.lines = append(out.lines, l)
				if bc.line != nil {
					bc.line(l, e, cancel)
				}
			}
			if ls.Start(func(clk commission.Clock) {
				tester.Clock = clk
				out.res, out.err = tester.Run(ctx, cfg, bc.unit, progress)
			}) {
				out.tookS = 0
				out.testWall = time.Since(wallStart)
			}
		case ls != nil && out.tookS < 0:
			// The bench's clock: plant time on the engine's time line.
			if ls.Advance(t0.Add(time.Duration((tp - out.startS) * float64(time.Second)))) {
				out.tookS = tp - out.startS
				out.testWall = time.Since(wallStart)
			}
		}
	}
	wall := time.Now()
	if _, err := bench.Run(&s, bench.Options{Seed: 1, Config: cfg, SkipReferences: true, Trace: trace}); err != nil {
		t.Fatal(err)
	}
	out.wall = time.Since(wall)
	if failed != nil {
		t.Fatal(failed)
	}
	if ls == nil {
		t.Fatal("the test never started")
	}
	if out.tookS < 0 {
		ls.Stop()
		t.Fatalf("the test had not ended %d plant seconds after its start:\n%s", limitS, strings.Join(out.lines, "\n"))
	}
	t.Logf("%s %s: %.0f plant s from %.0f s in %v wall; the bench run %v wall (%.0f plant s)\n%s", bc.scenario, bc.unit, out.tookS, out.startS,
		out.testWall.Round(time.Millisecond), out.wall.Round(time.Millisecond), s.Duration, strings.Join(out.lines, "\n"))
	return out
}

func check(t *testing.T, res commission.Result, prefix string) commission.Check {
	t.Helper()
	for _, c := range res.Checks {
		if strings.HasPrefix(c.Name, prefix) {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", prefix, res.Checks)
	return commission.Check{}
}

// restored checks the unit is back in auto with its configured valve range.
func restoredAuto(t *testing.T, o benchOutcome, unit string) {
	t.Helper()
	if st := o.eng.State().Units[unit]; st.Manual {
		t.Errorf("%s still in manual at %g %% after the test", unit, st.ManualPct)
	}
	if u := o.eng.Config().Unit(unit); u.MinValvePct != 0 || u.MaxValvePct != 100 {
		t.Errorf("%s valve range after the test %g..%g, want 0..100", unit, u.MinValvePct, u.MaxValvePct)
	}
}

// A healthy unit passes every check, in a few plant minutes, on both rooms.
func TestUnitPassesOnBench(t *testing.T) {
	for _, bc := range []benchCase{
		{scenario: "small-room", unit: "crah-1", startS: 600},
		{scenario: "hall", unit: "crah-2", startS: 600},
		{scenario: "hall", unit: "crah-4", startS: 600},
	} {
		t.Run(bc.scenario+"/"+bc.unit, func(t *testing.T) {
			o := runOnBench(t, bc)
			if o.err != nil {
				t.Fatal(o.err)
			}
			if o.modeBefore != engine.ModeAuto {
				t.Fatalf("%s was in %v before the test, want auto", bc.unit, o.modeBefore)
			}
			if !o.res.Pass || len(o.res.Checks) != 3 {
				t.Fatalf("result %+v", o.res)
			}
			for i, name := range []string{"fan feedback at ", "zone ", "valve feedback at "} {
				if c := o.res.Checks[i]; !strings.HasPrefix(c.Name, name) || !c.Pass {
					t.Errorf("check %d: %+v", i, c)
				}
			}
			// 3 periods + 30 s + ramps for each feedback, 60 s of inlets: well under limitS.
			if o.tookS > 200 {
				t.Errorf("the test took %.0f plant seconds", o.tookS)
			}
			if !slices.Contains(o.lines, bc.unit+" back in automatic control") {
				t.Errorf("no restore line: %q", o.lines)
			}
			restoredAuto(t, o, bc.unit)
			if !raceEnabled && o.testWall > time.Second {
				t.Errorf("the test took %v of wall time, want well under a second", o.testWall)
			}
		})
	}
}

// A unit that trips as the test starts: its fan reads back 0 % and the fan check fails (timed
// out, bounded), the test still ends and restores the unit.
func TestUnitFanDoesNotFollow(t *testing.T) {
	for _, bc := range []benchCase{
		{scenario: "small-room", unit: "crah-1", startS: 600},
		{scenario: "hall", unit: "crah-2", startS: 600},
	} {
		bc.events = []plant.Event{{At: bc.startS - 1, Kind: plant.EvUnitTrip, Unit: bc.unit}}
		t.Run(bc.scenario+"/"+bc.unit, func(t *testing.T) {
			o := runOnBench(t, bc)
			if o.err != nil {
				t.Fatal(o.err)
			}
			c := check(t, o.res, "fan feedback at ")
			if c.Pass || o.res.Pass || !strings.Contains(c.Got, "timed out") {
				t.Errorf("fan check %+v, result pass %v", c, o.res.Pass)
			}
			restoredAuto(t, o, bc.unit)
		})
	}
}

// A room with no IT load: the fan follows, but more air cannot cool inlets already at the
// supply temperature, so the inlets check fails and the others pass.
func TestUnitInletsDoNotRespond(t *testing.T) {
	for _, bc := range []benchCase{
		{scenario: "small-room", unit: "crah-1", startS: 600},
		{scenario: "hall", unit: "crah-2", startS: 600},
	} {
		bc.events = []plant.Event{{At: 0, Kind: plant.EvITLoad, KW: 0, HasKW: true}}
		t.Run(bc.scenario+"/"+bc.unit, func(t *testing.T) {
			o := runOnBench(t, bc)
			if o.err != nil {
				t.Fatal(o.err)
			}
			if c := check(t, o.res, "fan feedback at "); !c.Pass {
				t.Errorf("fan check %+v", c)
			}
			if c := check(t, o.res, "zone "); c.Pass || o.res.Pass {
				t.Errorf("inlets check %+v, result pass %v", c, o.res.Pass)
			}
			restoredAuto(t, o, bc.unit)
		})
	}
}

// Cancelled at the valve step (valve held), the test returns the cancel, the valve goes back
// to its loop and the fan to the operator's manual speed it had before.
func TestUnitAbortRestoresOnBench(t *testing.T) {
	var heldAt []float64
	bc := benchCase{scenario: "small-room", unit: "crah-1", startS: 600,
		before: func(e *engine.Engine) error { return e.SetManual("crah-1", 60) },
		line: func(l string, e *engine.Engine, cancel func()) {
			if strings.HasPrefix(l, "valve step") {
				u := e.Config().Unit("crah-1")
				heldAt = []float64{u.MinValvePct, u.MaxValvePct}
				cancel()
			}
		},
	}
	o := runOnBench(t, bc)
	if !errors.Is(o.err, context.Canceled) {
		t.Fatalf("aborted test: %v", o.err)
	}
	if len(heldAt) != 2 || heldAt[0] != heldAt[1] {
		t.Fatalf("valve range at the step %v: not held", heldAt)
	}
	if st := o.eng.State().Units["crah-1"]; !st.Manual || st.ManualPct != 60 {
		t.Errorf("fan loop after the abort: manual %v at %g, want manual at 60", st.Manual, st.ManualPct)
	}
	if u := o.eng.Config().Unit("crah-1"); u.MinValvePct != 0 || u.MaxValvePct != 100 {
		t.Errorf("valve range after the abort %g..%g", u.MinValvePct, u.MaxValvePct)
	}
	if last := o.lines[len(o.lines)-1]; last != "crah-1 back in manual at 60%" {
		t.Errorf("last line %q", last)
	}
	if o.tookS > 120 {
		t.Errorf("the abort took until %.0f plant s after the start", o.tookS)
	}
}

// The refusals: an unknown unit, a unit that does not answer.
func TestUnitRefusedOnBench(t *testing.T) {
	o := runOnBench(t, benchCase{scenario: "small-room", unit: "crah-9", startS: 700})
	if !errors.Is(o.err, engine.ErrUnknownUnit) || len(o.lines) != 0 {
		t.Errorf("unknown unit: %v, lines %q", o.err, o.lines)
	}
	o = runOnBench(t, benchCase{scenario: "small-room", unit: "crah-1", startS: 700,
		events: []plant.Event{{At: 100, Kind: plant.EvUnitNoAnswer, Unit: "crah-1"}}})
	if o.err == nil || !strings.Contains(o.err.Error(), "does not answer") {
		t.Errorf("silent unit: %v", o.err)
	}
}

// Stopping a Lockstep ends a waiting sequence: the wait returns ErrStopped and the sequence's
// clean-up runs before Stop returns.
func TestLockstepStop(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	ls := commission.NewLockstep(t0)
	var got []string
	ended := ls.Start(func(clk commission.Clock) {
		defer func() { got = append(got, "cleaned up") }()
		for i := 1; ; i++ {
			if err := clk.Until(context.Background(), t0.Add(time.Duration(i)*time.Minute)); err != nil {
				got = append(got, err.Error())
				if clk.Until(context.Background(), t0.Add(time.Hour)) != commission.ErrStopped {
					got = append(got, "waited after stop")
				}
				return
			}
			got = append(got, fmt.Sprint(clk.Now().Sub(t0)))
		}
	})
	if ended {
		t.Fatal("ended before its first wait")
	}
	for _, s := range []time.Duration{30 * time.Second, time.Minute, 90 * time.Second, 150 * time.Second} {
		if ls.Advance(t0.Add(s)) {
			t.Fatal("ended")
		}
	}
	ls.Stop()
	want := []string{"1m0s", "2m30s", commission.ErrStopped.Error(), "cleaned up"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if !ls.Advance(t0.Add(time.Hour)) {
		t.Error("a stopped Lockstep is not ended")
	}
}
