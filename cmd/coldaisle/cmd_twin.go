package main

import (
	"context"
	"encoding/json"
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
			"An active/standby pair of controllers: give --gateway-link once per board (each gets its\n"+
			"own gateway session over the same readings) and --site-config-out as many times (the\n"+
			"N-th file has the N-th gateway as mesh.port); both boards share --modbus-listen.\n\n"+
			"check-writes checks a write log: run 'coldaisle twin check-writes -h'.", strings.Join(plant.Builtin(), ", ")),
		"[--scenario NAME|FILE] [--gateway-link PATH] [--modbus-listen HOST:PORT] [--rtu-link PATH] [flags]",
		"check-writes [--handover|--pair [--json]] LOG")
	scName := fs.String("scenario", "demo", "built-in scenario name or scenario file `NAME|FILE`")
	var gwLinks, siteOuts pathList
	fs.Var(&gwLinks, "gateway-link", "symlink `PATH` to a mesh gateway's pty (the controller's mesh.port); repeat for one gateway per board")
	listen := fs.String("modbus-listen", "127.0.0.1:5020", "Modbus TCP `HOST:PORT` (port 0: any free port)")
	rtuLink := fs.String("rtu-link", "", "also serve the units as Modbus RTU slaves on a pty, symlinked at `PATH`")
	speed := fs.Float64("speed", 1, "plant seconds per wall second, 0.01..100000")
	seed := fs.Int64("seed", 1, "seed for the plant, the sensor phases and the mesh impairments")
	writeLog := fs.String("write-log", "", "write every unit write as JSON lines to `FILE` (for check-writes)")
	fs.Var(&siteOuts, "site-config-out", "write the site configuration that controls this twin to `FILE`; repeated, the N-th is for the N-th gateway")
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
	paths := []struct{ flag, path string }{{"--rtu-link", *rtuLink}, {"--write-log", *writeLog}}
	for _, p := range gwLinks {
		paths = append(paths, struct{ flag, path string }{"--gateway-link", p})
	}
	for _, p := range siteOuts {
		paths = append(paths, struct{ flag, path string }{"--site-config-out", p})
	}
	for _, p := range paths {
		if strings.ContainsFunc(p.path, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fs.usageErr("%s %q: a path without control characters", p.flag, p.path)
		}
		if p.path == "" && p.flag != "--rtu-link" && p.flag != "--write-log" {
			return fs.usageErr("%s: an empty path", p.flag)
		}
	}
	if n := max(1, len(gwLinks)); len(siteOuts) > n {
		return fs.usageErr("%d --site-config-out files for %d gateways", len(siteOuts), n)
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
		GatewayLinks: gwLinks, ModbusListen: *listen, RTULink: *rtuLink,
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
	for i, out := range siteOuts {
		data, err := site.Encode(tw.SiteConfigFor(i))
		if err == nil {
			err = os.WriteFile(out, data, 0o644)
		}
		if err != nil {
			fail(stderr, "twin", fmt.Errorf("--site-config-out %s: %w", out, err))
			stop()
			<-errc
			return exitFailure
		}
		say(fmt.Sprintf("twin: site configuration for `coldaisle run --config %s` (gateway %s) written", out, tw.GatewayPathOf(i)))
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
			"Exit status 1 when there is any violation, 2 when the log cannot be read.\n\n"+
			"--pair checks the log of an active/standby pair instead: every dual-writer moment (an\n"+
			"owner's accepted write less than one BMS timeout after its previous one, with another\n"+
			"owner's accepted write in between), every accepted write with an epoch below one already\n"+
			"accepted on that unit, refused writes by owner, and every handover with the gap from\n"+
			"the old owner's last accepted write to the new one's first, per unit and over all units\n"+
			"(plant seconds; wall seconds too). Exit status 1 for a dual writer or a stale epoch.",
		"[--handover] LOG", "--pair [--json] LOG")
	handover := fs.Bool("handover", false, "a single prompt owner change (2N takeover) is not a violation")
	pair := fs.Bool("pair", false, "check an active/standby pair: dual writers, stale epochs, refusals, handovers")
	asJSON := fs.Bool("json", false, "with --pair: the report as one JSON object")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return fs.usageErr("want one LOG file, got %d arguments", fs.NArg())
	}
	if *pair && *handover {
		return fs.usageErr("--pair and --handover are different checks; give one")
	}
	if *asJSON && !*pair {
		return fs.usageErr("--json goes with --pair")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fail(stderr, "twin check-writes", err)
		return exitUsage
	}
	defer f.Close()
	if *pair {
		return checkPair(f, fs.Arg(0), *asJSON, stdout, stderr)
	}
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

// maxPairLines is how many lines of each kind check-writes --pair prints (the counts are
// complete; --json has everything).
const maxPairLines = 50

func checkPair(r io.Reader, name string, asJSON bool, stdout, stderr io.Writer) int {
	rep, err := twin.CheckPairLog(r)
	if err != nil {
		fail(stderr, "twin check-writes", fmt.Errorf("%s: %w", name, err))
		return exitUsage
	}
	code := exitOK
	if !rep.OK() {
		code = exitFailure
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fail(stderr, "twin check-writes", err)
		}
		return code
	}
	owners := make([]string, len(rep.Owners))
	for i, o := range rep.Owners {
		owners[i] = strconv.Itoa(o)
	}
	fmt.Fprintf(stdout, "pair: %d writes (%d accepted, %d refused, %d accepted without a known writer), %d units, owners %s\n",
		rep.Writes, rep.Accepted, rep.Refused, rep.Unattributed, len(rep.Units), strings.Join(owners, ", "))
	section := func(kind string, items []fmt.Stringer) {
		for i, it := range items {
			if i == maxPairLines {
				fmt.Fprintf(stdout, "%s: ... %d more (--json has them all)\n", kind, len(items)-i)
				break
			}
			fmt.Fprintf(stdout, "%s: %s\n", kind, it)
		}
	}
	section("handover", stringers(rep.Handovers))
	section("handover", stringers(rep.Overall))
	section("refused", stringers(rep.Refusals))
	section("dual-writer", stringers(rep.DualWriters))
	section("stale-epoch", stringers(rep.StaleEpochs))
	if code != exitOK {
		fmt.Fprintf(stdout, "FAIL: %d dual-writer moments, %d stale epochs accepted\n", len(rep.DualWriters), len(rep.StaleEpochs))
		return code
	}
	fmt.Fprintf(stdout, "ok: no dual writer, no stale epoch accepted; %d handovers over all units\n", len(rep.Overall))
	return code
}

func stringers[T fmt.Stringer](xs []T) []fmt.Stringer {
	out := make([]fmt.Stringer, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// pathList is a repeatable path flag.
type pathList []string

func (p *pathList) String() string { return strings.Join(*p, ",") }

func (p *pathList) Set(s string) error {
	*p = append(*p, s)
	return nil
}
