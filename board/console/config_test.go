package console_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/console/consoletest"
)

const pw = "cold-aisle-9"

func loggedIn(t *testing.T, st setup) *tech {
	st.password = pw
	h := newTech(t, st)
	h.login(pw)
	return h
}

func TestTabCompletionAndHelp(t *testing.T) {
	h := loggedIn(t, setup{})
	h.Type("sh\t")
	h.WaitLine(opPrompt + "show ")
	h.Type("st\t")
	h.WaitLine(opPrompt + "show status ")
	h.Type("\r")
	h.Expect("state     controlling")
	h.Expect(opPrompt)

	h.Ask("?", opPrompt, opPrompt+"?", "  configure  edit a candidate copy", "  show       show the state", "  reboot     restart the board")
	h.Ask("show ?", opPrompt+"show ", opPrompt+"show ?", "  sensors   latest reading of every sensor", "  log       the event log")
	h.Type("\x15") // Ctrl-U clears the line
	h.WaitLine(opPrompt)
	h.Ask("loop ?", opPrompt+"loop ", "  crah-1  id 1 on line bms", "  <UNIT>  the unit")
	h.Ask("crah-1 manual ?", opPrompt+"loop crah-1 manual ", "  <PCT>  fan speed, % within the unit's min..max")
	h.Type("\x03") // Ctrl-C clears the line, and does not log out
	h.WaitLine(opPrompt)
	if !strings.Contains(h.Screen(), opPrompt+"loop crah-1 manual ^C") {
		t.Errorf("no ^C shown:\n%s", h.Screen())
	}
	// Ambiguous: loop, logout; the line stays as typed.
	h.Ask("lo\t", opPrompt+"lo", "  loop    put a unit's fan loop", "  logout  log out")
	h.Type("\x15configure\r")
	h.Expect(cfgPrompt)

	h.Type("set unit crah-1 min_f\t")
	h.WaitLine(cfgPrompt + "set unit crah-1 min_fan_pct ")
	h.Ask("?", cfgPrompt+"set unit crah-1 min_fan_pct ", "<number>  fan speed floor, % (never commanded below it) (now 30)")
	h.Type("\x15set unit.crah-2.min_f\t")
	h.WaitLine(cfgPrompt + "set unit.crah-2.min_fan_pct ")
	h.Type("\x15set unit.cr\t")
	h.WaitLine(cfgPrompt + "set unit.crah-")
	h.Type("1\t")
	h.WaitLine(cfgPrompt + "set unit.crah-1.")
	h.Type("\x15set zone row-a sensors remove 00-17-0d-00-00-38-0a-2\t")
	h.WaitLine(cfgPrompt + "set zone row-a sensors remove 00-17-0d-00-00-38-0a-20/1 ")
	// Inside quotes ? is a character of the value (targets have them), and so after Ctrl-V.
	h.Type("\x15set line bms target \"rtu:///dev/ttyS1?baud=19200&parity=E\"\r")
	h.Expect(cfgPrompt)
	// A site name may not hold "?" (names are printed raw in prompts): the refusal quotes what
	// Ctrl-V let through.
	if out := h.Run("set site crah\x16?room", cfgPrompt); !strings.Contains(out, `"crah?room" may hold only letters`) {
		t.Fatalf("set site with a literal ?: %q", out)
	}
	out := h.Run("show diff", cfgPrompt)
	for _, want := range []string{`+  target = "rtu:///dev/ttyS1?baud=19200&parity=E"`} {
		if !strings.Contains(out, want) {
			t.Errorf("show diff lacks %q:\n%s", want, out)
		}
	}
}

