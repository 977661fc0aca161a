package bms

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The register map in the repository is what the code serves: every table row of
// register-map.md (address, name, type, scale) against Layout, and the constants table against
// the constants, both ways (no row missing from either side).
func TestRegisterMapDocument(t *testing.T) {
	b, err := os.ReadFile("register-map.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{"Header": "header", "Zone block": "zone", "Unit block": "unit", "Alarm block": "alarm", "Constants": "constants"}
	docFields := map[string][]Field{}
	constants := map[string]int{}
	var section string
	rangeRe := regexp.MustCompile(`^(\d+)(?:[–-](\d+))?$`)
	for n, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = ""
			for prefix, name := range sections {
				if strings.HasPrefix(h, prefix) {
					section = name
				}
			}
			continue
		}
		if section == "" || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.HasPrefix(cells[0], "---") || cells[0] == "addr" || cells[0] == "offset" || cells[0] == "constant" {
			continue
		}
		if section == "constants" {
			v, err := strconv.Atoi(cells[1])
			if err != nil {
				t.Fatalf("register-map.md:%d: constant %q", n+1, cells[1])
			}
			constants[cells[0]] = v
			continue
		}
		if len(cells) != 5 {
			t.Fatalf("register-map.md:%d: %d cells, want 5", n+1, len(cells))
		}
		m := rangeRe.FindStringSubmatch(cells[0])
		if m == nil {
			t.Fatalf("register-map.md:%d: address %q", n+1, cells[0])
		}
		lo, _ := strconv.Atoi(m[1])
		hi := lo
		if m[2] != "" {
			hi, _ = strconv.Atoi(m[2])
		}
		docFields[section] = append(docFields[section], Field{Off: lo, Words: hi - lo + 1, Type: cells[2], Scale: cells[3], Name: cells[1]})
	}
	for block, fields := range Layout() {
		doc := docFields[block]
		if fmt.Sprint(doc) != fmt.Sprint(fields) {
			t.Errorf("%s block: register-map.md says\n%v\nthe code serves\n%v", block, doc, fields)
		}
	}
	code := map[string]int{
		"map version": MapVersion, "header base": HeaderBase, "header size": HeaderSize,
		"zone base": ZoneBase, "zone stride": ZoneStride, "zone max": MaxZones,
		"unit base": UnitBase, "unit stride": UnitStride, "unit max": MaxUnits,
		"alarm base": AlarmBase, "alarm stride": AlarmStride, "alarm max": MaxAlarms,
		"image size": Size,
	}
	if fmt.Sprint(constants) != fmt.Sprint(code) {
		t.Errorf("constants: register-map.md says %v, the code %v", constants, code)
	}
	// The header's layout registers say the same as the constants table, as the code serves
	// them, and no block outgrows its stride or overlaps the next.
	for block, stride := range map[string]int{"header": HeaderSize, "zone": ZoneStride, "unit": UnitStride, "alarm": AlarmStride} {
		end := 0
		for _, f := range Layout()[block] {
			if f.Off < end || f.Off+f.Words > stride {
				t.Errorf("%s field %q at %d..%d overlaps or passes the stride %d", block, f.Name, f.Off, f.Off+f.Words-1, stride)
			}
			end = f.Off + f.Words
		}
	}
	// An int16 field's multiplier is its documented scale's inverse.
	checkMult := func(block, name, typ, scale string, mult float64) {
		if typ != tI16 {
			return
		}
		step, err := strconv.ParseFloat(strings.Fields(scale)[0], 64)
		if err != nil || step*mult < 0.999 || step*mult > 1.001 {
			t.Errorf("%s %q: scale %q with multiplier %v", block, name, scale, mult)
		}
	}
	for _, f := range zoneFields {
		checkMult("zone", f.Name, f.Type, f.Scale, f.mult)
	}
	for _, f := range unitFields {
		checkMult("unit", f.Name, f.Type, f.Scale, f.mult)
	}
	for _, f := range headerFields {
		checkMult("header", f.Name, f.Type, f.Scale, f.mult)
	}
	for _, f := range alarmFields {
		checkMult("alarm", f.Name, f.Type, f.Scale, f.mult)
	}
	if HeaderBase+HeaderSize > ZoneBase || ZoneBase+MaxZones*ZoneStride > UnitBase || UnitBase+MaxUnits*UnitStride > AlarmBase {
		t.Error("blocks overlap")
	}
}
