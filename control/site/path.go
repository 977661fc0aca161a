package site

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Path editing: the console's `set PATH VALUE` and `delete PATH`, by reflection over the toml tags of
// Config, so a field added to Config is settable at once (give it a help line in fieldHelp).
//
// A path is a list of words: field names (toml tags), and after a list field (unit, line, zone,
// sensor) the name (or id) of one element. Words may also be joined with dots:
//
//	control setpoint_c 24          control.setpoint_c 24
//	unit crah-1 min_fan_pct 35     unit.crah-1.min_fan_pct 35
//	zone row-a sensors add 00-17-0d-00-00-38-0a-1f/3
//	zone row-a influence crah-1 0.7
//	unit crah-3 line bms           (a new unit, with defaults, when crah-3 does not exist)

// ErrPath is wrapped by every *PathError.
var ErrPath = errors.New("site: bad path")

// PathError says what is wrong with a path or a value, and what is expected.
type PathError struct {
	Path string // the path as far as it was understood, words separated by spaces ("unit crah-9")
	Msg  string // what is wrong and what is expected
}

func (e *PathError) Error() string {
	if e.Path == "" {
		return "site: " + e.Msg
	}
	return "site: " + e.Path + ": " + e.Msg
}

// Unwrap lets errors.Is(err, ErrPath) match.
func (e *PathError) Unwrap() error { return ErrPath }

// Op is the kind of edit.
type Op int

// The edits.
const (
	OpSet    Op = iota // set PATH VALUE
	OpDelete           // delete PATH: an element, a list entry, a map key, or a field back to its default
)

// Completion is one possible next word of a path.
type Completion struct {
	Word string // the word; a placeholder in angle brackets ("<number>", "<cr>") is never inserted
	Help string // one line
	More bool   // more path words follow this one (so a dotted path may go on with ".")
}

// fieldHelp holds the one-line help of every field, keyed by Go type name and toml tag.
// TestEveryFieldHasHelp keeps it complete.
var fieldHelp = map[string]string{
	"Config.site":     "site name, shown in the console prompt",
	"Config.node_id":  "owner id this board writes into the units, 1..65535",
	"Config.control":  "settings shared by every loop",
	"Config.mesh":     "the mesh gateway link",
	"Config.line":     "a Modbus line (serial bus or TCP endpoint), by name",
	"Config.unit":     "an air handler, by name",
	"Config.zone":     "a group of rack inlets and the units serving them, by name",
	"Config.sensor":   "metadata of one sensor, by id",
	"Config.board":    "the appliance hardware",
	"Config.profiles": "custom register-map profiles (raw TOML)",

	"Control.period":           "control period (duration, 100ms..1m)",
	"Control.setpoint_c":       "default zone inlet setpoint, C (15..32)",
	"Control.alarm_c":          "inlet alarm limit, C (setpoint..45)",
	"Control.max_age":          "a reading older than this is stale (duration)",
	"Control.frozen_after":     "a reading unchanged this long is frozen (duration)",
	"Control.valid_min_c":      "lowest plausible inlet reading, C",
	"Control.valid_max_c":      "highest plausible inlet reading, C",
	"Control.low_battery_v":    "a sensor node reporting a lower battery voltage is flagged in show status, V",
	"Control.checkpoint":       "state checkpoint interval (duration, >= 1s)",
	"Control.restore_max_age":  "loop state older than this is not restored at start (duration, 0s..24h)",
	"Control.manual_default":   "how long an operator's manual mode lasts unless told (duration)",
	"Control.manual_max":       "the longest manual mode an operator may ask for (duration)",
	"Control.watchdog":         "hardware watchdog timeout (duration, > bms_timeout)",
	"Control.fan_tuning":       "default zone (fan) loop tuning",
	"Control.valve_tuning":     "default supply-air (valve) loop tuning",
	"Control.supply_sp_c":      "default supply air setpoint, C (10..30)",
	"Control.safe_fan_pct":     "default fail-safe fan speed, %",
	"Control.fan_rate_pct_s":   "default fan rate limit, %/s",
	"Control.valve_rate_pct_s": "default valve rate limit, %/s",

	"Tuning.kp":     "proportional gain, (0..1000]",
	"Tuning.ti_s":   "integral time, s (0 = no integral action)",
	"Tuning.td_s":   "derivative time, s",
	"Tuning.date":   "when the gains were found",
	"Tuning.method": "where the gains came from: manual, relay+simc, relay+amigo",
	"Tuning.data":   "summary of the experiment the gains came from",

	"Mesh.port": "serial device of the mesh gateway",
	"Mesh.baud": "baud rate of the gateway link",

	"Line.name":    "line name (units refer to it)",
	"Line.target":  "tcp://host:port or rtu:///dev/ttyX?baud=19200&parity=E",
	"Line.timeout": "per-request timeout (duration, 10ms..10s, within two fifths of control.period)",

	"Unit.name":             "unit name",
	"Unit.line":             "the Modbus line the unit is on",
	"Unit.unit_id":          "Modbus unit id, 1..247",
	"Unit.profile":          "register-map profile: crah-generic, vfd-fan or custom",
	"Unit.min_fan_pct":      "fan speed floor, % (never commanded below it)",
	"Unit.max_fan_pct":      "fan speed ceiling, %",
	"Unit.safe_fan_pct":     "fail-safe fan speed, % (>= min_fan_pct)",
	"Unit.fan_rate_pct_s":   "fan rate limit, %/s",
	"Unit.min_valve_pct":    "valve floor, %",
	"Unit.max_valve_pct":    "valve ceiling, %",
	"Unit.valve_rate_pct_s": "valve rate limit, %/s",
	"Unit.supply_sp_c":      "supply air setpoint, C (10..30)",
	"Unit.bms_timeout":      "silence after which the unit runs on its own (duration)",
	"Unit.fallback_fan_pct": "fan speed of the unit's own fallback, %",
	"Unit.fencing":          "the unit rejects writes from stale controllers",
	"Unit.fan_tuning":       "this unit's fan loop tuning (default control.fan_tuning)",
	"Unit.valve_tuning":     "this unit's valve loop tuning (default control's)",
	"Unit.manual_fan_pct":   "start in manual at this fan speed, % (delete: auto)",
	"Unit.disabled":         "never written: the unit stays on its own control",

	"Zone.name":       "zone name",
	"Zone.sensors":    "inlet sensors of the zone (add ID, remove ID)",
	"Zone.units":      "units that cool the zone (add UNIT, remove UNIT)",
	"Zone.influence":  "share of the zone's cold air per unit (UNIT 0..1)",
	"Zone.setpoint_c": "zone inlet setpoint, C (15..32)",
	"Zone.min_valid":  "valid sensors needed, else the zone goes fail-safe",
	"Zone.aggregate":  "how the inlets combine: max or pNN (p50..p100)",

	"Sensor.id":     "sensor id like 00-17-0d-00-00-38-0a-1f/2",
	"Sensor.rack":   "rack of the sensor",
	"Sensor.height": "height in the rack",

	"Board.name":             "board profile name",
	"Board.led_role":         "GPIO pin of the role LED (empty: none)",
	"Board.led_health":       "GPIO pin of the health LED (empty: none)",
	"Board.led_field":        "GPIO pin of the field-link LED (empty: none)",
	"Board.led_active_low":   "true if the LEDs light on a low level",
	"Board.relay":            "GPIO pin of the RS-485 bus-transfer relay (empty: none)",
	"Board.relay_active_low": "true if the relay is energised on a low level",
	"Board.watchdog":         "watchdog device, e.g. /dev/watchdog (empty: none)",
	"Board.watchdog_timeout": "watchdog timeout; longer than every bms_timeout",
	"Board.strict":           "true: a missing LED, relay or watchdog is an error",
}

