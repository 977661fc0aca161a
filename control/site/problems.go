package site

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

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
