package console_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/console/consoletest"
)

// A comment typed with commit is stored with the version and shown in show history, also with
// commit confirmed; a comment with a control character is refused and commits nothing.
func TestCommitComment(t *testing.T) {
	h := loggedIn(t, setup{})
	h.Run("configure", cfgPrompt)
	h.Run("set unit crah-1 min_fan_pct 35", cfgPrompt)
	if out := h.Run(`commit comment "fan minimum for the new racks"`, cfgPrompt); !strings.Contains(out, "commit: version 2 committed and applied") {
		t.Fatalf("commit comment: %q", out)
	}
	h.Run("set unit crah-1 min_fan_pct 40", cfgPrompt)
	h.Run("commit confirmed 5 comment raise it again", cfgPrompt)
	h.Run("commit", cfgPrompt) // confirm
	h.Run("set unit crah-1 min_fan_pct 45", cfgPrompt)
	if out := h.Run(`commit comment "two\nlines"`, cfgPrompt); !strings.Contains(out, "commit comment: control characters are not allowed; nothing changed") {
		t.Fatalf("control character in a comment: %q", out)
	}
	if out := h.Run("commit comment", cfgPrompt); !strings.Contains(out, "commit comment: missing TEXT") {
		t.Fatalf("empty comment: %q", out)
	}
	if h.b.Versions() != 3 {
		t.Fatalf("%d versions, want 3", h.b.Versions())
	}
	_, v, _ := h.b.ConfigVersion(t.Context(), 2)
	if v.Comment != "fan minimum for the new racks" {
		t.Fatalf("version 2 comment %q", v.Comment)
	}
	out := h.Run("run show history", cfgPrompt)
	for _, want := range []string{"fan minimum for the new racks", "raise it again (commit confirmed 5)"} {
		if !strings.Contains(out, want) {
			t.Errorf("show history lacks %q:\n%s", want, out)
		}
	}
	if ev := h.b.EventsOf(console.EventCommit); len(ev) == 0 || !strings.Contains(ev[0].Text, `"fan minimum for the new racks"`) {
		t.Errorf("commit events %+v", ev)
	}
}

// A percentage may be typed with its % sign, in operational and in configuration mode.
func TestPercentSignAccepted(t *testing.T) {
	h := loggedIn(t, setup{})
	if out := h.Run("loop crah-1 manual 50%", opPrompt); !strings.Contains(out, "loop crah-1: manual, fan held at 50%") {
		t.Fatalf("loop manual 50%%: %q", out)
	}
	if m := h.b.Mode("crah-1"); !m.Manual || m.FanPct != 50 {
		t.Fatalf("mode %+v", m)
	}
	if out := h.Run("loop crah-1 manual 20%", opPrompt); !strings.Contains(out, "20 is below the unit's min_fan_pct 30") {
		t.Fatalf("20%%: %q", out)
	}
	if out := h.Run("loop crah-1 manual 50%%", opPrompt); !strings.Contains(out, `"50%%" is not a number`) {
		t.Fatalf("50%%%%: %q", out)
	}
	h.Run("configure", cfgPrompt)
	for _, line := range []string{"set unit crah-1 min_fan_pct 35%", "set unit.crah-2.max_fan_pct 90%", "set unit crah-1 fan_rate_pct_s 3%/s"} {
		if out := h.Run(line, cfgPrompt); strings.TrimSpace(out) != "" {
			t.Fatalf("%s: %q", line, out)
		}
	}
	out := h.Run("show diff", cfgPrompt)
	for _, want := range []string{"+  min_fan_pct = 35.0", "+  max_fan_pct = 90.0", "+  fan_rate_pct_s = 3.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	// Not a percentage field: the % is not taken away.
	if out := h.Run("set unit crah-1 unit_id 3%", cfgPrompt); !strings.Contains(out, "3%") {
		t.Errorf("unit_id 3%%: %q", out)
	}
}

// On a wide terminal nothing is cut; on a narrow one the tables still fit.
func TestTablesSizeToTheTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a pty with a size")
	}
	for _, cols := range []int{132, 70} {
		h := loggedIn(t, setup{cfg: longSite(t), cols: cols})
		h.Run("loop crah-2 manual 55", opPrompt)
		for _, cmd := range []string{"show sensors", "show units", "show loops", "show counters", "show log", "show history", "show status", "help", "show ?"} {
			var out string
			if cmd == "show ?" {
				out = h.Ask("show ?", opPrompt+"show ", "history")
				h.Type("\x15") // Ctrl-U clears the line
				h.WaitLine(opPrompt)
			} else {
				out = h.Run(cmd, opPrompt)
			}
			for _, l := range strings.Split(out, "\n") {
				if n := utf8.RuneCountInString(l); n > cols {
					t.Errorf("%d columns: %s: line of %d:\n%s", cols, cmd, n, l)
				}
			}
			if cols >= 132 && strings.Contains(out, "~") {
				t.Errorf("%d columns: %s cuts a cell:\n%s", cols, cmd, out)
			}
			if cols >= 132 && cmd == "show units" && !strings.Contains(out, "crah-north-wall-row-a-01  bms-modbus-tcp-main") {
				t.Errorf("show units on %d columns:\n%s", cols, out)
			}
		}
	}
}

