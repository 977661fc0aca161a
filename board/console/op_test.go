package console_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/console/consoletest"
	"github.com/coldaisle/coldaisle/control/site"
)

// longSite has names as long as validation allows, to check that tables still fit 80 columns.
func longSite(t *testing.T) *site.Config {
	c := smallSite(t)
	for _, line := range []string{
		"set unit crah-1 name crah-north-wall-row-a-01",
		"set zone row-a units crah-north-wall-row-a-01,crah-2",
		"delete zone row-a influence",
		"set zone row-a name cold-aisle-north-row-a",
		"set line bms name bms-modbus-tcp-main",
		"set unit crah-north-wall-row-a-01 line bms-modbus-tcp-main",
		"set unit crah-2 line bms-modbus-tcp-main",
	} {
		words := strings.Fields(line)
		var err error
		if words[0] == "set" {
			err = c.Set(words[1:])
		} else {
			err = c.Delete(words[1:])
		}
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func checkWidth(t *testing.T, what, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("%s: line of %d columns:\n%s", what, n, l)
		}
	}
}

func TestShowTablesFit80Columns(t *testing.T) {
	h := loggedIn(t, setup{cfg: longSite(t)})
	// Long enough to wrap in the log table.
	h.Run("loop crah-2 manual 55", opPrompt)
	for _, c := range []struct{ cmd, want string }{
		{"show status", "units     2: 1 auto, 1 manual"},
		{"show sensors", "00-17-0d-00-00-38-0a-1f/1"},
		{"show units", "crah-north-wall-ro~"},
		{"show loops", "crah-2 fan"},
		{"show log", "crah-2 manual at 55%"},
		{"show counters", "loop.crah-1.fan.saturated_seconds_while_zone_above_setpoint_total      42"},
		{"show history", "factory"},
		{"help", "Keys: Tab completes a word"},
		{"sh sen", "00-17-0d-00-00-38-0a-1f/1  cold-aisle-north-row~"}, // abbreviations; the zone is cut, not the sensor id
	} {
		out := h.Run(c.cmd, opPrompt)
		if !strings.Contains(out, c.want) {
			t.Errorf("%s lacks %q:\n%s", c.cmd, c.want, out)
		}
		checkWidth(t, c.cmd, out)
	}
	out := h.Run("show config", opPrompt)
	if !strings.Contains(out, "# version 1, 2025-06-02 09:00 factory: initial") || !strings.Contains(out, `name = "crah-north-wall-row-a-01"`) {
		t.Errorf("show config:\n%s", out)
	}
	if out := h.Run("show config 1", opPrompt); !strings.Contains(out, "[[unit]]") {
		t.Errorf("show config 1:\n%s", out)
	}
	if out := h.Run("show config 7", opPrompt); !strings.Contains(out, "show config: no version 7 (show history lists them)") {
		t.Errorf("show config 7: %q", out)
	}
}

