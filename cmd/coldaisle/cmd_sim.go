package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/cmd/coldaisle/internal/sim"
	"github.com/coldaisle/coldaisle/control/plant"
)

func init() {
	register("sim", "the controller driving the embedded simulated room (make run)", runSim)
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sim", stdout, stderr,
		"Runs the controller against the simulated room: the twin serves the mesh gateway on a pty and\n"+
			"the air handlers on Modbus TCP on loopback; a live view, then a summary and a plot.",
		"[--scenario NAME|FILE] [--speed 30] [--duration 25m] [--plot run.png] [--headless] [--log FILE] [--http ADDR|off]")
	scenario := fs.String("scenario", "demo", fmt.Sprintf("built-in scenario (%s) or a scenario `FILE`", strings.Join(plant.Builtin(), ", ")))
	speed := fs.Float64("speed", 30, "plant seconds per wall second, 0..1000")
	duration := fs.Duration("duration", 0, "simulated time to run, up to 7 days (default: the scenario's duration)")
	seed := fs.Int64("seed", 1, "random seed of the room (noise, mesh impairments)")
	plotPath := fs.String("plot", "coldaisle-sim.png", "write the run's plot to this PNG `FILE` ('' for none)")
	headless := fs.Bool("headless", false, "plain lines instead of the live view")
	logPath := fs.String("log", "", "write the controller's and the twin's log lines to this `FILE`")
	httpAddr := fs.String("http", "127.0.0.1:8080", "serve the status page and /metrics on this `ADDR:PORT` (a free port if taken), or 'off'")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if code, ok := fs.noArgs(); !ok {
		return code
	}
	if !(*speed > 0 && *speed <= 1000) { // also NaN
		return fs.usageErr("--speed %g is outside (0, 1000]", *speed)
	}
	if *duration < 0 || *duration > 7*24*time.Hour {
		return fs.usageErr("--duration %v is outside 0..168h (0: the scenario's duration)", *duration)
	}
	if *httpAddr != "off" {
		if _, _, err := net.SplitHostPort(*httpAddr); err != nil {
			return fs.usageErr("--http %q: want ADDR:PORT or off", *httpAddr)
		}
	}
	o := sim.Options{Scenario: *scenario, Speed: *speed, Duration: *duration, Seed: *seed, Plot: *plotPath, Headless: *headless, Version: version, Out: stdout, HTTP: *httpAddr}
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			return fail(stderr, "sim", fmt.Errorf("--log: %w", err))
		}
		defer f.Close()
		o.Log = f
	} else if *headless {
		o.Log = stderr
	}
	start := time.Now()
	res, err := sim.Run(ctx, o)
	if err != nil {
		fail(stderr, "sim", err)
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
