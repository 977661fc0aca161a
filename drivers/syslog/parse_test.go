package syslog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// parsed is a message as a strict RFC 5424 reader of our own sees it (the tests' collector).
type parsed struct {
	Facility, Severity int
	Version            int
	Timestamp          string // as sent; "-" for NILVALUE
	Time               time.Time
	Hostname, AppName  string
	ProcID, MsgID      string
	SD                 []SDElement // unescaped; nil for "-"
	BOM                bool
	Msg                string // after the BOM
	HasMsg             bool
}

// parse5424 reads one datagram by the ABNF of RFC 5424 section 6 and refuses anything else.
func parse5424(b []byte) (p parsed, err error) {
	if len(b) > MaxDatagram {
		return p, fmt.Errorf("datagram of %d bytes", len(b))
	}
	s := string(b)
	if !strings.HasPrefix(s, "<") {
		return p, errors.New("no PRI")
	}
	end := strings.IndexByte(s, '>')
	if end < 2 || end > 4 {
		return p, errors.New("bad PRI")
	}
	pri, err := strconv.Atoi(s[1:end])
	if err != nil || pri < 0 || pri > 191 || (len(s[1:end]) > 1 && s[1] == '0') {
		return p, fmt.Errorf("bad PRI %q", s[1:end])
	}
	p.Facility, p.Severity = pri/8, pri%8
	s = s[end+1:]
	if !strings.HasPrefix(s, "1 ") {
		return p, errors.New("VERSION is not 1")
	}
	p.Version = 1
	s = s[2:]
	fields := make([]string, 5)
	limits := []int{32, MaxHostname, MaxAppName, MaxProcID, MaxMsgID}
	for i := range fields {
		sp := strings.IndexByte(s, ' ')
		if sp < 1 {
			return p, fmt.Errorf("header field %d missing", i)
		}
		f := s[:sp]
		s = s[sp+1:]
		if len(f) > limits[i] {
			return p, fmt.Errorf("header field %d longer than %d", i, limits[i])
		}
		for j := 0; j < len(f); j++ {
			if f[j] < 33 || f[j] > 126 {
				return p, fmt.Errorf("header field %d: byte %#x not PRINTUSASCII", i, f[j])
			}
		}
		fields[i] = f
	}
	p.Timestamp, p.Hostname, p.AppName, p.ProcID, p.MsgID = fields[0], fields[1], fields[2], fields[3], fields[4]
	if p.Timestamp != "-" {
		// FULL-DATE "T" FULL-TIME, TIME-SECFRAC 1..6 digits, offset Z or +-hh:mm.
		t, err := time.Parse(time.RFC3339Nano, p.Timestamp)
		if err != nil || strings.ContainsAny(p.Timestamp, "tz") {
			return p, fmt.Errorf("bad TIMESTAMP %q", p.Timestamp)
		}
		if dot := strings.IndexByte(p.Timestamp, '.'); dot >= 0 {
			frac := strings.IndexAny(p.Timestamp[dot:], "Z+-") - 1
			if frac < 1 || frac > 6 {
				return p, fmt.Errorf("TIME-SECFRAC of %d digits", frac)
			}
		}
		p.Time = t
	}
	if strings.HasPrefix(s, "-") {
		s = s[1:]
	} else {
		if !strings.HasPrefix(s, "[") {
			return p, errors.New("no STRUCTURED-DATA")
		}
		seen := map[string]bool{}
		for strings.HasPrefix(s, "[") {
			var e SDElement
			e, s, err = parseElement(s[1:])
			if err != nil {
				return p, err
			}
			if seen[e.ID] {
				return p, fmt.Errorf("SD-ID %s twice", e.ID)
			}
			seen[e.ID] = true
			p.SD = append(p.SD, e)
		}
	}
	if s == "" {
		return p, nil
	}
	if s[0] != ' ' {
		return p, fmt.Errorf("junk after STRUCTURED-DATA: %q", s)
	}
	p.HasMsg = true
	s = s[1:]
	if rest, ok := strings.CutPrefix(s, bom); ok {
		p.BOM = true
		s = rest
		if !utf8.ValidString(s) {
			return p, errors.New("MSG-UTF8 is not UTF-8")
		}
	}
	p.Msg = s
	return p, nil
}

func parseElement(s string) (e SDElement, rest string, err error) {
	name := func() (string, error) {
		i := strings.IndexAny(s, " =]\"")
		if i < 1 || i > MaxSDName {
			return "", fmt.Errorf("bad SD-NAME at %q", s)
		}
		n := s[:i]
		for j := 0; j < len(n); j++ {
			if n[j] < 33 || n[j] > 126 {
				return "", fmt.Errorf("SD-NAME byte %#x", n[j])
			}
		}
		s = s[i:]
		return n, nil
	}
	if e.ID, err = name(); err != nil {
		return e, "", err
	}
	if strings.Count(e.ID, "@") > 1 {
		return e, "", fmt.Errorf("SD-ID %q", e.ID)
	}
	for {
		if strings.HasPrefix(s, "]") {
			return e, s[1:], nil
		}
		if !strings.HasPrefix(s, " ") {
			return e, "", fmt.Errorf("bad SD-ELEMENT at %q", s)
		}
		s = s[1:]
		var pr SDParam
		if pr.Name, err = name(); err != nil {
			return e, "", err
		}
		if strings.Contains(pr.Name, "@") {
			return e, "", fmt.Errorf("PARAM-NAME %q", pr.Name)
		}
		if !strings.HasPrefix(s, "=\"") {
			return e, "", fmt.Errorf("no =\" after %s", pr.Name)
		}
		s = s[2:]
		var v strings.Builder
		for {
			if s == "" {
				return e, "", errors.New("unterminated PARAM-VALUE")
			}
			c := s[0]
			if c == '\\' && len(s) > 1 && (s[1] == '"' || s[1] == '\\' || s[1] == ']') {
				v.WriteByte(s[1])
				s = s[2:]
				continue
			}
			if c == '"' {
				s = s[1:]
				break
			}
			if c == ']' {
				return e, "", errors.New("unescaped ] in PARAM-VALUE")
			}
			v.WriteByte(c)
			s = s[1:]
		}
		if !utf8.ValidString(v.String()) {
			return e, "", errors.New("PARAM-VALUE not UTF-8")
		}
		pr.Value = v.String()
		e.Params = append(e.Params, pr)
	}
}
