package ahu

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// The TOML layout of custom profiles: one [profile.NAME] table per profile, one
// [profile.NAME.point.POINT] table per point. Every field is checked by hand (fields are decoded
// as `any`) because the toml package silently skips some type mismatches, and so that each error
// can name the profile, the point and the field.
type tomlDoc struct {
	Profile map[string]tomlProfile `toml:"profile"`
}

type tomlProfile struct {
	Kind        any                  `toml:"kind"`
	Description any                  `toml:"description"`
	Point       map[string]tomlPoint `toml:"point"`
}

type tomlPoint struct {
	Role     any `toml:"role"`
	Table    any `toml:"table"`
	Addr     any `toml:"addr"`
	Type     any `toml:"type"`
	Order    any `toml:"order"`
	Scale    any `toml:"scale"`
	Offset   any `toml:"offset"`
	Writable any `toml:"writable"`
	Min      any `toml:"min"`
	Max      any `toml:"max"`
	Bits     any `toml:"bits"`
}

// ParseProfiles decodes custom profiles from a TOML document and validates each one. filename
// only labels the errors. Layout:
//
//	[profile.my-crah]
//	kind = "crah"                  # "crah" or "vfd"
//	description = "..."            # optional
//
//	[profile.my-crah.point.return-air]
//	role = "return_temp"           # optional; see Roles()
//	table = "input"                # "input" or "holding"
//	addr = 0                       # 0-based protocol address
//	type = "int16"                 # int16, uint16, int32, uint32, float32
//	order = "ABCD"                 # ABCD (default), CDAB, BADC, DCBA
//	scale = 0.1                    # default 1; engineering value = raw*scale + offset
//	offset = 0                     # default 0
//	writable = false               # default false
//	min = -40                      # optional limits in engineering units
//	max = 80
//	bits = { running = 0, alarm = 1 }   # bit meanings of a status or control word
//
// Unknown keys, wrong types and failed validation are all reported in one error wrapping
// ErrInvalidProfile; nothing is returned then. A nan or inf anywhere is refused before anything
// else, each with its line ("bad.toml: line 12: profile "x" point "ref" field "max": inf is not a
// finite number"): lines count within data (for the site file's profiles, within that string).
func ParseProfiles(data []byte, filename string) ([]*Profile, error) {
	var doc tomlDoc
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidProfile, filename, err)
	}
	// A nan or inf anywhere is refused first, each with its line, so that no later check (or a
	// limit of +inf) has to cope with one.
	var whole map[string]any
	if _, err := toml.Decode(string(data), &whole); err == nil {
		if probs := nonFinite(data, whole); len(probs) > 0 {
			return nil, fmt.Errorf("%w: %s: %s", ErrInvalidProfile, filename, strings.Join(probs, "; "))
		}
	}
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	// Shape checks first: the decoder silently drops a non-table where a table is expected.
	shapeBad := map[string]bool{}
	for _, k := range md.Keys() {
		if len(k) == 0 || k[0] != "profile" {
			continue
		}
		if (len(k) <= 2 || len(k) <= 4 && k[2] == "point") && md.Type(k...) != "Hash" {
			add("%s: want a table, got %s", keyWhere(k), strings.ToLower(md.Type(k...)))
			shapeBad[k.String()] = true
		}
	}
	undec := md.Undecoded()
	sort.Slice(undec, func(i, j int) bool { return undec[i].String() < undec[j].String() })
next:
	for _, k := range undec {
		for i := 1; i <= len(k); i++ {
			if shapeBad[k[:i].String()] {
				continue next
			}
		}
		if len(k) > 5 && k[2] == "point" && k[4] == "bits" {
			continue // decoded into `any` and checked by decodePoint
		}
		add("%s: unknown key %q", keyWhere(k[:len(k)-1]), k[len(k)-1])
	}
	if len(doc.Profile) == 0 && len(probs) == 0 {
		add("no [profile.NAME] tables")
	}

	names := make([]string, 0, len(doc.Profile))
	for n := range doc.Profile {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*Profile
	for _, name := range names {
		tp := doc.Profile[name]
		where := fmt.Sprintf("profile %q", name)
		if _, ok := builtins[name]; ok {
			add("%s: name is taken by a built-in profile", where)
		}
		p := &Profile{Name: name}
		if s, ok := fieldString(tp.Kind, where, "kind", true, &probs); ok {
			p.Kind = Kind(s)
		}
		if s, ok := fieldString(tp.Description, where, "description", false, &probs); ok {
			p.Description = s
		}
		pnames := make([]string, 0, len(tp.Point))
		for n := range tp.Point {
			pnames = append(pnames, n)
		}
		sort.Strings(pnames)
		for _, pn := range pnames {
			if pt, ok := decodePoint(pn, tp.Point[pn], fmt.Sprintf("%s point %q", where, pn), &probs); ok {
				p.Points = append(p.Points, pt)
			}
		}
		p.sortPoints()
		if len(probs) == 0 {
			for _, s := range p.problems() {
				add("%s: %s", where, s)
			}
		}
		out = append(out, p)
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalidProfile, filename, strings.Join(probs, "; "))
	}
	return out, nil
}