func TestWrongInputGetsOneClearLine(t *testing.T) {
	h := loggedIn(t, setup{})
	cases := []struct{ line, want string }{
		{"shwo status", `unknown command "shwo" (did you mean show? ? lists the commands)`},
		{"frobnicate", `unknown command "frobnicate" (? or help lists the commands)`},
		{"show", "show: incomplete command (expected: status, sensors, units, loops, trend, log, config, counters, history, alarms, pair)"},
		{"show statuss", `show: unexpected "statuss" (expected: status, sensors,`},
		{"show status now", `show status: unexpected "now" (nothing more is needed)`},
		{"loop", "loop: missing UNIT (UNIT: crah-1, crah-2)"},
		{"loop crah-9 auto", "loop: crah-9: no such unit (units: crah-1, crah-2)"},
		{"loop crah-1", "loop crah-1: incomplete command (expected: manual, auto)"},
		{"loop crah-1 manual", "loop crah-1 manual: missing PCT (PCT, fan speed, % within the unit's min..max (50 or 50%))"},
		{"loop crah-1 manual lots", `loop crah-1 manual: "lots" is not a number`},
		{"loop crah-1 manual 10", "loop crah-1 manual: 10 is below the unit's min_fan_pct 30 (allowed 30..100)"},
		{"loop crah-1 manual 120", "loop crah-1 manual: 120 is above the unit's max_fan_pct 100 (allowed 30..100)"},
		{"show log 0", `show log: "0" is not a count 1..10000`},
		{"test unit", "test unit: missing UNIT (UNIT: crah-1, crah-2)"},
		{"tune crah-1 pump", `tune crah-1: unexpected "pump" (expected: fan, valve)`},
		{"modbus read", "modbus read: missing the unit: a unit name (units: crah-1, crah-2) or --target LINE --unit ID"},
		{"modbus read crah-9", `modbus read: "crah-9" is neither a unit (units: crah-1, crah-2) nor a unit id 1..247`},
		{"modbus read crah-1 --type float", `modbus read: --type "float" is not one of uint16, int16, uint32, int32, float32`},
		{"modbus read crah-1 --bogus 1", "modbus read: flag provided but not defined: -bogus (flags: --unit --target"},
		{"modbus read --unit 3", "modbus read: unit id 3 needs --target LINE|URL (lines: bms)"},
		{"modbus read --unit 3 --target nowhere", `modbus read: --target "nowhere" is neither a line (lines: bms) nor a tcp:// or rtu:// URL`},
		{"modbus read crah-1 --count 200", `modbus read: --count "200" is not a number of values 1..125`},
		{"modbus read crah-1 --addr 70000", `modbus read: --addr "70000" is not a register address 0..65535`},
		{"modbus read crah-1 --table input --addr 8 --count 4", "modbus read: modbus: exception 0x02 illegal data address (function 4)"},
		{"pair hold bogus", `pair hold: unexpected "bogus" (expected: active, standby, off)`},
		{"pair hold", "pair hold: incomplete command (expected: active, standby, off)"},
		{"request", "request: incomplete command (expected: switchover)"},
		{"show pair", "show pair: this board runs alone (no --identity)"},
		{"pa hold off", `"pa" is ambiguous: pair, password`},
		{"set unit crah-1 min_fan_pct 35", `unknown command "set" (did you mean test? ? lists the commands)`},
	}
	for _, c := range cases {
		out := h.Run(c.line, opPrompt)
		if !strings.Contains(out, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.line, out, c.want)
		}
		if n := strings.Count(strings.TrimRight(out, "\n"), "\n"); n > 0 {
			t.Errorf("%s: %d lines:\n%s", c.line, n+1, out)
		}
	}
	if m := h.b.Mode("crah-1"); m.Manual {
		t.Fatal("a refused loop command reached the backend")
	}
}

func TestLoopManualAndAuto(t *testing.T) {
	h := loggedIn(t, setup{})
	out := h.Run("loop crah-1 manual 60", opPrompt)
	if !strings.Contains(out, "loop crah-1: manual, fan held at 60% for 2h0m0s, then back to auto (loop crah-1 auto to release now)") {
		t.Fatalf("manual: %q", out)
	}
	if m := h.b.Mode("crah-1"); !m.Manual || m.FanPct != 60 || m.For != 0 {
		t.Fatalf("mode %+v", m)
	}
	// Issue 9 item 11: manual for a chosen time, within control.manual_max.
	if out := h.Run("loop crah-1 manual 60 for 9h", opPrompt); !strings.Contains(out, "9h0m0s is longer than control.manual_max 8h0m0s") {
		t.Fatalf("manual for 9h: %q", out)
	}
	if out := h.Run("loop crah-1 manual 60 for 30m", opPrompt); !strings.Contains(out, "fan held at 60% for 30m0s") {
		t.Fatalf("manual for 30m: %q", out)
	}
	if m := h.b.Mode("crah-1"); !m.Manual || m.FanPct != 60 || m.For != 30*time.Minute {
		t.Fatalf("mode %+v", m)
	}
	if out := h.Run("show units", opPrompt); !strings.Contains(out, "crah-1  bms    1  manual    60") {
		t.Fatalf("show units:\n%s", out)
	}
	h.Run("loop crah-1 auto", opPrompt)
	if m := h.b.Mode("crah-1"); m.Manual {
		t.Fatalf("mode %+v", m)
	}
	if ev := h.b.EventsOf(console.EventLoopMode); len(ev) != 3 || ev[0].Text != "crah-1 manual at 60% for 2h0m0s" || ev[1].Text != "crah-1 manual at 60% for 30m0s" || ev[2].Text != "crah-1 auto" {
		t.Fatalf("loop events %+v", ev)
	}
}

