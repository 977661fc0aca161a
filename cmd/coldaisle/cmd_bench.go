package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
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
			"Exit status 1 if a scenario fails (a true inlet above the alarm limit after the first 10 minutes).\n"+
			"--seeds N runs every scenario on seeds SEED..SEED+N-1 and prints one line per run, each figure's\n"+
			"min..max over the seeds and a summary table (with --json: one object per scenario and seed).",
		strings.Join(plant.Builtin(), ", ")),
		"[--json] [--seed N] [--seeds N] [SCENARIO|FILE...]")
	asJSON := fs.Bool("json", false, "one JSON object per scenario (and seed) instead of a table")
	seed := fs.Int64("seed", 1, "seed for the plant and the simulated mesh (the first, with --seeds)")
	seeds := fs.Int("seeds", 1, "run every scenario on this many seeds, 1..100")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if *seeds < 1 || *seeds > 100 {
		fmt.Fprintf(stderr, "coldaisle bench: --seeds %d: want 1..100\n", *seeds)
		return exitUsage
	}
	if *seed > math.MaxInt64-int64(*seeds-1) {
		fmt.Fprintf(stderr, "coldaisle bench: --seed %d with --seeds %d runs past the largest seed %d\n", *seed, *seeds, int64(math.MaxInt64))
		return exitUsage
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
	var sums []bench.Summary
	for i, sc := range scs {
		var runs []*bench.Result
		for k := 0; k < *seeds; k++ {
			if ctx.Err() != nil {
				fmt.Fprintln(stderr, "coldaisle bench: interrupted")
				return exitFailure
			}
			res, err := bench.Run(sc, bench.Options{Seed: *seed + int64(k)})
			if err != nil {
				fmt.Fprintf(stderr, "coldaisle bench: %s: %s\n", sc.Name, strings.TrimPrefix(err.Error(), "bench: "))
				return exitFailure
			}
			failed = failed || !res.Passed
			runs = append(runs, res)
			if *asJSON {
				if err := enc.Encode(res); err != nil {
					return fail(stderr, "bench", err)
				}
				continue
			}
			if *seeds == 1 {
				if i > 0 {
					fmt.Fprintln(stdout)
				}
				bench.WriteTable(stdout, res)
				continue
			}
			if k == 0 {
				if i > 0 {
					fmt.Fprintln(stdout)
				}
				fmt.Fprintf(stdout, "scenario %s (%.0f min)\n", sc.Name, sc.Duration/60)
			}
			bench.WriteRunLine(stdout, res)
		}
		if *seeds > 1 && !*asJSON {
			s := bench.Summarize(runs)
			sums = append(sums, s)
			bench.WriteSpreads(stdout, s)
		}
	}
	if len(sums) > 0 {
		fmt.Fprintln(stdout)
		bench.WriteSummaryTable(stdout, sums)
	}
	if failed {
		return exitFailure
	}
	return exitOK
}
