package site

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

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
