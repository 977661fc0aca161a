package syslog

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field limits of RFC 5424 section 6, and the datagram size every receiver must take
// (RFC 5426 section 3.2: 2048 octets over IPv4 and IPv6 alike).
const (
	MaxHostname = 255
	MaxAppName  = 48
	MaxProcID   = 128
	MaxMsgID    = 32
	MaxSDName   = 32
	MaxDatagram = 2048
)

const (
	nilValue = "-"
	bom      = "\xef\xbb\xbf"
	// stampLayout is RFC 3339 with microseconds (TIME-SECFRAC at most 6 digits) and the
	// offset ("Z" for UTC).
	stampLayout = "2006-01-02T15:04:05.000000Z07:00"
)

// Message is one syslog message.
type Message struct {
	Time     time.Time // zero: the time of Send
	Severity int       // RFC 5424 0 (emergency) .. 7 (debug); out of range is sent as 2 (crit)
	MsgID    string    // the type of message, e.g. "RAISED"; empty: "-"
	SD       []SDElement
	Text     string // the MSG part; empty: none
}

// SDElement is one STRUCTURED-DATA element. ID is an SD-ID: a name of your own must carry an
// enterprise number ("alarm@32473"); names without "@" are reserved to IANA (RFC 5424 7).
type SDElement struct {
	ID     string
	Params []SDParam
}

// SDParam is one PARAM-NAME="PARAM-VALUE".
type SDParam struct {
	Name, Value string
}

// header is the fixed part of every message after PRI and VERSION: the Options, checked.
type header struct {
	facility                  int
	hostname, appName, procID string
}

// format renders m as one RFC 5424 message of at most MaxDatagram bytes. It never fails: header
// fields are made PRINTUSASCII and cut, SD names that are not SD-NAMEs are repaired or dropped,
// and MSG is cut on a character boundary (truncated reports that).
func (h *header) format(m Message, now time.Time) (b []byte, truncated bool) {
	sev := m.Severity
	if sev < 0 || sev > 7 {
		sev = 2 // an unknown severity is loud
	}
	t := m.Time
	if t.IsZero() {
		t = now
	}
	b = make([]byte, 0, 256)
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(h.facility*8+sev), 10)
	b = append(b, ">1 "...)
	if y := t.Year(); y < 0 || y > 9999 {
		b = append(b, nilValue...) // not expressible as a FULL-DATE
	} else {
		b = t.AppendFormat(b, stampLayout)
	}
	b = append(b, ' ')
	b = append(b, h.hostname...)
	b = append(b, ' ')
	b = append(b, h.appName...)
	b = append(b, ' ')
	b = append(b, h.procID...)
	b = append(b, ' ')
	b = append(b, headerField(m.MsgID, MaxMsgID)...)
	b = append(b, ' ')

	sd := appendSD(nil, m.SD)
	// Header and SD must leave room for at least the separator; drop whole elements otherwise
	// (never cut one: a half element is not STRUCTURED-DATA).
	for len(m.SD) > 0 && len(b)+len(sd) > MaxDatagram {
		m.SD = m.SD[:len(m.SD)-1]
		sd, truncated = appendSD(nil, m.SD), true
	}
	b = append(b, sd...)

	if m.Text == "" {
		return b, truncated
	}
	b = append(b, ' ')
	ascii := isASCII(m.Text)
	if !ascii {
		b = append(b, bom...)
	}
	msgStart := len(b)
	var cut bool
	b, cut = appendEscaped(b, m.Text, MaxDatagram)
	if cut && len(b) == msgStart {
		// Nothing of MSG fitted: drop the separator and BOM too.
		b = b[:msgStart-1]
		if !ascii {
			b = b[:len(b)-len(bom)]
		}
	}
	return b, truncated || cut
}

// appendSD appends the STRUCTURED-DATA part: "-" when there is none.
func appendSD(b []byte, els []SDElement) []byte {
	n := len(b)
	seen := map[string]bool{}
	for _, e := range els {
		id := sdName(e.ID, true)
		if id == "" || seen[id] {
			continue // RFC 5424 6.3.2: an SD-ID occurs at most once
		}
		seen[id] = true
		b = append(b, '[')
		b = append(b, id...)
		for _, p := range e.Params {
			name := sdName(p.Name, false)
			if name == "" {
				continue
			}
			b = append(b, ' ')
			b = append(b, name...)
			b = append(b, '=', '"')
			b = appendParamValue(b, p.Value)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	if len(b) == n {
		b = append(b, nilValue...)
	}
	return b
}

// headerField makes s a header field: PRINTUSASCII only (others become '_'), at most max
// bytes, "-" when empty.
func headerField(s string, max int) string {
	if s == "" {
		return nilValue
	}
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r >= 33 && r <= 126 {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// sdName repairs an SD-NAME: PRINTUSASCII except '=', ' ', ']' and '"' (those become '_'), at
// most 32 bytes. An SD-ID may carry one "@"; a PARAM-NAME none.
func sdName(s string, id bool) string {
	var b strings.Builder
	at := false
	for i := 0; i < len(s) && b.Len() < MaxSDName; {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r < 33 || r > 126 || r == '=' || r == ']' || r == '"':
			b.WriteByte('_')
		case r == '@' && (!id || at):
			b.WriteByte('_')
		default:
			at = at || r == '@'
			b.WriteRune(r)
		}
	}
	return b.String()
}

// appendParamValue escapes a PARAM-VALUE: '"', '\' and ']' get a backslash (RFC 5424 6.3.3);
// control characters are written as Go-style escapes, invalid UTF-8 as U+FFFD.
func appendParamValue(b []byte, s string) []byte {
	for _, r := range s {
		switch r {
		case '"', '\\', ']':
			b = append(b, '\\', byte(r))
		default:
			b = appendRune(b, r)
		}
	}
	return b
}

// appendEscaped appends s with control characters escaped, keeping the whole slice within max
// bytes; it stops before the first character (or escape) that would not fit.
func appendEscaped(b []byte, s string, max int) ([]byte, bool) {
	var tmp [16]byte
	for _, r := range s {
		e := appendRune(tmp[:0], r)
		if len(b)+len(e) > max {
			return b, true
		}
		b = append(b, e...)
	}
	return b, false
}

// appendRune writes r, or its escape when it is a control or formatting character that could
// break a line, move a terminal's cursor or reorder the text in a viewer: C0 (\n, \r, \t,
// \xHH), DEL, C1 (\u0085), the line and paragraph separators and bidi controls (\u202e).
// Invalid UTF-8 arrives here as U+FFFD and is written as such.
func appendRune(b []byte, r rune) []byte {
	switch r {
	case '\n':
		return append(b, `\n`...)
	case '\r':
		return append(b, `\r`...)
	case '\t':
		return append(b, `\t`...)
	}
	if r < 0x20 || r == 0x7f {
		return append(b, '\\', 'x', hex[r>>4], hex[r&15])
	}
	if (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r) {
		if r > 0xffff {
			b = append(b, '\\', 'U', '0', '0', hex[r>>20&15], hex[r>>16&15])
		} else {
			b = append(b, '\\', 'u')
		}
		return append(b, hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
	}
	return utf8.AppendRune(b, r)
}

const hex = "0123456789abcdef"

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
