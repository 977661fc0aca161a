package ahu

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestBuiltinProfilesValidate(t *testing.T) {
	for _, n := range BuiltinNames() {
		p, err := Builtin(n)
		if err != nil {
			t.Fatalf("Builtin(%q): %v", n, err)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("builtin %s: %v", n, err)
		}
	}
	if got := BuiltinNames(); !reflect.DeepEqual(got, []string{"crah-generic", "vfd-fan"}) {
		t.Errorf("BuiltinNames = %v", got)
	}
	_, err := Builtin("crah-special")
	if !errors.Is(err, ErrUnknownProfile) || !strings.Contains(err.Error(), "crah-special") {
		t.Errorf("Builtin(unknown) = %v, want ErrUnknownProfile naming it", err)
	}
	// A caller changing its copy must not change the shipped table.
	p, _ := Builtin("crah-generic")
	p.Points[0].Addr = 99
	st, _ := p.Point(RoleStatus)
	st.Bits[BitRunning] = 7
	q, _ := Builtin("crah-generic")
	if q.Points[0].Addr == 99 {
		t.Error("Builtin shares its points")
	}
	if st, _ := q.Point(RoleStatus); st.Bits[BitRunning] != 0 {
		t.Error("Builtin shares its bit maps")
	}
}

// TestBuiltinMatchesSpec checks every point of both built-in profiles against the tables of
// crah-modbus.md.
func TestBuiltinMatchesSpec(t *testing.T) {
	type row struct {
		role   Role
		table  Table
		addr   uint16
		typ    Type
		order  WordOrder
		scale  float64
		writes bool
	}
	spec := map[string][]row{
		"crah-generic": {
			{RoleReturnTemp, TableInput, 0, Int16, ABCD, 0.1, false},
			{RoleSupplyTemp, TableInput, 1, Int16, ABCD, 0.1, false},
			{RoleFanFeedback, TableInput, 2, Uint16, ABCD, 0.1, false},
			{RoleValveFeedback, TableInput, 3, Uint16, ABCD, 0.1, false},
			{RoleStatus, TableInput, 4, Uint16, ABCD, 1, false},
			{RoleAlarmCode, TableInput, 5, Uint16, ABCD, 1, false},
			{RoleFanPower, TableInput, 6, Float32, ABCD, 1, false},
			{RoleCoolingPower, TableInput, 8, Float32, CDAB, 1, false},
			{RoleRemoteEnable, TableHolding, 0, Uint16, ABCD, 1, true},
			{RoleBMSTimeout, TableHolding, 1, Uint16, ABCD, 1, true},
			{RoleFallbackFan, TableHolding, 2, Uint16, ABCD, 0.1, true},
			{RoleLocalSupplySP, TableHolding, 3, Int16, ABCD, 0.1, true},
			{RoleMinFan, TableHolding, 4, Uint16, ABCD, 0.1, true},
			{RoleOwner, TableHolding, 10, Uint16, ABCD, 1, true},
			{RoleEpoch, TableHolding, 11, Uint16, ABCD, 1, true},
			{RoleHeartbeat, TableHolding, 12, Uint16, ABCD, 1, true},
			{RoleFanCmd, TableHolding, 13, Uint16, ABCD, 0.1, true},
			{RoleValveCmd, TableHolding, 14, Uint16, ABCD, 0.1, true},
			{RoleFencing, TableHolding, 15, Uint16, ABCD, 1, true},
		},
		"vfd-fan": {
			{RoleControlWord, TableHolding, 0, Uint16, ABCD, 1, true},
			{RoleSpeedRef, TableHolding, 1, Uint16, ABCD, 0.005, true},
			{RoleStatusWord, TableHolding, 2, Uint16, ABCD, 1, false},
			{RoleActualSpeed, TableHolding, 3, Int16, ABCD, 0.005, false},
			{RoleFanPower, TableHolding, 4, Float32, CDAB, 1, false},
			{RoleCommLossTimeout, TableHolding, 6, Uint16, ABCD, 0.1, true},
			{RoleCommLossAction, TableHolding, 7, Uint16, ABCD, 1, true},
			{RoleFallbackSpeed, TableHolding, 8, Uint16, ABCD, 0.005, true},
		},
	}
	for name, rows := range spec {
		p, _ := Builtin(name)
		if len(p.Points) != len(rows) {
			t.Errorf("%s: %d points, spec has %d", name, len(p.Points), len(rows))
		}
		for _, r := range rows {
			pt, ok := p.Point(r.role)
			if !ok {
				t.Errorf("%s: no %s point", name, r.role)
				continue
			}
			got := row{pt.Role, pt.Table, pt.Addr, pt.Type, pt.Order, pt.Scale, pt.Writable}
			if got != r {
				t.Errorf("%s %s: got %+v, spec %+v", name, r.role, got, r)
			}
		}
	}
	crah, _ := Builtin("crah-generic")
	st, _ := crah.Point(RoleStatus)
	if want := map[string]uint8{"running": 0, "alarm": 1, "fallback": 2, "fan_fault": 3, "remote": 4}; !reflect.DeepEqual(st.Bits, want) {
		t.Errorf("crah status bits %v, want %v", st.Bits, want)
	}
	vfd, _ := Builtin("vfd-fan")
	sw, _ := vfd.Point(RoleStatusWord)
	if sw.Bits[BitRunning] != 0 || sw.Bits[BitFanFault] != 1 || sw.Bits[BitFallback] != 2 {
		t.Errorf("vfd status bits %v", sw.Bits)
	}
}

