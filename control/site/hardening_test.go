package site

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// Issue 9: what a hostile or careless site file must not get through. Each case edits the small
// site file and names the line and field the error must carry.
func TestRefusedWithLineAndField(t *testing.T) {
	base, err := os.ReadFile("testdata/small.toml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, from, to string
		want           []string
	}{
		{"nan fan gain", "setpoint_c = 25.0", "setpoint_c = 25.0\n[control.fan_tuning]\nkp = nan\nti_s = 120.0",
			[]string{"site.toml:8: control.fan_tuning.kp: nan is not a finite number"}},
		{"inf setpoint", "setpoint_c = 25.0", "setpoint_c = inf", []string{"site.toml:6: control.setpoint_c: inf is not a finite number"}},
		{"nan valid max", "setpoint_c = 25.0", "setpoint_c = 25.0\nvalid_max_c = nan", []string{"site.toml:7: control.valid_max_c: nan"}},
		{"nan min fan", "unit_id = 2", "unit_id = 2\nmin_fan_pct = nan", []string{"site.toml:25: unit[1].min_fan_pct: nan"}},
		{"nan influence", `"crah-2" = 0.3`, `"crah-2" = nan`, []string{"zone[0].influence.crah-2: nan is not a finite number"}},
		{"explicit zero safe fan", "unit_id = 2", "unit_id = 2\nsafe_fan_pct = 0", []string{"site.toml:25: unit[1](crah-2).safe_fan_pct: 0 is outside 30..100"}},
		{"explicit zero bms timeout", "unit_id = 2", "unit_id = 2\nbms_timeout = \"0s\"", []string{"site.toml:25: unit[1](crah-2).bms_timeout: 0s is outside 1s..1h"}},
		{"safe fan 1%", "unit_id = 2", "unit_id = 2\nmin_fan_pct = 0\nsafe_fan_pct = 0.5", []string{"unit[1](crah-2).safe_fan_pct: 0.5 is outside 1..100"}},
		{"valid range absurd", "setpoint_c = 25.0", "setpoint_c = 25.0\nvalid_min_c = -300.0\nvalid_max_c = 1000.0",
			[]string{"site.toml:7: control.valid_min_c: -300 is outside -40..20", "site.toml:8: control.valid_max_c: 1000 is outside 32..100"}},
		{"valid max below alarm", "setpoint_c = 25.0", "setpoint_c = 25.0\nvalid_max_c = 28.0", []string{"control.valid_max_c: 28 is outside 32..100"}},
		{"kp tiny", "setpoint_c = 25.0", "setpoint_c = 25.0\n[control.fan_tuning]\nkp = 1e-300\nti_s = 120.0", []string{"site.toml:8: control.fan_tuning.kp: 1e-300 is outside 0.01..1000"}},
		{"watchdog below bms without device", "node_id = 1", "node_id = 1\n[board]\nwatchdog_timeout = \"5s\"", []string{"board.watchdog_timeout: 5s must be longer than unit \"crah-1\" bms_timeout 10s"}},
		{"escape in unit name", `name = "crah-2"`, `name = "crah-2\u001b[2J"`, []string{`unit[1].name: "crah-2\x1b[2J" may hold only letters`}},
		{"newline in site name", `site = "crah-room-1"`, `site = "room\nadmin@x> "`, []string{`site.toml:1: site: "room\nadmin@x> " may hold only letters`}},
		{"escape in rack", "[[zone]]", "[[sensor]]\nid = \"00-17-0d-00-00-38-0a-1f/1\"\nrack = \"R1\\u001b]0;x\\u0007\"\n[[zone]]", []string{`site.toml:28: sensor[0].rack: "R1\x1b]0;x\a" may hold only letters`}},
		{"wrong type in the second unit", "unit_id = 2", `unit_id = "one"`, []string{"site.toml:24: unit[1].unit_id: wrong type: the file has a string, this key takes a integer"}},
		{"unknown zone key names the zone", "[[zone]]\nname = \"row-a\"", "[[zone]]\nname = \"row-a\"\nsetpont_c = 24.0", []string{"site.toml:28: zone[0](row-a).setpont_c: unknown key \"setpont_c\"; did you mean setpoint_c?"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(string(base), tc.from, tc.to, 1)
			if src == string(base) {
				t.Fatalf("case did not change the file")
			}
			_, err := Parse([]byte(src), "site.toml")
			if err == nil {
				t.Fatalf("accepted:\n%s", src)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %s\ndoes not contain\n  %s", err, w)
				}
			}
			if strings.ContainsAny(err.Error(), "\x1b\a") {
				t.Errorf("error carries a raw control character: %q", err)
			}
			if len(FieldErrors(err)) == 0 {
				t.Errorf("no *FieldError in %v", err)
			}
		})
	}
}

