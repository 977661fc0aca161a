package console

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// column of a table. Columns are as wide as their content; only when the terminal is too narrow
// for the whole table are the widest text columns cut ("~") or the wrapping column wrapped.
type column struct {
	title string
	width int  // unused by the layout (kept for callers that still give one)
	right bool // numbers: right-aligned, never cut
	keep  bool // the row's name (a sensor id, a unit): cut only when no other column can be
	wrap  bool // the last column may wrap onto continuation lines instead of being cut
}

// defaultWidth is the terminal width when the terminal does not say (a serial line has no size).
const defaultWidth = 80

// renderTable lays out rows for a terminal of defaultWidth columns.
func renderTable(cols []column, rows [][]string) string {
	return layoutTable(cols, rows, defaultWidth)
}

// minCut is the narrowest a text column is cut to (its title, and at least this many runes).
const minCut = 6

// layoutTable lays out rows under their titles, two spaces apart, for a terminal width columns
// wide. Every cell is passed through printable: cells hold names and texts from outside.
func layoutTable(cols []column, rows [][]string, width int) string {
	if width <= 0 {
		width = defaultWidth
	}
	cells := make([][]string, len(rows))
	for i, r := range rows {
		cells[i] = make([]string, len(cols))
		for j := range cols {
			if j < len(r) {
				cells[i][j] = printable(r[j])
			}
		}
	}
	w := make([]int, len(cols))
	for i, c := range cols {
		w[i] = utf8.RuneCountInString(printable(c.title))
		for _, r := range cells {
			w[i] = max(w[i], utf8.RuneCountInString(r[i]))
		}
	}
	fitColumns(cols, w, width)
	var b strings.Builder
	line := func(cells []string) {
		var parts []string
		var cont []string
		indent := 0
		for i, c := range cols {
			cell := cells[i]
			if c.wrap && i == len(cols)-1 {
				chunks := wrapText(cell, w[i])
				cell = chunks[0]
				cont = chunks[1:]
			} else {
				cell = clip(cell, w[i])
			}
			pad := strings.Repeat(" ", max(0, w[i]-utf8.RuneCountInString(cell)))
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
		titles[i] = printable(c.title)
	}
	line(titles)
	for _, r := range cells {
		line(r)
	}
	return b.String()
}

// fitColumns narrows the widths w (the content's) until the table fits width: first the wrapping
// last column (wrapping loses nothing), then, one rune at a time, the widest text column, the
// row's name last. Numbers are never cut; a table that still does not fit is left to the
// terminal's own wrapping.
func fitColumns(cols []column, w []int, width int) {
	total := func() int {
		t := 2 * (len(w) - 1)
		for _, x := range w {
			t += x
		}
		return t
	}
	floor := func(i int) int {
		return min(w[i], max(minCut, utf8.RuneCountInString(cols[i].title)))
	}
	floors := make([]int, len(w))
	for i := range w {
		floors[i] = floor(i)
	}
	if last := len(cols) - 1; last >= 0 && cols[last].wrap {
		if over := total() - width; over > 0 {
			w[last] = max(floors[last], w[last]-over)
		}
	}
	for _, keep := range []bool{false, true} {
		for total() > width {
			best := -1
			for i, c := range cols {
				if c.right || c.keep != keep || w[i] <= floors[i] {
					continue
				}
				if best < 0 || w[i] > w[best] {
					best = i
				}
			}
			if best < 0 {
				break
			}
			w[best]--
		}
	}
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
		for i := n; i > 0 && i >= n/2; i-- {
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

// keyValues renders "name   value" lines, the value (from outside: printable) wrapped to fit
// width columns.
func keyValues(kv [][2]string, width int) string {
	if width <= 0 {
		width = defaultWidth
	}
	w := 0
	for _, p := range kv {
		w = max(w, len(p[0]))
	}
	var b strings.Builder
	for _, p := range kv {
		lines := wrapText(printable(p[1]), max(20, width-2-w))
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

// num formats v; NaN (nothing to show: no measurement, not set) prints as "-".
func num(v float64, decimals int) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.*f", decimals, v)
}

// reading formats a value read from a unit or measured: "-" when there is no such point
// (absent), "n/a" when the point exists but has no valid value (NaN or infinite: the unit's "not
// available" sentinel, an implausible read-back, no valid measurement).
func reading(v float64, decimals int, absent bool) string {
	switch {
	case absent:
		return "-"
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	}
	return fmt.Sprintf("%.*f", decimals, v)
}
