package report

import (
	"math"
	"regexp"
	"strings"
	"testing"
)

// The synthetic run: 3 units, 12 inlets, a sample every 5 s for 30 min (360 samples).
// Max inlet (inlet 0; inlet j is 0.1 K * j cooler):
//
//	[0,120)       27.5            start-up, above the 27 C limit for 2.0 min
//	[120,900)     24.0
//	[900,1000]    24 -> 27.0      "load step" at 15:00, peak +2.0 K at 1000 s
//	[1000,1200]   27.0 -> 24.5    back to 25.5 (sp 25 + 0.5) at 1120 s: recovery 220 s
//	[1200,1500)   24.5
//	[1500,1600]   24.5 -> 25.3    "crah-2 trip" at 25:00: peak +0.3 K, no excursion
//	[1600,1800)   25.3 -> 24.5
const (
	synthStep    = 5.0
	synthN       = 360
	synthUnits   = 3
	synthInlets  = 12
	unitRatedKW  = 5.0
	synthSPC     = 25.0
	loadStepT    = 900.0
	tripT        = 1500.0
	wantRecovery = 220.0
)

func synthMax(t float64) float64 {
	switch {
	case t < 120:
		return 27.5
	case t < 900:
		return 24
	case t <= 1000:
		return 24 + (t-900)*3/100
	case t <= 1200:
		return 27 - (t-1000)/80
	case t < 1500:
		return 24.5
	case t <= 1600:
		return 24.5 + (t-1500)*0.8/100
	default:
		return 25.3 - (t-1600)*0.8/200
	}
}

var synthFans = [synthUnits]float64{60, 50, 70}

func synthSample(i int, cumOurs, cumBase float64) Sample {
	t := float64(i) * synthStep
	s := Sample{T: t}
	m := synthMax(t)
	for j := 0; j < synthInlets; j++ {
		s.InletsC = append(s.InletsC, m-0.1*float64(j))
	}
	for u := 0; u < synthUnits; u++ {
		un := Unit{
			Name: []string{"crah-1", "crah-2", "crah-3"}[u], FanPct: synthFans[u], ValvePct: 40 + 10*float64(u),
			Mode: "auto", Zone: []string{"row-a", "row-b", "row-c"}[u], ZoneC: m - 0.3*float64(u), SetpointC: synthSPC,
		}
		if u == 1 && t >= tripT {
			un.FanPct, un.Mode, un.Alarm, un.ZoneC = 0, "tripped", true, math.NaN()
			un.Alarms = []string{"tripped: not running"}
		}
		s.FanKW += unitRatedKW * math.Pow(un.FanPct/100, 3)
		s.Units = append(s.Units, un)
	}
	s.BaselineFanKW = unitRatedKW * synthUnits
	s.FanKWh, s.BaselineFanKWh = cumOurs, cumBase
	if t == loadStepT {
		s.Events = []Event{{T: t, Label: "load step"}}
	}
	if t == tripT {
		s.Events = []Event{{T: t, Label: "crah-2 trip"}}
	}
	return s
}

// synthSamples integrates the energies sample-and-hold, as a simulation would.
func synthSamples() []Sample {
	var out []Sample
	var ours, base float64
	for i := 0; i < synthN; i++ {
		s := synthSample(i, ours, base)
		out = append(out, s)
		ours += s.FanKW * synthStep / 3600
		base += s.BaselineFanKW * synthStep / 3600
		out[i].FanKWh, out[i].BaselineFanKWh = s.FanKWh, s.BaselineFanKWh
	}
	return out
}

func synthRun(t testing.TB) *Run {
	t.Helper()
	r := &Run{Title: "synthetic room"}
	for _, s := range synthSamples() {
		if err := r.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

var ansiRE = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

func stripANSI(s string) string { return ansiRE.ReplaceAllString(s, "") }

// frames splits interactive output at the cursor-home sequence.
func frames(out string) []string {
	parts := strings.Split(out, escHome)
	var fs []string
	for _, p := range parts[1:] {
		fs = append(fs, p)
	}
	return fs
}
