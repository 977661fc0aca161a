package plant

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustLoad(t testing.TB, name string) *Scenario {
	t.Helper()
	sc, err := LoadScenario(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return sc
}

func builtinText(t testing.TB, name string) string {
	t.Helper()
	b, err := builtinFS.ReadFile("scenarios/" + name + ".toml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lineOf returns the 1-based line of the nth (0-based) occurrence of s in text.
func lineOf(t testing.TB, text, s string, nth int) int {
	t.Helper()
	off := 0
	for k := 0; ; k++ {
		i := strings.Index(text[off:], s)
		if i < 0 {
			t.Fatalf("%q occurrence %d not found", s, nth)
		}
		if k == nth {
			return strings.Count(text[:off+i], "\n") + 1
		}
		off += i + len(s)
	}
}

// replaceNth replaces the nth (0-based) occurrence of old.
func replaceNth(t testing.TB, text, old, new string, nth int) string {
	t.Helper()
	off := 0
	for k := 0; ; k++ {
		i := strings.Index(text[off:], old)
		if i < 0 {
			t.Fatalf("%q occurrence %d not found", old, nth)
		}
		if k == nth {
			return text[:off+i] + new + text[off+i+len(old):]
		}
		off += i + len(old)
	}
}

func TestBuiltinScenarios(t *testing.T) {
	names := Builtin()
	for _, want := range []string{"demo", "hall", "small-room"} {
		if !contains(names, want) {
			t.Fatalf("Builtin() = %v, missing %q", names, want)
		}
	}
	for _, n := range names {
		sc := mustLoad(t, n)
		if sc.Name != n {
			t.Errorf("%s: name %q", n, sc.Name)
		}
		if sc.SetpointC != 25 {
			t.Errorf("%s: setpoint %g, want the default 25", n, sc.SetpointC)
		}
		for r, row := range sc.InfluenceMatrix() {
			sum := 0.0
			for _, w := range row {
				sum += w
			}
			if sum < 0.999999 || sum > 1.000001 {
				t.Errorf("%s: influence row %d sums to %g", n, r, sum)
			}
		}
	}
	sr := mustLoad(t, "small-room")
	if len(sr.Units) != 2 || len(sr.Racks) != 8 {
		t.Errorf("small-room: %d units %d racks, want 2 and 8", len(sr.Units), len(sr.Racks))
	}
	hall := mustLoad(t, "hall")
	if len(hall.Units) != 6 || len(hall.Racks) != 40 {
		t.Errorf("hall: %d units %d racks, want 6 and 40", len(hall.Units), len(hall.Racks))
	}
	rowsPerUnit := map[string]int{}
	for _, z := range hall.Zones {
		if n := len(z.Units); n < 2 || n > 3 {
			t.Errorf("hall: zone %s served by %d units, want 2..3", z.Name, n)
		}
		for _, u := range z.Units {
			rowsPerUnit[u]++
		}
	}
	for _, u := range hall.Units {
		if rowsPerUnit[u.Name] < 2 {
			t.Errorf("hall: unit %s reaches %d rows, want several", u.Name, rowsPerUnit[u.Name])
		}
	}
	profiles := map[string]bool{}
	for _, u := range hall.Units {
		profiles[u.Profile] = true
	}
	if !profiles[ProfileCRAH] || !profiles[ProfileVFD] {
		t.Errorf("hall: profiles %v, want both", profiles)
	}
	demo := mustLoad(t, "demo")
	if demo.Duration < 20*60 || demo.Duration > 30*60 {
		t.Errorf("demo lasts %gs, want 20..30 min", demo.Duration)
	}
	kinds := map[EventKind]bool{}
	for _, e := range demo.Events {
		kinds[e.Kind] = true
	}
	for _, k := range []EventKind{EvITLoad, EvUnitTrip, EvUnitRestore} {
		if !kinds[k] {
			t.Errorf("demo: no %s event", k)
		}
	}
	// The hall exercises every event kind the twin must handle.
	kinds = map[EventKind]bool{}
	for _, e := range hall.Events {
		kinds[e.Kind] = true
	}
	for _, k := range EventKinds() {
		if k == EvChwTemp {
			continue
		}
		if !kinds[k] {
			t.Errorf("hall: no %s event", k)
		}
	}
}

func TestLoadScenarioFileAndUnknown(t *testing.T) {
	_, err := LoadScenario("no-such-room")
	if !errors.Is(err, ErrUnknownScenario) || !strings.Contains(err.Error(), "small-room") {
		t.Fatalf("unknown name: %v", err)
	}
	p := filepath.Join(t.TempDir(), "room.toml")
	if err := os.WriteFile(p, []byte(builtinText(t, "small-room")), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := LoadScenario(p)
	if err != nil || len(sc.Racks) != 8 || sc.File != p {
		t.Fatalf("from file: %v %+v", err, sc)
	}
	if _, err := LoadScenario(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Fatal("missing file loaded")
	}
}

// checkFieldErr asserts err is a scenario error naming file:line and field with reason.
func checkFieldErr(t *testing.T, err error, file string, line int, field, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s:%d %s", file, line, field)
	}
	if !errors.Is(err, ErrInvalidScenario) {
		t.Errorf("error does not wrap ErrInvalidScenario: %v", err)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("not a *FieldError: %v", err)
	}
	want := fmt.Sprintf("%s:%d: %s: ", file, line, field)
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), reason) {
		t.Fatalf("error\n  %v\nwant it to contain %q and %q", err, want, reason)
	}
}

func TestScenarioErrorsNameFileLineField(t *testing.T) {
	base := builtinText(t, "small-room")
	cases := []struct {
		name         string
		old, new     string
		nth          int
		field        string
		reason       string
		lineOfSubstr string
	}{
		// The second unit's min_speed, typo'd: toml's own position would not say which unit.
		{"typo key in second unit", "min_speed = 0.25", "min_sped = 0.25", 0, "units[1].min_sped", `unknown key "min_sped"`, "min_sped"},
		{"bad value in second unit", "min_speed = 0.25", "min_speed = 1.5", 0, "units[1].min_speed", "must be within 0..0.95 (got 1.5)", "min_speed = 1.5"},
		{"wrong type in second unit", "coil_kw = 70.0", `coil_kw = "big"`, 0, "units[1].coil_kw", "incompatible types", `coil_kw = "big"`},
		{"typo in an inline sensor table", `rack = "A03", height = 2`, `rak = "A03", height = 2`, 0, "sensors[4].rak", `unknown key "rak"`, `rak = "A03"`},
		{"bad sensor id", "00-17-0d-00-00-38-0b-02/3", "00-17-0D-00-00-38-0b-02/3", 0, "sensors[9].id", "lowercase hex", "00-17-0D"},
		{"unknown event kind", `kind = "sensor_freeze"`, `kind = "sensor_frieze"`, 0, "events[1].kind", `unknown kind "sensor_frieze"`, "sensor_frieze"},
		{"field a kind does not take", `kind = "sensor_freeze"`, "kind = \"sensor_freeze\"\nkw = 3.25", 0, "events[1].kw", `not used by kind "sensor_freeze"`, "kw = 3.25"},
		{"event references a missing unit", `[[events]]`, "[[events]]\nat = 1\nkind = \"unit_trip\"\nunit = \"crah-9\"\n\n[[events]]", 0, "events[0].unit", `no unit named "crah-9"`, `"crah-9"`},
		{"rack in a missing zone", `zone = "row-b"`, `zone = "row-c"`, 3, "racks[7].zone", `no zone named "row-c"`, `"row-c"`},
		{"bad duration string", `duration = "30m"`, `duration = "30 minutes"`, 0, "duration", "bad duration", "30 minutes"},
		{"top-level typo", "mixing = 0.5", "mixin = 0.5", 0, "mixin", `unknown key "mixin"`, "mixin ="},
		{"unknown table", "[noise]", "[noize]", 0, "noize", `unknown key "noize"`, "[noize]"},
		{"tau range reversed", "tau = [40.0, 80.0]", "tau = [80.0, 40.0]", 0, "inlet.tau", "below min", "tau = [80.0, 40.0]"},
		{"coil too big for its air", "coil_kw = 75.0", "coil_kw = 600.0", 0, "units[0].coil_kw", "effectiveness", "coil_kw = 600.0"},
		// Non-finite floats, also where no range check looks (positions) and in arrays and inline tables.
		{"nan position of a rack", "x = 1.5", "x = nan", 1, "racks[6].x", "nan is not a finite number", "x = nan"},
		{"inf position of a unit", "y = 1.2", "y = -inf", 1, "units[1].y", "-inf is not a finite number", "y = -inf"},
		{"inf in a range", "tau = [40.0, 80.0]", "tau = [40.0, +inf]", 0, "inlet.tau[1]", "inf is not a finite number", "tau = [40.0, +inf]"},
		{"nan in a setting", "min_speed = 0.25", "min_speed = nan", 0, "units[1].min_speed", "nan is not a finite number", "min_speed = nan"},
		{"nan under an unknown key", "mixing = 0.5", "mixing = 0.5\nswirl = nan", 0, "swirl", "nan is not a finite number", "swirl = nan"},
		{"nan in an inline table", `rack = "A03", height = 2`, `rack = "A03", height = 2, tilt = -nan`, 0, "sensors[4].tilt", "nan is not a finite number", "tilt = -nan"},
		{"nan in an event", "factor = 1.25", "factor = nan", 0, "events[0].factor", "nan is not a finite number", "factor = nan"},
		// Durations are duration strings: a bare number is refused, with its line.
		{"bare number duration", `duration = "30m"`, "duration = 30", 0, "duration", `bare number 30: write the unit, e.g. "30s"`, "duration = 30"},
		{"bare number event time", `at = "15m"`, "at = 900", 0, "events[1].at", "bare number 900", "at = 900"},
		{"bare number bms timeout", `bms_timeout = "10s"`, "bms_timeout = 10", 1, "units[1].bms_timeout", "bare number 10", "bms_timeout = 10"},
		{"negative duration", `duration = "30m"`, `duration = "-5m"`, 0, "duration", `"-5m" is negative: want a duration from 1s to 168h0m0s`, "-5m"},
		{"event after the end", `at = "20m"`, `at = "40m"`, 0, "events[2].at", "40m0s is after the scenario's end (duration 30m0s)", `at = "40m"`},
		{"duration of the wrong type", `duration = "5m"`, "duration = true", 0, "events[1].duration", "want a duration string", "duration = true"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := replaceNth(t, base, tc.old, tc.new, tc.nth)
			_, err := ParseScenario([]byte(text), "small-room.toml")
			checkFieldErr(t, err, "small-room.toml", lineOf(t, text, tc.lineOfSubstr, 0), tc.field, tc.reason)
		})
	}
}