func TestConfigureSetDiffCommit(t *testing.T) {
	h := loggedIn(t, setup{})
	out := h.Run("configure", cfgPrompt)
	if !strings.Contains(out, "editing a candidate copy of version 1") {
		t.Fatalf("configure: %q", out)
	}
	if out := h.Run("show diff", cfgPrompt); !strings.Contains(out, "no changes") {
		t.Fatalf("fresh candidate differs: %q", out)
	}
	h.Run("set unit crah-1 min_fan_pct 35", cfgPrompt)
	h.Run("set control.setpoint_c 24", cfgPrompt)
	out = h.Run("show diff", cfgPrompt)
	for _, want := range []string{
		"--- running (version 1)", "+++ candidate",
		"-  setpoint_c = 25.0", "+  setpoint_c = 24.0",
		`@@ [[unit]] name = "crah-1"`, "-  min_fan_pct = 30.0", "+  min_fan_pct = 35.0",
		`@@ [[zone]] name = "row-a"`, // the zone follows control.setpoint_c
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show diff lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `[[unit]] name = "crah-2"`) {
		t.Errorf("diff reaches into unit crah-2:\n%s", out)
	}
	if h.b.Versions() != 1 {
		t.Fatal("set changed the running configuration")
	}
	if out := h.Run("show", cfgPrompt); !strings.Contains(out, "  min_fan_pct = 35.0") {
		t.Fatalf("show lacks the candidate value:\n%s", out)
	}
	out = h.Run("commit", cfgPrompt)
	if !strings.Contains(out, "commit: version 2 committed and applied") {
		t.Fatalf("commit: %q", out)
	}
	cfg, v, _ := h.b.RunningConfig(t.Context())
	if v.N != 2 || v.User != "admin" || cfg.Unit("crah-1").MinFanPct != 35 || cfg.Control.SetpointC != 24 {
		t.Fatalf("running after commit: %+v %+v", v, cfg.Unit("crah-1"))
	}
	if ev := h.b.EventsOf(console.EventCommit); len(ev) != 1 || ev[0].User != "admin" || !strings.Contains(ev[0].Text, "version 2") {
		t.Fatalf("commit events %+v", ev)
	}
	if out := h.Run("commit", cfgPrompt); !strings.Contains(out, "commit: no changes") {
		t.Fatalf("second commit: %q", out)
	}
	h.Run("exit", opPrompt)
	out = h.Run("show history", opPrompt)
	if !strings.Contains(out, "2*") || !strings.Contains(out, "admin") {
		t.Fatalf("history:\n%s", out)
	}
}

func TestTyposInConfigurationModeChangeNothing(t *testing.T) {
	h := loggedIn(t, setup{})
	h.Run("configure", cfgPrompt)
	cases := []struct{ line, want string }{
		{"set unit crah-9 min_fan_pct 35", "set: unit crah-9: no such unit (units: crah-1, crah-2); to add one: set unit crah-9 line LINE"},
		{"set unit crah-1 min_fan_pct abc", `set: unit crah-1 min_fan_pct: "abc" is not a number`},
		{"set unit crah-1 min_fna_pct 35", "did you mean min_fan_pct?"},
		{"set unit crah-1 max_fan_pct 20", "set: unit crah-1 max_fan_pct: 20 is outside 30..100"},
		{"set control setpoint_c 0", `set: control setpoint_c: 0 is outside 15..32`},
		{"set", "set: missing path (fields: site, node_id, control, mesh, line, unit, zone,"},
		{"delete unit crah-9", "delete: unit crah-9: no such unit (units: crah-1, crah-2)"},
		{"sett unit crah-1 min_fan_pct 35", `unknown command "sett" (did you mean set? ? lists the commands)`},
		{"commit confirmed 0", `commit confirmed: "0" is not a number of minutes 1..60`},
		{"commit confirmed", "commit confirmed: missing MINUTES (MINUTES, minutes to confirm"},
		{"rollback x", `rollback: "x" is not a version number`},
		{"rollback 99", "rollback: no version 99 (rollback ? lists them)"},
		{`set site "crah room`, "unterminated quote"},
		{"d", `"d" is ambiguous: delete, discard`},
	}
	for _, c := range cases {
		out := h.Run(c.line, cfgPrompt)
		if !strings.Contains(out, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.line, out, c.want)
		}
		if strings.Count(strings.TrimSpace(out), "\n") > 0 {
			t.Errorf("%s: more than one line:\n%s", c.line, out)
		}
	}
	if out := h.Run("show diff", cfgPrompt); !strings.Contains(out, "no changes") {
		t.Fatalf("mistakes changed the candidate:\n%s", out)
	}
	out := h.Run("set control setpoint_c 30", cfgPrompt)
	if !strings.Contains(out, "note: control alarm_c: 27 is outside 30..45 (fix before commit)") {
		t.Fatalf("no note about the alarm limit: %q", out)
	}
	out = h.Run("exit", cfgPrompt)
	if !strings.Contains(out, "exit: the candidate has changes: commit them, or discard them first") {
		t.Fatalf("exit with changes: %q", out)
	}
	h.Run("discard", cfgPrompt)
	h.Run("exit", opPrompt)
}