// The result of a commissioning test is printed whole, whatever its length.
func TestTestUnitResultWhole(t *testing.T) {
	h := loggedIn(t, setup{configure: func(b *consoletest.Backend) { b.TestFails = true }})
	out := h.Run("test unit crah-1", opPrompt)
	words := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"fall by 0.1 K or more", "no valid measurement (1 of 2 sensors valid)", "52.1 %"} {
		if !strings.Contains(words, want) {
			t.Errorf("result lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "~") {
		t.Errorf("result cut:\n%s", out)
	}
	checkWidth(t, "test unit", out)
}

// A reboot the machine does not permit is refused before the technician is asked to confirm it.
func TestRebootNotPermittedRefusedBeforeAsking(t *testing.T) {
	h := loggedIn(t, setup{configure: func(b *consoletest.Backend) {
		b.RebootErr = errors.New("reboot: not permitted on this machine")
	}})
	out := h.Run("reboot", opPrompt)
	if strings.Contains(out, "Reboot now?") || !strings.Contains(out, "reboot: not permitted on this machine") {
		t.Fatalf("reboot: %q", out)
	}
	if strings.Contains(out, "reboot: reboot:") {
		t.Errorf("said twice: %q", out)
	}
	if h.b.Reboots() != 0 {
		t.Fatal("rebooted")
	}
}

// A read-back the unit marks "not available" (or an implausible one) is shown as n/a, never as a
// number; a point the unit does not have stays "-"; a faulty or missing sensor shows no value.
func TestUnavailableValuesShowNA(t *testing.T) {
	cfg := smallSite(t)
	cfg.Units[1].Profile = "vfd-fan"
	h := loggedIn(t, setup{cfg: cfg, configure: func(b *consoletest.Backend) {
		b.EditUnits = func(us []console.UnitStatus) { us[0].FanPct, us[0].SupplyC = math.NaN(), math.Inf(1) }
		b.EditSensors = func(rs []console.SensorReading) { rs[0].State, rs[0].Value = "fault", -3276.8 }
	}})
	out := h.Run("show units", opPrompt)
	var rows [][]string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 10 && strings.HasPrefix(f[0], "crah-") {
			rows = append(rows, f)
		}
	}
	// unit line id mode fan% vlv% sup ret kW alarm
	if len(rows) != 2 || rows[0][4] != "n/a" || rows[0][6] != "n/a" || rows[0][5] != "60" || rows[1][5] != "-" || rows[1][6] != "-" {
		t.Fatalf("show units rows %q:\n%s", rows, out)
	}
	if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
		t.Fatalf("show units:\n%s", out)
	}
	out = h.Run("show sensors", opPrompt)
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "00-17-0d-00-00-38-0a-1f/1 row-a R10 n/a 3s 3.00 fault") || strings.Contains(out, "3276") {
		t.Fatalf("show sensors:\n%s", out)
	}
}

// Names and texts from outside (the site file, the database, the wire) never reach the terminal
// raw: an escape sequence or a newline in a site name, a unit name or an event text is shown
// escaped, in the prompt too, so it can neither drive the terminal nor draw a fake prompt.
func TestOutsideTextIsEscaped(t *testing.T) {
	cfg := smallSite(t)
	cfg.Site = "room\x1b]0;owned\x07\nroot@core# "
	cfg.Units[0].Name = "crah-\x1b[31m1"
	cfg.Zones[0].Units[0] = cfg.Units[0].Name
	h := newTech(t, setup{cfg: cfg, password: pw, configure: func(b *consoletest.Backend) {
		_ = b.LogEvent(t.Context(), console.Event{User: "eng\x1b[8m", Kind: "alarm", Text: "inlet high\x1b[2J\nlogin: "})
	}})
	prompt := `admin@room\x1b]0;owned\x07\nroot@core# > `
	h.Expect("login: ")
	h.Type("admin\r")
	h.Expect("Password: ")
	h.Type(pw + "\r")
	h.Expect(prompt)
	if l := h.Line(); l != prompt {
		t.Fatalf("prompt line %q, want %q", l, prompt)
	}
	units := h.Run("show units", prompt)
	logs := h.Run("show log", prompt)
	status := h.Run("show status", prompt)
	help := h.Ask("loop ?", prompt+"loop ", `crah-\x1b[31m1`)
	raw := h.Raw()
	for _, seq := range []string{"\x1b]", "\x1b[31m", "\x1b[2J", "\x1b[8m", "\nroot@core", "\nlogin: "} {
		if strings.Contains(raw, seq) {
			t.Errorf("the terminal received %q raw", seq)
		}
	}
	for what, c := range map[string]struct{ out, want string }{
		"show units":  {units, `crah-\x1b[31m1`},
		"show log":    {logs, `inlet high\x1b[2J\nlogin:`},
		"log user":    {logs, `eng\x1b[8m`},
		"show status": {status, `room\x1b]0;owned\x07\nroot@core#`},
		"loop ?":      {help, `  crah-\x1b[31m1`},
	} {
		if !strings.Contains(c.out, c.want) {
			t.Errorf("%s lacks %q:\n%s", what, c.want, c.out)
		}
	}
}
