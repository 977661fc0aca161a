package alarms

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/engine"
)

var update = flag.Bool("update", false, "rewrite testdata/*.txt with the output the code gives now")

// The transcripts in testdata/*.txt drive one Registry each through a tiny command language:
//
//	# a comment
//	COMMAND ARGS...
//	----
//	the expected output, one line each
//	(a blank line ends the block)
//
// Tokens are separated by spaces; a token in double quotes is a Go string literal (spaces,
// escapes such as "\x1b"). The commands (time starts at t0 and moves only with tick):
//
//	raise KEY SOURCE KIND TEXT...    Registry.Raise (TEXT is the rest of the line, joined by spaces)
//	clear KEY                        Registry.Clear
//	ack KEY USER                     Registry.Ack
//	shelve KEY USER DURATION         Registry.Shelve
//	unshelve KEY USER                Registry.Unshelve
//	tick [+DURATION]                 move the clock on, then Registry.Tick
//	engine alarm|clear zone|unit NAME KIND [REASON...]   FromEngine
//	active                           Registry.Active, one alarm a line
//	get KEY                          Registry.Get
//
// Effects print as Effect.Text plus their syslog severity; errors as "error: ..." with the
// sentinel they wrap. A command that returns an error must leave the registry exactly as it
// was: the harness compares a deep copy of it before and after.

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runTranscript(t, f) })
	}
}

type block struct {
	pre  []string // comments and blank lines before the command
	cmd  string
	line int
	want []string
}

func parseTranscript(t *testing.T, file string) (blocks []block, tail []string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var pre []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" || strings.HasPrefix(l, "#") {
			pre = append(pre, l)
			continue
		}
		b := block{pre: pre, cmd: l, line: i + 1}
		pre = nil
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("%s:%d: command without ---- under it", file, i+1)
		}
		for i += 2; i < len(lines) && lines[i] != ""; i++ {
			b.want = append(b.want, lines[i])
		}
		blocks = append(blocks, b)
	}
	return blocks, pre
}