func TestInvalidCommitChangesNothing(t *testing.T) {
	h := loggedIn(t, setup{})
	h.Run("configure", cfgPrompt)
	out := h.Run("set unit crah-3 line bms", cfgPrompt)
	for _, want := range []string{"note: unit crah-3: new unit (defaults applied)", "note: unit crah-3 unit_id: 0 is outside 1..247", "note: unit crah-3: serves no zone"} {
		if !strings.Contains(out, want) {
			t.Errorf("set of a new unit lacks %q:\n%s", want, out)
		}
	}
	out = h.Run("commit", cfgPrompt)
	for _, want := range []string{
		"commit: unit crah-3 unit_id: 0 is outside 1..247",
		"commit: unit crah-3: serves no zone; add it to a zone or set disabled = true",
		"commit: 2 problems; nothing changed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("commit lacks %q:\n%s", want, out)
		}
	}
	if h.b.Versions() != 1 || len(h.b.EventsOf(console.EventCommit)) != 0 {
		t.Fatal("an invalid commit changed something")
	}
	out = h.Run("commit check", cfgPrompt)
	if !strings.Contains(out, "commit: 2 problems; nothing changed") {
		t.Fatalf("commit check: %q", out)
	}
	h.Run("set unit crah-3 unit_id 3", cfgPrompt)
	h.Run("set zone row-a units add crah-3", cfgPrompt)
	if out := h.Run("commit check", cfgPrompt); !strings.Contains(out, "commit check: the candidate is valid") {
		t.Fatalf("commit check: %q", out)
	}
	// The backend refusing (a store error) changes nothing either.
	h.b.CommitErr = errors.New("storage: disk full")
	if out := h.Run("commit", cfgPrompt); !strings.Contains(out, "commit: failed: storage: disk full; nothing changed") {
		t.Fatalf("failed commit: %q", out)
	}
	h.b.CommitErr = nil
	if out := h.Run("commit", cfgPrompt); !strings.Contains(out, "version 2 committed") {
		t.Fatalf("commit: %q", out)
	}
	cfg, _, _ := h.b.RunningConfig(t.Context())
	if u := cfg.Unit("crah-3"); u == nil || u.UnitID != 3 || u.MinFanPct != 30 {
		t.Fatalf("new unit: %+v", u)
	}
}

