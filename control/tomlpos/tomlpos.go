package tomlpos

import (
	"strconv"
	"strings"
)

// Locator maps field paths such as "units[1].coil_kw" or "influence.matrix.A01[2]" to the
// 1-based line where they appear in a TOML document. The toml package only keeps the position
// of the last occurrence of a key (so every "[[units]]" element shares one), which is useless
// for "which unit is wrong"; this small scanner recovers it. It runs on documents that the toml
// parser has already accepted, and it must never panic or loop on anything else either.
type Locator struct {
	lines map[string]int
	order []string
}

// Locate scans data once.
func Locate(data []byte) *Locator {
	l := &Locator{lines: make(map[string]int)}
	sc := &tomlScanner{s: data, line: 1, l: l, counts: make(map[string]int)}
	sc.run()
	return l
}

func (l *Locator) record(path string, line int) {
	if path == "" {
		return
	}
	if _, ok := l.lines[path]; !ok {
		l.lines[path] = line
		l.order = append(l.order, path)
	}
}

// Line returns the line of path, or of its nearest recorded ancestor, or 0.
func (l *Locator) Line(path string) int {
	for path != "" {
		if n, ok := l.lines[path]; ok {
			return n
		}
		cut := strings.LastIndexAny(path, ".[")
		if cut < 0 {
			return 0
		}
		path = path[:cut]
	}
	return 0
}

// Nth finds the nth (0-based) recorded path whose index-free form is key (as toml.Key parts
// joined by dots), in document order.
func (l *Locator) Nth(key string, n int) (string, int) {
	for _, p := range l.order {
		if StripIndices(p) == key {
			if n == 0 {
				return p, l.lines[p]
			}
			n--
		}
	}
	return key, l.Line(key)
}

