package bench_test

import (
	"fmt"
	"strings"

	"github.com/coldaisle/coldaisle/control/bench"
	"github.com/coldaisle/coldaisle/control/plant"
)

// Scoring the controller on the small room: one deterministic lockstep run of the engine against
// the plant, with the baseline and oracle for reference. WriteTable prints the same figures as
// `coldaisle bench`; the Result marshals to JSON for --json.
func Example() {
	sc, err := plant.LoadScenario("small-room")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := bench.Run(sc, bench.Options{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The figures move with every change of the controller; the targets should not.
	fmt.Printf("%s passed: %v\n", res.Scenario, res.Passed)
	fmt.Println("more than 80 % below the baseline:", res.SavingsPct > 80)
	fmt.Println("within the oracle target:", res.OracleRatio <= bench.TargetOracleRatio)

	var table strings.Builder
	bench.WriteTable(&table, res) // `coldaisle bench`
	first := strings.Fields(strings.SplitN(table.String(), "\n", 2)[0])
	fmt.Println(first[0], first[1], first[len(first)-1]) // the rest: seed, minutes, wall time

	// Output:
	// small-room passed: true
	// more than 80 % below the baseline: true
	// within the oracle target: true
	// scenario small-room PASS
}
