package console_test

import (
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/console/consoletest"
)

// eightMinutes is a sample a minute up to the console's clock: row-a's hottest inlet climbs
// 20..27 C, its measurement holds 23.5 C (none at the fourth sample), the setpoint is 25 C; crah-1's
// fan climbs 30..100 % and it reports no valve.
func eightMinutes() []console.TrendPoint {
	var pts []console.TrendPoint
	for i := range 8 {
		m := 23.5
		if i == 3 {
			m = math.NaN()
		}
		pts = append(pts, console.TrendPoint{
			Time:  start.Add(time.Duration(i-7) * time.Minute),
			Zones: map[string]console.TrendZone{"row-a": {MeasureC: m, HottestC: 20 + float64(i), SetpointC: 25}},
			Units: map[string]console.TrendUnit{
				"crah-1": {FanPct: 30 + 10*float64(i), ValvePct: math.NaN()},
				"crah-2": {FanPct: 50, ValvePct: 100},
			},
		})
	}
	return pts
}

func TestShowTrend(t *testing.T) {
	h := loggedIn(t, setup{configure: func(b *consoletest.Backend) { b.SetTrend(eightMinutes(), nil) }})
	out := h.Run("show trend row-a", opPrompt)
	checkWidth(t, "show trend", out)
	want := "" +
		"zone row-a, last 60 min: 8 samples, 08:53:00 to 09:00:00\n" +
		"                   min    max   last\n" +
		"hottest inlet     20.0   27.0   27.0 C\n" +
		"  ▁▂▃▄▅▆▇█\n" +
		"measurement       23.5   23.5   23.5 C\n" +
		"  ▅▅▅ ▅▅▅▅\n" +
		"setpoint          25.0   25.0   25.0 C\n" +
		"  ▆▆▆▆▆▆▆▆\n" +
		"scale: ▁ 20.0 C to █ 27.0 C; a mark a sample; a blank: no valid value\n"
	if out != want {
		t.Fatalf("show trend row-a:\n%s\nwant:\n%s", out, want)
	}

	// The last 3 minutes: four samples, drawn on their own scale (23.5..27 C).
	out = h.Run("sh tr row-a min 3", opPrompt)
	for _, w := range []string{
		"zone row-a, last 3 min: 4 samples, 08:57:00 to 09:00:00\n",
		"hottest inlet     24.0   27.0   27.0 C\n  ▂▄▆█\n",
		"measurement       23.5   23.5   23.5 C\n  ▁▁▁▁\n",
		"setpoint          25.0   25.0   25.0 C\n  ▄▄▄▄\n",
		"scale: ▁ 23.5 C to █ 27.0 C",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("show trend row-a minutes 3: no %q in\n%s", w, out)
		}
	}

	// A unit: its commands on 0..100 %; a valve never reported is n/a, and blank.
	out = h.Run("show trend crah-1", opPrompt)
	for _, w := range []string{
		"unit crah-1, last 60 min: 8 samples, 08:53:00 to 09:00:00\n",
		"fan command         30    100    100 %\n  ▃▄▅▅▆▇▇█\n",
		"valve command      n/a    n/a    n/a %\n          \n",
		"scale: ▁ 0 % to █ 100 %",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("show trend crah-1: no %q in\n%s", w, out)
		}
	}

	// ASCII for a terminal without UTF-8, the options in either order.
	for _, cmd := range []string{"show trend row-a ascii", "show trend row-a minutes 60 ascii", "show trend row-a ascii minutes 60"} {
		out = h.Run(cmd, opPrompt)
		if !strings.Contains(out, "hottest inlet     20.0   27.0   27.0 C\n  _.-~=+*#\n") || strings.ContainsAny(out, "▁█") {
			t.Errorf("%s:\n%s", cmd, out)
		}
	}

	// An hour at 10 s: 360 samples in 60 marks of 6, each the highest of its six (a spike
	// at sample 100 shows in mark 16).
	var hour []console.TrendPoint
	for i := range 360 {
		v := 20.0
		if i == 100 {
			v = 30
		}
		hour = append(hour, console.TrendPoint{Time: start.Add(time.Duration(i-359) * 10 * time.Second),
			Zones: map[string]console.TrendZone{"row-a": {MeasureC: v, HottestC: v, SetpointC: 25}}})
	}
	h.b.SetTrend(hour, nil)
	out = h.Run("show trend row-a", opPrompt)
	checkWidth(t, "show trend (an hour)", out)
	spark := "  " + strings.Repeat("▁", 16) + "█" + strings.Repeat("▁", 43) + "\n"
	for _, w := range []string{
		"zone row-a, last 60 min: 360 samples, 08:00:10 to 09:00:00\n",
		"hottest inlet     20.0   30.0   20.0 C\n" + spark,
		"; a mark is the highest of 6 samples;",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("an hour: no %q in\n%s", w, out)
		}
	}

	// Nothing yet, and a backend that fails.
	h.b.SetTrend(nil, nil)
	if out = h.Run("show trend row-a", opPrompt); !strings.Contains(out, "show trend row-a: no samples in the last 60 min") {
		t.Errorf("no samples: %q", out)
	}
	h.b.SetTrend(nil, errors.New("trend: not wired"))
	if out = h.Run("show trend crah-2", opPrompt); out != "show trend: trend: not wired\n" {
		t.Errorf("backend error: %q", out)
	}
}