// createBy names, per list, the fields whose `set` may create a missing element, so that a typo in
// the name of an existing element ("set unit crah-9 min_fan_pct 35") is an error, not a new unit.
// A list that is not here creates on any field.
var createBy = map[string]struct {
	fields []string
	hint   string
}{
	"unit": {[]string{"line"}, "set unit %s line LINE"},
	"line": {[]string{"target"}, "set line %s target URL"},
	"zone": {[]string{"units", "sensors"}, "set zone %s units add UNIT"},
}

// ptrDefaults builds the value a nil pointer field starts from when one of its fields is set.
var ptrDefaults = map[string]func(c *Config) reflect.Value{
	"unit.fan_tuning": func(c *Config) reflect.Value {
		t := c.Control.FanTuning
		t.Method, t.Date, t.Data = "manual", "", ""
		return reflect.ValueOf(&t)
	},
	"unit.valve_tuning": func(c *Config) reflect.Value {
		t := c.Control.ValveTuning
		t.Method, t.Date, t.Data = "manual", "", ""
		return reflect.ValueOf(&t)
	},
}

var durationType = reflect.TypeFor[Duration]()

type kind int

const (
	kUnsupported kind = iota
	kScalar           // string, bool, number, Duration
	kStruct
	kPtrStruct
	kPtrScalar
	kList    // []struct, elements addressed by name (or id)
	kStrings // []string
	kMap     // map[string]scalar
)

func isScalar(t reflect.Type) bool {
	if t == durationType {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func kindOf(t reflect.Type) kind {
	if isScalar(t) {
		return kScalar
	}
	switch t.Kind() {
	case reflect.Struct:
		return kStruct
	case reflect.Pointer:
		if isScalar(t.Elem()) {
			return kPtrScalar
		}
		if t.Elem().Kind() == reflect.Struct {
			return kPtrStruct
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct && keyOf(t.Elem()) != nil {
			return kList
		}
		if t.Elem().Kind() == reflect.String {
			return kStrings
		}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && isScalar(t.Elem()) {
			return kMap
		}
	}
	return kUnsupported
}

type field struct {
	name string
	idx  int
	typ  reflect.Type
	help string
}

func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("toml"), ",")
		if name == "" || name == "-" || kindOf(sf.Type) == kUnsupported {
			continue
		}
		out = append(out, field{name: name, idx: i, typ: sf.Type, help: fieldHelp[t.Name()+"."+name]})
	}
	return out
}

func findField(fs []field, name string) (field, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

func fieldNames(fs []field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}

// keyOf returns the field that names the elements of a list of t: "name", else "id".
func keyOf(t reflect.Type) *field {
	for _, want := range []string{"name", "id"} {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if name, _, _ := strings.Cut(sf.Tag.Get("toml"), ","); name == want && sf.Type.Kind() == reflect.String {
				return &field{name: want, idx: i, typ: sf.Type}
			}
		}
	}
	return nil
}

func elemNames(list reflect.Value) []string {
	key := keyOf(list.Type().Elem())
	out := make([]string, list.Len())
	for i := range out {
		out[i] = list.Index(i).Field(key.idx).String()
	}
	return out
}

func plural(noun string) string { return noun + "s" }

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// take splits the first path word at its first dot (dotted paths), returning the head.
func take(words []string) (string, []string) {
	w := words[0]
	if i := strings.IndexByte(w, '.'); i >= 0 {
		return w[:i], append([]string{w[i+1:]}, words[1:]...)
	}
	return w, words[1:]
}

