package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/board/appliance"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/storage"
)

// defaultDBPath is where the controller keeps its database on a board.
const defaultDBPath = "/var/lib/coldaisle/coldaisle.db"

func init() {
	register("db", "check, back up, restore, compact the database; export or import the configuration, export events", runDB)
}

const dbAbout = `verbs:
  check [FILE]        verify the database (bbolt consistency and schema)
  backup FILE         write a verified copy of the database to FILE
  restore FILE        replace the database with the backup FILE (verified first)
  compact [FILE]      rewrite the database without its free pages
  export-config       print the current configuration (or --version N) to stdout
  import-config FILE  store FILE (TOML) as a new configuration version
  export-events       print the event log, oldest first, to stdout (--since, --format)
  reset-epoch         set the failover epoch back to 0 (a 2N pair at the units' 16-bit top;
                      both boards stopped, every unit's register 11 reset too: see the README)

The database is --db PATH (check and compact also take it as FILE). Flags may come before or
after the verb. Exit status 1 when the database is corrupt or busy or a file is bad, 2 for usage.

export-events --format csv (the default) writes a header row (time,kind,who,text), the time in
RFC 3339 UTC with nanoseconds. A spreadsheet runs a cell that begins with = + - @ (or a tab or
CR) as a formula, so such a cell gets a leading apostrophe ('=cmd... is shown, not run): strip
it if you read the CSV with a program. --format jsonl writes one JSON object per line
({"time","kind","who","text"}), unchanged. The running controller holds the database's lock
(exclusive: no reader may open it while it runs); stop it first, or export from a backup.`

