package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/coldaisle/coldaisle/cmd/coldaisle/internal/sim"
	"github.com/coldaisle/coldaisle/control/plant"
)

func init() {
	register("sim", "the controller driving the embedded simulated room (make run)", runSim)
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenario := fs.String("scenario", "demo", fmt.Sprintf("built-in scenario %v or a scenario file", plant.Builtin()))
	speed := fs.Float64("speed", 30, "plant seconds per wall second")
	duration := fs.Duration("duration", 0, "simulated time to run (default: the scenario's duration)")
	seed := fs.Int64("seed", 1, "random seed of the room (noise, mesh impairments)")
	plotPath := fs.String("plot", "coldaisle-sim.png", "write the run's plot to this PNG file ('' for none)")
	headless := fs.Bool("headless", false, "plain lines instead of the live view")
	logPath := fs.String("log", "", "write the controller's and the twin's log lines to this file")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sim: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *speed <= 0 || *speed > 1000 {
		fmt.Fprintf(stderr, "sim: --speed %g is outside (0, 1000]\n", *speed)
		return exitUsage
	}
	o := sim.Options{Scenario: *scenario, Speed: *speed, Duration: *duration, Seed: *seed, Plot: *plotPath, Headless: *headless, Version: version, Out: stdout}
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			fmt.Fprintf(stderr, "sim: %v\n", err)
			return exitFailure
		}
		defer f.Close()
		o.Log = f
	} else if *headless {
		o.Log = stderr
	}
	start := time.Now()
	res, err := sim.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "coldaisle sim: %v\n", err)
		if res == nil {
			return exitFailure
		}
	}
	fmt.Fprintln(stdout)
	res.Summary.WriteText(stdout)
	fmt.Fprintf(stdout, "first command written %v after the controller started; wall time %v\n", res.FirstCommand.Round(time.Millisecond), time.Since(start).Round(time.Second))
	if res.PlotPath != "" {
		fmt.Fprintf(stdout, "plot: %s\n", res.PlotPath)
	}
	return exitOK
}
