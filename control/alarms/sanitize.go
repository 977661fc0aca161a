package alarms

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what the registry keeps. Longer texts are cut on a rune boundary.
const (
	MaxKeyLen  = 200 // bytes
	MaxNameLen = 100 // source and kind, bytes
	MaxTextLen = 400 // bytes
	MaxUserLen = 64  // bytes
)

// cleanText makes s one line of valid UTF-8 of at most max bytes: invalid bytes become U+FFFD,
// control and format characters (C0, DEL, C1, line and paragraph separators, bidi controls)
// become spaces, runs of spaces collapse and the ends are trimmed.
func cleanText(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unsafeRune(r) || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r) // utf8.RuneError for invalid bytes: written as U+FFFD
	}
	return cut(b.String(), max)
}

// cleanWord is cleanText for identifiers (keys, sources, kinds): whitespace inside becomes '_'
// so a key stays one token in a log line. keepSpace keeps single spaces (sources: "zone row-a").
func cleanWord(s string, max int, keepSpace bool) string {
	s = cleanText(s, max)
	if keepSpace {
		return s
	}
	return strings.ReplaceAll(s, " ", "_")
}

// unsafeRune: characters that must never reach a log line, a terminal or a syslog datagram.
func unsafeRune(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
		r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r)
}

// cut shortens s to at most max bytes without splitting a rune.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return strings.TrimRight(s[:i], " ")
}

// checkUser accepts a user name as the console and the log can show it unquoted: 1 to
// MaxUserLen bytes of ASCII letters, digits and ._-@ starting with a letter or digit.
func checkUser(user string) error {
	if user == "" {
		return fmt.Errorf("%w: user is empty", ErrBadArgument)
	}
	if len(user) > MaxUserLen {
		return fmt.Errorf("%w: user is longer than %d bytes", ErrBadArgument, MaxUserLen)
	}
	for i := 0; i < len(user); i++ {
		c := user[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			i > 0 && (c == '.' || c == '_' || c == '-' || c == '@')
		if !ok {
			return fmt.Errorf("%w: user %q: byte %q not allowed (letters, digits and ._-@)", ErrBadArgument, user, c)
		}
	}
	return nil
}

// checkKey refuses a key the registry could not have made: Raise cleans keys the same way, so a
// key that cleaning changes names no alarm.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: key is empty", ErrBadArgument)
	}
	if cleanWord(key, MaxKeyLen, false) != key {
		return fmt.Errorf("%w: key %q has control characters, spaces or is longer than %d bytes", ErrBadArgument, key, MaxKeyLen)
	}
	return nil
}

// shape is s with every number masked: two texts with the same shape say the same thing with
// other figures ("inlet 27.4 C" and "inlet 27.6 C").
func shape(s string) string {
	var b strings.Builder
	num := false
	for _, r := range s {
		d := r >= '0' && r <= '9' || (num && (r == '.' || r == ','))
		if d {
			if !num {
				b.WriteByte('#')
			}
			num = true
			continue
		}
		num = false
		b.WriteRune(r)
	}
	return b.String()
}