// takeName is take for an element name: in a dotted word, an existing name that itself contains
// dots wins over the split at the first dot.
func takeName(words []string, names []string) (string, []string) {
	w := words[0]
	if strings.IndexByte(w, '.') < 0 {
		return w, words[1:]
	}
	best := ""
	for _, n := range names {
		if (w == n || strings.HasPrefix(w, n+".")) && len(n) > len(best) {
			best = n
		}
	}
	if best == "" {
		return take(words)
	}
	if w == best {
		return best, words[1:]
	}
	return best, append([]string{w[len(best)+1:]}, words[1:]...)
}

// editor walks a path on a Config and applies one edit.
type editor struct {
	root   *Config
	op     Op
	path   []string // canonical words consumed, for messages
	tpath  []string // the same without element names and map keys, for ptrDefaults and value choices
	leaf   []string // canonical path of what the edit touched
	reset  bool     // a delete that puts a value back to its default
	scalar bool     // a set of one scalar value (compared with its defaulted self)
	notes  []string
}

func (e *editor) fail(format string, args ...any) error {
	return &PathError{Path: strings.Join(e.path, " "), Msg: fmt.Sprintf(format, args...)}
}

func (e *editor) touch() { e.leaf = append([]string(nil), e.path...) }

func (e *editor) run(words []string) error {
	return e.structEdit(reflect.ValueOf(e.root).Elem(), words)
}

func (e *editor) structEdit(v reflect.Value, words []string) error {
	fs := fieldsOf(v.Type())
	if len(words) == 0 || (len(words) == 1 && words[0] == "") {
		if len(e.path) == 0 {
			return e.fail("missing path (fields: %s)", strings.Join(fieldNames(fs), ", "))
		}
		if e.op == OpDelete {
			v.Set(reflect.Zero(v.Type()))
			e.touch()
			e.reset = true
			return nil
		}
		return e.fail("missing field (fields: %s)", strings.Join(fieldNames(fs), ", "))
	}
	head, rest := take(words)
	if head == "" {
		return e.fail("empty path element (fields: %s)", strings.Join(fieldNames(fs), ", "))
	}
	f, ok := findField(fs, head)
	if !ok {
		return e.fail("no field %q (fields: %s)%s", head, strings.Join(fieldNames(fs), ", "), didYouMean(head, fieldNames(fs)))
	}
	e.path = append(e.path, f.name)
	e.tpath = append(e.tpath, f.name)
	fv := v.Field(f.idx)
	switch kindOf(f.typ) {
	case kScalar:
		if e.op == OpDelete {
			if len(rest) > 0 && !(len(rest) == 1 && rest[0] == "") {
				return e.fail("unexpected %q after the field (delete puts it back to its default)", strings.Join(rest, " "))
			}
			fv.Set(reflect.Zero(f.typ))
			e.touch()
			e.reset = true
			return nil
		}
		if err := e.parseInto(fv, rest); err != nil {
			return err
		}
		e.touch()
		e.scalar = true
		return e.checkKey(v, f)
	case kStruct:
		return e.structEdit(fv, rest)
	case kPtrStruct:
		if e.op == OpDelete {
			if len(rest) == 0 || (len(rest) == 1 && rest[0] == "") {
				fv.Set(reflect.Zero(f.typ))
				e.touch()
				return nil
			}
			if fv.IsNil() {
				return e.fail("is not set")
			}
			return e.structEdit(fv.Elem(), rest)
		}
		if fv.IsNil() {
			if mk, ok := ptrDefaults[strings.Join(e.tpath, ".")]; ok {
				fv.Set(mk(e.root))
			} else {
				fv.Set(reflect.New(f.typ.Elem()))
			}
		}
		return e.structEdit(fv.Elem(), rest)
	case kPtrScalar:
		if e.op == OpDelete {
			if len(rest) > 0 && !(len(rest) == 1 && rest[0] == "") {
				return e.fail("unexpected %q after the field", strings.Join(rest, " "))
			}
			fv.Set(reflect.Zero(f.typ))
			e.touch()
			return nil
		}
		nv := reflect.New(f.typ.Elem())
		if err := e.parseInto(nv.Elem(), rest); err != nil {
			return err
		}
		fv.Set(nv)
		e.touch()
		return nil
	case kList:
		return e.listEdit(fv, rest, f)
	case kStrings:
		return e.stringsEdit(fv, rest)
	case kMap:
		return e.mapEdit(fv, rest)
	}
	return e.fail("cannot be edited")
}

// checkKey refuses a rename of a top-level element onto a name its list already uses.
func (e *editor) checkKey(elem reflect.Value, f field) error {
	key := keyOf(elem.Type())
	if key == nil || key.idx != f.idx || len(e.tpath) != 2 || len(e.path) != 3 {
		return nil
	}
	root := reflect.ValueOf(e.root).Elem()
	cf, ok := findField(fieldsOf(root.Type()), e.tpath[0])
	if !ok || kindOf(cf.typ) != kList {
		return nil
	}
	newName := elem.Field(f.idx).String()
	if newName == "" {
		return e.fail("a %s needs a name", e.tpath[0])
	}
	n := 0
	for _, name := range elemNames(root.Field(cf.idx)) {
		if name == newName {
			n++
		}
	}
	if n > 1 {
		return e.fail("%s %q already exists", e.tpath[0], newName)
	}
	return nil
}

