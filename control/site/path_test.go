package site

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func loadSmall(t testing.TB) *Config {
	t.Helper()
	c, err := Load("testdata/small.toml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func encoded(t testing.TB, c *Config) string {
	t.Helper()
	b, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSetPaths(t *testing.T) {
	id1, id4 := "00-17-0d-00-00-38-0a-1f/1", "00-17-0d-00-00-38-0a-21/4"
	cases := []struct {
		line  string
		check func(c *Config) bool
	}{
		{"control.setpoint_c 24", func(c *Config) bool { return c.Control.SetpointC == 24 }},
		{"control setpoint_c 24.5", func(c *Config) bool { return c.Control.SetpointC == 24.5 }},
		{"unit crah-1 min_fan_pct 35", func(c *Config) bool { return c.Unit("crah-1").MinFanPct == 35 }},
		{"unit.crah-1.min_fan_pct 36", func(c *Config) bool { return c.Unit("crah-1").MinFanPct == 36 }},
		{"unit crah-1 bms_timeout 20s", func(c *Config) bool { return c.Unit("crah-1").BMSTimeout.Duration == 20*time.Second }},
		{"unit crah-1 fencing true", func(c *Config) bool { return c.Unit("crah-1").Fencing }},
		{"unit crah-1 manual_fan_pct 50", func(c *Config) bool { p := c.Unit("crah-1").ManualFanPct; return p != nil && *p == 50 }},
		{"unit crah-1 fan_tuning kp 3", func(c *Config) bool {
			ft := c.Unit("crah-1").FanTuning
			// The other gains start from the site-wide tuning, not from zero (ti 0 = no integral).
			return ft != nil && ft.Kp == 3 && ft.Ti == c.Control.FanTuning.Ti && ft.Method == "manual"
		}},
		{"unit.crah-1.fan_tuning.td_s 2", func(c *Config) bool { return c.Unit("crah-1").FanTuning.Td == 2 }},
		{"zone row-a sensors add " + id4, func(c *Config) bool { return slices.Contains(c.Zones[0].Sensors, id4) }},
		{"zone row-a sensors remove " + id1, func(c *Config) bool { return !slices.Contains(c.Zones[0].Sensors, id1) && len(c.Zones[0].Sensors) == 2 }},
		{"zone row-a sensors " + id1 + "," + id4, func(c *Config) bool { return slices.Equal(c.Zones[0].Sensors, []string{id1, id4}) }},
		{"zone row-a influence crah-1 0.6", func(c *Config) bool { return c.Zones[0].Influence["crah-1"] == 0.6 }},
		{"zone row-a aggregate p90", func(c *Config) bool { return c.Zones[0].Aggregate == "p90" }},
		{"unit crah-3 line bms", func(c *Config) bool {
			u := c.Unit("crah-3")
			return u != nil && u.Line == "bms" && u.MinFanPct == 30 && u.Profile == "crah-generic" && u.BMSTimeout.Duration == 10*time.Second
		}},
		{"line bms2 target tcp://127.0.0.1:5021", func(c *Config) bool {
			l := c.Line("bms2")
			return l != nil && l.Timeout.Duration == 500*time.Millisecond
		}},
		{"sensor " + id1 + " rack R12", func(c *Config) bool {
			return len(c.Sensors) == 1 && c.Sensors[0].ID == id1 && c.Sensors[0].Rack == "R12"
		}},
		{"site room-2", func(c *Config) bool { return c.Site == "room-2" }},
		{"node_id 7", func(c *Config) bool { return c.NodeID == 7 }},
		{"mesh baud 57600", func(c *Config) bool { return c.Mesh.Baud == 57600 }},
		{"unit crah-1 name crah-10", func(c *Config) bool { return c.Unit("crah-10") != nil && c.Unit("crah-1") == nil }},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			c := loadSmall(t)
			if err := c.Set(strings.Fields(tc.line)); err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("set %s did not take: %s", tc.line, encoded(t, c))
			}
			if _, err := c.Clone(); err != nil {
				t.Fatalf("edited config does not round-trip: %v", err)
			}
		})
	}
}