func runTranscript(t *testing.T, file string) {
	blocks, tail := parseTranscript(t, file)
	h := &harness{r: New(4 * time.Hour), now: t0}
	var out strings.Builder
	for _, b := range blocks {
		got := h.run(t, file, b)
		if *update {
			for _, p := range b.pre {
				out.WriteString(p + "\n")
			}
			out.WriteString(b.cmd + "\n----\n")
			for _, g := range got {
				out.WriteString(g + "\n")
			}
			out.WriteString("\n")
			continue
		}
		if !slices.Equal(got, b.want) {
			t.Errorf("%s:%d: %s\ngot:\n\t%s\nwant:\n\t%s", file, b.line, b.cmd,
				strings.Join(got, "\n\t"), strings.Join(b.want, "\n\t"))
		}
	}
	if *update {
		for _, p := range tail {
			out.WriteString(p + "\n")
		}
		s := strings.TrimRight(out.String(), "\n") + "\n"
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type harness struct {
	r   *Registry
	now time.Time
}

func (h *harness) run(t *testing.T, file string, b block) []string {
	t.Helper()
	args, err := tokenize(b.cmd)
	if err != nil || len(args) == 0 {
		t.Fatalf("%s:%d: %q: %v", file, b.line, b.cmd, err)
	}
	need := func(n int) {
		if len(args) < n {
			t.Fatalf("%s:%d: %s needs %d arguments", file, b.line, args[0], n-1)
		}
	}
	before := snapshot(h.r)
	var effs []Effect
	switch args[0] {
	case "raise":
		need(4)
		effs = h.r.Raise(args[1], args[2], args[3], strings.Join(args[4:], " "), h.now)
	case "clear":
		need(2)
		effs = h.r.Clear(args[1], h.now)
	case "ack":
		need(3)
		effs, err = h.r.Ack(args[1], args[2], h.now)
	case "shelve":
		need(4)
		d, perr := time.ParseDuration(args[3])
		if perr != nil {
			t.Fatalf("%s:%d: %v", file, b.line, perr)
		}
		effs, err = h.r.Shelve(args[1], args[2], d, h.now)
	case "unshelve":
		need(3)
		effs, err = h.r.Unshelve(args[1], args[2], h.now)
	case "tick":
		if len(args) > 1 {
			d, perr := time.ParseDuration(strings.TrimPrefix(args[1], "+"))
			if perr != nil || !strings.HasPrefix(args[1], "+") {
				t.Fatalf("%s:%d: tick +DURATION: %q", file, b.line, args[1])
			}
			h.now = h.now.Add(d)
		}
		effs = h.r.Tick(h.now)
	case "engine":
		need(5)
		ev := engine.Event{Time: h.now, Alarm: args[4], Reason: strings.Join(args[5:], " ")}
		switch args[1] {
		case "alarm":
			ev.Kind = engine.EventAlarm
		case "clear":
			ev.Kind = engine.EventClear
		case "mode":
			ev.Kind = engine.EventMode
		default:
			t.Fatalf("%s:%d: engine alarm|clear|mode", file, b.line)
		}
		if args[2] == "zone" {
			ev.Zone = args[3]
		} else {
			ev.Unit = args[3]
		}
		effs = FromEngine(h.r, ev)
	case "active":
		var out []string
		for _, a := range h.r.Active() {
			out = append(out, h.alarmLine(a))
		}
		if len(out) == 0 {
			out = []string{"(none)"}
		}
		return out
	case "get":
		need(2)
		a, ok := h.r.Get(args[1])
		if !ok {
			return []string{"(not active)"}
		}
		return []string{h.alarmLine(a)}
	default:
		t.Fatalf("%s:%d: unknown command %q", file, b.line, args[0])
	}
	if err != nil {
		if effs != nil {
			t.Errorf("%s:%d: effects %v with error %v", file, b.line, effs, err)
		}
		if after := snapshot(h.r); !reflect.DeepEqual(before, after) {
			t.Errorf("%s:%d: %s failed (%v) but changed the registry", file, b.line, b.cmd, err)
		}
		return []string{"error: " + err.Error() + " [" + sentinel(err) + "]"}
	}
	var out []string
	for _, e := range effs {
		out = append(out, fmt.Sprintf("%s  <%d>", e.Text(), e.Syslog()))
	}
	if len(out) == 0 {
		out = []string{"(no effects)"}
	}
	return out
}

func sentinel(err error) string {
	for _, s := range []error{ErrNoAlarm, ErrBadArgument, ErrCritical} {
		if errors.Is(err, s) {
			return strings.TrimPrefix(s.Error(), "alarms: ")
		}
	}
	return "NO SENTINEL"
}

// rel prints a time as its offset from t0 ("+10m0s"), "-" for zero.
func (h *harness) rel(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return "+" + t.Sub(t0).String()
}

func (h *harness) alarmLine(a Alarm) string {
	s := fmt.Sprintf("%s %s source=%q kind=%s raised=%s updated=%s", a.Key, a.Severity, a.Source, a.Kind, h.rel(a.Raised), h.rel(a.Updated))
	if a.Acked() {
		s += fmt.Sprintf(" acked=%s@%s", a.AckedBy, h.rel(a.AckedAt))
	}
	if a.Shelved() {
		s += fmt.Sprintf(" shelved=%s@%s", a.ShelvedBy, h.rel(a.ShelvedUntil))
	}
	return s + fmt.Sprintf(" text=%q", a.Text)
}

// tokenize splits on spaces; a token starting with a double quote runs to its closing quote and
// is unquoted as a Go string literal.
func tokenize(s string) ([]string, error) {
	var out []string
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return out, nil
		}
		if s[0] != '"' {
			i := strings.IndexByte(s, ' ')
			if i < 0 {
				i = len(s)
			}
			out = append(out, s[:i])
			s = s[i:]
			continue
		}
		end := -1
		for i := 1; i < len(s); i++ {
			if s[i] == '\\' {
				i++
				continue
			}
			if s[i] == '"' {
				end = i
				break
			}
		}
		if end < 0 {
			return nil, errors.New("unterminated quote")
		}
		u, err := strconv.Unquote(s[:end+1])
		if err != nil {
			return nil, err
		}
		out = append(out, u)
		s = s[end+1:]
	}
}

// snapshot is a deep copy of r's state for comparison.
func snapshot(r *Registry) map[string]entry {
	m := make(map[string]entry, len(r.keys))
	for k, e := range r.keys {
		m[k] = *e
	}
	return m
}