// keyWhere names a key path the way the other errors do: profile "x" point "y".
func keyWhere(k toml.Key) string {
	switch {
	case len(k) == 0:
		return "top level"
	case k[0] != "profile":
		return fmt.Sprintf("table %q", k.String())
	case len(k) == 1:
		return "[profile]"
	case len(k) == 2:
		return fmt.Sprintf("profile %q", k[1])
	case len(k) == 3:
		return fmt.Sprintf("profile %q %s", k[1], k[2])
	case len(k) == 4 && k[2] == "point":
		return fmt.Sprintf("profile %q point %q", k[1], k[3])
	case len(k) >= 5 && k[2] == "point":
		return fmt.Sprintf("profile %q point %q field %q", k[1], k[3], strings.Join(k[4:], "."))
	}
	return fmt.Sprintf("key %q", k.String())
}

func decodePoint(name string, tp tomlPoint, where string, probs *[]string) (Point, bool) {
	n := len(*probs)
	p := Point{Name: name, Order: ABCD, Scale: 1, Min: math.Inf(-1), Max: math.Inf(1)}
	if s, ok := fieldString(tp.Role, where, "role", false, probs); ok && s != "" {
		p.Role = Role(s)
		if _, known := roles[p.Role]; !known {
			bad(probs, where, "role", "unknown role %q", s)
		}
	}
	if s, ok := fieldString(tp.Table, where, "table", true, probs); ok {
		switch s {
		case "input":
			p.Table = TableInput
		case "holding":
			p.Table = TableHolding
		default:
			bad(probs, where, "table", "%q: want \"input\" or \"holding\"", s)
		}
	}
	if v, ok := fieldInt(tp.Addr, where, "addr", true, probs); ok {
		if v < 0 || v > 65535 {
			bad(probs, where, "addr", "%d: want 0..65535", v)
		} else {
			p.Addr = uint16(v)
		}
	}
	if s, ok := fieldString(tp.Type, where, "type", true, probs); ok {
		t, found := map[string]Type{"int16": Int16, "uint16": Uint16, "int32": Int32, "uint32": Uint32, "float32": Float32}[s]
		if !found {
			bad(probs, where, "type", "%q: want int16, uint16, int32, uint32 or float32", s)
		}
		p.Type = t
	}
	if s, ok := fieldString(tp.Order, where, "order", false, probs); ok {
		o, found := map[string]WordOrder{"ABCD": ABCD, "CDAB": CDAB, "BADC": BADC, "DCBA": DCBA}[strings.ToUpper(s)]
		if !found {
			bad(probs, where, "order", "%q: want ABCD, CDAB, BADC or DCBA", s)
		}
		p.Order = o
	}
	if v, ok := fieldFloat(tp.Scale, where, "scale", probs); ok {
		if v == 0 {
			bad(probs, where, "scale", "0: want a non-zero number")
		}
		p.Scale = v
	}
	if v, ok := fieldFloat(tp.Offset, where, "offset", probs); ok {
		p.Offset = v
	}
	if tp.Writable != nil {
		if b, ok := tp.Writable.(bool); ok {
			p.Writable = b
		} else {
			bad(probs, where, "writable", "want true or false, got %s", describe(tp.Writable))
		}
	}
	if v, ok := fieldFloat(tp.Min, where, "min", probs); ok {
		p.Min = v
	}
	if v, ok := fieldFloat(tp.Max, where, "max", probs); ok {
		p.Max = v
	}
	if tp.Bits != nil {
		m, ok := tp.Bits.(map[string]any)
		if !ok {
			bad(probs, where, "bits", "want a table of meaning = bit number, got %s", describe(tp.Bits))
		} else {
			p.Bits = make(map[string]uint8, len(m))
			for k, v := range m {
				b, ok := v.(int64)
				if !ok || b < 0 || b > 31 {
					bad(probs, where, "bits."+k, "want a bit number 0..31, got %s", describe(v))
					continue
				}
				p.Bits[k] = uint8(b)
			}
		}
	}
	return p, len(*probs) == n
}