func TestSetErrorsSayWhatIsExpected(t *testing.T) {
	cases := []struct{ line, want string }{
		{"unit crah-9 min_fan_pct 35", "unit crah-9: no such unit (units: crah-1, crah-2); to add one: set unit crah-9 line LINE"},
		{"unit crah-1 min_fan_pct abc", `unit crah-1 min_fan_pct: "abc" is not a number`},
		{"unit crah-1 min_fan 35", `unit crah-1: no field "min_fan" (fields: name, line, unit_id, profile, min_fan_pct,`},
		{"unit crah-1 min_fna_pct 35", "did you mean min_fan_pct?"},
		{"unit crah-1 unit_id 3.5", `unit crah-1 unit_id: "3.5" is not a whole number`},
		{"unit crah-1 unit_id 99999999999999999999", `"99999999999999999999" is out of range`},
		{"unit crah-1 bms_timeout 2sec", `unit crah-1 bms_timeout: "2sec" is not a duration (expected e.g. 2s, 500ms, 5m)`},
		{"unit crah-1 bms_timeout -2s", `"-2s" is negative`},
		{"unit crah-1 fencing maybe", `unit crah-1 fencing: "maybe" is not true or false`},
		{"unit crah-1 min_fan_pct NaN", `"NaN" is not a finite number`},
		{"control.setpoint_c", "control setpoint_c: missing value (expected a number)"},
		{"unit crah-1 min_fan_pct 1 2", `unit crah-1 min_fan_pct: one value expected, got 2 words "1 2"`},
		{"", "missing path (fields: site, node_id, control, mesh, line, unit, zone, sensor, board, http, alarms, bms, pair, profiles)"},
		{"unit", "unit: missing unit name (units: crah-1, crah-2)"},
		{"control", "control: missing field (fields: period, setpoint_c,"},
		{"control..setpoint_c 3", "control: empty path element"},
		{"zone row-a sensors add 00-17-0d-00-00-38-0a-1f/1", `zone row-a sensors: "00-17-0d-00-00-38-0a-1f/1" is already listed`},
		{"zone row-a sensors remove nope", `zone row-a sensors: "nope" is not listed (sensors: 00-17-0d-00-00-38-0a-1f/1,`},
		{"zone row-a sensors add", "zone row-a sensors: add: missing value"},
		{"zone row-a influence", "zone row-a influence: missing key (expected: KEY VALUE)"},
		{"zone row-a influence crah-1 lots", `zone row-a influence crah-1: "lots" is not a number`},
		{"unit crah-1 name crah-2", `unit crah-1 name: unit "crah-2" already exists`},
		{"unit crah-1 name \"\"", ""}, // handled below with an empty word
		{"zone row-b setpoint_c 22", "zone row-b: no such zone (zones: row-a); to add one: set zone row-b units add UNIT"},
	}
	for _, tc := range cases {
		if tc.want == "" {
			continue
		}
		t.Run(tc.line, func(t *testing.T) {
			c := loadSmall(t)
			before := encoded(t, c)
			err := c.Set(strings.Fields(tc.line))
			var pe *PathError
			if !errors.As(err, &pe) || !errors.Is(err, ErrPath) {
				t.Fatalf("got %v, want a *PathError", err)
			}
			msg := pe.Msg
			if pe.Path != "" {
				msg = pe.Path + ": " + pe.Msg
			}
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("message\n  %q\ndoes not contain\n  %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Fatalf("message is not one line: %q", msg)
			}
			if encoded(t, c) != before {
				t.Fatal("a failed set changed the configuration")
			}
		})
	}
	c := loadSmall(t)
	if err := c.Set([]string{"unit", "crah-1", "name", ""}); err == nil || !strings.Contains(err.Error(), "needs a name") {
		t.Fatalf("empty rename: %v", err)
	}
}