// TestDecodeEveryTypeAndOrder pins the wire layout of each type in each word order with
// hand-computed register values, and checks Encode is the inverse.
func TestDecodeEveryTypeAndOrder(t *testing.T) {
	cases := []struct {
		typ   Type
		order WordOrder
		words []uint16
		want  float64
	}{
		{Int16, ABCD, []uint16{0xFFFB}, -5},
		{Int16, CDAB, []uint16{0xFFFB}, -5},
		{Int16, BADC, []uint16{0xFBFF}, -5},
		{Int16, DCBA, []uint16{0xFBFF}, -5},
		{Uint16, ABCD, []uint16{0x1234}, 0x1234},
		{Uint16, CDAB, []uint16{0x1234}, 0x1234},
		{Uint16, BADC, []uint16{0x3412}, 0x1234},
		{Uint16, DCBA, []uint16{0x3412}, 0x1234},
		{Int32, ABCD, []uint16{0xFFFF, 0xFFFE}, -2},
		{Int32, CDAB, []uint16{0xFFFE, 0xFFFF}, -2},
		{Int32, BADC, []uint16{0xFFFF, 0xFEFF}, -2},
		{Int32, DCBA, []uint16{0xFEFF, 0xFFFF}, -2},
		{Uint32, ABCD, []uint16{0x0102, 0x0304}, 0x01020304},
		{Uint32, CDAB, []uint16{0x0304, 0x0102}, 0x01020304},
		{Uint32, BADC, []uint16{0x0201, 0x0403}, 0x01020304},
		{Uint32, DCBA, []uint16{0x0403, 0x0201}, 0x01020304},
		{Float32, ABCD, []uint16{0x3FC0, 0x0000}, 1.5}, // 1.5 = 0x3FC00000
		{Float32, CDAB, []uint16{0x0000, 0x3FC0}, 1.5},
		{Float32, BADC, []uint16{0xC03F, 0x0000}, 1.5},
		{Float32, DCBA, []uint16{0x0000, 0xC03F}, 1.5},
		{Float32, ABCD, []uint16{0xC148, 0x0000}, -12.5}, // -12.5 = 0xC1480000
		{Float32, DCBA, []uint16{0x0000, 0x48C1}, -12.5},
	}
	for _, c := range cases {
		p := Point{Name: "x", Type: c.typ, Order: c.order, Scale: 1, Min: math.Inf(-1), Max: math.Inf(1)}
		got, err := p.Decode(c.words)
		if err != nil || got != c.want {
			t.Errorf("%s %s Decode(%04x) = %v, %v; want %v", c.typ, c.order, c.words, got, err, c.want)
		}
		w, err := p.Encode(c.want)
		if err != nil || !reflect.DeepEqual(w, c.words) {
			t.Errorf("%s %s Encode(%v) = %04x, %v; want %04x", c.typ, c.order, c.want, w, err, c.words)
		}
	}
	// Scale and offset: raw 250 with scale 0.1 and offset -40 is -15.
	p := Point{Name: "t", Type: Int16, Order: ABCD, Scale: 0.1, Offset: -40, Min: -40, Max: 80}
	if v, _ := p.Decode([]uint16{250}); math.Abs(v-(-15)) > 1e-9 {
		t.Errorf("scaled decode = %v, want -15", v)
	}
	if w, _ := p.Encode(-15); w[0] != 250 {
		t.Errorf("scaled encode = %v, want 250", w)
	}
	if _, err := p.Decode([]uint16{1, 2}); !errors.Is(err, ErrShortReply) {
		t.Errorf("Decode with 2 words for int16: %v", err)
	}
}

