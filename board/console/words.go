package console

import (
	"errors"
	"strings"
)

var errOpenQuote = errors.New("unterminated quote (close it with \")")

// token is one word of a command line.
type token struct {
	text       string
	start, end int // byte offsets in the line; end is exclusive
	quoted     bool
}

// tokenize splits a command line into words at spaces and tabs. Double quotes group words and keep
// "?" literal ("rtu:///dev/ttyS1?baud=19200"); inside them \" \\ \n and \t are escapes. open
// reports an unterminated quote (the last token then runs to the end of the line).
func tokenize(line string) (toks []token, open bool) {
	i := 0
	for i < len(line) {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) {
			break
		}
		t := token{start: i}
		var b strings.Builder
		inQ := false
		for i < len(line) {
			c := line[i]
			if !inQ && (c == ' ' || c == '\t') {
				break
			}
			if c == '"' {
				inQ = !inQ
				t.quoted = true
				i++
				continue
			}
			if inQ && c == '\\' && i+1 < len(line) {
				i++
				switch line[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(line[i])
				}
				i++
				continue
			}
			b.WriteByte(c)
			i++
		}
		t.end = i
		t.text = b.String()
		toks = append(toks, t)
		if inQ {
			return toks, true
		}
	}
	return toks, false
}

func texts(toks []token) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.text
	}
	return out
}
