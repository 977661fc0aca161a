package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/coldaisle/coldaisle/board/appliance"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/storage"
)

// defaultDBPath is where the controller keeps its database on a board.
const defaultDBPath = "/var/lib/coldaisle/coldaisle.db"

func init() {
	register("db", "check, back up, restore, compact the database; export or import the configuration", runDB)
}

const dbUsage = `usage: coldaisle db VERB [ARG] [--db PATH] [flags]

verbs:
  check               verify the database (bbolt consistency and schema)
  backup FILE         write a verified copy of the database to FILE
  restore FILE        replace the database with the backup FILE (verified first)
  compact             rewrite the database without its free pages
  export-config       print the current configuration (or --version N) to stdout
  import-config FILE  store FILE (TOML) as a new configuration version

flags may come before or after the verb:
`

// runDB parses "db [flags] VERB [ARG] [flags]" and runs the verb. Exit codes: 0 ok, 1 failure
// (corrupt or busy database, bad file), 2 usage.
func runDB(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("db", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", defaultDBPath, "database `PATH`")
	timeout := fs.Duration("timeout", storage.DefaultTimeout, "how long to wait for the database lock")
	who := fs.String("who", "", "import-config: who makes the change (default $USER)")
	comment := fs.String("comment", "", "import-config: why (default \"import-config FILE\")")
	version := fs.Int("version", 0, "export-config: the configuration version to print (default the latest)")
	fs.Usage = func() {
		fmt.Fprint(stderr, dbUsage)
		fs.PrintDefaults()
	}
	// flag stops at the first non-flag argument: parse again after each positional one so that
	// "db check --db P" and "db --db P check" both work.
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "coldaisle db: missing verb")
		fs.Usage()
		return exitUsage
	}
	verb, vargs := pos[0], pos[1:]
	wantArgs := map[string]int{"check": 0, "backup": 1, "restore": 1, "compact": 0, "export-config": 0, "import-config": 1}
	n, ok := wantArgs[verb]
	if !ok {
		fmt.Fprintf(stderr, "coldaisle db: unknown verb %q\n", verb)
		fs.Usage()
		return exitUsage
	}
	if len(vargs) != n {
		if n == 0 {
			fmt.Fprintf(stderr, "coldaisle db %s: takes no argument, got %q\n", verb, vargs)
		} else {
			fmt.Fprintf(stderr, "coldaisle db %s: needs exactly one FILE argument, got %d\n", verb, len(vargs))
		}
		return exitUsage
	}
	if *dbPath == "" {
		fmt.Fprintln(stderr, "coldaisle db: --db must not be empty")
		return exitUsage
	}
	if *version < 0 {
		fmt.Fprintf(stderr, "coldaisle db: --version %d: versions start at 1\n", *version)
		return exitUsage
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
	}
	if err != nil {
		fmt.Fprintf(stderr, "coldaisle db %s: %v\n", verb, err)
		switch {
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