// StripIndices removes the [N] element indexes of a path: "unit[2].name" is "unit.name".
func StripIndices(p string) string {
	if !strings.Contains(p, "[") {
		return p
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '[':
			depth++
		case c == ']':
			if depth > 0 {
				depth--
			}
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

type tomlScanner struct {
	s      []byte
	i      int
	line   int
	l      *Locator
	counts map[string]int // array-of-tables path -> elements seen
}

func (sc *tomlScanner) eof() bool { return sc.i >= len(sc.s) }

func (sc *tomlScanner) peek(k int) byte {
	if sc.i+k < len(sc.s) {
		return sc.s[sc.i+k]
	}
	return 0
}

// skipSpace skips blanks and comments; with nl also newlines.
func (sc *tomlScanner) skipSpace(nl bool) {
	for !sc.eof() {
		switch c := sc.s[sc.i]; c {
		case ' ', '\t', '\r':
			sc.i++
		case '\n':
			if !nl {
				return
			}
			sc.line++
			sc.i++
		case '#':
			for !sc.eof() && sc.s[sc.i] != '\n' {
				sc.i++
			}
		default:
			return
		}
	}
}

func (sc *tomlScanner) skipLine() {
	for !sc.eof() && sc.s[sc.i] != '\n' {
		sc.i++
	}
}

func (sc *tomlScanner) run() {
	prefix := ""
	for guard := 0; !sc.eof() && guard < len(sc.s)+1; guard++ {
		sc.skipSpace(true)
		if sc.eof() {
			return
		}
		start := sc.i
		if sc.s[sc.i] == '[' {
			line := sc.line
			aot := sc.peek(1) == '['
			sc.i++
			if aot {
				sc.i++
			}
			parts := sc.keyParts()
			p := ""
			for k, part := range parts {
				p = join(p, part)
				if k == len(parts)-1 && aot {
					n := sc.counts[p]
					sc.counts[p] = n + 1
					p += "[" + strconv.Itoa(n) + "]"
				} else if n, ok := sc.counts[p]; ok && n > 0 {
					p += "[" + strconv.Itoa(n-1) + "]"
				}
			}
			sc.l.record(p, line)
			prefix = p
			sc.skipLine()
		} else {
			line := sc.line
			parts := sc.keyParts()
			p := prefix
			for _, part := range parts {
				p = join(p, part)
				sc.l.record(p, line)
			}
			sc.skipSpace(false)
			if !sc.eof() && sc.s[sc.i] == '=' {
				sc.i++
				sc.value(p, 0)
			}
			sc.skipLine()
		}
		if sc.i == start {
			sc.i++ // never stall on something unexpected
		}
	}
}

func join(prefix, part string) string {
	if prefix == "" {
		return part
	}
	return prefix + "." + part
}

// keyParts reads a (possibly dotted, possibly quoted) key up to '=', ']' or end of line.
func (sc *tomlScanner) keyParts() []string {
	var parts []string
	for !sc.eof() {
		sc.skipSpace(false)
		if sc.eof() {
			break
		}
		c := sc.s[sc.i]
		switch {
		case c == '"' || c == '\'':
			parts = append(parts, sc.quoted(c))
		case isBare(c):
			st := sc.i
			for !sc.eof() && isBare(sc.s[sc.i]) {
				sc.i++
			}
			parts = append(parts, string(sc.s[st:sc.i]))
		default:
			return parts
		}
		sc.skipSpace(false)
		if !sc.eof() && sc.s[sc.i] == '.' {
			sc.i++
			continue
		}
		if !sc.eof() && sc.s[sc.i] == ']' {
			for !sc.eof() && sc.s[sc.i] == ']' {
				sc.i++
			}
		}
		return parts
	}
	return parts
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// quoted reads a single-line quoted key and returns its (unescaped enough) text.
func (sc *tomlScanner) quoted(q byte) string {
	sc.i++
	var b strings.Builder
	for !sc.eof() {
		c := sc.s[sc.i]
		if c == '\n' {
			return b.String()
		}
		sc.i++
		if c == q {
			return b.String()
		}
		if c == '\\' && q == '"' && !sc.eof() {
			b.WriteByte(sc.s[sc.i])
			sc.i++
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// skipString skips a basic, literal or multi-line string starting at sc.i.
func (sc *tomlScanner) skipString() {
	q := sc.s[sc.i]
	if sc.peek(1) == q && sc.peek(2) == q {
		sc.i += 3
		for !sc.eof() {
			if sc.s[sc.i] == '\n' {
				sc.line++
			}
			if q == '"' && sc.s[sc.i] == '\\' {
				if sc.peek(1) == '\n' {
					sc.line++
				}
				sc.i += 2
				continue
			}
			if sc.s[sc.i] == q && sc.peek(1) == q && sc.peek(2) == q {
				sc.i += 3
				for !sc.eof() && sc.s[sc.i] == q { // up to two quotes may close the content
					sc.i++
				}
				return
			}
			sc.i++
		}
		return
	}
	sc.i++
	for !sc.eof() {
		c := sc.s[sc.i]
		if c == '\n' {
			return
		}
		sc.i++
		if c == '\\' && q == '"' {
			sc.i++
			continue
		}
		if c == q {
			return
		}
	}
}

// value records the elements of arrays and inline tables under path.
func (sc *tomlScanner) value(path string, depth int) {
	sc.skipSpace(false)
	if sc.eof() || depth > 64 {
		return
	}
	switch c := sc.s[sc.i]; c {
	case '[':
		sc.i++
		for idx := 0; !sc.eof(); {
			sc.skipSpace(true)
			if sc.eof() {
				return
			}
			if sc.s[sc.i] == ']' {
				sc.i++
				return
			}
			if sc.s[sc.i] == ',' {
				sc.i++
				idx++
				continue
			}
			st := sc.i
			p := path + "[" + strconv.Itoa(idx) + "]"
			sc.l.record(p, sc.line)
			sc.value(p, depth+1)
			if sc.i == st {
				sc.i++
			}
		}
	case '{':
		sc.i++
		for !sc.eof() {
			sc.skipSpace(true)
			if sc.eof() {
				return
			}
			switch sc.s[sc.i] {
			case '}':
				sc.i++
				return
			case ',':
				sc.i++
				continue
			}
			st := sc.i
			line := sc.line
			p := path
			for _, part := range sc.keyParts() {
				p = join(p, part)
				sc.l.record(p, line)
			}
			sc.skipSpace(false)
			if !sc.eof() && sc.s[sc.i] == '=' {
				sc.i++
				sc.value(p, depth+1)
			}
			if sc.i == st {
				sc.i++
			}
		}
	case '"', '\'':
		sc.skipString()
	default:
		for !sc.eof() {
			switch sc.s[sc.i] {
			case ',', ']', '}', '#', '\n':
				return
			}
			sc.i++
		}
	}
}
