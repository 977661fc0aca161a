package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/coldaisle/coldaisle/control/bench"
	"github.com/coldaisle/coldaisle/control/plant"
)

func init() {
	register("bench", "run the controller against simulated scenarios and report energy and safety", runBench)
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "one JSON object per scenario instead of a table")
	seed := fs.Int64("seed", 1, "seed for the plant and the simulated mesh")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: coldaisle bench [--json] [--seed N] [SCENARIO...]\n\n"+
			"SCENARIO is a built-in name (%v) or a scenario file path; default: every built-in.\n"+
			"Exit status 1 if a scenario fails (a true inlet above the alarm limit after the first 10 minutes).\n\n", plant.Builtin())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
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
			fmt.Fprintf(stderr, "coldaisle bench: %v\n", err)
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
			fmt.Fprintf(stderr, "coldaisle bench: %s: %v\n", sc.Name, err)
			return exitFailure
		}
		failed = failed || !res.Passed
		if *asJSON {
			if err := enc.Encode(res); err != nil {
				fmt.Fprintf(stderr, "coldaisle bench: %v\n", err)
				return exitFailure
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
