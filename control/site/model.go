package site

import (
	"reflect"
	"strings"
)

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
