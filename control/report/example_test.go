package report_test

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/control/report"
)

// exampleSamples makes 20 plant minutes of one unit and two inlets, with a trip at 10 min: the
// inlets jump 1.5 K and fall back over 3 min.
func exampleSamples() []report.Sample {
	var out []report.Sample
	kwh, baseKWh := 0.0, 0.0
	for t := 0.0; t <= 1200; t += 10 {
		rise := 0.0
		if t >= 600 {
			rise = 1.5 * math.Max(0, 1-(t-600)/180)
		}
		fan := 40.0
		if t >= 600 {
			fan = 70
		}
		kw := 10 * math.Pow(fan/100, 3)
		kwh += kw * 10 / 3600
		baseKWh += 10.0 * 10 / 3600
		s := report.Sample{T: t, FanKW: kw, BaselineFanKW: 10, FanKWh: kwh, BaselineFanKWh: baseKWh,
			InletsC: []float64{24.2 + rise, 23.8 + rise},
			Units:   []report.Unit{{Name: "crah-1", FanPct: fan, ValvePct: 50, Mode: "auto", Zone: "row-a", ZoneC: 24.2 + rise, SetpointC: 25}}}
		if t == 600 {
			s.Events = []report.Event{{T: 600, Label: "crah-2 trip"}}
		}
		out = append(out, s)
	}
	return out
}

// A headless live view (one line per plant minute, for logs) fed from a run, then the summary.
// The interactive view (Headless false) redraws in place instead; Close shows the cursor again.
func Example() {
	run := &report.Run{Title: "coldaisle sim: example", SetpointC: 25}
	var screen strings.Builder
	live, err := report.NewLive(&screen, report.LiveOptions{Title: run.Title, Headless: true, Interval: 300})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer live.Close()
	wall := time.Unix(0, 0)
	for _, s := range exampleSamples() {
		if err := run.Add(s); err != nil {
			fmt.Println(err)
			return
		}
		wall = wall.Add(100 * time.Millisecond)
		if err := live.Update(s, wall); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := live.Close(); err != nil {
		fmt.Println(err)
	}
	fmt.Print(screen.String())

	sum := report.Summarize(run)
	fmt.Printf("max inlet %.1f °C; saved %.0f %% of the baseline's fan energy\n", sum.MaxInletC, sum.SavingPct)
	for _, ev := range sum.Events {
		fmt.Printf("%s: peak %+.1f K over the setpoint, recovered in %.0f s\n", ev.Label, ev.PeakOverK, ev.RecoveryS)
	}
	// Output:
	// # coldaisle sim: example
	// # true_C: hottest TRUE rack inlet (the plant's truth, no controller sees it)
	// # meas_C: hottest zone value the controller MEASURED from its sensors (what it acts on)
	// # fan kW ours and baseline, saving %, fan % per unit; "scenario" lines are the room's
	// # scripted events, "controller" lines what the controller did and why
	// #    time  true_C  meas_C  fan_kW  base_kW  save_%   crah-1
	//      0:00    24.2    24.2     0.6     10.0    93.6       40
	//      5:00    24.2    24.2     0.6     10.0    93.6       40
	//     10:00  scenario    crah-2 trip
	//     10:00    25.7    25.7     3.4     10.0    65.7       70
	//     15:00    24.2    24.2     3.4     10.0    65.7       70
	//     20:00    24.2    24.2     3.4     10.0    65.7       70
	// max inlet 25.7 °C; saved 80 % of the baseline's fan energy
	// crah-2 trip: peak +0.7 K over the setpoint, recovered in 30 s
}