func (e *editor) listEdit(fv reflect.Value, rest []string, f field) error {
	noun := f.name
	names := elemNames(fv)
	if len(rest) == 0 || (len(rest) == 1 && rest[0] == "") {
		if e.op == OpDelete {
			return e.fail("name the %s to delete (%s: %s)", noun, plural(noun), listOrNone(names))
		}
		return e.fail("missing %s name (%s: %s)", noun, plural(noun), listOrNone(names))
	}
	name, rest := takeName(rest, names)
	if name == "" {
		return e.fail("empty %s name (%s: %s)", noun, plural(noun), listOrNone(names))
	}
	e.path = append(e.path, name)
	idx := -1
	for i, n := range names {
		if n == name {
			idx = i
			break
		}
	}
	if idx < 0 {
		if e.op == OpDelete || !canCreate(noun, rest) {
			msg := fmt.Sprintf("no such %s (%s: %s)", noun, plural(noun), listOrNone(names))
			if cb, ok := createBy[noun]; ok && e.op == OpSet {
				msg += "; to add one: " + fmt.Sprintf(cb.hint, name)
			}
			return e.fail("%s", msg)
		}
		elem := reflect.New(f.typ.Elem()).Elem()
		elem.Field(keyOf(f.typ.Elem()).idx).SetString(name)
		elem = e.elementDefaults(f, elem)
		fv.Set(reflect.Append(fv, elem))
		idx = fv.Len() - 1
		e.notes = append(e.notes, fmt.Sprintf("%s %s: new %s (defaults applied)", noun, name, noun))
	}
	if e.op == OpDelete && (len(rest) == 0 || (len(rest) == 1 && rest[0] == "")) {
		out := reflect.MakeSlice(f.typ, 0, fv.Len()-1)
		out = reflect.AppendSlice(out, fv.Slice(0, idx))
		out = reflect.AppendSlice(out, fv.Slice(idx+1, fv.Len()))
		fv.Set(out)
		e.touch()
		return nil
	}
	return e.structEdit(fv.Index(idx), rest)
}

func canCreate(noun string, rest []string) bool {
	cb, ok := createBy[noun]
	if !ok {
		return true
	}
	if len(rest) == 0 {
		return false
	}
	head, _ := take(rest)
	for _, f := range cb.fields {
		if f == head {
			return true
		}
	}
	return false
}

// elementDefaults gives a new element of a top-level list the defaults ApplyDefaults would give it
// in this configuration (a new unit inherits control.safe_fan_pct and the like).
func (e *editor) elementDefaults(f field, elem reflect.Value) reflect.Value {
	if len(e.tpath) != 1 {
		return elem
	}
	tmp := &Config{Control: e.root.Control}
	tv := reflect.ValueOf(tmp).Elem().Field(f.idx)
	tv.Set(reflect.Append(reflect.MakeSlice(f.typ, 0, 1), elem))
	tmp.ApplyDefaults()
	return tv.Index(0)
}

// splitList splits words on commas and drops empty entries.
func splitList(words []string) []string {
	var out []string
	for _, w := range words {
		for _, p := range strings.Split(w, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func stringsOf(v reflect.Value) []string {
	out := make([]string, v.Len())
	for i := range out {
		out[i] = v.Index(i).String()
	}
	return out
}

func setStrings(v reflect.Value, s []string) {
	if s == nil {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(s), len(s))
	for i, x := range s {
		out.Index(i).SetString(x)
	}
	v.Set(out)
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func (e *editor) stringsEdit(fv reflect.Value, rest []string) error {
	cur := stringsOf(fv)
	name := e.path[len(e.path)-1]
	remove := func(ids []string) error {
		for _, id := range ids {
			i := indexOf(cur, id)
			if i < 0 {
				return e.fail("%q is not listed (%s: %s)", id, name, listOrNone(cur))
			}
			cur = append(cur[:i:i], cur[i+1:]...)
		}
		return nil
	}
	if len(rest) == 1 && rest[0] == "" {
		rest = nil
	}
	if e.op == OpDelete {
		if len(rest) == 0 {
			setStrings(fv, nil)
			e.touch()
			return nil
		}
		if err := remove(splitList(rest)); err != nil {
			return err
		}
		setStrings(fv, cur)
		e.touch()
		return nil
	}
	if len(rest) == 0 {
		return e.fail("missing value (expected: add VALUE, remove VALUE, or the whole list)")
	}
	switch rest[0] {
	case "add":
		ids := splitList(rest[1:])
		if len(ids) == 0 {
			return e.fail("add: missing value")
		}
		for _, id := range ids {
			if indexOf(cur, id) >= 0 {
				return e.fail("%q is already listed", id)
			}
			cur = append(cur, id)
		}
	case "remove":
		ids := splitList(rest[1:])
		if len(ids) == 0 {
			return e.fail("remove: missing value (%s: %s)", name, listOrNone(cur))
		}
		if err := remove(ids); err != nil {
			return err
		}
	default:
		cur = splitList(rest)
	}
	setStrings(fv, cur)
	e.touch()
	return nil
}

func mapKeys(v reflect.Value) []string {
	var out []string
	for _, k := range v.MapKeys() {
		out = append(out, k.String())
	}
	sort.Strings(out)
	return out
}

func (e *editor) mapEdit(fv reflect.Value, rest []string) error {
	name := e.path[len(e.path)-1]
	if len(rest) == 1 && rest[0] == "" {
		rest = nil
	}
	if e.op == OpDelete {
		if len(rest) == 0 {
			fv.Set(reflect.Zero(fv.Type()))
			e.touch()
			return nil
		}
		if len(rest) > 1 {
			return e.fail("unexpected %q after the key", strings.Join(rest[1:], " "))
		}
		k := reflect.ValueOf(rest[0]).Convert(fv.Type().Key())
		if !fv.MapIndex(k).IsValid() {
			return e.fail("%q is not set (%s: %s)", rest[0], name, listOrNone(mapKeys(fv)))
		}
		e.path = append(e.path, rest[0])
		fv.SetMapIndex(k, reflect.Value{})
		e.touch()
		return nil
	}
	if len(rest) == 0 {
		return e.fail("missing key (expected: KEY VALUE)")
	}
	e.path = append(e.path, rest[0])
	val := reflect.New(fv.Type().Elem()).Elem()
	if err := e.parseInto(val, rest[1:]); err != nil {
		return err
	}
	if fv.IsNil() {
		fv.Set(reflect.MakeMap(fv.Type()))
	}
	fv.SetMapIndex(reflect.ValueOf(rest[0]).Convert(fv.Type().Key()), val)
	e.touch()
	return nil
}

// valueForm says how a value of t is written: the placeholder the help shows, and the phrase
// an error expects.
func valueForm(t reflect.Type) (placeholder, expect string) {
	if t == durationType {
		return "<duration>", "a duration like 2s, 500ms or 5m"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "<true|false>", "true or false"
	case reflect.Float32, reflect.Float64:
		return "<number>", "a number"
	case reflect.String:
		return "<word>", "a word (quote it if it has spaces)"
	}
	return "<integer>", "a whole number"
}

func expect(t reflect.Type) string      { _, e := valueForm(t); return e }
func placeholder(t reflect.Type) string { p, _ := valueForm(t); return p }

func (e *editor) parseInto(v reflect.Value, words []string) error {
	if len(words) == 0 {
		return e.fail("missing value (expected %s)", expect(v.Type()))
	}
	if len(words) > 1 {
		return e.fail("one value expected, got %d words %q (quote a value that has spaces)", len(words), strings.Join(words, " "))
	}
	return parseValue(v, words[0], e.fail)
}

func parseValue(v reflect.Value, s string, fail func(string, ...any) error) error {
	t := v.Type()
	if t == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fail("%q is not a duration (expected e.g. 2s, 500ms, 5m)", s)
		}
		if d < 0 {
			return fail("%q is negative", s)
		}
		v.Set(reflect.ValueOf(Duration{d}))
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on", "1":
			v.SetBool(true)
		case "false", "no", "off", "0":
			v.SetBool(false)
		default:
			return fail("%q is not true or false", s)
		}
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, t.Bits())
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return fail("%q is out of range", s)
			}
			return fail("%q is not a number", s)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fail("%q is not a finite number", s)
		}
		v.SetFloat(f)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil {
			return intError(s, err, fail)
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := strconv.ParseUint(s, 10, t.Bits())
		if err != nil {
			return intError(s, err, fail)
		}
		v.SetUint(i)
	default:
		return fail("cannot be set from text")
	}
	return nil
}

