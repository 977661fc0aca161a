package console

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// column of a table; widths are chosen so every table fits 80 columns.
type column struct {
	title string
	width int  // at most this wide; longer cells are cut ("~") unless the column wraps
	right bool // numbers
	wrap  bool // the last column may wrap onto continuation lines instead of being cut
}

// renderTable lays out rows under their titles, two spaces apart.
func renderTable(cols []column, rows [][]string) string {
	w := make([]int, len(cols))
	for i, c := range cols {
		w[i] = utf8.RuneCountInString(c.title)
		for _, r := range rows {
			if i < len(r) {
				w[i] = max(w[i], utf8.RuneCountInString(r[i]))
			}
		}
		w[i] = min(w[i], c.width)
	}
	var b strings.Builder
	line := func(cells []string) {
		var parts []string
		var cont []string
		indent := 0
		for i, c := range cols {
			cell := ""
			if i < len(cells) {
				cell = cells[i]
			}
			if c.wrap && i == len(cols)-1 {
				chunks := wrapText(cell, w[i])
				cell = chunks[0]
				cont = chunks[1:]
			} else {
				cell = clip(cell, w[i])
			}
			pad := strings.Repeat(" ", w[i]-utf8.RuneCountInString(cell))
			if c.right {
				cell = pad + cell
			} else {
				cell += pad
			}
			if i < len(cols)-1 {
				indent += w[i] + 2
			}
			parts = append(parts, cell)
		}
		b.WriteString(strings.TrimRight(strings.Join(parts, "  "), " "))
		b.WriteByte('\n')
		for _, c := range cont {
			b.WriteString(strings.Repeat(" ", indent) + c + "\n")
		}
	}
	titles := make([]string, len(cols))
	for i, c := range cols {
		titles[i] = c.title
	}
	line(titles)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

// wrapText breaks s into lines of at most n runes, at spaces where it can.
func wrapText(s string, n int) []string {
	if n < 1 {
		n = 1
	}
	var out []string
	for utf8.RuneCountInString(s) > n {
		r := []rune(s)
		cut := n
		for i := n; i > n/2; i-- {
			if r[i] == ' ' {
				cut = i
				break
			}
		}
		out = append(out, strings.TrimRight(string(r[:cut]), " "))
		s = strings.TrimLeft(string(r[cut:]), " ")
	}
	return append(out, s)
}

// keyValues renders "name   value" lines, the value wrapped to fit 80 columns.
func keyValues(kv [][2]string) string {
	w := 0
	for _, p := range kv {
		w = max(w, len(p[0]))
	}
	var b strings.Builder
	for _, p := range kv {
		lines := wrapText(p[1], 78-w)
		for i, l := range lines {
			k := p[0]
			if i > 0 {
				k = ""
			}
			fmt.Fprintf(&b, "%-*s  %s\n", w, k, l)
		}
	}
	return b.String()
}

// age formats a duration the way a table has room for: 4s, 12m, 3h, 2d.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// num formats v; NaN (a point the unit does not have, a zone without a valid measurement)
// prints as "-".
func num(v float64, decimals int) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.*f", decimals, v)
}