// runDB parses "db [flags] VERB [ARG] [flags]" and runs the verb. Exit codes: 0 ok, 1 failure
// (corrupt or busy database, bad file), 2 usage.
func runDB(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("db", stdout, stderr, dbAbout, "VERB [FILE] [--db PATH] [flags]")
	dbPath := fs.String("db", defaultDBPath, "database `PATH`")
	timeout := fs.Duration("timeout", storage.DefaultTimeout, "how long to wait for the database lock, 1ms..10m")
	who := fs.String("who", "", "import-config: who makes the change (default $USER)")
	comment := fs.String("comment", "", "import-config: why (default \"import-config FILE\")")
	version := fs.Int("version", 0, "export-config: the configuration `N` to print (default the latest)")
	since := fs.String("since", "", "export-events: events at or after `T`: RFC 3339 time, or a duration back from now (24h)")
	format := fs.String("format", "csv", "export-events: `FORMAT`, csv or jsonl")
	// flag stops at the first non-flag argument: parse again after each positional one so that
	// "db check --db P" and "db --db P check" both work.
	var pos []string
	rest := args
	for {
		if code, ok := fs.parse(rest); !ok {
			return code
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	if len(pos) == 0 {
		return fs.usageErr("missing verb (check, backup, restore, compact, export-config, import-config, export-events, reset-epoch)")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	verb, vargs := pos[0], pos[1:]
	wantArgs := map[string]int{"check": 0, "backup": 1, "restore": 1, "compact": 0, "export-config": 0, "import-config": 1, "export-events": 0, "reset-epoch": 0}
	n, ok := wantArgs[verb]
	if !ok {
		return fs.usageErr("unknown verb %q", verb)
	}
	// "db check FILE": the file is the database (what else could it be).
	if (verb == "check" || verb == "compact") && len(vargs) == 1 {
		if set["db"] && *dbPath != vargs[0] {
			return fs.usageErr("%s: two databases, %q and --db %q; give one", verb, vargs[0], *dbPath)
		}
		*dbPath, vargs = vargs[0], nil
	}
	if len(vargs) != n {
		if n == 0 {
			return fs.usageErr("%s: takes no argument, got %q (the database is --db PATH)", verb, vargs)
		}
		return fs.usageErr("%s: needs exactly one FILE argument, got %d (the database is --db PATH)", verb, len(vargs))
	}
	if *dbPath == "" {
		return fs.usageErr("--db must not be empty")
	}
	if *timeout < time.Millisecond || *timeout > 10*time.Minute {
		return fs.usageErr("--timeout %v is outside 1ms..10m", *timeout)
	}
	for flagName, onlyFor := range map[string]string{"version": "export-config", "who": "import-config", "comment": "import-config",
		"since": "export-events", "format": "export-events"} {
		if set[flagName] && verb != onlyFor {
			return fs.usageErr("%s: --%s is only for %s", verb, flagName, onlyFor)
		}
	}
	if *version < 0 {
		return fs.usageErr("--version %d: versions start at 1", *version)
	}
	for name, v := range map[string]string{"who": *who, "comment": *comment} {
		if err := plainText(v); err != nil {
			return fs.usageErr("--%s: %v", name, err)
		}
	}
	var sinceT time.Time
	if set["since"] {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			return fs.usageErr("--since: %v", err)
		}
		sinceT = t
	}
	if *format != "csv" && *format != "jsonl" {
		return fs.usageErr("--format %q: use csv or jsonl", *format)
	}
	d := dbCmd{path: *dbPath, timeout: *timeout, stdout: stdout, stderr: stderr}
	var err error
	switch verb {
	case "check":
		err = d.check()
	case "backup":
		err = d.backup(vargs[0])
	case "restore":
		err = d.restore(vargs[0])
	case "compact":
		err = d.compact()
	case "export-config":
		err = d.exportConfig(*version)
	case "import-config":
		w := *who
		if w == "" {
			w = os.Getenv("USER")
		}
		if w == "" {
			w = "cli"
		}
		c := *comment
		if c == "" {
			c = "import-config " + vargs[0]
		}
		err = d.importConfig(vargs[0], w, c)
	case "export-events":
		err = d.exportEvents(sinceT, *format)
	case "reset-epoch":
		err = d.resetEpoch()
	}
	if err != nil {
		fail(stderr, "db "+verb, err)
		switch {
		case errors.Is(err, storage.ErrInUse) && verb == "export-events":
			// A reader needs the shared lock, which the controller's exclusive one excludes:
			// db backup is refused as well while it runs.
			fmt.Fprintf(stderr, "hint: the running controller holds the database's lock (exclusive: no reader can open it).\n"+
				"  Stop it only for a copy (coldaisle db backup COPY --db %s), start it again and export\n"+
				"  from the copy (coldaisle db export-events --db COPY); its console's show log COUNT lists\n"+
				"  the events while it runs.\n", d.path)
		case errors.Is(err, storage.ErrInUse):
			fmt.Fprintln(stderr, "hint: the controller holds the database; stop it first (or use its console)")
		case errors.Is(err, storage.ErrCorrupt):
			fmt.Fprintf(stderr, "hint: restore a backup: coldaisle db restore BACKUP --db %s\n", d.path)
		}
		return exitFailure
	}
	return exitOK
}

type dbCmd struct {
	path           string
	timeout        time.Duration
	stdout, stderr io.Writer
}

func (d dbCmd) openRO() (*storage.DB, error) {
	return storage.Open(d.path, &storage.Options{ReadOnly: true, Timeout: d.timeout})
}

func (d dbCmd) resetEpoch() error {
	if _, err := os.Stat(d.path); err != nil {
		return fmt.Errorf("no database to reset: %w", err)
	}
	db, err := storage.Open(d.path, &storage.Options{Timeout: d.timeout})
	if err != nil {
		return err
	}
	defer db.Close()
	old, err := db.ResetEpoch()
	if err != nil {
		return err
	}
	fmt.Fprintf(d.stdout, "epoch reset from %d to 0 in %s\nreset every unit's owner epoch too, with both boards stopped:\n"+
		"  coldaisle modbus write --target TARGET --unit ID --addr 11 --value 0\n", old, d.path)
	return nil
}

func (d dbCmd) check() error {
	db, err := d.openRO()
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		return err
	}
	hist, err := db.ConfigHistory()
	if err != nil {
		return err
	}
	events, err := db.Events(0)
	if err != nil {
		return err
	}
	epoch, err := db.Epoch()
	if err != nil {
		return err
	}
	fmt.Fprintf(d.stdout, "%s: ok (schema %d, %d configuration versions, %d events, epoch %d, %d bytes)\n",
		d.path, storage.SchemaVersion, len(hist), len(events), epoch, db.Stats().FileSize)
	return nil
}

func (d dbCmd) backup(file string) error {
	db, err := d.openRO()
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.BackupFile(file); err != nil {
		return err
	}
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.stdout, "backed up %s to %s (%d bytes, verified)\n", d.path, file, fi.Size())
	return nil
}