// An explicit zero is kept (and validated) where zero is a legal value, not replaced by a default.
func TestExplicitZeroIsKept(t *testing.T) {
	base, err := os.ReadFile("testdata/small.toml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(base), "unit_id = 2", "unit_id = 2\nmin_fan_pct = 0.0\nsafe_fan_pct = 60.0", 1)
	c, err := Parse([]byte(src), "site.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Units[1].MinFanPct != 0 || c.Units[1].SafeFanPct != 60 {
		t.Fatalf("min_fan_pct %g safe %g, want 0 and 60", c.Units[1].MinFanPct, c.Units[1].SafeFanPct)
	}
	if c.Units[0].MinFanPct != 30 {
		t.Fatalf("absent min_fan_pct got %g, want the default 30", c.Units[0].MinFanPct)
	}
	w := strings.Join(c.Warnings(), "\n")
	if !strings.Contains(w, "unit[1](crah-2).min_fan_pct: 0 % lets the controller stop this fan") {
		t.Fatalf("warnings: %s", w)
	}
	// The stored form parses back to the same zero.
	data, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse(data, "stored")
	if err != nil {
		t.Fatal(err)
	}
	if c2.Units[1].MinFanPct != 0 {
		t.Fatalf("round trip turned 0 into %g", c2.Units[1].MinFanPct)
	}
}

func TestWarnLowFailSafe(t *testing.T) {
	base, _ := os.ReadFile("testdata/small.toml")
	src := strings.Replace(string(base), "unit_id = 2", "unit_id = 2\nsafe_fan_pct = 35.0\nfallback_fan_pct = 40.0", 1)
	c, err := Parse([]byte(src), "site.toml")
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(c.Warnings(), "\n")
	for _, want := range []string{"safe_fan_pct: 35 % is little air", "fallback_fan_pct: 40 % is little air"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q lack %q", w, want)
		}
	}
}

func TestPhaseBudget(t *testing.T) {
	ct := Control{Period: D(2 * time.Second)}
	if got := ct.PhaseBudget(); got != 800*time.Millisecond {
		t.Fatalf("PhaseBudget = %v", got)
	}
}

// The console's set keeps an explicit zero too (it used to refuse it as "would be replaced by the
// default"), and delete still puts a field back to its default.
func TestEditKeepsZero(t *testing.T) {
	c, err := Load("testdata/small.toml")
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := Edit(c, OpSet, strings.Fields("unit crah-1 min_fan_pct 0"))
	if err != nil {
		t.Fatal(err)
	}
	if got := next.Unit("crah-1").MinFanPct; got != 0 {
		t.Fatalf("min_fan_pct = %g after set 0", got)
	}
	back, _, err := Edit(next, OpDelete, strings.Fields("unit crah-1 min_fan_pct"))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Unit("crah-1").MinFanPct; got != 30 {
		t.Fatalf("min_fan_pct = %g after delete, want the default 30", got)
	}
}

