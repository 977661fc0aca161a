package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
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
	fs := newFlags("twin", stdout, stderr, fmt.Sprintf(
		"Runs the room of a scenario (built in: %s) at --speed, behind simulated air handlers\n"+
			"(Modbus TCP, optionally RTU) and a simulated mesh gateway (a pty), printing one status\n"+
			"line per simulated minute. Stops on SIGINT/SIGTERM. One twin per link: a second one on\n"+
			"the same --gateway-link or --rtu-link is refused.\n\n"+
			"check-writes checks a write log: run 'coldaisle twin check-writes -h'.", strings.Join(plant.Builtin(), ", ")),
		"[--scenario NAME|FILE] [--gateway-link PATH] [--modbus-listen HOST:PORT] [--rtu-link PATH] [flags]",
		"check-writes [--handover] LOG")
	scName := fs.String("scenario", "demo", "built-in scenario name or scenario file `NAME|FILE`")
	gwLink := fs.String("gateway-link", "", "symlink `PATH` to the mesh gateway's pty (the controller's mesh.port)")
	listen := fs.String("modbus-listen", "127.0.0.1:5020", "Modbus TCP `HOST:PORT` (port 0: any free port)")
	rtuLink := fs.String("rtu-link", "", "also serve the units as Modbus RTU slaves on a pty, symlinked at `PATH`")
	speed := fs.Float64("speed", 1, "plant seconds per wall second, 0.01..100000")
	seed := fs.Int64("seed", 1, "seed for the plant, the sensor phases and the mesh impairments")
	writeLog := fs.String("write-log", "", "write every unit write as JSON lines to `FILE` (for check-writes)")
	siteOut := fs.String("site-config-out", "", "write the site configuration that controls this twin to `FILE`")
	stopAtEnd := fs.Bool("stop-at-end", false, "exit when the scenario's timeline ends")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if code, ok := fs.noArgs(); !ok {
		return code
	}
	if !(*speed >= 0.01 && *speed <= 100000) { // also NaN
		return fs.usageErr("--speed %g is outside 0.01..100000", *speed)
	}
	if err := checkListen(*listen); err != nil {
		return fs.usageErr("--modbus-listen %q: %v", *listen, err)
	}
	for _, p := range []struct{ flag, path string }{{"--gateway-link", *gwLink}, {"--rtu-link", *rtuLink}, {"--write-log", *writeLog}, {"--site-config-out", *siteOut}} {
		if strings.ContainsFunc(p.path, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fs.usageErr("%s %q: a path without control characters", p.flag, p.path)
		}
	}
	sc, err := plant.LoadScenario(*scName)
	if err != nil {
		fmt.Fprintln(stderr, prefixed("twin", err.Error()))
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
			return fail(stderr, "twin", fmt.Errorf("--write-log: %w", err))
		}
		defer logFile.Close()
		opts.WriteLog = logFile
	}
	tw, err := twin.New(opts)
	if err != nil {
		fail(stderr, "twin", err)
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
		return fail(stderr, "twin", runErr)
	}
	if *siteOut != "" {
		data, err := site.Encode(tw.SiteConfig())
		if err == nil {
			err = os.WriteFile(*siteOut, data, 0o644)
		}
		if err != nil {
			fail(stderr, "twin", fmt.Errorf("--site-config-out: %w", err))
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
		return fail(stderr, "twin", err)
	}
}

func runTwinCheckWrites(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("twin check-writes", stdout, stderr,
		"Checks a twin write log: two owners writing one unit within its BMS timeout, and a unit\n"+
			"left without a heartbeat for longer than its BMS timeout while remote control was on.\n"+
			"Exit status 1 when there is any violation, 2 when the log cannot be read.",
		"[--handover] LOG")
	handover := fs.Bool("handover", false, "a single prompt owner change (2N takeover) is not a violation")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return fs.usageErr("want one LOG file, got %d arguments", fs.NArg())
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fail(stderr, "twin check-writes", err)
		return exitUsage
	}
	defer f.Close()
	res, err := twin.CheckWriteLog(f, *handover)
	if err != nil {
		fail(stderr, "twin check-writes", fmt.Errorf("%s: %w", fs.Arg(0), err))
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

// checkListen checks a HOST:PORT to listen on before anything is opened.
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want HOST:PORT (%v)", err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number in 0..65535", port)
	}
	return nil
}
