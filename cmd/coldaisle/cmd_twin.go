package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/twin"
)

func init() {
	register("twin", "run the simulated room behind simulated Modbus units and mesh gateway; check-writes", runTwin)
}

func runTwin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check-writes" {
		return runTwinCheckWrites(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("twin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scName := fs.String("scenario", "demo", "built-in scenario name or scenario file `NAME|FILE`")
	gwLink := fs.String("gateway-link", "", "symlink `PATH` to the mesh gateway's pty (the controller's mesh.port)")
	listen := fs.String("modbus-listen", "127.0.0.1:5020", "Modbus TCP `HOST:PORT` (port 0: any free port)")
	rtuLink := fs.String("rtu-link", "", "also serve the units as Modbus RTU slaves on a pty, symlinked at `PATH`")
	speed := fs.Float64("speed", 1, "plant seconds per wall second")
	seed := fs.Int64("seed", 1, "seed for the plant, the sensor phases and the mesh impairments")
	writeLog := fs.String("write-log", "", "write every unit write as JSON lines to `FILE` (for check-writes)")
	siteOut := fs.String("site-config-out", "", "write the site configuration that controls this twin to `FILE`")
	stopAtEnd := fs.Bool("stop-at-end", false, "exit when the scenario's timeline ends")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: coldaisle twin [flags]\n"+
			"       coldaisle twin check-writes [--handover] LOG\n\n"+
			"Runs the room of a scenario (built in: %s) at --speed, behind simulated air handlers\n"+
			"(Modbus TCP, optionally RTU) and a simulated mesh gateway (a pty), printing one status\n"+
			"line per simulated minute. Stops on SIGINT/SIGTERM.\n\n", strings.Join(plant.Builtin(), ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "coldaisle twin: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	sc, err := plant.LoadScenario(*scName)
	if err != nil {
		fmt.Fprintf(stderr, "coldaisle twin: %v\n", err)
		return exitUsage
	}
	var out sync.Mutex // status lines and the story share stdout
	say := func(s string) {
		out.Lock()
		fmt.Fprintln(stdout, s)
		out.Unlock()
	}
	opts := twin.Options{
		Scenario: sc, Seed: *seed, Speed: *speed,
		GatewayLink: *gwLink, ModbusListen: *listen, RTULink: *rtuLink,
		StopAtEnd: *stopAtEnd,
		Logf:      func(format string, a ...any) { say(fmt.Sprintf(format, a...)) },
		Status:    say,
	}
	var logFile *os.File
	if *writeLog != "" {
		logFile, err = os.Create(*writeLog)
		if err != nil {
			fmt.Fprintf(stderr, "coldaisle twin: write log: %v\n", err)
			return exitFailure
		}
		defer logFile.Close()
		opts.WriteLog = logFile
	}
	tw, err := twin.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "coldaisle twin: %v\n", err)
		return exitUsage
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- tw.Run(runCtx) }()
	if err := tw.WaitReady(ctx); err != nil {
		runErr := <-errc
		if ctx.Err() != nil && errors.Is(runErr, context.Canceled) {
			return exitOK
		}
		fmt.Fprintf(stderr, "coldaisle twin: %v\n", runErr)
		return exitFailure
	}
	if *siteOut != "" {
		data, err := site.Encode(tw.SiteConfig())
		if err == nil {
			err = os.WriteFile(*siteOut, data, 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "coldaisle twin: site config: %v\n", err)
			stop()
			<-errc
			return exitFailure
		}
		say(fmt.Sprintf("twin: site configuration for `coldaisle run --config %s` written", *siteOut))
	}
	err = <-errc
	if werr := tw.WriteLogErr(); werr != nil && err == nil {
		err = werr
	}
	if logFile != nil {
		if serr := logFile.Sync(); serr != nil && err == nil {
			err = serr
		}
	}
	switch {
	case err == nil, errors.Is(err, context.Canceled) && ctx.Err() != nil:
		say(tw.StatusLine())
		return exitOK
	default:
		fmt.Fprintf(stderr, "coldaisle twin: %v\n", err)
		return exitFailure
	}
}

func runTwinCheckWrites(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("twin check-writes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	handover := fs.Bool("handover", false, "a single prompt owner change (2N takeover) is not a violation")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: coldaisle twin check-writes [--handover] LOG\n\n"+
			"Checks a twin write log: two owners writing one unit within its BMS timeout, and a unit\n"+
			"left without a heartbeat for longer than its BMS timeout while remote control was on.\n"+
			"Exit status 1 when there is any violation, 2 when the log cannot be read.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "coldaisle twin check-writes: %v\n", err)
		return exitUsage
	}
	defer f.Close()
	res, err := twin.CheckWriteLog(f, *handover)
	if err != nil {
		fmt.Fprintf(stderr, "coldaisle twin check-writes: %s: %v\n", fs.Arg(0), err)
		return exitUsage
	}
	if !res.OK() {
		for _, v := range res.Violations {
			fmt.Fprintf(stdout, "%s: %s\n", v.Kind, v)
		}
		fmt.Fprintf(stdout, "FAIL: %d violations in %d writes, %d units\n", len(res.Violations), res.Writes, len(res.Units))
		return exitFailure
	}
	fmt.Fprintf(stdout, "ok: %d writes, %d units\n", res.Writes, len(res.Units))
	return exitOK
}
