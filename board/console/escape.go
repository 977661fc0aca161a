package console

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// printable makes text that came from outside (site, unit, zone, rack and user names, sensor ids,
// event texts, comments, errors: anything read from a file, the wire or the database) safe to show
// on the technician's terminal. Control characters are shown as escapes (\x1b, \n, \r, \t, \x7f,
// \u009b), bytes that are not UTF-8 as \xNN, and the Unicode controls that reorder or break
// lines (bidi overrides and isolates, line and paragraph separators) as \uNNNN: nothing in the
// result moves the cursor, starts a terminal sequence or begins a new line (a name ending in
// "\nadmin@site> " would otherwise draw a fake prompt). Every string the console prints that did
// not come from the console itself goes through it (tables, prompts, messages, errors).
func printable(s string) string { return escapeText(s, false) }

// terminalText is the last guard before the terminal: like printable but a newline stays a
// newline, since the console's own messages are made of lines. Whatever a composition forgot to
// pass through printable can still not write a raw escape sequence.
func terminalText(s string) string { return escapeText(s, true) }

func escapeText(s string, keepNL bool) string {
	if plainASCII(s, keepNL) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && keepNL:
			b.WriteByte('\n')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0, unsafeFormat(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// plainASCII is the fast path: printable ASCII only (and newlines when kept).
func plainASCII(s string, keepNL bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 || c > 0x7e) && !(keepNL && c == '\n') {
			return false
		}
	}
	return true
}

// unsafeFormat reports the invisible Unicode controls that make text show other than it reads:
// the bidi embeddings, overrides and isolates, and the line and paragraph separators.
func unsafeFormat(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x2028 || r == 0x2029 ||
		r == 0x200e || r == 0x200f || r == 0x061c || r == 0xfeff
}