func TestEncodeRefusesBadValues(t *testing.T) {
	fan := Point{Name: "fan speed command", Table: TableHolding, Addr: 13, Type: Uint16, Order: ABCD, Scale: 0.1, Min: 0, Max: 100}
	wide := Point{Name: "wide", Type: Int16, Order: ABCD, Scale: 1, Min: math.Inf(-1), Max: math.Inf(1)}
	f32 := Point{Name: "f", Type: Float32, Order: ABCD, Scale: 1, Min: math.Inf(-1), Max: math.Inf(1)}
	for _, c := range []struct {
		p    Point
		v    float64
		want string
	}{
		{fan, math.NaN(), "NaN"},
		{fan, 100.1, "outside limits 0..100"},
		{fan, -0.1, "outside limits"},
		{wide, 40000, "outside int16 range"},
		{wide, -32769, "outside int16 range"},
		{f32, 1e39, "does not fit float32"},
	} {
		_, err := c.p.Encode(c.v)
		if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.p.Name) {
			t.Errorf("Encode(%s, %v) = %v; want ErrBadValue naming the point and %q", c.p.Name, c.v, err, c.want)
		}
	}
	if w, err := wide.Encode(-32768); err != nil || w[0] != 0x8000 {
		t.Errorf("Encode(-32768) = %v, %v", w, err)
	}
}

func TestValidateProblems(t *testing.T) {
	base := func() *Profile { p, _ := Builtin("crah-generic"); return p }
	cases := []struct {
		name   string
		change func(p *Profile)
		want   string
	}{
		{"overlap", func(p *Profile) { p.Points[6].Addr = 7 }, `overlaps point`},
		{"bad type", func(p *Profile) { p.Points[0].Type = 9 }, "want int16, uint16"},
		{"bad order", func(p *Profile) { p.Points[0].Order = 0 }, "word order"},
		{"writable input", func(p *Profile) { p.Points[0].Writable = true }, "input register cannot be writable"},
		{"missing role", func(p *Profile) { p.Points[0].Role = "" }, "needs a point with role return_temp"},
		{"unknown role", func(p *Profile) { p.Points[0].Role = "return_tmp" }, `unknown role "return_tmp"`},
		{"dup role", func(p *Profile) { p.Points[1].Role = RoleReturnTemp }, "already taken"},
		{"vfd role in crah", func(p *Profile) { p.Points[5].Role = RoleSpeedRef }, "does not belong to a crah profile"},
		{"zero scale", func(p *Profile) { p.Points[0].Scale = 0 }, "scale 0"},
		{"limits", func(p *Profile) { p.Points[0].Min = 90 }, "want min <= max"},
		{"bit meaning", func(p *Profile) { pt, _ := p.Point(RoleStatus); pt.Bits["smoke"] = 6 }, `bit meaning "smoke"`},
		{"bit too high", func(p *Profile) { pt, _ := p.Point(RoleStatus); pt.Bits["alarm"] = 16 }, "does not fit uint16"},
		{"command gap", func(p *Profile) { pt, _ := p.Point(RoleValveCmd); pt.Addr = 16 }, "adjacent"},
		{"read-only command", func(p *Profile) { pt, _ := p.Point(RoleFanCmd); pt.Writable = false }, "must be a writable holding register"},
		{"scaled owner", func(p *Profile) { pt, _ := p.Point(RoleOwner); pt.Scale = 0.1 }, "16-bit integer with scale 1"},
		{"kind", func(p *Profile) { p.Kind = "chiller" }, `kind "chiller"`},
		{"dup name", func(p *Profile) { p.Points[1].Name = p.Points[0].Name }, "name used twice"},
	}
	for _, c := range cases {
		p := base()
		c.change(p)
		err := p.Validate()
		if !errors.Is(err, ErrInvalidProfile) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate = %v; want ErrInvalidProfile containing %q", c.name, err, c.want)
		}
	}
	p, _ := Builtin("vfd-fan")
	cw, _ := p.Point(RoleControlWord)
	delete(cw.Bits, BitRun)
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "bits.run") {
		t.Errorf("vfd without run bit: %v", err)
	}
}

