package tomlpos

import (
	"fmt"
	"math"
	"sort"
)

// Float is a number found at a path.
type Float struct {
	Path  string // "unit[2].min_fan_pct"
	Value float64
}

// NonFinite lists every NaN or infinite float anywhere in a generically decoded document
// (toml.Decode into map[string]any), known key or not, sorted by key within each table. No range
// check is needed to keep such values out, and none is misled by one.
func NonFinite(doc map[string]any) []Float { return nonFinite(doc, "") }

func nonFinite(v any, path string) []Float {
	var out []Float
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			out = append(out, Float{path, x})
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			out = append(out, nonFinite(x[k], p)...)
		}
	case []map[string]any:
		for i, e := range x {
			out = append(out, nonFinite(e, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case []any:
		for i, e := range x {
			out = append(out, nonFinite(e, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

// Spell writes a float the way TOML does for the non-finite ones ("nan", "inf", "-inf").
func Spell(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return fmt.Sprint(v)
}