func (d dbCmd) restore(file string) error {
	if err := storage.Restore(file, d.path, &storage.Options{Timeout: d.timeout}); err != nil {
		return err
	}
	fmt.Fprintf(d.stdout, "restored %s from %s (verified)\n", d.path, file)
	return nil
}

func (d dbCmd) compact() error {
	before, after, err := storage.CompactFile(d.path, &storage.Options{Timeout: d.timeout})
	if err != nil {
		return err
	}
	if after >= before {
		fmt.Fprintf(d.stdout, "%s is already compact (%d bytes): a rewritten copy would not be smaller; left as it was\n", d.path, before)
		return nil
	}
	fmt.Fprintf(d.stdout, "compacted %s: %d -> %d bytes\n", d.path, before, after)
	return nil
}

func (d dbCmd) exportConfig(version int) error {
	db, err := d.openRO()
	if err != nil {
		return err
	}
	defer db.Close()
	var cv storage.ConfigVersion
	if version > 0 {
		cv, err = db.ConfigVersionN(version)
	} else {
		cv, err = db.Config()
	}
	if err != nil {
		return err
	}
	_, err = d.stdout.Write(cv.Data)
	return err
}

func (d dbCmd) importConfig(file, who, comment string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s does not exist", file)
		}
		return err
	}
	// The controller's full validation, before anything is stored: a version that is stored
	// loads at the next start.
	cfg, err := appliance.ParseConfig(data, file)
	if err != nil {
		return fmt.Errorf("nothing stored: %w", err)
	}
	canon, err := site.Encode(cfg)
	if err != nil {
		return err
	}
	db, err := storage.Open(d.path, &storage.Options{Timeout: d.timeout})
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SaveConfig(canon, who, comment)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(d.stdout, "warning: %s\n", w)
	}
	fmt.Fprintf(d.stdout, "imported %s as configuration version %d; a running controller loads it at its next start\n", file, v)
	return nil
}

// parseSince reads --since: an RFC 3339 time, or a positive duration back from now ("24h").
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-12-02T08:00:00Z) nor a duration (24h)", v)
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("%q: a duration back from now must be positive", v)
	}
	return now.Add(-d), nil
}

// exportEvents writes the event log, oldest first, the events before since left out.
func (d dbCmd) exportEvents(since time.Time, format string) error {
	// The ring holds up to a sixteenth more than its limit between two trims: ask for all of it.
	db, err := storage.Open(d.path, &storage.Options{ReadOnly: true, Timeout: d.timeout, EventLimit: 2 * storage.DefaultEventLimit})
	if err != nil {
		return err
	}
	defer db.Close()
	evs, err := db.Events(0) // newest first
	if err != nil {
		return err
	}
	w := bufio.NewWriter(d.stdout)
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(w)
		if err := cw.Write([]string{"time", "kind", "who", "text"}); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		// Each event on its own: the board's clock may have been set back, so times are not
		// in order and the first old one is not the end.
		if e.Time.Before(since) {
			continue
		}
		t := e.Time.UTC().Format(time.RFC3339Nano)
		if cw != nil {
			err = cw.Write([]string{t, cell(e.Kind), cell(e.Who), cell(e.Text)})
		} else {
			err = enc.Encode(struct {
				Time string `json:"time"`
				Kind string `json:"kind"`
				Who  string `json:"who"`
				Text string `json:"text"`
			}{t, e.Kind, e.Who, e.Text})
		}
		if err != nil {
			return err
		}
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	}
	return w.Flush()
}

// cell keeps a spreadsheet from running a CSV cell as a formula: one that begins with = + - @
// (or a tab or CR, which some strip first) gets a leading apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
