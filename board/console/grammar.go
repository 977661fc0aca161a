package console

import (
	"github.com/coldaisle/coldaisle/control/site"

	"fmt"
	"strings"
	"unicode/utf8"
)

// choice is one possible next word with its help; words in angle brackets are placeholders.
type choice struct {
	word, help string
	more       bool // a path goes on after it (a dotted path continues with ".")
}

// node is one word of the command grammar: a keyword, or an argument (word == "").
type node struct {
	word string
	arg  string // argument name in help and messages, e.g. "UNIT"
	help string
	kids []*node
	// run executes the command ending at this node with the arguments collected on the way (and,
	// for a rest node, the remaining words).
	run func(s *session, args []string) error
	// choices completes an argument node.
	choices func(s *session, args []string) []choice
	// check validates an argument as typed: one clear line when wrong.
	check func(s *session, args []string, v string) error
	// rest makes the node take every remaining word (set PATH VALUE, modbus read flags); it
	// completes them (the last word is the partial one).
	rest func(s *session, args []string, words []string) []choice
}

func kw(word, help string, run func(*session, []string) error, kids ...*node) *node {
	return &node{word: word, help: help, run: run, kids: kids}
}

func (n *node) argKid() *node {
	for _, k := range n.kids {
		if k.word == "" {
			return k
		}
	}
	return nil
}

// matchKeyword finds the keyword kid w names: exactly, or as the unique prefix of one ("sh" for
// show). ambiguous lists the candidates when a prefix names several.
func (n *node) matchKeyword(w string) (match *node, ambiguous []string) {
	var cands []*node
	for _, k := range n.kids {
		if k.word == "" {
			continue
		}
		if k.word == w {
			return k, nil
		}
		if w != "" && strings.HasPrefix(k.word, w) {
			cands = append(cands, k)
		}
	}
	if len(cands) == 1 {
		return cands[0], nil
	}
	for _, c := range cands {
		ambiguous = append(ambiguous, c.word)
	}
	return nil, ambiguous
}

func (n *node) keywords() []string {
	var out []string
	for _, k := range n.kids {
		if k.word != "" {
			out = append(out, k.word)
		}
	}
	return out
}

// userError is an error meant for the technician: one line, already prefixed with the command.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func lineErr(said []string, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if len(said) > 0 {
		msg = strings.Join(said, " ") + ": " + msg
	}
	return &userError{msg}
}

// parse walks words down the grammar from root.
func (s *session) parse(root *node, words []string) (*node, []string, error) {
	cur := root
	var args, said []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if cur.rest != nil {
			args = append(args, words[i:]...)
			break
		}
		if k, amb := cur.matchKeyword(w); k != nil {
			cur = k
			said = append(said, k.word)
			continue
		} else if len(amb) > 1 {
			if cur == root {
				return nil, nil, lineErr(nil, "%q is ambiguous: %s", w, strings.Join(amb, ", "))
			}
			return nil, nil, lineErr(said, "%q is ambiguous: %s", w, strings.Join(amb, ", "))
		}
		if a := cur.argKid(); a != nil {
			if a.check != nil {
				if err := a.check(s, args, w); err != nil {
					return nil, nil, lineErr(said, "%v", err)
				}
			}
			args = append(args, w)
			said = append(said, w)
			cur = a
			continue
		}
		if cur == root {
			return nil, nil, unknownCommand(w, root)
		}
		if len(cur.kids) == 0 {
			return nil, nil, lineErr(said, "unexpected %q (nothing more is needed)", w)
		}
		return nil, nil, lineErr(said, "unexpected %q (expected: %s)", w, s.expected(cur, args))
	}
	if cur.run == nil {
		if a := cur.argKid(); a != nil && len(cur.kids) == 1 {
			return nil, nil, lineErr(said, "missing %s (%s)", a.arg, s.expected(cur, args))
		}
		return nil, nil, lineErr(said, "incomplete command (expected: %s)", s.expected(cur, args))
	}
	return cur, args, nil
}

