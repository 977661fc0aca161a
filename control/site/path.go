package site

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
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