// A negative or bare-number scenario duration is one error, not one more per event ("within
// 0..-300" for each).
func TestBadDurationIsOneError(t *testing.T) {
	for _, bad := range []string{`duration = "-5m"`, "duration = 1800", `duration = "0s"`} {
		text := replaceNth(t, builtinText(t, "small-room"), `duration = "30m"`, bad, 0)
		_, err := ParseScenario([]byte(text), "s.toml")
		if err == nil {
			t.Fatalf("%s: accepted", bad)
		}
		if n := strings.Count(err.Error(), "plant: "); n != 1 || strings.Contains(err.Error(), "events[") {
			t.Errorf("%s: want one error about duration, got %d:\n%v", bad, n, err)
		}
	}
}

func TestScenarioSyntaxErrorHasLine(t *testing.T) {
	text := replaceNth(t, builtinText(t, "small-room"), `name = "fan-2"`, `name = "fan-2`, 0)
	_, err := ParseScenario([]byte(text), "x.toml")
	var fe *FieldError
	if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidScenario) {
		t.Fatalf("want a *FieldError, got %v", err)
	}
	want := fmt.Sprintf("x.toml:%d: ", lineOf(t, text, `name = "fan-2`, 0))
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "toml: ") {
		t.Fatalf("error %v, want %q", err, want)
	}
}

