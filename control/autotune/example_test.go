package autotune_test

import (
	"fmt"
	"time"

	"github.com/coldaisle/coldaisle/control/autotune"
	"github.com/coldaisle/coldaisle/control/pid"
	"github.com/coldaisle/coldaisle/control/pid/pidtest"
)

// Tuning a fan loop: the tuner drives the fan (baseline, step, relay) while the caller feeds it
// the zone's inlet temperature, here from a linear plant with a 2 min lag and 12 s dead time.
// The identified model and the AMIGO PI gains come out of the Result; Apply puts them into the
// loop's pid.Config and keeps its limits.
func Example() {
	room := pidtest.FOPDT(-0.2, 120, 12, 0.2) // -0.2 K per % of fan
	room.Offset = 35
	room.Settle(50)

	tu, err := autotune.New(autotune.Config{Bias: 50, D: 10, OutMin: 30, OutMax: 100,
		MaxAbove: 1.5, MaxBelow: 10, Timeout: 2 * time.Hour})
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Unix(0, 0) // the injected monotonic clock
	fan := 50.0
	for done := false; !done; now = now.Add(2 * time.Second) {
		fan, done = tu.Step(room.Y(), now)
		room.Advance(fan, 2)
	}
	res, err := tu.Result()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("back at %.0f %%; model K %.2f K/%%, T %.0f s, L %.0f s (%s)\n", fan, res.Model.K, res.Model.T, res.Model.L, res.ModelFrom)

	tn, err := res.Tuning("amigo-pi")
	if err != nil {
		fmt.Println(err)
		return
	}
	loop := tn.Apply(pid.Config{OutMin: 30, OutMax: 100, Rate: 2})
	fmt.Println(loop.Action, loop.Kp > 0, loop.Ti > 0, loop.OutMin, loop.OutMax)
	// Output:
	// back at 50 %; model K -0.20 K/%, T 117 s, L 12 s (relay)
	// direct true true 30 100
}