func TestCommitConfirmedRollsBackUnlessConfirmed(t *testing.T) {
	h := loggedIn(t, setup{})
	h.Run("configure", cfgPrompt)
	h.Run("set unit crah-1 min_fan_pct 35", cfgPrompt)
	out := h.Run("commit confirmed 5", cfgPrompt)
	if !strings.Contains(out, "commit: version 2 committed and applied") ||
		!strings.Contains(out, "commit: rolls back to version 1 at 09:05:00 unless confirmed by commit") {
		t.Fatalf("commit confirmed: %q", out)
	}
	h.clk.Advance(4 * time.Minute)
	if out := h.Run("run show status", cfgPrompt); !strings.Contains(out, "version 2") {
		t.Fatalf("rolled back too early: %q", out)
	}
	h.clk.Advance(time.Minute)
	h.Expect("% commit confirmed not confirmed within 5 min: rolled back to version 1 (now version 3)")
	cfg, v, _ := h.b.RunningConfig(t.Context())
	if v.N != 3 || v.User != "system" || cfg.Unit("crah-1").MinFanPct != 30 || !strings.Contains(v.Comment, "automatic rollback to version 1") {
		t.Fatalf("after rollback: %+v min fan %v", v, cfg.Unit("crah-1").MinFanPct)
	}
	if ev := h.b.EventsOf(console.EventRollback); len(ev) != 1 || !strings.Contains(ev[0].Text, "not confirmed within 5 min") {
		t.Fatalf("rollback events %+v", ev)
	}
	// Told what was undone, and the candidate no longer holds the change: a plain commit must not
	// apply again what was just rolled back.
	h.Expect("% undone, the changes of version 2 by admin:")
	h.Expect("-  min_fan_pct = 35.0")
	h.Expect("+  min_fan_pct = 30.0")
	h.WaitLine(cfgPrompt)
	out = h.Run("show diff", cfgPrompt)
	if !strings.Contains(out, "candidate reset to version 3 (automatic rollback of version 2)") || !strings.Contains(out, "no changes") {
		t.Fatalf("candidate after the rollback: %q", out)
	}
	if out := h.Run("commit", cfgPrompt); !strings.Contains(out, "commit: no changes") {
		t.Fatalf("commit after rollback: %q", out)
	}
	if h.b.Versions() != 3 {
		t.Fatalf("%d versions: the rolled-back change was committed again", h.b.Versions())
	}
	// A new change on the reset candidate commits against version 3.
	h.Run("set unit crah-1 min_fan_pct 40", cfgPrompt)
	if out := h.Run("commit", cfgPrompt); !strings.Contains(out, "version 4 committed") {
		t.Fatalf("commit after reset: %q", out)
	}
}

func TestCommitConfirmedConfirmedStays(t *testing.T) {
	h := loggedIn(t, setup{})
	h.Run("configure", cfgPrompt)
	h.Run("set unit crah-1 min_fan_pct 35", cfgPrompt)
	h.Run("commit confirmed 5", cfgPrompt)
	h.clk.Advance(2 * time.Minute)
	out := h.Run("commit", cfgPrompt)
	if !strings.Contains(out, "commit: version 2 confirmed; it stays") {
		t.Fatalf("confirm: %q", out)
	}
	h.clk.Advance(10 * time.Minute)
	h.Run("run show status", cfgPrompt)
	if h.b.Versions() != 2 || len(h.b.EventsOf(console.EventRollback)) != 0 || len(h.b.EventsOf(console.EventConfirm)) != 1 {
		t.Fatalf("confirmed commit rolled back: %d versions", h.b.Versions())
	}
}

func TestPendingCommitConfirmedRollsBackWhenConsoleStops(t *testing.T) {
	h := loggedIn(t, setup{})
	h.Run("configure", cfgPrompt)
	h.Run("set unit crah-1 min_fan_pct 35", cfgPrompt)
	h.Run("commit confirmed 5", cfgPrompt)
	h.cancel()
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop")
	}
	h.done <- nil // for the cleanup
	cfg, v, _ := h.b.RunningConfig(t.Context())
	if v.N != 3 || cfg.Unit("crah-1").MinFanPct != 30 {
		t.Fatalf("pending commit confirmed not rolled back on stop: version %d", v.N)
	}
}

