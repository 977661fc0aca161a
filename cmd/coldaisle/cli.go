package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// cmdFlags is the flag set of one subcommand with the help every subcommand gives the same way:
// -h/--help print the synopsis, a description and one line per flag on stdout (exit 0); a bad
// flag or value prints one prefixed line and the synopsis on stderr (exit 2).
type cmdFlags struct {
	*flag.FlagSet
	path     string   // "mesh listen"
	synopsis []string // after "coldaisle PATH "
	about    string
	stdout   io.Writer
	stderr   io.Writer
}

func newFlags(path string, stdout, stderr io.Writer, about string, synopsis ...string) *cmdFlags {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed by parse, with the prefix
	f := &cmdFlags{FlagSet: fs, path: path, synopsis: synopsis, about: about, stdout: stdout, stderr: stderr}
	fs.Usage = func() {}
	return f
}

// parse parses args. ok is false when the command is over: code is then its exit code.
func (f *cmdFlags) parse(args []string) (code int, ok bool) {
	err := f.FlagSet.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		f.help(f.stdout)
		return exitOK, false
	}
	return f.usageErr("%v", err), false
}

// help writes the synopsis, the description and the flags.
func (f *cmdFlags) help(w io.Writer) {
	for i, s := range f.synopsis {
		lead := "usage: "
		if i > 0 {
			lead = "       "
		}
		fmt.Fprintf(w, "%scoldaisle %s %s\n", lead, f.path, s)
	}
	if len(f.synopsis) == 0 {
		fmt.Fprintf(w, "usage: coldaisle %s\n", f.path)
	}
	if f.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(f.about, "\n"))
	}
	writeFlags(w, f.FlagSet)
}

// writeFlags lists the flags of fs, one line each: "  --name VALUE  usage (default x)".
func writeFlags(w io.Writer, fs *flag.FlagSet) {
	type row struct{ left, right string }
	var rows []row
	width := 0
	fs.VisitAll(func(fl *flag.Flag) {
		value, usage := flag.UnquoteUsage(fl)
		left := "--" + fl.Name
		if value != "" {
			left += " " + value
		}
		// A required flag's default is only a "not given" marker.
		if d := fl.DefValue; d != "" && d != "0" && d != "false" && d != "0s" && d != "[]" && !strings.Contains(usage, "(required)") {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	})
	if len(rows) == 0 {
		fmt.Fprintln(w, "\nno flags")
		return
	}
	fmt.Fprintln(w, "\nflags:")
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r.left, r.right)
	}
}

// usageErr reports a usage problem: one prefixed line, then the synopsis and where help is.
func (f *cmdFlags) usageErr(format string, a ...any) int {
	fmt.Fprintln(f.stderr, prefixed(f.path, fmt.Sprintf(format, a...)))
	for i, s := range f.synopsis {
		lead := "usage: "
		if i > 0 {
			lead = "       "
		}
		fmt.Fprintf(f.stderr, "%scoldaisle %s %s\n", lead, f.path, s)
	}
	fmt.Fprintf(f.stderr, "run 'coldaisle %s -h' for every flag\n", f.path)
	return exitUsage
}

// noArgs refuses positional arguments left after the flags.
func (f *cmdFlags) noArgs() (int, bool) {
	if f.NArg() > 0 {
		return f.usageErr("unexpected argument %q", f.Arg(0)), false
	}
	return 0, true
}

// fail prints err for the command at path and returns exitFailure.
func fail(stderr io.Writer, path string, err error) int {
	fmt.Fprintln(stderr, prefixed(path, err.Error()))
	return exitFailure
}

// prefixed puts "coldaisle PATH: " before msg once: errors of the packages already start with
// their own prefix, and where that names the command ("twin: link: ...") it is not repeated.
func prefixed(path, msg string) string {
	for _, w := range strings.Fields(path) {
		if strings.HasPrefix(msg, w+": ") {
			return "coldaisle " + msg
		}
	}
	return "coldaisle " + path + ": " + msg
}

// plainText refuses control characters (newlines, escape sequences) in a value that is stored
// or shown to someone else later.
func plainText(s string) error {
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%q has a control character (newline, tab or escape)", s)
		}
	}
	return nil
}