// A line's explicit timeout must fit the period's I/O phase; left out, it defaults to what fits.
func TestLineTimeoutAgainstPeriod(t *testing.T) {
	base, _ := os.ReadFile("testdata/small.toml")
	src := strings.Replace(string(base), `period = "2s"`, `period = "200ms"`, 1)
	c, err := Parse([]byte(src), "site.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Lines[0].Timeout.Duration; got != 80*time.Millisecond {
		t.Fatalf("default timeout at 200ms period = %v, want 80ms", got)
	}
	src = strings.Replace(src, `target = "tcp://127.0.0.1:5020"`, "target = \"tcp://127.0.0.1:5020\"\ntimeout = \"500ms\"", 1)
	_, err = Parse([]byte(src), "site.toml")
	want := "site.toml:14: line[0](bms).timeout: 500ms does not fit the 80ms each I/O phase of control.period 200ms allows"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestOperationsSettings(t *testing.T) {
	base, _ := os.ReadFile("testdata/small.toml")
	ok := string(base) + "\n[http]\nlisten = \"127.0.0.1:9100\"\n[alarms]\nsyslog = \"udp://127.0.0.1:514\"\n[bms]\nlisten = \":1502\"\n"
	c, err := Parse([]byte(ok), "site.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.BMS.UnitID != 1 || c.Alarms.MaxShelf.Duration != 8*time.Hour || c.HTTP.Listen != "127.0.0.1:9100" {
		t.Fatalf("defaults: %+v %+v %+v", c.HTTP, c.Alarms, c.BMS)
	}
	for _, tc := range []struct{ add, want string }{
		{"\n[http]\nlisten = \"9100\"\n", "http.listen: \"9100\" is not ADDR:PORT"},
		{"\n[bms]\nlisten = \":70000\"\n", "bms.listen: \":70000\": port \"70000\" is not 0..65535"},
		{"\n[bms]\nunit_id = 0\n", "bms.unit_id: 0 is outside 1..247"},
		{"\n[alarms]\nsyslog = \"tcp://10.0.0.1:514\"\n", "alarms.syslog: \"tcp://10.0.0.1:514\": want udp://HOST:PORT"},
		{"\n[http]\nlisten = \":9100\"\n[bms]\nlisten = \":9100\"\n", "bms.listen: \":9100\" is also http.listen"},
	} {
		_, err := Parse([]byte(string(base)+tc.add), "site.toml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.add, err, tc.want)
		}
	}
	slow, err := Parse([]byte(string(base)+"\n[pair]\npeer_timeout = \"9s\"\nwitness_interval = \"3s\"\nheartbeat = \"1s\"\n"), "site.toml")
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(slow.Warnings(), "\n"); !strings.Contains(w, "bms_timeout: 10s is not longer than the pair's takeover budget 14s") {
		t.Fatalf("warnings: %s", w)
	}
}

// The pair's timings are ordered: heartbeat < peer_timeout < takeover budget; a bms_timeout
// within the budget is a warning (a board alone never takes over; a pair refuses it).
func TestPairTimings(t *testing.T) {
	base, _ := os.ReadFile("testdata/small.toml")
	c, err := Parse(base, "site.toml")
	if err != nil || c.Pair.PeerTimeout.Duration != 350*time.Millisecond {
		t.Fatalf("defaults: %+v %v", c.Pair, err)
	}
	for _, tc := range []struct{ add, want string }{
		{"\n[pair]\nheartbeat = \"400ms\"\n", "pair: heartbeat 400ms must be shorter than peer_timeout 350ms"},
		{"\n[pair]\nwitness_interval = \"1s\"\n", "pair: witness_interval 1s must be positive and shorter than peer_timeout 350ms"},
	} {
		_, err := Parse([]byte(string(base)+tc.add), "site.toml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.add, err, tc.want)
		}
	}
	slow, err := Parse([]byte(string(base)+"\n[pair]\npeer_timeout = \"9s\"\nwitness_interval = \"3s\"\nheartbeat = \"1s\"\n"), "site.toml")
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(slow.Warnings(), "\n"); !strings.Contains(w, "bms_timeout: 10s is not longer than the pair's takeover budget 14s") {
		t.Fatalf("warnings: %s", w)
	}
}
