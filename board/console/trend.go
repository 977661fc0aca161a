package console

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The eight levels of a sparkline, lowest first. The block elements are UTF-8, which every
// terminal program in use today shows (PuTTY, picocom and minicom in a UTF-8 locale); "ascii"
// draws the ramp for one that does not (there the blocks show as "â–" and a letter).
var (
	sparkBlocks = []rune("▁▂▃▄▅▆▇█")
	sparkASCII  = []rune("_.-~=+*#")
)

// trendMaxMinutes is how far back show trend may look: the controller keeps an hour in memory.
const trendMaxMinutes = 60

// trendMarks is the most marks a sparkline has: a mark a minute over the hour.
const trendMarks = 60

func trendChoices(s *session, _ []string) []choice {
	var out []choice
	for _, z := range s.running.Zones {
		out = append(out, choice{word: z.Name, help: "zone: hottest inlet and measurement against the setpoint"})
	}
	for _, u := range s.running.Units {
		out = append(out, choice{word: u.Name, help: "unit: fan and valve commands"})
	}
	return out
}

func zoneNames(s *session) []string {
	out := make([]string, len(s.running.Zones))
	for i, z := range s.running.Zones {
		out[i] = z.Name
	}
	return out
}

func (s *session) isZone(name string) bool { return slices.Contains(zoneNames(s), name) }

func checkTrendName(s *session, _ []string, v string) error {
	if s.isZone(v) || s.running.Unit(v) != nil {
		return nil
	}
	units := unitNames(s.running)
	known := fmt.Sprintf("zones: %s; units: %s", listOr(zoneNames(s)), listOr(units))
	if hint := suggest(v, append(zoneNames(s), units...)); hint != "" {
		return fmt.Errorf("%s: no such zone or unit; did you mean %s? (%s)", v, hint, known)
	}
	return fmt.Errorf("%s: no such zone or unit (%s)", v, known)
}

func checkTrendMinutes(_ *session, _ []string, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > trendMaxMinutes {
		return fmt.Errorf("%q is not a number of minutes 1..%d (the trend keeps the last hour)", v, trendMaxMinutes)
	}
	return nil
}

// trendNode is "show trend ZONE|UNIT [minutes N] [ascii]" (the two options in either order).
func trendNode() *node {
	run := func(ascii bool) func(*session, []string) error {
		return func(s *session, a []string) error { return s.showTrend(a, ascii) }
	}
	const (
		minutesHelp = "how far back (default 60)"
		asciiHelp   = "draw with ASCII characters (a terminal that shows no UTF-8)"
	)
	minutes := func(ascii bool, kids ...*node) *node {
		return kw("minutes", minutesHelp, nil,
			&node{arg: "N", help: "minutes, 1..60", check: checkTrendMinutes, run: run(ascii), kids: kids})
	}
	return kw("trend", "the last hour of a zone or a unit, as sparklines", nil,
		&node{arg: "ZONE|UNIT", help: "a zone or a unit", choices: trendChoices, check: checkTrendName, run: run(false),
			kids: []*node{
				minutes(false, kw("ascii", asciiHelp, run(true))),
				kw("ascii", asciiHelp, run(true), minutes(true)),
			}})
}

// trendSeries is one row of a trend: a value per sample, NaN where there is none.
type trendSeries struct {
	label string
	vals  []float64
}