func intError(s string, err error, fail func(string, ...any) error) error {
	if errors.Is(err, strconv.ErrRange) {
		return fail("%q is out of range", s)
	}
	if _, ferr := strconv.ParseFloat(s, 64); ferr == nil {
		return fail("%q is not a whole number", s)
	}
	return fail("%q is not a number", s)
}

// didYouMean suggests the closest name when it is close enough to be a typo.
func didYouMean(w string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if strings.HasPrefix(n, w) && len(w) >= 3 {
			return fmt.Sprintf("; did you mean %s?", n)
		}
		if d := EditDistance(w, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %s?", best)
}

// EditDistance is the Levenshtein distance of a and b, for "did you mean" hints; words longer
// than 64 bytes count as far apart (99).
func EditDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// lookup follows canonical path words (no dot splitting) to a value; invalid if absent.
func lookup(c *Config, words []string) reflect.Value {
	v := reflect.ValueOf(c).Elem()
	for len(words) > 0 {
		switch kindOf(v.Type()) {
		case kStruct:
			f, ok := findField(fieldsOf(v.Type()), words[0])
			if !ok {
				return reflect.Value{}
			}
			v = v.Field(f.idx)
			words = words[1:]
		case kPtrStruct:
			if v.IsNil() {
				return reflect.Value{}
			}
			v = v.Elem()
		case kList:
			i := indexOf(elemNames(v), words[0])
			if i < 0 {
				return reflect.Value{}
			}
			v = v.Index(i)
			words = words[1:]
		case kMap:
			v = v.MapIndex(reflect.ValueOf(words[0]).Convert(v.Type().Key()))
			if !v.IsValid() {
				return v
			}
			words = words[1:]
		default:
			return reflect.Value{}
		}
	}
	return v
}

// FormatValue renders a field value the way the console shows it.
func FormatValue(v reflect.Value) string {
	if !v.IsValid() {
		return "(not set)"
	}
	if v.Type() == durationType {
		return v.Interface().(Duration).String()
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "(not set)"
		}
		return FormatValue(v.Elem())
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.String:
		if v.String() == "" {
			return `""`
		}
		return v.String()
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			return "[" + strings.Join(stringsOf(v), ", ") + "]"
		}
	case reflect.Map:
		var parts []string
		for _, k := range mapKeys(v) {
			parts = append(parts, k+"="+FormatValue(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v.Interface())
}

// Set applies `set` path words and value words to c. On error c is unchanged.
func (c *Config) Set(words []string) error { return c.apply(OpSet, words) }

// Delete applies `delete` path words to c: it removes an element, a list entry or a map key, or puts
// a field back to its default. On error c is unchanged.
func (c *Config) Delete(words []string) error { return c.apply(OpDelete, words) }

func (c *Config) apply(op Op, words []string) error {
	next, err := c.Clone()
	if err != nil {
		return err
	}
	e := &editor{root: next, op: op}
	if err := e.run(words); err != nil {
		return err
	}
	*c = *next
	return nil
}

// Problem is one validation error, with its field written as a console path.
type Problem struct {
	Path string // "unit crah-1 max_fan_pct"
	Msg  string // "20 is outside 30..100"
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// Problems validates c as it would be stored and loaded, and returns every error with
// its field as a console path; nil when c is valid.
func Problems(c *Config) []Problem {
	return problemsOf(c, c.check("site", nil))
}

func problemsOf(c *Config, err error) []Problem {
	var out []Problem
	for _, fe := range FieldErrors(err) {
		p := fe.Path
		if p == "" && fe.Field != "" {
			p = FieldPath(c, fe.Field)
		}
		out = append(out, Problem{Path: p, Msg: fe.Msg})
	}
	if err != nil && len(out) == 0 {
		out = append(out, Problem{Msg: err.Error()})
	}
	return out
}

var (
	indexedRe = regexp.MustCompile(`^([a-z_]+)\[(\d+)\](\([^)]*\))?`)
	namedRe   = regexp.MustCompile(`^([a-z_]+)\(([^)]*)\)`)
)

// FieldPath turns a field as Validate names it ("unit[0](crah-1).min_fan_pct") into the path the
// console takes ("unit crah-1 min_fan_pct"), finding element names in c.
func FieldPath(c *Config, f string) string {
	tail := func(rest string) string {
		rest = strings.TrimPrefix(rest, ".")
		return strings.ReplaceAll(rest, ".", " ")
	}
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, " ")
	}
	if m := indexedRe.FindStringSubmatch(f); m != nil {
		name := m[1] + "[" + m[2] + "]"
		if i, err := strconv.Atoi(m[2]); err == nil {
			if cf, ok := findField(fieldsOf(reflect.TypeFor[Config]()), m[1]); ok && kindOf(cf.typ) == kList {
				list := reflect.ValueOf(c).Elem().Field(cf.idx)
				if i < list.Len() {
					if n := elemNames(list)[i]; n != "" {
						name = m[1] + " " + n
					}
				}
			}
		}
		return join(name, tail(f[len(m[0]):]))
	}
	if m := namedRe.FindStringSubmatch(f); m != nil {
		return join(m[1], m[2], tail(f[len(m[0]):]))
	}
	return tail(f)
}

func under(path string, leaf string) bool {
	return path == leaf || strings.HasPrefix(path, leaf+" ") || strings.HasPrefix(path, leaf+"[")
}

// Edit applies one set or delete to a copy of c and checks it. It returns the edited copy and notes
// for the technician (a new element, or a problem elsewhere that the edit caused and commit will
// refuse until fixed); c itself never changes. It refuses, with a *PathError, a value that the
// loader would replace by a default, and an edit that makes the edited field itself invalid
// ("unit crah-1 max_fan_pct: 20 is outside 30..100").
func Edit(c *Config, op Op, words []string) (*Config, []string, error) {
	next, err := c.Clone()
	if err != nil {
		return nil, nil, err
	}
	e := &editor{root: next, op: op}
	if err := e.run(words); err != nil {
		return nil, nil, err
	}
	e.notes = append(e.notes, carryDefaults(c, next)...)
	eff, err := next.Clone()
	if err != nil {
		return nil, nil, err
	}
	eff.ApplyDefaults()
	leafPath := strings.Join(e.leaf, " ")
	// delete of a field puts it back to its default; a value set, zero included, stays as set
	// (a stored configuration has every key written, so nothing is defaulted when it loads).
	if nv, dv := lookup(next, e.leaf), lookup(eff, e.leaf); nv.IsValid() && dv.IsValid() && op == OpDelete && e.reset && nv.CanSet() {
		nv.Set(dv)
	}
	before := map[string]bool{}
	for _, p := range Problems(c) {
		before[p.String()] = true
	}
	notes := e.notes
	for _, p := range problemsOf(next, next.check("site", nil)) {
		if before[p.String()] {
			continue
		}
		if leafPath != "" && under(p.Path, leafPath) {
			return nil, nil, &PathError{Path: p.Path, Msg: p.Msg}
		}
		notes = append(notes, p.String()+" (fix before commit)")
	}
	return next, notes, nil
}

// Completions returns the words that can follow partialPath (the text typed after `set `) for Tab:
// field names, element names and known values starting with the last, partial word.
func Completions(c *Config, partialPath string) []string {
	words := strings.Fields(partialPath)
	if partialPath == "" || strings.HasSuffix(partialPath, " ") || strings.HasSuffix(partialPath, "\t") {
		words = append(words, "")
	}
	var out []string
	for _, comp := range CompletionsHelp(c, words, OpSet) {
		if !strings.HasPrefix(comp.Word, "<") {
			out = append(out, comp.Word)
		}
	}
	return out
}

// CompletionsHelp returns, with a one-line help each, what can follow the path words; the last word
// is the partial one being typed ("" after a space). Placeholders such as "<number>" and "<cr>"
// (the edit is complete) describe what is expected without being words to insert.
func CompletionsHelp(c *Config, words []string, op Op) []Completion {
	if len(words) == 0 {
		words = []string{""}
	}
	cp := &completer{root: c, op: op}
	return cp.structC(reflect.ValueOf(c).Elem(), words)
}

type completer struct {
	root   *Config
	op     Op
	tpath  []string
	parent reflect.Value
	depth  int
	only   []string // when set, the next field must be one of these (a new element's createBy fields)
}

func filterC(cs []Completion, prefix string) []Completion {
	var out []Completion
	for _, c := range cs {
		if strings.HasPrefix(c.Word, "<") || strings.HasPrefix(c.Word, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (cp *completer) structC(v reflect.Value, words []string) []Completion {
	fs := fieldsOf(v.Type())
	head, rest := take(words)
	only := cp.only
	cp.only = nil
	if len(rest) == 0 {
		var out []Completion
		for _, f := range fs {
			if only != nil && indexOf(only, f.name) < 0 {
				continue
			}
			if strings.HasPrefix(f.name, head) {
				k := kindOf(f.typ)
				help := f.help
				if k == kScalar || k == kPtrScalar || k == kStrings {
					// The current value first, so a narrow terminal cuts the help, not the value.
					help = "[" + FormatValue(v.Field(f.idx)) + "] " + help
				}
				out = append(out, Completion{Word: f.name, Help: help, More: k != kScalar && k != kPtrScalar})
			}
		}
		if cp.op == OpDelete && head == "" && cp.depth > 0 {
			out = append(out, Completion{Word: "<cr>", Help: "delete it (or put it back to its defaults)"})
		}
		return out
	}
	f, ok := findField(fs, head)
	if !ok || (only != nil && indexOf(only, f.name) < 0) {
		return nil
	}
	cp.tpath = append(cp.tpath, f.name)
	cp.parent = v
	cp.depth++
	fv := v.Field(f.idx)
	switch kindOf(f.typ) {
	case kScalar, kPtrScalar:
		return cp.valueC(fv, rest, f)
	case kStruct:
		return cp.structC(fv, rest)
	case kPtrStruct:
		if fv.IsNil() {
			if cp.op == OpDelete {
				return nil
			}
			fv = reflect.New(f.typ.Elem())
		}
		return cp.structC(fv.Elem(), rest)
	case kList:
		return cp.listC(fv, rest, f)
	case kStrings:
		return cp.stringsC(fv, rest)
	case kMap:
		return cp.mapC(fv, rest, f)
	}
	return nil
}

func (cp *completer) valueC(fv reflect.Value, rest []string, f field) []Completion {
	if cp.op == OpDelete {
		if len(rest) == 1 && rest[0] == "" {
			return []Completion{{Word: "<cr>", Help: "put it back to its default"}}
		}
		return nil
	}
	if len(rest) > 1 {
		if len(rest) == 2 && rest[1] == "" {
			return []Completion{{Word: "<cr>", Help: "apply"}}
		}
		return nil
	}
	t := f.typ
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []Completion
	for _, w := range cp.choices(t) {
		out = append(out, Completion{Word: w.Word, Help: w.Help})
	}
	out = append(out, Completion{Word: placeholder(t), Help: f.help + " (now " + FormatValue(fv) + ")"})
	return filterC(out, rest[0])
}

func (cp *completer) listC(fv reflect.Value, rest []string, f field) []Completion {
	noun := f.name
	names := elemNames(fv)
	name, rest2 := takeName(rest, names)
	if len(rest2) == 0 {
		var out []Completion
		for i, n := range names {
			if strings.HasPrefix(n, name) {
				out = append(out, Completion{Word: n, Help: summary(fv.Index(i)), More: true})
			}
		}
		if cp.op == OpSet {
			help := "a new " + noun
			if cb, ok := createBy[noun]; ok {
				help += ", started with: " + fmt.Sprintf(cb.hint, "NAME")
			}
			out = append(out, Completion{Word: "<name>", Help: help, More: true})
		}
		return out
	}
	i := indexOf(names, name)
	var elem reflect.Value
	if i >= 0 {
		elem = fv.Index(i)
	} else {
		if cp.op == OpDelete {
			return nil
		}
		elem = reflect.New(f.typ.Elem()).Elem()
		if cb, ok := createBy[noun]; ok {
			cp.only = cb.fields
		}
	}
	cp.depth++
	return cp.structC(elem, rest2)
}

// summary describes an element in a few words for completion help: its first set fields.
func summary(elem reflect.Value) string {
	key := keyOf(elem.Type())
	var parts []string
	for _, f := range fieldsOf(elem.Type()) {
		if key != nil && f.idx == key.idx {
			continue
		}
		fv := elem.Field(f.idx)
		k := kindOf(f.typ)
		if (k != kScalar && k != kStrings) || fv.IsZero() {
			continue
		}
		parts = append(parts, f.name+" "+FormatValue(fv))
		if len(parts) == 2 {
			break
		}
	}
	return strings.Join(parts, ", ")
}

func (cp *completer) stringsC(fv reflect.Value, rest []string) []Completion {
	cur := stringsOf(fv)
	last := rest[len(rest)-1]
	fromList := func(list []string, skip []string, help string) []Completion {
		var out []Completion
		for _, s := range list {
			if indexOf(skip, s) < 0 && strings.HasPrefix(s, last) {
				out = append(out, Completion{Word: s, Help: help})
			}
		}
		return out
	}
	if cp.op == OpDelete {
		out := fromList(cur, nil, "remove it from the list")
		if len(rest) == 1 && last == "" {
			out = append(out, Completion{Word: "<cr>", Help: "clear the whole list"})
		}
		return out
	}
	if len(rest) == 1 {
		return filterC([]Completion{
			{Word: "add", Help: "add values to the list"},
			{Word: "remove", Help: "remove values from the list"},
			{Word: "<list>", Help: "replace the whole list (now " + FormatValue(fv) + ")"},
		}, last)
	}
	var choices []string
	for _, c := range cp.choices(reflect.TypeFor[string]()) {
		choices = append(choices, c.Word)
	}
	switch rest[0] {
	case "add":
		return append(fromList(choices, cur, "add it"), Completion{Word: "<value>", Help: "a value to add"})
	case "remove":
		return fromList(cur, nil, "remove it")
	}
	return fromList(choices, nil, "")
}

func (cp *completer) mapC(fv reflect.Value, rest []string, f field) []Completion {
	if len(rest) == 1 {
		keys := mapKeys(fv)
		var out []Completion
		for _, k := range keys {
			out = append(out, Completion{Word: k, Help: "now " + FormatValue(fv.MapIndex(reflect.ValueOf(k).Convert(fv.Type().Key())))})
		}
		if cp.op == OpSet {
			for _, c := range cp.choices(reflect.TypeFor[string]()) {
				if indexOf(keys, c.Word) < 0 {
					out = append(out, c)
				}
			}
			out = append(out, Completion{Word: "<key>", Help: f.help})
		} else if rest[0] == "" {
			out = append(out, Completion{Word: "<cr>", Help: "clear all of them"})
		}
		return filterC(out, rest[0])
	}
	if cp.op == OpDelete {
		return nil
	}
	if len(rest) == 2 {
		return filterC([]Completion{{Word: placeholder(fv.Type().Elem()), Help: f.help}}, rest[1])
	}
	if len(rest) == 3 && rest[2] == "" {
		return []Completion{{Word: "<cr>", Help: "apply"}}
	}
	return nil
}

// choices are the known values of the field being completed (cp.tpath), e.g. line names for a unit's line.
func (cp *completer) choices(t reflect.Type) []Completion {
	c := cp.root
	names := func(list reflect.Value, help func(i int) string) []Completion {
		var out []Completion
		for i, n := range elemNames(list) {
			out = append(out, Completion{Word: n, Help: help(i)})
		}
		return out
	}
	switch strings.Join(cp.tpath, ".") {
	case "unit.line":
		return names(reflect.ValueOf(c.Lines), func(i int) string { return "line " + c.Lines[i].Target })
	case "unit.profile":
		var out []Completion
		for _, p := range BuiltinProfiles() {
			out = append(out, Completion{Word: p, Help: "built-in profile"})
		}
		for _, p := range customProfileNames(c.Profiles) {
			out = append(out, Completion{Word: p, Help: "custom profile"})
		}
		return out
	case "zone.units":
		return names(reflect.ValueOf(c.Units), func(i int) string { return "unit " + summary(reflect.ValueOf(c.Units[i])) })
	case "zone.influence":
		if cp.parent.IsValid() && cp.parent.Type() == reflect.TypeFor[Zone]() {
			var out []Completion
			for _, u := range cp.parent.Interface().(Zone).Units {
				out = append(out, Completion{Word: u, Help: "a unit of this zone"})
			}
			return out
		}
	case "zone.sensors":
		seen := map[string]bool{}
		var out []Completion
		add := func(id, help string) {
			if id != "" && !seen[id] {
				seen[id] = true
				out = append(out, Completion{Word: id, Help: help})
			}
		}
		for _, s := range c.Sensors {
			add(s.ID, strings.TrimSpace("sensor "+s.Rack+" "+s.Height))
		}
		for _, z := range c.Zones {
			for _, s := range z.Sensors {
				add(s, "in zone "+z.Name)
			}
		}
		return out
	case "zone.aggregate":
		return []Completion{{Word: "max", Help: "the hottest valid inlet"}, {Word: "p90", Help: "90th percentile"}, {Word: "p95", Help: "95th percentile"}}
	case "board.watchdog_dev":
		return []Completion{{Word: "/dev/watchdog", Help: "the usual device"}, {Word: "none", Help: "no hardware watchdog"}}
	}
	if t.Kind() == reflect.Bool {
		return []Completion{{Word: "true", Help: ""}, {Word: "false", Help: ""}}
	}
	return nil
}

// carryDefaults keeps inheritance after an edit of a [control] default: the stored configuration
// has every default written out, so the zones and units that still held the old default are
// moved to the new one (a technician who sets control.setpoint_c means every zone that follows
// it). Elements set to something else keep their own value. It returns one note per change.
func carryDefaults(old, next *Config) []string {
	var notes []string
	carry := func(what string, from, to float64, vals []*float64, names []string) {
		if from == to {
			return
		}
		for i, v := range vals {
			if *v == from {
				*v = to
				notes = append(notes, fmt.Sprintf("%s %s follows control.%s: now %s", names[i], what, what, strconv.FormatFloat(to, 'f', -1, 64)))
			}
		}
	}
	var zsp []*float64
	var znames []string
	for i := range next.Zones {
		zsp = append(zsp, &next.Zones[i].SetpointC)
		znames = append(znames, "zone "+next.Zones[i].Name)
	}
	carry("setpoint_c", old.Control.SetpointC, next.Control.SetpointC, zsp, znames)
	var unames []string
	field := func(get func(*Unit) *float64) []*float64 {
		var out []*float64
		for i := range next.Units {
			out = append(out, get(&next.Units[i]))
		}
		return out
	}
	for i := range next.Units {
		unames = append(unames, "unit "+next.Units[i].Name)
	}
	carry("safe_fan_pct", old.Control.SafeFanPct, next.Control.SafeFanPct, field(func(u *Unit) *float64 { return &u.SafeFanPct }), unames)
	carry("fan_rate_pct_s", old.Control.FanRatePct, next.Control.FanRatePct, field(func(u *Unit) *float64 { return &u.FanRatePct }), unames)
	carry("valve_rate_pct_s", old.Control.ValveRatePct, next.Control.ValveRatePct, field(func(u *Unit) *float64 { return &u.ValveRatePct }), unames)
	carry("supply_sp_c", old.Control.SupplySPC, next.Control.SupplySPC, field(func(u *Unit) *float64 { return &u.SupplySPC }), unames)
	return notes
}