func TestScenarioReportsAllProblems(t *testing.T) {
	text := builtinText(t, "small-room")
	text = replaceNth(t, text, "rated_fan_kw = 3.0", "rated_fan_kw = -1.0", 1)
	text = replaceNth(t, text, "modbus_id = 2", "modbus_id = 1", 0)
	_, err := ParseScenario([]byte(text), "s.toml")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"units[1].rated_fan_kw: must be within", "units[1].modbus_id: duplicate Modbus unit id 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
}

func TestDurationsAndDefaults(t *testing.T) {
	text := replaceNth(t, builtinText(t, "small-room"), `duration = "30m"`, `duration = "30m0.5s"`, 0)
	sc, err := ParseScenario([]byte(text), "d.toml")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Duration != 1800.5 {
		t.Fatalf("duration %g", sc.Duration)
	}
	u := sc.Units[0]
	if u.CoilTau != 20 || u.Kp != 0.1 || u.Ti != 20 || u.RatedReturnC != 35 || u.BMSTimeout != 10 {
		t.Errorf("unit defaults: %+v", u)
	}
	if sc.Racks[7].Airflow != 0.55 || sc.Racks[0].Airflow != 6.0/(rhoCp*12) {
		t.Errorf("airflow: explicit %g, derived %g", sc.Racks[7].Airflow, sc.Racks[0].Airflow)
	}
	// Duration on an event expands into its ending event.
	var gen []Event
	for _, e := range sc.Events {
		if e.Generated {
			gen = append(gen, e)
		}
	}
	if len(gen) != 1 || gen[0].Kind != EvSensorRevive || gen[0].At != 1200 || gen[0].Sensor != "00-17-0d-00-00-38-0a-03/3" {
		t.Errorf("generated: %+v", gen)
	}
}