func (s *session) showTrend(a []string, ascii bool) error {
	name := a[0]
	minutes := trendMaxMinutes
	if len(a) > 1 {
		minutes, _ = strconv.Atoi(a[1])
	}
	now := s.now()
	since := now.Add(-time.Duration(minutes) * time.Minute)
	pts, err := s.c.b.Trend(s.ctx, since)
	if err != nil {
		return backendErr("show trend", err)
	}
	// The contract says oldest first and at or after since; a sparkline drawn from anything
	// else would mislead, so hold the backend to it.
	pts = slices.DeleteFunc(slices.Clone(pts), func(p TrendPoint) bool { return p.Time.Before(since) })
	slices.SortStableFunc(pts, func(x, y TrendPoint) int { return x.Time.Compare(y.Time) })
	if len(pts) == 0 {
		s.printf("show trend %s: no samples in the last %d min (the trend is kept in memory from the controller's start)\n", name, minutes)
		return nil
	}
	glyphs := sparkBlocks
	if ascii {
		glyphs = sparkASCII
	}
	var b strings.Builder
	if s.isZone(name) {
		rows := make([]trendSeries, 3)
		rows[0].label, rows[1].label, rows[2].label = "hottest inlet", "measurement", "setpoint"
		for _, p := range pts {
			z, ok := p.Zones[name]
			if !ok {
				z = TrendZone{math.NaN(), math.NaN(), math.NaN()}
			}
			rows[0].vals = append(rows[0].vals, z.HottestC)
			rows[1].vals = append(rows[1].vals, z.MeasureC)
			rows[2].vals = append(rows[2].vals, z.SetpointC)
		}
		// One scale for the three rows, so the inlets read against the setpoint.
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range rows {
			if mn, mx, ok := minMax(r.vals); ok {
				lo, hi = min(lo, mn), max(hi, mx)
			}
		}
		s.trendBlock(&b, "zone "+name, pts, now, minutes, rows, lo, hi, 1, "C", glyphs)
	}
	if s.running.Unit(name) != nil {
		rows := make([]trendSeries, 2)
		rows[0].label, rows[1].label = "fan command", "valve command"
		for _, p := range pts {
			u, ok := p.Units[name]
			if !ok {
				u = TrendUnit{math.NaN(), math.NaN()}
			}
			rows[0].vals = append(rows[0].vals, u.FanPct)
			rows[1].vals = append(rows[1].vals, u.ValvePct)
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		// A fixed 0..100 scale: a fan at its minimum shows as low as it is, not as a full swing.
		s.trendBlock(&b, "unit "+name, pts, now, minutes, rows, 0, 100, 0, "%", glyphs)
	}
	s.write(b.String())
	return nil
}

// trendBlock writes one zone's or unit's rows: a header with the span, per row its min, max and
// last numbers and its sparkline, and the scale.
func (s *session) trendBlock(b *strings.Builder, what string, pts []TrendPoint, now time.Time, minutes int,
	rows []trendSeries, lo, hi float64, decimals int, unit string, glyphs []rune) {
	n := len(pts)
	marks := min(n, trendMarks, max(s.width-3, 10))
	first, last := pts[0].Time.In(now.Location()), pts[n-1].Time.In(now.Location())
	per := "a mark a sample"
	if marks < n {
		per = fmt.Sprintf("a mark is the highest of %d to %d samples", n/marks, (n+marks-1)/marks)
		if n%marks == 0 {
			per = fmt.Sprintf("a mark is the highest of %d samples", n/marks)
		}
	}
	wrapped := func(line string) {
		for _, l := range wrapText(line, max(20, min(s.width-1, 79))) {
			b.WriteString(l + "\n")
		}
	}
	wrapped(fmt.Sprintf("%s, last %d min: %d samples, %s to %s", printable(what), minutes, n,
		first.Format("15:04:05"), last.Format("15:04:05")))
	fmt.Fprintf(b, "%-15s %6s %6s %6s\n", "", "min", "max", "last")
	for _, r := range rows {
		mn, mx, ok := minMax(r.vals)
		if !ok {
			mn, mx = math.NaN(), math.NaN()
		}
		fmt.Fprintf(b, "%-15s %6s %6s %6s %s\n", r.label, trendNum(mn, decimals), trendNum(mx, decimals),
			trendNum(r.vals[n-1], decimals), unit)
		b.WriteString("  " + sparkline(r.vals, marks, lo, hi, glyphs) + "\n")
	}
	scale := "scale: none, no valid value"
	if !math.IsInf(lo, 0) {
		scale = fmt.Sprintf("scale: %c %s %s to %c %s %s", glyphs[0], trendNum(lo, decimals), unit,
			glyphs[len(glyphs)-1], trendNum(hi, decimals), unit)
	}
	wrapped(fmt.Sprintf("%s; %s; a blank: no valid value", scale, per))
}

func trendNum(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// minMax returns the extremes of the finite values; ok is false when there is none.
func minMax(vals []float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		lo, hi, ok = min(lo, v), max(hi, v), true
	}
	return lo, hi, ok
}

// sparkline draws vals in marks marks on the scale lo..hi: the samples are cut into marks
// consecutive slices and each mark shows the highest finite value of its slice (for a
// temperature the safe reading), a blank when the slice has none.
func sparkline(vals []float64, marks int, lo, hi float64, glyphs []rune) string {
	n := len(vals)
	out := make([]rune, 0, marks)
	for m := range marks {
		from, to := m*n/marks, (m+1)*n/marks
		_, top, ok := minMax(vals[from:to])
		if !ok {
			out = append(out, ' ')
			continue
		}
		level := 0
		if hi > lo {
			f := (min(max(top, lo), hi) - lo) / (hi - lo)
			level = int(math.Round(f * float64(len(glyphs)-1)))
		}
		out = append(out, glyphs[level])
	}
	return string(out)
}