func bad(probs *[]string, where, field, format string, args ...any) {
	*probs = append(*probs, fmt.Sprintf("%s field %q: %s", where, field, fmt.Sprintf(format, args...)))
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %g", x)
	case bool:
		return fmt.Sprintf("boolean %t", x)
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

func fieldString(v any, where, field string, need bool, probs *[]string) (string, bool) {
	if v == nil {
		if need {
			bad(probs, where, field, "missing")
		}
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		bad(probs, where, field, "want a string, got %s", describe(v))
	}
	return s, ok
}

func fieldInt(v any, where, field string, need bool, probs *[]string) (int64, bool) {
	if v == nil {
		if need {
			bad(probs, where, field, "missing")
		}
		return 0, false
	}
	i, ok := v.(int64)
	if !ok {
		bad(probs, where, field, "want an integer, got %s", describe(v))
	}
	return i, ok
}

func fieldFloat(v any, where, field string, probs *[]string) (float64, bool) {
	switch x := v.(type) {
	case nil:
		return 0, false
	case int64:
		return float64(x), true
	case float64:
		if math.IsNaN(x) {
			bad(probs, where, field, "nan: want a number")
			return 0, false
		}
		return x, true
	}
	bad(probs, where, field, "want a number, got %s", describe(v))
	return 0, false
}

// nonFinite lists every nan or inf in the document as "line N: WHERE: nan is not a finite number",
// in key order.
func nonFinite(data []byte, doc map[string]any) []string {
	var probs []string
	var walk func(k toml.Key, v any)
	walk = func(k toml.Key, v any) {
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				where := keyWhere(k)
				switch {
				case k[0] != "profile":
					where = fmt.Sprintf("key %q", k.String())
				case len(k) < 5:
					where = fmt.Sprintf("%s field %q", keyWhere(k[:len(k)-1]), k[len(k)-1])
				}
				probs = append(probs, fmt.Sprintf("line %d: %s: %s is not a finite number", keyLine(data, k), where, tomlFloat(x)))
			}
		case map[string]any:
			names := make([]string, 0, len(x))
			for n := range x {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				walk(append(k[:len(k):len(k)], n), x[n])
			}
		case []any:
			for _, e := range x {
				walk(k, e) // an element has no key of its own: its array's line is near enough
			}
		case []map[string]any:
			for _, e := range x {
				walk(k, e)
			}
		}
	}
	walk(nil, doc)
	return probs
}

func tomlFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case v > 0:
		return "inf"
	}
	return "-inf"
}

// errLocate stops the decoder at one key; its ParseError then carries the key's line.
var errLocate = errors.New("ahu: locate")

type stopHere struct{}

func (stopHere) UnmarshalTOML(any) error { return errLocate }

// keyLine returns the line of key k (0 if unknown). The toml package keeps each key's position
// but only shows it in a decoding error, so this decodes once more into a type that has a field
// for k alone and fails there.
func keyLine(data []byte, k toml.Key) int {
	if len(k) == 0 {
		return 0
	}
	t := reflect.TypeFor[stopHere]()
	for i := len(k) - 1; i >= 0; i-- {
		if strings.ContainsAny(k[i], ",\"\\") {
			return keyLine(data, k[:i]) // not expressible as a struct tag: the enclosing table's line
		}
		t = reflect.StructOf([]reflect.StructField{{Name: "F", Type: t, Tag: reflect.StructTag("toml:" + strconv.Quote(k[i]))}})
	}
	_, err := toml.Decode(string(data), reflect.New(t).Interface())
	var pe toml.ParseError
	if errors.As(err, &pe) && pe.Message == errLocate.Error() {
		return pe.Position.Line
	}
	return 0
}
