package commission_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/control/bench"
	"github.com/coldaisle/coldaisle/control/commission"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/plant"
)

// `test unit crah-1` on the small room, in simulated time: the room runs under normal control
// for ten minutes, then the test runs as a coroutine of the bench's loop, one step per control
// period, on the plant's clock (about 75 plant seconds, a few milliseconds of wall time).
func Example() {
	sc, err := plant.LoadScenario("small-room")
	if err != nil {
		fmt.Println(err)
		return
	}
	s := *sc
	s.Events, s.Duration = nil, 900 // a quiet room; the test is over long before
	cfg := bench.SiteConfig(&s)

	var ls *commission.Lockstep
	var start time.Time
	var res commission.Result
	var testErr error
	trace := func(t float64, _ *plant.Model, e *engine.Engine, _ []engine.Command) {
		switch {
		case ls == nil && t >= 600:
			start = e.Snapshot().Time // the engine's clock: its read-backs are stamped on it
			ls = commission.NewLockstep(start)
			ls.Start(func(clk commission.Clock) {
				tester := commission.Tester{Engine: e, Valve: &commission.EngineValve{Engine: e}, Clock: clk}
				res, testErr = tester.Run(context.Background(), cfg, "crah-1", nil)
			})
		case ls != nil:
			ls.Advance(start.Add(time.Duration((t - 600) * float64(time.Second))))
		}
	}
	if _, err := bench.Run(&s, bench.Options{Seed: 1, Config: cfg, SkipReferences: true, Trace: trace}); err != nil {
		fmt.Println(err)
		return
	}
	if testErr != nil {
		fmt.Println(testErr)
		return
	}
	// The numbers (Got, Want) move with the controller and the plant; the verdicts should not.
	for _, c := range res.Checks {
		fmt.Println(strings.Fields(c.Name)[0], "check passed:", c.Pass) // "fan feedback at 64%"
	}
	fmt.Println("pass:", res.Pass)
	// Output:
	// fan check passed: true
	// zone check passed: true
	// valve check passed: true
	// pass: true
}
