package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/coldaisle/coldaisle/board/appliance"
	"github.com/coldaisle/coldaisle/board/identity"
	"github.com/coldaisle/coldaisle/control/site"
)

func init() {
	register("run", "run the controller on a board (the program that is flashed)", runRun)
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", stdout, stderr,
		"Runs the controller: the site configuration comes from the database (imported from --config\n"+
			"on first boot, or with --import); stops on SIGINT/SIGTERM with its state checkpointed.",
		"--config site.toml --db PATH [--identity FILE] [--console DEV|stdio] [--import]")
	config := fs.String("config", "", "site configuration `FILE` (TOML); imported into the database on first boot")
	db := fs.String("db", defaultDBPath, "state database `PATH` (bbolt)")
	imp := fs.Bool("import", false, "replace the stored configuration with --config")
	consoleDev := fs.String("console", "", "serial console: a `DEV`ice such as /dev/ttyS0, or 'stdio'")
	idFile := fs.String("identity", "", "this board's identity `FILE` (TOML): runs it as one of a 2N pair; without it the board runs alone")
	logLevel := fs.String("log-level", "info", "least severe log records written: `LEVEL` debug, info, warn or error")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if code, ok := fs.noArgs(); !ok {
		return code
	}
	if *imp && *config == "" {
		return fs.usageErr("--import needs --config FILE")
	}
	if *db == "" {
		return fs.usageErr("--db must not be empty")
	}
	var id *identity.Identity
	if *idFile != "" {
		var err error
		if id, err = identity.Load(*idFile); err != nil {
			fmt.Fprintf(stderr, "coldaisle: %v\n", err)
			return exitUsage
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fs.usageErr("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	// The console's terminal is the console's alone (console_io.go).
	logs, err := openStdioLogs(*consoleDev, *db, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "run: %v\n", err)
		return exitFailure
	}
	// Logs are slog records, key=value on stderr (journald keeps them), or in the file beside the
	// database when the console has the terminal.
	var logw io.Writer = stderr
	if logs != nil {
		defer logs.close()
		logw = logs
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))
	o := appliance.Options{ConfigPath: *config, DBPath: *db, Import: *imp, Version: version, Log: log, Identity: id}
	if *consoleDev != "" {
		rw, closeFn, err := openConsole(*consoleDev)
		if err != nil {
			return fail(stderr, "run", fmt.Errorf("console %s: %w", *consoleDev, err))
		}
		defer closeFn()
		o.Console = rw
	}
	if err := appliance.Run(ctx, o); err != nil {
		if logs != nil {
			log.Error("controller stopped", "err", err)
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