func TestTuneAndTestUnit(t *testing.T) {
	h := loggedIn(t, setup{})
	out := h.Run("tune crah-1", "[y/N] ")
	out += h.Run("y", opPrompt)
	for _, want := range []string{
		"tune crah-1 fan: autotuning (any key aborts)",
		"  relay cycle 4/4: amplitude 0.44 C, period 314 s",
		"tune crah-1 fan: kp 6.5, ti_s 140, td_s 0 (relay+simc)",
		"Store this tuning in the configuration (new version)?",
		"tune crah-1 fan: stored as configuration version 2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tune lacks %q:\n%s", want, out)
		}
	}
	if h.b.Versions() != 2 {
		t.Fatalf("%d configuration versions after storing the tuning", h.b.Versions())
	}
	if out := h.Run("tune crah-2", "[y/N] ") + h.Run("n", opPrompt); !strings.Contains(out, "not stored") || h.b.Versions() != 2 {
		t.Fatalf("declining stored anything:\n%s", out)
	}
	out = h.Run("test unit crah-1", opPrompt)
	for _, want := range []string{
		"  fan 80%: feedback 79.6%",
		"fan feedback at 80%        pass    80 ±5 %",
		"zone row-a inlets respond",
		"test unit crah-1: PASS (4 of 4 checks passed)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("test unit lacks %q:\n%s", want, out)
		}
	}
	checkWidth(t, "test unit", out)
	h.b.TestFails = true
	out = h.Run("test unit crah-2", opPrompt)
	if !strings.Contains(out, "FAIL    80 ±5 %") || !strings.Contains(out, "test unit crah-2: FAIL (2 of 4 checks passed)") {
		t.Errorf("failing test unit:\n%s", out)
	}
	if ev := h.b.EventsOf(console.EventTestUnit); len(ev) != 2 || !strings.Contains(ev[1].Text, "FAIL") {
		t.Errorf("test events %+v", ev)
	}
}

func TestKeyAbortsTuneTestAndWatch(t *testing.T) {
	h := loggedIn(t, setup{configure: func(b *consoletest.Backend) { b.HoldTune = true }})
	h.Type("tune crah-1 valve\r")
	h.Expect("waiting for the plant to settle")
	h.Type("q")
	h.Expect("tune crah-1 valve: aborted; the loop is back as it was")
	h.Expect(opPrompt)
	h.Type("test unit crah-2\r")
	h.Expect("waiting for the plant to settle")
	h.Type("\x03")
	h.Expect("test unit crah-2: aborted; the unit is back as it was")
	h.Expect(opPrompt)
	if h.b.Aborted() != 2 {
		t.Fatalf("backend saw %d aborts", h.b.Aborted())
	}

	h.Type("watch sensors\r")
	h.Expect("sensors at 09:00:00 (every 2s; any key stops)")
	first := h.Expect("00-17-0d-00-00-38-0a-1f/1  row-a  R10")
	_ = first
	h.clk.Advance(2 * time.Second)
	h.Expect("sensors at 09:00:02")
	h.clk.Advance(2 * time.Second)
	h.Expect("sensors at 09:00:04")
	h.Type(" ")
	h.Expect(opPrompt)
	if out := h.Run("show status", opPrompt); !strings.Contains(out, "controlling") {
		t.Fatalf("console not usable after watch: %q", out)
	}
}