func TestShowTrendRefusals(t *testing.T) {
	h := loggedIn(t, setup{configure: func(b *consoletest.Backend) { b.SetTrend(eightMinutes(), nil) }})
	for _, c := range []struct{ cmd, want string }{
		{"show trend row-b", "show trend: row-b: no such zone or unit; did you mean row-a? (zones: row-a; units: crah-1, crah-2)\n"},
		{"show trend crah-3", "show trend: crah-3: no such zone or unit; did you mean crah-1? (zones: row-a; units: crah-1, crah-2)\n"},
		{"show trend basement", "show trend: basement: no such zone or unit (zones: row-a; units: crah-1, crah-2)\n"},
		{"show trend row-a minutes 61", `show trend row-a minutes: "61" is not a number of minutes 1..60 (the trend keeps the last hour)` + "\n"},
		{"show trend row-a minutes 0", `show trend row-a minutes: "0" is not a number of minutes 1..60`},
		{"show trend row-a minutes 1.5", `"1.5" is not a number of minutes 1..60`},
		{"show trend row-a minutes", "show trend row-a minutes: missing N"},
		{"show trend", "show trend: missing ZONE|UNIT (ZONE|UNIT: row-a, crah-1, crah-2)"},
		{"show trend row-a hours 2", `show trend row-a: unexpected "hours" (expected: minutes, ascii)`},
	} {
		if out := h.Run(c.cmd, opPrompt); !strings.Contains(out, c.want) {
			t.Errorf("%s: %q, want %q", c.cmd, out, c.want)
		}
	}
	h.Ask("show trend ?", opPrompt+"show trend ", "row-a", "zone: hottest inlet and measurement", "crah-2", "unit: fan and valve commands")
}

// watch units and watch loops redraw like watch sensors, with the backend asked again each time,
// until a key stops them.
func TestWatchUnitsAndLoops(t *testing.T) {
	var calls atomic.Int64
	h := loggedIn(t, setup{configure: func(b *consoletest.Backend) {
		b.EditUnits = func(us []console.UnitStatus) {
			n := calls.Add(1)
			for i := range us {
				us[i].FanPct = 40 + float64(n)
			}
		}
	}})
	h.Type("watch units\r")
	h.Expect("units at 09:00:00 (every 2s; any key stops)")
	h.Expect("crah-1  bms    1  auto    41")
	h.clk.Advance(2 * time.Second)
	h.Expect("units at 09:00:02")
	h.Expect("crah-1  bms    1  auto    42") // the second draw asked the backend again
	h.clk.Advance(2 * time.Second)
	h.Expect("units at 09:00:04")
	h.Type("q")
	h.Expect(opPrompt)
	if out := h.Run("show status", opPrompt); !strings.Contains(out, "controlling") {
		t.Fatalf("console not usable after watch units (the stopping key leaked?): %q", out)
	}
	// Stopped: time going on draws nothing more.
	h.clk.Advance(2 * time.Second)
	h.Run("show status", opPrompt)
	if n := strings.Count(h.Raw(), "\x1b[H\x1b[2J"); n != 3 {
		t.Errorf("%d screen clears, want 3 (one per draw, none after the key)", n)
	}

	h.Type("wat lo\r")
	h.Expect("loops at 09:00:06 (every 2s; any key stops)")
	h.Expect("crah-1 fan")
	h.clk.Advance(2 * time.Second)
	h.Expect("loops at 09:00:08")
	h.Type("\r")
	h.Expect(opPrompt)
	if out := h.Run("show status", opPrompt); !strings.Contains(out, "controlling") {
		t.Fatalf("console not usable after watch loops: %q", out)
	}
}