const customTOML = `
# A CRAH with a vendor map: 32-bit temperatures in DCBA, a status bank away from the rest.
[profile.acme-crah]
kind = "crah"
description = "ACME CW-40"

[profile.acme-crah.point.return]
role = "return_temp"
table = "input"
addr = 100
type = "int32"
order = "DCBA"
scale = 0.01
min = -40
max = 80

[profile.acme-crah.point.supply]
role = "supply_temp"
table = "input"
addr = 102
type = "float32"
order = "badc"

[profile.acme-crah.point.fan]
role = "fan_feedback"
table = "input"
addr = 104
type = "uint16"
scale = 0.1

[profile.acme-crah.point.status]
role = "status"
table = "input"
addr = 200
type = "uint16"
bits = { running = 3, fallback = 5, remote = 0 }

[profile.acme-crah.point.remote]
role = "remote_enable"
table = "holding"
addr = 0
type = "uint16"
writable = true
min = 0
max = 1

[profile.acme-crah.point.timeout]
role = "bms_timeout"
table = "holding"
addr = 1
type = "uint16"
writable = true

[profile.acme-crah.point.heartbeat]
role = "heartbeat"
table = "holding"
addr = 20
type = "uint16"
writable = true

[profile.acme-crah.point.fan-cmd]
role = "fan_cmd"
table = "holding"
addr = 21
type = "uint16"
scale = 0.01
writable = true
min = 0
max = 100

[profile.acme-crah.point.valve-cmd]
role = "valve_cmd"
table = "holding"
addr = 22
type = "uint16"
scale = 0.01
writable = true
min = 0
max = 100

[profile.acme-crah.point.serial]
table = "holding"
addr = 40
type = "uint32"
`

func TestParseProfilesCustom(t *testing.T) {
	ps, err := ParseProfiles([]byte(customTOML), "site.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Name != "acme-crah" || ps[0].Kind != KindCRAH || ps[0].Description != "ACME CW-40" {
		t.Fatalf("got %+v", ps)
	}
	p := ps[0]
	ret, _ := p.Point(RoleReturnTemp)
	if ret.Name != "return" || ret.Type != Int32 || ret.Order != DCBA || ret.Scale != 0.01 || ret.Min != -40 || ret.Max != 80 || ret.Writable {
		t.Errorf("return point %+v", ret)
	}
	sup, _ := p.Point(RoleSupplyTemp)
	if sup.Order != BADC || sup.Scale != 1 || !math.IsInf(sup.Max, 1) {
		t.Errorf("supply point defaults %+v", sup)
	}
	st, _ := p.Point(RoleStatus)
	if !reflect.DeepEqual(st.Bits, map[string]uint8{"running": 3, "fallback": 5, "remote": 0}) {
		t.Errorf("status bits %v", st.Bits)
	}
	for i := 1; i < len(p.Points); i++ {
		a, b := p.Points[i-1], p.Points[i]
		if a.Table > b.Table || a.Table == b.Table && a.Addr > b.Addr {
			t.Errorf("points not sorted: %s before %s", a.String(), b.String())
		}
	}
}

