package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/coldaisle/coldaisle/board/appliance"
	"github.com/coldaisle/coldaisle/control/site"
)

func init() {
	register("run", "run the controller on a board (the program that is flashed)", runRun)
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "site configuration (TOML); imported into the database on first boot")
	db := fs.String("db", "/var/lib/coldaisle/coldaisle.db", "state database (bbolt)")
	imp := fs.Bool("import", false, "replace the stored configuration with --config")
	consoleDev := fs.String("console", "", "serial console: a device such as /dev/ttyS0, or 'stdio'")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: coldaisle run --config site.toml --db PATH [--console DEV|stdio] [--import]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "run: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *imp && *config == "" {
		fmt.Fprintln(stderr, "run: --import needs --config FILE")
		return exitUsage
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "coldaisle: "+format+"\n", a...) }
	// The console's terminal is the console's alone (console_io.go).
	logs, err := openStdioLogs(*consoleDev, *db, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "run: %v\n", err)
		return exitFailure
	}
	if logs != nil {
		defer logs.close()
		logf = logs.logf
	}
	o := appliance.Options{ConfigPath: *config, DBPath: *db, Import: *imp, Version: version, Logf: logf}
	if *consoleDev != "" {
		rw, closeFn, err := openConsole(*consoleDev)
		if err != nil {
			fmt.Fprintf(stderr, "run: console: %v\n", err)
			return exitFailure
		}
		defer closeFn()
		o.Console = rw
	}
	if err := appliance.Run(ctx, o); err != nil {
		if logs != nil {
			logs.logf("%v", err)
			logs.close() // the console has stopped: the reason goes to the terminal too
		}
		fmt.Fprintf(stderr, "coldaisle: %v\n", err)
		if errors.Is(err, site.ErrInvalid) {
			return exitUsage
		}
		return exitFailure
	}
	return exitOK
}
