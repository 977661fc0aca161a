package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/coldaisle/coldaisle/control/bench"
	"github.com/coldaisle/coldaisle/control/plant"
)

func init() {
	register("bench", "run the controller against simulated scenarios and report energy and safety", runBench)
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench", stdout, stderr, fmt.Sprintf(
		"Runs the controller against simulated scenarios as fast as it can and reports energy and safety.\n"+
			"SCENARIO is a built-in name (%s) or a scenario file path; default: every built-in.\n"+
			"Exit status 1 if a scenario fails (a true inlet above the alarm limit after the first 10 minutes).",
		strings.Join(plant.Builtin(), ", ")),
		"[--json] [--seed N] [SCENARIO|FILE...]")
	asJSON := fs.Bool("json", false, "one JSON object per scenario instead of a table")
	seed := fs.Int64("seed", 1, "seed for the plant and the simulated mesh")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	names := fs.Args()
	if len(names) == 0 {
		names = plant.Builtin()
	}
	// Load everything first: a bad file is a usage error and nothing runs.
	var scs []*plant.Scenario
	for _, n := range names {
		sc, err := plant.LoadScenario(n)
		if err != nil {
			fail(stderr, "bench", err)
			return exitUsage
		}
		scs = append(scs, sc)
	}
	enc := json.NewEncoder(stdout)
	failed := false
	for i, sc := range scs {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "coldaisle bench: interrupted")
			return exitFailure
		}
		res, err := bench.Run(sc, bench.Options{Seed: *seed})
		if err != nil {
			fmt.Fprintf(stderr, "coldaisle bench: %s: %s\n", sc.Name, strings.TrimPrefix(err.Error(), "bench: "))
			return exitFailure
		}
		failed = failed || !res.Passed
		if *asJSON {
			if err := enc.Encode(res); err != nil {
				return fail(stderr, "bench", err)
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		bench.WriteTable(stdout, res)
	}
	if failed {
		return exitFailure
	}
	return exitOK
}