func TestModbusRead(t *testing.T) {
	h := loggedIn(t, setup{})
	out := h.Run("modbus read crah-1 --table input --addr 0 --count 2 --type int16 --scale 0.1", opPrompt)
	for _, want := range []string{
		"crah-1 (id 1 on line bms, tcp://127.0.0.1:5020)\ninput registers 0..1 as int16 ABCD x0.1",
		"   0  0x00f5      24.5",
		"   1  0x00b4        18",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("int16 read lacks %q:\n%s", want, out)
		}
	}
	out = h.Run("modbus read --target bms --unit 1 --table i --addr 6 --type float32", opPrompt)
	if !strings.Contains(out, "0x4020 0x0000") || !strings.Contains(out, "  2.5") {
		t.Errorf("float32 ABCD:\n%s", out)
	}
	out = h.Run("modbus read crah-2 --table input --addr 8 --type float32 --order CDAB", opPrompt)
	if !strings.Contains(out, "30.25") {
		t.Errorf("float32 CDAB:\n%s", out)
	}
	out = h.Run("modbus read --target tcp://127.0.0.1:5020 --unit 2 --addr 0 --count 5", opPrompt)
	if !strings.Contains(out, "id 2 on tcp://127.0.0.1:5020\nholding registers 0..4 as uint16") || !strings.Contains(out, "1000") {
		t.Errorf("holding read:\n%s", out)
	}
	h.Type("modbus read crah-1 --ty\t")
	h.WaitLine(opPrompt + "modbus read crah-1 --type ")
	h.Type("fl\t")
	h.WaitLine(opPrompt + "modbus read crah-1 --type float32 ")
}

func TestRebootAsksFirst(t *testing.T) {
	h := loggedIn(t, setup{})
	h.Type("reboot\r")
	h.Expect("Reboot now? [y/N] ")
	h.Type("\r")
	h.Expect("reboot: cancelled")
	h.Expect(opPrompt)
	h.Type("reboot\r")
	h.Expect("Reboot now? [y/N] ")
	h.Type("yes\r")
	h.Expect("rebooting")
	h.Expect(opPrompt)
	if h.b.Reboots() != 1 || len(h.b.EventsOf(console.EventReboot)) != 1 {
		t.Fatalf("reboots %d", h.b.Reboots())
	}
}

func TestPasswordCommand(t *testing.T) {
	h := loggedIn(t, setup{})
	h.Type("password\r")
	h.Expect("Current password: ")
	h.Type("wrong\r")
	h.Expect("password: the current password is wrong; nothing changed")
	h.Expect(opPrompt)
	h.Type("password\r")
	h.Expect("Current password: ")
	h.Type(pw + "\r")
	h.Expect("New password: ")
	h.Type("hot-aisle-77\r")
	h.Expect("Retype new password: ")
	h.Type("hot-aisle-77\r")
	h.Expect("password changed")
	h.Expect(opPrompt)
	u, _ := h.b.User("admin")
	if !console.CheckPassword(u.Hash, "hot-aisle-77") {
		t.Fatal("password not changed")
	}
}

func TestCtrlDLogsOut(t *testing.T) {
	h := loggedIn(t, setup{})
	h.Type("\x04")
	h.Expect("logged out")
	h.Expect("login: ")
	if ev := h.b.EventsOf(console.EventLogout); len(ev) != 1 {
		t.Fatalf("logout events %+v", ev)
	}
}