func TestParseProfilesErrors(t *testing.T) {
	head := "[profile.x]\nkind = \"vfd\"\n"
	okVFD := head + `
[profile.x.point.cw]
role = "control_word"
table = "holding"
addr = 0
type = "uint16"
writable = true
bits = { run = 0 }
[profile.x.point.ref]
role = "speed_ref"
table = "holding"
addr = 1
type = "uint16"
scale = 0.005
writable = true
[profile.x.point.sw]
role = "status_word"
table = "holding"
addr = 2
type = "uint16"
[profile.x.point.speed]
role = "actual_speed"
table = "holding"
addr = 3
type = "int16"
scale = 0.005
[profile.x.point.tmo]
role = "comm_loss_timeout"
table = "holding"
addr = 6
type = "uint16"
scale = 0.1
writable = true
`
	if _, err := ParseProfiles([]byte(okVFD), "ok.toml"); err != nil {
		t.Fatalf("base vfd profile: %v", err)
	}
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"unknown field", okVFD + "[profile.x.point.extra]\ntable = \"holding\"\naddr = 9\ntype = \"uint16\"\nsclae = 2\n",
			[]string{"bad.toml", `profile "x" point "extra"`, `unknown key "sclae"`}},
		{"unknown profile key", okVFD + "[profile.x.vendor]\nname = 1\n", []string{`profile "x"`, `unknown key "vendor"`}},
		{"unknown top key", "colour = 1\n" + okVFD, []string{`unknown key "colour"`}},
		{"bad type", strings.Replace(okVFD, `type = "int16"`, `type = "int17"`, 1),
			[]string{`profile "x" point "speed" field "type"`, `"int17"`}},
		{"bad order", strings.Replace(okVFD, `addr = 3`, "addr = 3\norder = \"ADBC\"", 1),
			[]string{`point "speed" field "order"`, "ADBC"}},
		{"addr string", strings.Replace(okVFD, `addr = 3`, `addr = "three"`, 1),
			[]string{`point "speed" field "addr"`, `want an integer, got string "three"`}},
		{"addr range", strings.Replace(okVFD, `addr = 3`, `addr = 70000`, 1),
			[]string{`point "speed" field "addr"`, "0..65535"}},
		{"addr missing", strings.Replace(okVFD, "addr = 3\n", "", 1), []string{`point "speed" field "addr": missing`}},
		{"scale string", strings.Replace(okVFD, `scale = 0.1`, `scale = "0.1"`, 1), []string{`point "tmo" field "scale"`}},
		{"writable string", strings.Replace(okVFD, "addr = 6\ntype = \"uint16\"\nscale = 0.1\nwritable = true", "addr = 6\ntype = \"uint16\"\nscale = 0.1\nwritable = \"yes\"", 1),
			[]string{`point "tmo" field "writable"`}},
		{"bits not table", strings.Replace(okVFD, "bits = { run = 0 }", "bits = 3", 1), []string{`point "cw" field "bits"`}},
		{"bit value", strings.Replace(okVFD, "bits = { run = 0 }", "bits = { run = 40 }", 1), []string{`field "bits.run"`}},
		{"point not table", head + "point = 3\n", []string{`profile "x" point: want a table, got integer`}},
		{"overlap", okVFD + "[profile.x.point.power]\nrole = \"fan_power\"\ntable = \"holding\"\naddr = 3\ntype = \"float32\"\n",
			[]string{"overlaps point", `"power" (holding 3..4)`, `"speed" (holding 3..3)`}},
		{"writable input", okVFD + "[profile.x.point.p]\ntable = \"input\"\naddr = 3\ntype = \"uint16\"\nwritable = true\n",
			[]string{`profile "x"`, `point "p"`, "input register cannot be writable"}},
		{"missing role", strings.Replace(okVFD, `role = "actual_speed"`, ``, 1), []string{`profile "x"`, "needs a point with role actual_speed"}},
		{"unknown role", strings.Replace(okVFD, `role = "actual_speed"`, `role = "speed"`, 1), []string{`point "speed" field "role": unknown role "speed"`}},
		{"kind missing", strings.Replace(okVFD, "kind = \"vfd\"\n", "", 1), []string{`profile "x" field "kind": missing`}},
		{"builtin name", strings.ReplaceAll(okVFD, "profile.x", "profile.vfd-fan"), []string{"taken by a built-in"}},
		{"no profiles", "# nothing\n", []string{"no [profile.NAME] tables"}},
		{"syntax", "[profile.x\n", []string{"bad.toml", "line 2"}},
	}
	for _, c := range cases {
		ps, err := ParseProfiles([]byte(c.doc), "bad.toml")
		if err == nil {
			t.Errorf("%s: no error, got %d profiles", c.name, len(ps))
			continue
		}
		if !errors.Is(err, ErrInvalidProfile) || ps != nil {
			t.Errorf("%s: %v (profiles %v): want ErrInvalidProfile and no profiles", c.name, err, ps)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
}

// Every nan or inf is refused with the file, its line and the field, wherever it is: a limit,
// a scale, an inline table, an unknown key. (A max of +inf used to be taken as "no limit".)
func TestParseProfilesNonFinite(t *testing.T) {
	doc := `[profile.x]
kind = "vfd"
[profile.x.point.ref]
role = "speed_ref"
table = "holding"
addr = 1
type = "uint16"
scale = 0.005
writable = true
min = 0
max = 100
bits = { run = 0 }
`
	lineOf := func(text, s string) int { return strings.Count(text[:strings.Index(text, s)], "\n") + 1 }
	cases := []struct{ old, new, want string }{
		{"max = 100", "max = inf", `profile "x" point "ref" field "max": inf is not a finite number`},
		{"min = 0", "min = -inf", `profile "x" point "ref" field "min": -inf is not a finite number`},
		{"scale = 0.005", "scale = nan", `profile "x" point "ref" field "scale": nan is not a finite number`},
		{"addr = 1", "addr = +nan", `profile "x" point "ref" field "addr": nan is not a finite number`},
		{"bits = { run = 0 }", "bits = { run = inf }", `profile "x" point "ref" field "bits.run": inf is not a finite number`},
		{"writable = true", "writable = true\nsclae = nan", `profile "x" point "ref" field "sclae": nan is not a finite number`},
		{`kind = "vfd"`, "kind = nan", `profile "x" field "kind": nan is not a finite number`},
		{"[profile.x]", "colour = -nan\n[profile.x]", `key "colour": nan is not a finite number`},
	}
	for _, c := range cases {
		text := strings.Replace(doc, c.old, c.new, 1)
		ps, err := ParseProfiles([]byte(text), "bad.toml")
		if err == nil || !errors.Is(err, ErrInvalidProfile) || ps != nil {
			t.Errorf("%s: got %v, %v; want ErrInvalidProfile", c.new, ps, err)
			continue
		}
		var bad string // the line of c.new with the non-finite value
		for _, l := range strings.Split(c.new, "\n") {
			if strings.Contains(l, "nan") || strings.Contains(l, "inf") {
				bad = l
			}
		}
		want := fmt.Sprintf("bad.toml: line %d: %s", lineOf(text, bad), c.want)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error\n  %v\nwant it to contain\n  %s", c.new, err, want)
		}
	}
	// Several are all reported, each on its own line.
	text := strings.Replace(strings.Replace(doc, "max = 100", "max = inf", 1), "min = 0", "min = nan", 1)
	_, err := ParseProfiles([]byte(text), "bad.toml")
	for _, w := range []string{fmt.Sprintf("line %d:", lineOf(text, "max = inf")), fmt.Sprintf("line %d:", lineOf(text, "min = nan"))} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("two bad values: %v lacks %q", err, w)
		}
	}
}

func FuzzParseProfiles(f *testing.F) {
	f.Add([]byte(customTOML))
	f.Add([]byte("[profile.x]\nkind=\"vfd\"\n[profile.x.point.a]\ntable=\"holding\"\naddr=65535\ntype=\"float32\"\n"))
	f.Add([]byte("[profile.x.point]\na=1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseProfiles(data, "fuzz.toml")
		if err != nil {
			if ps != nil {
				t.Fatal("profiles returned with an error")
			}
			return
		}
		for _, p := range ps {
			if err := p.Validate(); err != nil {
				t.Fatalf("parsed profile does not validate: %v", err)
			}
			u := NewUnit(newFake(1), 1, p)
			if u.err != nil {
				t.Fatalf("NewUnit: %v", u.err)
			}
		}
	})
}