func TestDelete(t *testing.T) {
	c := loadSmall(t)
	steps := []struct {
		line  string
		check func(c *Config) bool
	}{
		{"unit crah-2", func(c *Config) bool { return c.Unit("crah-2") == nil && len(c.Units) == 1 }},
		{"zone row-a influence crah-2", func(c *Config) bool { _, ok := c.Zones[0].Influence["crah-2"]; return !ok }},
		{"zone row-a sensors 00-17-0d-00-00-38-0a-20/1", func(c *Config) bool { return len(c.Zones[0].Sensors) == 2 }},
		{"unit crah-1 manual_fan_pct", func(c *Config) bool { return c.Unit("crah-1").ManualFanPct == nil }},
		{"zone.row-a.influence", func(c *Config) bool { return c.Zones[0].Influence == nil }},
	}
	if err := c.Set(strings.Fields("unit crah-1 manual_fan_pct 40")); err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if err := c.Delete(strings.Fields(s.line)); err != nil {
			t.Fatalf("delete %s: %v", s.line, err)
		}
		if !s.check(c) {
			t.Fatalf("delete %s did not take:\n%s", s.line, encoded(t, c))
		}
	}
	for _, bad := range []struct{ line, want string }{
		{"unit crah-9", "unit crah-9: no such unit (units: crah-1)"},
		{"unit", "unit: name the unit to delete (units: crah-1)"},
		{"unit crah-1 min_fan_pct 3", `unit crah-1 min_fan_pct: unexpected "3" after the field`},
		{"zone row-a influence crah-7", `"crah-7" is not set`},
		{"unit crah-1 fan_tuning kp", "unit crah-1 fan_tuning: is not set"},
	} {
		err := c.Delete(strings.Fields(bad.line))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("delete %s: got %v, want %q", bad.line, err, bad.want)
		}
	}
}