func TestRollbackN(t *testing.T) {
	h := loggedIn(t, setup{})
	h.Run("configure", cfgPrompt)
	h.Run("set unit crah-1 min_fan_pct 35", cfgPrompt)
	h.Run("commit", cfgPrompt)
	h.Run("set unit crah-1 min_fan_pct 40", cfgPrompt)
	h.Run("commit", cfgPrompt)
	h.Ask("rollback ?", cfgPrompt+"rollback ", "  3    2025-06-02 09:00 admin", "  1    2025-06-02 09:00 factory: initial", "  <N>  version number")
	out := h.Run("1", cfgPrompt)
	if !strings.Contains(out, "candidate is now version 1 (2025-06-02 09:00 factory: initial); show diff, then commit") {
		t.Fatalf("rollback 1: %q", out)
	}
	out = h.Run("show diff", cfgPrompt)
	if !strings.Contains(out, "-  min_fan_pct = 40.0") || !strings.Contains(out, "+  min_fan_pct = 30.0") {
		t.Fatalf("diff after rollback:\n%s", out)
	}
	if out := h.Run("commit", cfgPrompt); !strings.Contains(out, "version 4 committed") {
		t.Fatalf("commit: %q", out)
	}
	cfg, _, _ := h.b.RunningConfig(t.Context())
	if cfg.Unit("crah-1").MinFanPct != 30 {
		t.Fatal("rollback not applied")
	}
}

// A commit made elsewhere after the candidate was opened is never silently overwritten.
func TestCommitRefusesAStaleCandidate(t *testing.T) {
	h := loggedIn(t, setup{})
	h.Run("configure", cfgPrompt)
	h.Run("set unit crah-1 min_fan_pct 35", cfgPrompt)
	cfg, _, _ := h.b.RunningConfig(t.Context())
	cfg.Control.SetpointC = 23
	if _, err := h.b.CommitConfig(t.Context(), cfg, console.CommitInfo{User: "bob", Time: start}); err != nil {
		t.Fatal(err)
	}
	out := h.Run("commit", cfgPrompt)
	if !strings.Contains(out, "commit: version 2 (2025-06-02 09:00 bob) was committed after you started from 1; discard and redo your changes; nothing changed") {
		t.Fatalf("stale commit: %q", out)
	}
	if h.b.Versions() != 2 {
		t.Fatal("stale candidate committed")
	}
}

var _ = consoletest.NewClock

// Issue 9 item 4: a commit confirmed that the backend still holds when the console starts (the
// controller restarted inside the window) is re-armed: confirmed by a commit, or rolled back when
// what was left of its window runs out.
func TestPendingCommitReArmedAtStart(t *testing.T) {
	pend := func(b *consoletest.Backend) {
		cfg, _, err := b.RunningConfig(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Unit("crah-1").MinFanPct = 35
		if _, err := b.CommitConfig(context.Background(), cfg, console.CommitInfo{User: "admin", Comment: "commit confirmed 5",
			ConfirmWithin: 5 * time.Minute, RollbackTo: 1}); err != nil {
			t.Fatal(err)
		}
	}
	h := loggedIn(t, setup{configure: pend})
	h.clk.Advance(5 * time.Minute)
	h.Expect("rolled back to version 1 (now version 3)")
	cfg, v, _ := h.b.RunningConfig(t.Context())
	if v.N != 3 || cfg.Unit("crah-1").MinFanPct != 30 {
		t.Fatalf("after the re-armed rollback: v%d min fan %g", v.N, cfg.Unit("crah-1").MinFanPct)
	}
	if p, _ := h.b.PendingCommit(t.Context()); p != nil {
		t.Fatalf("still pending: %+v", p)
	}

	h = loggedIn(t, setup{configure: pend})
	h.Run("configure", cfgPrompt)
	if out := h.Run("commit", cfgPrompt); !strings.Contains(out, "commit: version 2 confirmed; it stays") {
		t.Fatalf("confirm after restart: %q", out)
	}
	if p, _ := h.b.PendingCommit(t.Context()); p != nil {
		t.Fatalf("the backend still holds a confirmed commit: %+v", p)
	}
	h.clk.Advance(10 * time.Minute)
	h.Run("run show status", cfgPrompt)
	if h.b.Versions() != 2 {
		t.Fatalf("%d versions: a confirmed commit was rolled back", h.b.Versions())
	}
}
