package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// helpFlags is every subcommand (and verb with flags of its own) with the flags its help lists.
var helpFlags = map[string][]string{
	"run":               {"config", "db", "import", "console", "log-level", "identity"},
	"sim":               {"scenario", "speed", "duration", "seed", "plot", "headless", "log", "http"},
	"twin":              {"scenario", "gateway-link", "modbus-listen", "rtu-link", "speed", "seed", "write-log", "site-config-out", "stop-at-end"},
	"twin check-writes": {"handover", "pair", "json"},
	"bench":             {"json", "seed", "seeds"},
	"mesh":              {"port", "baud", "unack"},
	"mesh listen":       {"port", "baud", "unack"},
	"modbus":            {},
	"modbus read":       {"target", "unit", "addr", "type", "order", "scale", "json", "timeout", "table", "count"},
	"modbus write":      {"target", "unit", "addr", "type", "order", "scale", "json", "timeout", "table", "value", "multiple"},
	"db":                {"db", "timeout", "who", "comment", "version", "since", "format"},
	"db check":          {"db", "timeout", "who", "comment", "version", "since", "format"},
	"version":           {},
}

// Every subcommand answers -h, --help and "help CMD" with exit 0, a synopsis and one line per
// flag on stdout, and nothing on stderr.
func TestHelpOfEveryCommand(t *testing.T) {
	for name := range commands {
		if _, ok := helpFlags[name]; !ok {
			t.Errorf("command %q is not in helpFlags: add it (and its flags)", name)
		}
	}
	flagLine := regexp.MustCompile(`(?m)^  --([a-z-]+)\b.*\S`)
	for path, flags := range helpFlags {
		words := strings.Fields(path)
		for _, args := range [][]string{append(slices.Clone(words), "-h"), append(slices.Clone(words), "--help"), append([]string{"help"}, words...)} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errb bytes.Buffer
				code := realMain(args, &out, &errb)
				if code != exitOK || errb.Len() > 0 {
					t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, errb.String())
				}
				help := out.String()
				if !strings.HasPrefix(help, "usage: coldaisle "+words[0]) {
					t.Fatalf("help does not start with the synopsis:\n%s", help)
				}
				var listed []string
				for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
					listed = append(listed, m[1])
				}
				slices.Sort(listed)
				want := slices.Sorted(slices.Values(flags))
				if !slices.Equal(listed, want) {
					t.Fatalf("flag lines %v, want one each for %v:\n%s", listed, want, help)
				}
				if strings.Contains(help, "Usage of") {
					t.Fatalf("Go's bare flag usage:\n%s", help)
				}
			})
		}
	}
	var out, errb bytes.Buffer
	if code := realMain([]string{"help", "nosuch"}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), `unknown command "nosuch"`) {
		t.Fatalf("help nosuch: exit %d, %q", code, errb.String())
	}
}

// doubled reports a prefix said twice in an error line: "coldaisle twin: twin: link" or
// "modbus: no connection to X: modbus: no connection".
func doubled(line string) bool {
	segs := strings.Split(line, ": ")
	for i := 0; i+1 < len(segs); i++ {
		next := strings.TrimSpace(segs[i+1])
		if !strings.ContainsAny(next, " ") && slices.Contains(strings.Fields(segs[i]), next) {
			return true
		}
		for j := i + 1; j < len(segs); j++ {
			if segs[i] == segs[j] && !strings.Contains(segs[i], "/") {
				return true
			}
		}
	}
	return false
}

func TestDoubled(t *testing.T) {
	for line, want := range map[string]bool{
		"coldaisle twin: twin: link: x":                                   true,
		"sim: twin: twin: link":                                           true,
		"coldaisle mesh listen: mesh: bad":                                true,
		"coldaisle modbus: no connection: a: modbus: no connection: b":    true,
		"coldaisle twin: link: /tmp/x exists":                             false,
		"coldaisle db check: storage: /tmp/x.db does not exist":           false,
		"coldaisle modbus: no connection: 127.0.0.1:1: dial tcp: refused": false,
	} {
		if doubled(line) != want {
			t.Errorf("doubled(%q) = %v", line, !want)
		}
	}
	if got := prefixed("twin", "twin: link: x"); got != "coldaisle twin: link: x" {
		t.Errorf("prefixed = %q", got)
	}
	if got := prefixed("db check", "storage: x"); got != "coldaisle db check: storage: x" {
		t.Errorf("prefixed = %q", got)
	}
}

// Errors of every subcommand are prefixed once: run each into a failure and read its stderr.
func TestErrorPrefixOnce(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("not [valid\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	cases := [][]string{
		{"twin", "--scenario", "small-room", "--gateway-link", garbage, "--modbus-listen", "127.0.0.1:0"},
		{"twin", "--scenario", "small-room", "--gateway-link", link, "--rtu-link", link},
		{"twin", "--scenario", garbage},
		{"twin", "--speed", "0.001"},
		{"twin", "check-writes", garbage},
		{"twin", "check-writes", filepath.Join(dir, "missing")},
		{"sim", "--scenario", garbage},
		{"sim", "--speed", "NaN"},
		{"bench", garbage},
		{"mesh", "listen", "--port", filepath.Join(dir, "no-tty")},
		{"mesh", "listen", "--port", "x", "--baud", "12"},
		{"modbus", "read", "--target", "tcp://127.0.0.1:1", "--addr", "0", "--timeout", "300ms"},
		{"modbus", "read", "--target", "rtu://" + filepath.Join(dir, "no-tty"), "--addr", "0"},
		{"db", "check", "--db", filepath.Join(dir, "missing.db")},
		{"db", "check", "--db", garbage},
		{"db", "compact", "--db", garbage},
		{"run", "--db", filepath.Join(dir, "state.db"), "--config", garbage},
		{"run", "--bogus"},
		{"version", "extra"},
	}
	for _, args := range cases {
		var out, errb bytes.Buffer
		code := realMain(args, &out, &errb)
		if code == exitOK || errb.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q: want a failure", args, code, errb.String())
			continue
		}
		first := strings.SplitN(errb.String(), "\n", 2)[0]
		if !strings.HasPrefix(first, "coldaisle") || doubled(first) {
			t.Errorf("%v: %q: want one \"coldaisle ...\" prefix, said once", args, first)
		}
		t.Logf("%v -> %d: %s", args, code, first)
	}
}
