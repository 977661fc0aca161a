package site

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/coldaisle/coldaisle/control/tomlpos"
)

// FieldError is one problem in a site configuration and where it stands. Validation returns
// these (joined with errors.Join), so callers need not parse message text.
type FieldError struct {
	File  string // as given to Parse: "site.toml", "configuration v3"
	Line  int    // 1-based; 0 when not known (a configuration built in code)
	Field string // as the file names it: "unit[1](crah-2).min_fan_pct"
	Path  string // as the console names it: "unit crah-2 min_fan_pct"
	Msg   string // what is wrong, and what is expected
}

func (e *FieldError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Field == "" {
		return ErrInvalid.Error() + ": " + where + ": " + e.Msg
	}
	return ErrInvalid.Error() + ": " + where + ": " + e.Field + ": " + e.Msg
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// FieldErrors returns the *FieldError values inside err (as joined by Parse or Validate).
func FieldErrors(err error) []*FieldError {
	if err == nil {
		return nil
	}
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if u := errors.Unwrap(e); u != nil {
			walk(u)
		}
	}
	walk(err)
	return out
}

// presence answers whether a key was written in the decoded file, so that an explicit zero is
// kept (and validated) instead of being taken for "not set".
type presence struct{ doc map[string]any }

// has reports whether path ("unit[2].min_fan_pct", "control.period") is in the document.
func (p presence) has(path string) bool {
	var cur any = p.doc
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			n, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil {
				return false
			}
			name, idx = part[:i], n
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[name]; !ok {
			return false
		}
		if idx >= 0 {
			switch s := cur.(type) {
			case []map[string]any:
				if idx >= len(s) {
					return false
				}
				cur = s[idx]
			case []any:
				if idx >= len(s) {
					return false
				}
				cur = s[idx]
			default:
				return false
			}
		}
	}
	return true
}

// Parse decodes data (named filename in errors), applies defaults to the keys the file leaves out,
// and validates the whole. Every problem is reported, each a *FieldError with its line.
func Parse(data []byte, filename string) (*Config, error) {
	loc := tomlpos.Locate(data)
	fe := func(field string, line int, format string, args ...any) *FieldError {
		if line == 0 {
			line = loc.Line(tomlpos.StripIndices(field))
			if l := loc.Line(field); l > 0 {
				line = l
			}
		}
		return &FieldError{File: filename, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	// A generic decode first: syntax errors, and what the file actually says (for non-finite
	// numbers and for telling an explicit zero from an absent key).
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fe(pe.LastKey, max(pe.Position.Line, 1), "%s", pe.Message)
		}
		return nil, fe("", 0, "%v", err)
	}
	var errs []error
	for _, f := range tomlpos.NonFinite(doc) {
		errs = append(errs, fe(f.Path, 0, "%s is not a finite number (nan and inf are refused)", tomlpos.Spell(f.Value)))
	}

	var c Config
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		errs = append(errs, typeErrors(data, err, fe)...)
		return nil, errors.Join(errs...)
	}
	seen := map[string]int{}
	unknown := map[string]bool{}
	for _, k := range md.Undecoded() {
		key := strings.Join(k, ".")
		n := seen[key]
		seen[key]++
		parentUnknown := false
		for i := 1; i < len(k); i++ {
			if unknown[strings.Join(k[:i], ".")] {
				parentUnknown = true
			}
		}
		unknown[key] = true
		if parentUnknown {
			continue
		}
		p, line := loc.Nth(key, n)
		errs = append(errs, fe(nameElements(&c, p), line, "unknown key %q%s", k[len(k)-1], didYouMean(k[len(k)-1], keysAt(k[:len(k)-1]))))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.applyDefaults(presence{doc}.has)
	if err := c.check(filename, loc); err != nil {
		return nil, err
	}
	return &c, nil
}

var lastKeyRe = regexp.MustCompile(`^toml: (?:line \d+ )?(?:\(last key "([^"]*)"\): )?`)

// typeErrors explains a decode failure (a value of the wrong type) per element of the arrays of
// tables, so "unit_id = \"one\"" in the third unit is reported there and not at another unit's
// line (the toml package keeps one position per key, the last).
func typeErrors(data []byte, err error, fe func(string, int, string, ...any) *FieldError) []error {
	var raw struct {
		Lines   []toml.Primitive `toml:"line"`
		Units   []toml.Primitive `toml:"unit"`
		Zones   []toml.Primitive `toml:"zone"`
		Sensors []toml.Primitive `toml:"sensor"`
	}
	md, rerr := toml.Decode(string(data), &raw)
	var out []error
	if rerr == nil {
		each := func(array string, ps []toml.Primitive, into func() any) {
			for i, p := range ps {
				if e := md.PrimitiveDecode(p, into()); e != nil {
					key, msg := splitDecodeErr(e)
					field := fmt.Sprintf("%s[%d]%s", array, i, strings.TrimPrefix(key, array))
					out = append(out, fe(field, 0, "%s", msg))
				}
			}
		}
		each("line", raw.Lines, func() any { return new(Line) })
		each("unit", raw.Units, func() any { return new(Unit) })
		each("zone", raw.Zones, func() any { return new(Zone) })
		each("sensor", raw.Sensors, func() any { return new(Sensor) })
	}
	if len(out) == 0 {
		key, msg := splitDecodeErr(err)
		out = append(out, fe(key, 0, "%s", msg))
	}
	return out
}

func splitDecodeErr(err error) (key, msg string) {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return pe.LastKey, strings.TrimPrefix(pe.Message, "site: ")
	}
	msg = err.Error()
	if m := lastKeyRe.FindStringSubmatch(msg); m != nil {
		key, msg = m[1], msg[len(m[0]):]
	}
	msg = strings.Replace(msg, "incompatible types: TOML value has type ", "wrong type: the file has a ", 1)
	msg = strings.Replace(msg, "; destination has type ", ", this key takes a ", 1)
	return key, msg
}

// keysAt lists the keys the configuration knows at a table path (element indexes ignored), for
// "did you mean" hints on unknown keys.
func keysAt(parts []string) []string {
	t := reflect.TypeFor[Config]()
	for _, p := range parts {
		f, ok := findField(fieldsOf(t), p)
		if !ok {
			return nil
		}
		t = f.typ
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
	}
	return fieldNames(fieldsOf(t))
}

// nameElements turns "zone[1].foo" into "zone[1](row-b).foo" when the element has a name.
func nameElements(c *Config, p string) string {
	for _, list := range []struct {
		key   string
		names func(i int) string
		n     int
	}{
		{"line", func(i int) string { return c.Lines[i].Name }, len(c.Lines)},
		{"unit", func(i int) string { return c.Units[i].Name }, len(c.Units)},
		{"zone", func(i int) string { return c.Zones[i].Name }, len(c.Zones)},
		{"sensor", func(i int) string { return c.Sensors[i].ID }, len(c.Sensors)},
	} {
		if !strings.HasPrefix(p, list.key+"[") {
			continue
		}
		end := strings.IndexByte(p, ']')
		i, err := strconv.Atoi(p[len(list.key)+1 : max(end, len(list.key)+1)])
		if err != nil || i < 0 || i >= list.n || list.names(i) == "" {
			return p
		}
		return p[:end+1] + "(" + list.names(i) + ")" + p[end+1:]
	}
	return p
}