// A fan drive has no coil and no temperature points: its row shows "-" there, not 0.0.
func TestShowUnitsFanDriveHasNoTemperatures(t *testing.T) {
	cfg := smallSite(t)
	cfg.Units[len(cfg.Units)-1].Profile = "vfd-fan"
	drive := cfg.Units[len(cfg.Units)-1].Name
	h := loggedIn(t, setup{cfg: cfg})
	out := h.Run("show units", opPrompt)
	var row []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == drive {
			row = f
		}
	}
	// unit line id mode fan% vlv% sup ret kW alarm
	if len(row) < 10 || row[5] != "-" || row[6] != "-" || row[7] != "-" || row[4] != "45" {
		t.Fatalf("fan drive %s row %q, want - for valve, supply and return:\n%s", drive, row, out)
	}
	if strings.Contains(out, "NaN") {
		t.Fatalf("show units prints NaN:\n%s", out)
	}
}

// Ctrl-V then a key x/term does not know (F5, Shift-Tab, Page Up, Insert): x/term hands the
// callback its "unknown key" code from the surrogate range, which is no character. Nothing goes
// into the line. At the start of a line this panicked inside x/term (a cursor at -1) and took
// the controller down: found by FuzzCommandLine.
func TestLiteralNextUnknownKey(t *testing.T) {
	h := loggedIn(t, setup{})
	for _, key := range []string{"\x1b[15~", "\x1b[Z", "\x1b[5~", "\x1b[2~"} { // F5, Shift-Tab, Page Up, Insert
		h.Type("\x16" + key + "show status\r") // on an empty line
		if out := h.Expect(opPrompt); !strings.Contains(out, "controlling") {
			t.Fatalf("Ctrl-V %q on an empty line: %q", key, out)
		}
		h.Type("show st\x16" + key + "atus\r") // mid-line
		if out := h.Expect(opPrompt); !strings.Contains(out, "controlling") {
			t.Fatalf("Ctrl-V %q mid-line: %q", key, out)
		}
	}
}

// Alarms: listed with severity and state, acknowledged and shelved with who and when; a
// mistyped key gets a hint; a critical alarm is not shelved.
func TestAlarmDesk(t *testing.T) {
	h := loggedIn(t, setup{})
	if out := h.Run("show alarms", opPrompt); !strings.Contains(out, "no active alarms") {
		t.Fatalf("empty: %q", out)
	}
	h.b.RaiseAlarm(console.Alarm{Key: "unit/crah-2/tripped", Source: "unit crah-2", Kind: "tripped", Severity: "major", Text: "tripped: not running", Raised: h.clk.Now()})
	h.b.RaiseAlarm(console.Alarm{Key: "zone/row-a/inlet-high", Source: "zone row-a", Kind: "inlet-high", Severity: "critical", Text: "inlet at 28.1 C above alarm limit 27.0 C", Raised: h.clk.Now()})
	out := h.Run("show alarms", opPrompt)
	for _, want := range []string{"zone/row-a/inlet-high", "critical", "unit/crah-2/tripped", "major", "new", "tripped: not running"} {
		if !strings.Contains(out, want) {
			t.Fatalf("show alarms lacks %q:\n%s", want, out)
		}
	}
	if out := h.Run("alarm ack unit/crah-2/tripd", opPrompt); !strings.Contains(out, "did you mean unit/crah-2/tripped?") {
		t.Fatalf("typo: %q", out)
	}
	if out := h.Run("alarm ack unit/crah-2/tripped", opPrompt); !strings.Contains(out, "unit/crah-2/tripped acknowledged by admin") {
		t.Fatalf("ack: %q", out)
	}
	if out := h.Run("alarm shelve zone/row-a/inlet-high 30m", opPrompt); !strings.Contains(out, "critical alarm cannot be shelved") {
		t.Fatalf("shelve critical: %q", out)
	}
	if out := h.Run("alarm shelve unit/crah-2/tripped 30m", opPrompt); !strings.Contains(out, "shelved for 30m0s") {
		t.Fatalf("shelve: %q", out)
	}
	out = h.Run("show alarms", opPrompt)
	if !strings.Contains(out, "ack admin 09:00; shelved to 09:30") {
		t.Fatalf("state after ack and shelve:\n%s", out)
	}
	if ev := h.b.EventsOf(console.EventAlarm); len(ev) != 2 {
		t.Fatalf("alarm events: %+v", ev)
	}
}
