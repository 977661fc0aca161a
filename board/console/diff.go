package console

import (
	"fmt"
	"strings"
)

// unifiedDiff compares two texts line by line (longest common subsequence) and returns a unified
// diff with ctx lines of context; each hunk header names the TOML table (and its name) it is in, so
// "min_fan_pct = 35.0" says which unit it belongs to. Empty when equal.
func unifiedDiff(aName, bName, a, b string, ctx int) string {
	al, bl := splitLines(a), splitLines(b)
	type op struct {
		kind byte // ' ', '-', '+'
		ai   int  // index in a (for ' ' and '-')
		bi   int  // index in b (for ' ' and '+')
	}
	var ops []op
	n, m := len(al), len(bl)
	if n*m > 4_000_000 { // too big for the table: show it as replaced
		for i := range al {
			ops = append(ops, op{'-', i, 0})
		}
		for j := range bl {
			ops = append(ops, op{'+', n, j})
		}
	} else {
		lcs := make([][]int32, n+1)
		for i := range lcs {
			lcs[i] = make([]int32, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if al[i] == bl[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && al[i] == bl[j]:
				ops = append(ops, op{' ', i, j})
				i++
				j++
			case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
				ops = append(ops, op{'-', i, j})
				i++
			default:
				ops = append(ops, op{'+', i, j})
				j++
			}
		}
	}
	changed := false
	for _, o := range ops {
		if o.kind != ' ' {
			changed = true
			break
		}
	}
	if !changed {
		return ""
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start := max(0, k-ctx)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			// a run of context: the hunk ends if the run is longer than 2*ctx
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		aStart, bStart := ops[start].ai, ops[start].bi
		aCount, bCount := 0, 0
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				aCount++
			}
			if o.kind != '-' {
				bCount++
			}
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@%s\n", aStart+1, aCount, bStart+1, bCount, section(bl, bStart))
		for _, o := range ops[start:end] {
			switch o.kind {
			case '-':
				out.WriteString("-" + al[o.ai] + "\n")
			case '+':
				out.WriteString("+" + bl[o.bi] + "\n")
			default:
				out.WriteString(" " + al[o.ai] + "\n")
			}
		}
		k = end
	}
	return out.String()
}

// section finds the TOML table header above line i, with the element's name when it has one.
func section(lines []string, i int) string {
	for k := min(i, len(lines)-1); k >= 0; k-- {
		l := strings.TrimSpace(lines[k])
		if !strings.HasPrefix(l, "[") {
			continue
		}
		for j := k + 1; j < len(lines) && j <= k+2; j++ {
			n := strings.TrimSpace(lines[j])
			if strings.HasPrefix(n, "name =") || strings.HasPrefix(n, "id =") {
				return " " + l + " " + n
			}
		}
		return " " + l
	}
	return ""
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// UnifiedDiff is unifiedDiff with three lines of context, for other packages (the appliance shows
// how a site file differs from the stored configuration).
func UnifiedDiff(aName, bName, a, b string) string { return unifiedDiff(aName, bName, a, b, 3) }