// expected lists what may follow at n, for error messages.
func (s *session) expected(n *node, args []string) string {
	var out []string
	for _, k := range n.kids {
		if k.word != "" {
			out = append(out, k.word)
			continue
		}
		var names []string
		if k.choices != nil {
			for _, c := range k.choices(s, args) {
				names = append(names, c.word)
			}
		}
		switch {
		case len(names) > 0 && len(names) <= 8:
			out = append(out, k.arg+": "+strings.Join(names, ", "))
		case len(names) > 8:
			out = append(out, k.arg+": "+strings.Join(names[:8], ", ")+", ...")
		default:
			out = append(out, k.arg+", "+k.help)
		}
	}
	return strings.Join(out, ", ")
}

func unknownCommand(w string, root *node) error {
	if hint := suggest(w, root.keywords()); hint != "" {
		return lineErr(nil, "unknown command %q (did you mean %s? ? lists the commands)", w, hint)
	}
	return lineErr(nil, "unknown command %q (? or help lists the commands)", w)
}

// suggest returns the keyword a typo most likely meant.
func suggest(w string, words []string) string {
	best, bestD := "", 3
	for _, k := range words {
		if d := site.EditDistance(w, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// choicesAt returns what may come at the end of prefix (the line up to the cursor) and the partial
// word being typed there.
func (s *session) choicesAt(root *node, prefix string) ([]choice, token, error) {
	toks, open := tokenize(prefix)
	partial := token{start: len(prefix), end: len(prefix)}
	if len(toks) > 0 && (open || toks[len(toks)-1].end == len(prefix)) {
		partial = toks[len(toks)-1]
		toks = toks[:len(toks)-1]
	}
	words := texts(toks)
	cur := root
	var args, said []string
	for i, w := range words {
		if cur.rest != nil {
			rest := append(append([]string(nil), words[i:]...), partial.text)
			return cur.rest(s, args, rest), partial, nil
		}
		if k, amb := cur.matchKeyword(w); k != nil {
			cur = k
			said = append(said, k.word)
			continue
		} else if len(amb) > 1 {
			return nil, partial, lineErr(said, "%q is ambiguous: %s", w, strings.Join(amb, ", "))
		}
		if a := cur.argKid(); a != nil {
			if a.check != nil {
				if err := a.check(s, args, w); err != nil {
					return nil, partial, lineErr(said, "%v", err)
				}
			}
			args = append(args, w)
			said = append(said, w)
			cur = a
			continue
		}
		if cur == root {
			return nil, partial, unknownCommand(w, root)
		}
		return nil, partial, lineErr(said, "unexpected %q", w)
	}
	if cur.rest != nil {
		return cur.rest(s, args, []string{partial.text}), partial, nil
	}
	var out []choice
	for _, k := range cur.kids {
		if k.word != "" {
			if strings.HasPrefix(k.word, partial.text) {
				out = append(out, choice{word: k.word, help: k.help})
			}
			continue
		}
		if k.choices != nil {
			for _, c := range k.choices(s, args) {
				if strings.HasPrefix(c.word, partial.text) {
					out = append(out, c)
				}
			}
		}
		out = append(out, choice{word: "<" + k.arg + ">", help: k.help})
	}
	if cur.run != nil && cur != root && partial.text == "" {
		out = append(out, choice{word: "<cr>", help: "run the command"})
	}
	return out, partial, nil
}

// formatChoices lays choices out as "  word   help" lines that fit width columns; a help text
// too long for the line wraps under itself rather than being cut.
func formatChoices(cs []choice, width int) string {
	if width <= 0 {
		width = defaultWidth
	}
	w := 0
	for _, c := range cs {
		w = max(w, utf8.RuneCountInString(printable(c.word)))
	}
	w = min(w, max(28, width/3))
	var b strings.Builder
	for _, c := range cs {
		word := clip(printable(c.word), w)
		line := "  " + word
		if c.help != "" {
			indent := 2 + w + 2
			parts := wrapText(printable(c.help), max(20, width-1-indent))
			line += strings.Repeat(" ", w-utf8.RuneCountInString(word)+2) + parts[0]
			for _, p := range parts[1:] {
				line += "\n" + strings.Repeat(" ", indent) + p
			}
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// clip cuts s to n runes, marking the cut with "~".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "~"
}

// onKey is the terminal's completion callback: Tab completes, ? shows what can come next, Ctrl-V
// makes the next key literal and Ctrl-C clears the line.
func (s *session) onKey(line string, pos int, key rune) (string, int, bool) {
	if s.literal {
		s.literal = false
		// Only a valid printable rune goes in literally: x/term can hand over a surrogate from
		// a broken byte sequence, whose RuneLen is -1, and a negative position panics in it.
		if key >= ' ' && key != 0x7f && utf8.ValidRune(key) {
			return line[:pos] + string(key) + line[pos:], pos + utf8.RuneLen(key), true
		}
		return line, pos, false
	}
	switch key {
	case keyTab:
		return s.tab(line, pos)
	case '?':
		if _, open := tokenize(line[:pos]); open {
			return line[:pos] + "?" + line[pos:], pos + 1, true // inside quotes: a literal ?
		}
		s.showHelp(line, pos)
		return line, pos, true
	case keyLiteral:
		s.literal = true
		return line, pos, true
	case keyCancel:
		s.write(s.prompt() + printable(line) + "^C\n")
		return "", 0, true
	}
	return "", 0, false
}

func (s *session) showHelp(line string, pos int) {
	cands, partial, err := s.choicesAt(s.root(), line[:pos])
	var b strings.Builder
	b.WriteString(s.prompt() + printable(line[:pos]) + "?\n")
	switch {
	case err != nil:
		b.WriteString("% " + oneLine(err.Error()) + "\n")
	case len(cands) == 0 && partial.text != "":
		fmt.Fprintf(&b, "%% nothing here starts with %q\n", partial.text)
	case len(cands) == 0:
		b.WriteString("% nothing more can follow\n")
	default:
		b.WriteString(formatChoices(cands, s.width))
	}
	s.write(b.String())
}

func (s *session) tab(line string, pos int) (string, int, bool) {
	cands, partial, err := s.choicesAt(s.root(), line[:pos])
	if err != nil || partial.quoted {
		return line, pos, true
	}
	seen := map[string]bool{}
	var words []choice
	for _, c := range cands {
		if !strings.HasPrefix(c.word, "<") && !seen[c.word] {
			seen[c.word] = true
			words = append(words, c)
		}
	}
	if len(words) == 0 {
		return line, pos, true
	}
	// A dotted path (unit.crah-1.min_f) completes its last element.
	start, typed := partial.start, partial.text
	if !strings.HasPrefix(words[0].word, typed) {
		if i := strings.LastIndexByte(typed, '.'); i >= 0 {
			start, typed = partial.start+i+1, typed[i+1:]
		}
	}
	replace := func(w, suffix string) (string, int, bool) {
		rest := line[pos:]
		if suffix == " " && strings.HasPrefix(rest, " ") {
			suffix = ""
		}
		nl := line[:start] + w + suffix + rest
		return nl, start + len(w) + len(suffix), true
	}
	if len(words) == 1 {
		suffix := " "
		if words[0].more && strings.Contains(partial.text, ".") {
			suffix = "."
		}
		return replace(words[0].word, suffix)
	}
	common := words[0].word
	for _, c := range words[1:] {
		for !strings.HasPrefix(c.word, common) {
			common = common[:len(common)-1]
		}
	}
	if len(common) > len(typed) && strings.HasPrefix(common, typed) {
		return replace(common, "")
	}
	var b strings.Builder
	b.WriteString(s.prompt() + printable(line) + "\n")
	b.WriteString(formatChoices(words, s.width))
	s.write(b.String())
	return line, pos, true
}

// oneLine makes an error or a text from outside one printable line.
func oneLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return printable(strings.ReplaceAll(s, "\n", "; "))
}
