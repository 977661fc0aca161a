package site

import (
	"fmt"
	"reflect"
	"strings"
)

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