func TestEditChecksTheTouchedField(t *testing.T) {
	c := loadSmall(t)
	orig := encoded(t, c)
	reject := []struct {
		op         Op
		line, want string
	}{
		{OpSet, "unit crah-1 max_fan_pct 20", "unit crah-1 max_fan_pct: 20 is outside 30..100"},
		{OpSet, "unit crah-1 min_fan_pct 120", "unit crah-1 min_fan_pct: 120 is outside 0..100"},
		{OpSet, "control setpoint_c 0", `control setpoint_c: 0 is outside 15..32`},
		{OpSet, "unit crah-1 safe_fan_pct 0", `unit crah-1 safe_fan_pct: 0 is outside 30..100`},
		{OpSet, "unit crah-3 line nope", `unit crah-3 line: "nope" is not a declared line`},
		{OpSet, "zone row-a sensors add 12345", `zone row-a sensors[3]: "12345" is not a sensor id`},
		{OpSet, "zone row-a units add crah-7", `zone row-a units[2]: "crah-7" is not a declared unit`},
		{OpDelete, "zone row-a sensors", "zone row-a sensors: a zone needs at least one sensor"},
		{OpSet, "line bms target udp://x", `line bms target: "udp://x": scheme must be tcp:// or rtu://`},
	}
	for _, r := range reject {
		_, _, err := Edit(c, r.op, strings.Fields(r.line))
		var pe *PathError
		if !errors.As(err, &pe) || pe.Path+": "+pe.Msg != r.want && !strings.HasPrefix(pe.Path+": "+pe.Msg, r.want) {
			t.Errorf("%s: got %v, want %q", r.line, err, r.want)
		}
	}
	next, notes, err := Edit(c, OpSet, strings.Fields("control setpoint_c 30"))
	if err != nil || next.Control.SetpointC != 30 {
		t.Fatalf("setpoint 30: %v", err)
	}
	if len(notes) != 2 || !strings.Contains(notes[1], "control alarm_c: 27 is outside 30..45 (fix before commit)") {
		t.Fatalf("notes %q", notes)
	}
	next, notes, err = Edit(c, OpSet, strings.Fields("unit crah-3 line bms"))
	if err != nil || next.Unit("crah-3") == nil {
		t.Fatalf("new unit: %v", err)
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{"unit crah-3: new unit", "unit crah-3 unit_id: 0 is outside 1..247", "unit crah-3: serves no zone"} {
		if !strings.Contains(joined, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	next, notes, err = Edit(c, OpDelete, strings.Fields("unit crah-2"))
	if err != nil || next.Unit("crah-2") != nil || !strings.Contains(strings.Join(notes, "\n"), `zone row-a units[1]: "crah-2" is not a declared unit`) {
		t.Fatalf("delete unit: %v %q", err, notes)
	}
	// delete puts a field back to its default (and the defaults are those of the loader).
	next, _, err = Edit(c, OpSet, strings.Fields("unit crah-1 min_fan_pct 40"))
	if err != nil {
		t.Fatal(err)
	}
	next, _, err = Edit(next, OpDelete, strings.Fields("unit crah-1 min_fan_pct"))
	if err != nil || next.Unit("crah-1").MinFanPct != 30 {
		t.Fatalf("delete to default: %v %+v", err, next.Unit("crah-1"))
	}
	if encoded(t, c) != orig {
		t.Fatal("Edit changed its input")
	}
}

func TestCompletions(t *testing.T) {
	c := loadSmall(t)
	cases := []struct {
		partial string
		want    []string
	}{
		{"", []string{"site", "node_id", "control", "mesh", "line", "unit", "zone", "sensor", "board", "http", "alarms", "bms", "pair", "profiles"}},
		{"co", []string{"control"}},
		{"unit ", []string{"crah-1", "crah-2"}},
		{"unit crah-1 min_f", []string{"min_fan_pct"}},
		{"unit.crah-1.min_f", []string{"min_fan_pct"}},
		{"unit crah-1 line ", []string{"bms"}},
		{"unit crah-1 profile ", []string{"crah-generic", "vfd-fan"}},
		{"unit crah-1 fencing ", []string{"true", "false"}},
		{"zone row-a sensors ", []string{"add", "remove"}},
		{"zone row-a sensors remove 00-17-0d-00-00-38-0a-2", []string{"00-17-0d-00-00-38-0a-20/1"}},
		{"zone row-a influence ", []string{"crah-1", "crah-2"}},
		{"zone row-a units remove ", []string{"crah-1", "crah-2"}},
		{"zone row-a units add ", nil}, // both units are in already
		{"control fan_tuning ", []string{"kp", "ti_s", "td_s", "date", "method", "data"}},
		{"unit crah-9 ", []string{"line"}}, // a new unit starts with its line
		{"unit crah-9 line ", []string{"bms"}},
		{"zone row-b ", []string{"sensors", "units"}},
		{"nosuch ", nil},
	}
	for _, tc := range cases {
		got := Completions(c, tc.partial)
		if tc.want == nil {
			if len(got) != 0 {
				t.Errorf("%q: got %q, want nothing", tc.partial, got)
			}
			continue
		}
		if len(got) < len(tc.want) || !slices.Equal(got[:len(tc.want)], tc.want) {
			t.Errorf("%q: got %q, want %q first", tc.partial, got, tc.want)
		}
	}
	help := CompletionsHelp(c, []string{"unit", "crah-1", "min_fan_pct", ""}, OpSet)
	if len(help) != 1 || help[0].Word != "<number>" || !strings.Contains(help[0].Help, "fan speed floor") || !strings.Contains(help[0].Help, "(now 30)") {
		t.Fatalf("value help: %+v", help)
	}
	help = CompletionsHelp(c, []string{"unit", "crah-1", ""}, OpDelete)
	if help[len(help)-1].Word != "<cr>" {
		t.Fatalf("delete of an element should offer <cr>: %+v", help)
	}
	for _, h := range CompletionsHelp(c, []string{""}, OpSet) {
		if h.Help == "" {
			t.Errorf("field %s has no help", h.Word)
		}
	}
}

// Every field of every struct reachable from Config has a help line, so `?` never shows a bare name.
func TestEveryFieldHasHelp(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(rt reflect.Type)
	walk = func(rt reflect.Type) {
		if seen[rt] || rt == durationType {
			return
		}
		seen[rt] = true
		for _, f := range fieldsOf(rt) {
			if f.help == "" {
				t.Errorf("%s.%s has no entry in fieldHelp", rt.Name(), f.name)
			}
			ft := f.typ
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				walk(ft)
			}
		}
		for i := 0; i < rt.NumField(); i++ {
			if tag := rt.Field(i).Tag.Get("toml"); tag != "" && tag != "-" && kindOf(rt.Field(i).Type) == kUnsupported {
				t.Errorf("%s.%s (%s) cannot be edited by path", rt.Name(), tag, rt.Field(i).Type)
			}
		}
	}
	walk(reflect.TypeFor[Config]())
}

// Every scalar leaf of the configuration is settable by path (the reflection covers new fields).
func TestEveryLeafSettable(t *testing.T) {
	c := loadSmall(t)
	if err := c.Set(strings.Fields("sensor 00-17-0d-00-00-38-0a-1f/1 rack R1")); err != nil {
		t.Fatal(err)
	}
	sample := func(ft reflect.Type) string {
		if ft == durationType {
			return "7s"
		}
		switch ft.Kind() {
		case reflect.Bool:
			return "true"
		case reflect.String:
			return "x7"
		}
		return "7"
	}
	var walk func(prefix []string, rt reflect.Type)
	n := 0
	walk = func(prefix []string, rt reflect.Type) {
		for _, f := range fieldsOf(rt) {
			p := append(slices.Clone(prefix), f.name)
			ft := f.typ
			switch kindOf(ft) {
			case kScalar, kPtrScalar:
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if f.name == "name" || f.name == "id" {
					continue
				}
				words := append(p, sample(ft))
				if err := c.Set(words); err != nil {
					t.Errorf("set %s: %v", strings.Join(words, " "), err)
					continue
				}
				if got := FormatValue(lookup(c, p)); got != sample(ft) {
					t.Errorf("set %s: reads back %s", strings.Join(words, " "), got)
				}
				n++
			case kStruct, kPtrStruct:
				st := ft
				if st.Kind() == reflect.Pointer {
					st = st.Elem()
				}
				walk(p, st)
			case kList:
				names := elemNames(lookup(c, p))
				walk(append(p, names[0]), ft.Elem())
			}
		}
	}
	walk(nil, reflect.TypeFor[Config]())
	if n < 60 {
		t.Fatalf("only %d leaves set", n)
	}
}

func TestFieldPath(t *testing.T) {
	c := loadSmall(t)
	for in, want := range map[string]string{
		"unit[1](crah-2).min_fan_pct": "unit crah-2 min_fan_pct",
		"line[0].target":              "line bms target",
		"zone[0](row-a).sensors[2]":   "zone row-a sensors[2]",
		"unit(crah-3)":                "unit crah-3",
		"control.fan_tuning.kp":       "control fan_tuning kp",
		"node_id":                     "node_id",
		"unit[7].name":                "unit[7] name",
	} {
		if got := FieldPath(c, in); got != want {
			t.Errorf("FieldPath(%q) = %q, want %q", in, got, want)
		}
	}
	bad := loadSmall(t)
	bad.Units[0].MaxFanPct = 10
	ps := Problems(bad)
	if len(ps) != 1 || ps[0].String() != "unit crah-1 max_fan_pct: 10 is outside 30..100" {
		t.Fatalf("problems %v", ps)
	}
	if Problems(c) != nil {
		t.Fatalf("valid config has problems: %v", Problems(c))
	}
}

func FuzzSetPath(f *testing.F) {
	for _, s := range []string{
		"unit crah-1 min_fan_pct 35", "unit.crah-1.fan_tuning.kp 3", "zone row-a sensors add x",
		"zone row-a influence crah-1 0.5", "unit crah-3 line bms", "control..", "unit ..", ". . .",
		"delete unit crah-1", "sensor a.b.c rack 1", "unit crah-1 name crah-2",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	base := loadSmall(f)
	f.Fuzz(func(t *testing.T, line string, set bool) {
		c, err := base.Clone()
		if err != nil {
			t.Fatal(err)
		}
		words := strings.Fields(line)
		op := OpSet
		if !set {
			op = OpDelete
		}
		next, notes, err := Edit(c, op, words)
		if err != nil {
			if !errors.Is(err, ErrPath) && !errors.Is(err, ErrInvalid) && !strings.HasPrefix(err.Error(), "site: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
		} else {
			if _, err := Encode(next); err != nil {
				t.Fatalf("edited config does not encode: %v", err)
			}
			for _, n := range notes {
				if strings.Contains(n, "\n") {
					t.Fatalf("multi-line note %q", n)
				}
			}
		}
		_ = CompletionsHelp(c, append(words, ""), op)
		if len(words) > 0 {
			_ = CompletionsHelp(c, words, op)
		}
	})
}

func TestEditCarriesControlDefaults(t *testing.T) {
	c, err := Load("testdata/small.toml")
	if err != nil {
		t.Fatal(err)
	}
	c.Zones = append(c.Zones, Zone{Name: "own", Units: []string{"crah-1"}, Sensors: []string{"00-17-0d-00-00-38-0a-21/1"}, SetpointC: 23, MinValid: 1, Aggregate: "max"})
	next, notes, err := Edit(c, OpSet, []string{"control", "setpoint_c", "24"})
	if err != nil {
		t.Fatal(err)
	}
	if next.Zones[0].SetpointC != 24 || next.Zones[1].SetpointC != 23 {
		t.Fatalf("zone setpoints %v, %v: want the follower moved to 24 and the own value kept at 23", next.Zones[0].SetpointC, next.Zones[1].SetpointC)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "zone row-a setpoint_c follows control.setpoint_c") {
		t.Fatalf("notes %q", notes)
	}
	if c.Zones[0].SetpointC != 25 {
		t.Fatal("Edit changed its input")
	}
}
