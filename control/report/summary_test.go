package report

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestSummaryMatchesSyntheticRun(t *testing.T) {
	r := synthRun(t)
	s := Summarize(r)

	if s.Samples != synthN || s.DurationS != (synthN-1)*synthStep {
		t.Fatalf("samples %d duration %v", s.Samples, s.DurationS)
	}
	if s.MaxInletC != 27.5 || s.MaxInletT != 0 {
		t.Errorf("max inlet %v at %v, want 27.5 at 0", s.MaxInletC, s.MaxInletT)
	}
	if s.MaxInletSettledC != 27 || s.MaxInletSettledT != 1000 {
		t.Errorf("max inlet after settling %v at %v, want 27 at 1000", s.MaxInletSettledC, s.MaxInletSettledT)
	}
	if s.AboveLimitS != 120 {
		t.Errorf("above limit %v s, want 120 (27.0 exactly is not above)", s.AboveLimitS)
	}
	// above 25.5: [0,120) and (1120-... excursion samples 940..1115: 24+0.03(t-900) > 25.5 from t=955
	if s.AboveBandS != 120+(1120-955) {
		t.Errorf("above band %v s, want %v", s.AboveBandS, 120+(1120-955))
	}

	// energy, independently: 3.42 kW until the trip, 2.795 kW after (sample-and-hold)
	wantOurs := 5*(0.216+0.125+0.343)*tripT/3600 + 5*(0.216+0.343)*(1795-tripT)/3600
	wantBase := 15 * 1795.0 / 3600
	if !near(s.FanKWh, wantOurs, 1e-9) || !near(s.BaselineFanKWh, wantBase, 1e-9) {
		t.Errorf("energy %v/%v kWh, want %v/%v", s.FanKWh, s.BaselineFanKWh, wantOurs, wantBase)
	}
	if want := (1 - wantOurs/wantBase) * 100; !near(s.SavingPct, want, 1e-9) {
		t.Errorf("saving %v %%, want %v", s.SavingPct, want)
	}
	if s.SavingPct < 75 || s.SavingPct > 80 {
		t.Errorf("saving %v %%: the synthetic data saves about 77 %%", s.SavingPct)
	}

	if len(s.Events) != 2 {
		t.Fatalf("events %+v", s.Events)
	}
	ls, trip := s.Events[0], s.Events[1]
	if ls.Label != "load step" || !ls.Excursion || !ls.Recovered || ls.RecoveryS != wantRecovery {
		t.Errorf("load step %+v, want recovery %v s", ls, wantRecovery)
	}
	if !near(ls.PeakOverK, 2, 1e-12) || ls.PeakT != 1000 || ls.SetpointC != synthSPC {
		t.Errorf("load step peak %+v K at %v, want +2 at 1000", ls.PeakOverK, ls.PeakT)
	}
	if trip.Excursion || !trip.Recovered || trip.RecoveryS != 0 || !near(trip.PeakOverK, 0.3, 1e-9) || trip.PeakT != 1600 {
		t.Errorf("trip %+v, want no excursion, peak +0.3 K at 1600", trip)
	}

	if len(s.Units) != 3 {
		t.Fatalf("units %+v", s.Units)
	}
	c2 := s.Units[1]
	if c2.Name != "crah-2" || c2.MaxFanPct != 50 || c2.MinFanPct != 0 || c2.AlarmS != 1795-tripT {
		t.Errorf("crah-2 stats %+v", c2)
	}
	if want := 50 * tripT / 1795; !near(c2.MeanFanPct, want, 1e-9) {
		t.Errorf("crah-2 mean fan %v, want %v", c2.MeanFanPct, want)
	}
	if len(c2.Modes) != 2 || c2.Modes[0] != (ModeTime{"auto", tripT}) || c2.Modes[1] != (ModeTime{"tripped", 1795 - tripT}) {
		t.Errorf("crah-2 modes %+v", c2.Modes)
	}

	txt := s.String()
	for _, want := range []string{"back in 220 s", "+2.00 K at 16:40", "no excursion", "2.0 min", "saving 77."} {
		if !strings.Contains(txt, want) {
			t.Errorf("summary text lacks %q:\n%s", want, txt)
		}
	}
	for i, line := range strings.Split(txt, "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("summary line %d is %d columns: %q", i, n, line)
		}
	}
	t.Logf("\n%s", txt)
}

func TestSummaryNotRecovered(t *testing.T) {
	r := &Run{SetpointC: 25}
	for i, v := range []float64{24, 24, 26, 27, 26.5} {
		s := Sample{T: float64(i * 60), InletsC: []float64{v, math.NaN()}}
		if i == 1 {
			s.Events = []Event{{T: 60, Label: "trip"}}
		}
		if err := r.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	s := Summarize(r)
	e := s.Events[0]
	if !e.Excursion || e.Recovered || !math.IsNaN(e.RecoveryS) || e.PeakOverK != 2 || e.PeakT != 180 {
		t.Errorf("event %+v: want an excursion to +2 K at 180 s, not recovered", e)
	}
	if !strings.Contains(s.String(), "NOT recovered") {
		t.Errorf("text:\n%s", s)
	}
	if !math.IsNaN(s.MaxInletSettledC) || s.MaxInletC != 27 {
		t.Errorf("max %v settled %v", s.MaxInletC, s.MaxInletSettledC)
	}
}

// An excursion that starts only after the next event belongs to that event.
func TestSummaryExcursionBelongsToItsEvent(t *testing.T) {
	r := &Run{SetpointC: 25}
	vals := []float64{24, 24, 24, 27, 26, 25}
	for i, v := range vals {
		s := Sample{T: float64(i * 60), InletsC: []float64{v}}
		switch i {
		case 1:
			s.Events = []Event{{T: 60, Label: "quiet"}}
		case 2:
			s.Events = []Event{{T: 120, Label: "loud"}}
		}
		if err := r.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	ev := Summarize(r).Events
	if ev[0].Excursion || ev[0].PeakOverK != -1 {
		t.Errorf("quiet %+v", ev[0])
	}
	if !ev[1].Excursion || ev[1].RecoveryS != 180 || ev[1].PeakOverK != 2 {
		t.Errorf("loud %+v", ev[1])
	}
}

func TestRunRejectsBadSamples(t *testing.T) {
	var r Run
	if err := r.Add(Sample{T: 10}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []Sample{{T: 5}, {T: math.NaN()}, {T: math.Inf(1)}, {T: 20, Events: []Event{{T: math.NaN(), Label: "x"}}}} {
		err := r.Add(s)
		if !errors.Is(err, ErrSample) || !strings.HasPrefix(err.Error(), "report: ") {
			t.Errorf("Add(%+v) = %v, want ErrSample", s, err)
		}
	}
	if len(r.Samples) != 1 || len(r.Events) != 0 {
		t.Errorf("rejected samples changed the run: %+v", r)
	}
	// Add copies: the caller may reuse its slices.
	in := []float64{20}
	r.Add(Sample{T: 11, InletsC: in})
	in[0] = 99
	if r.Samples[1].InletsC[0] != 20 {
		t.Error("Add kept the caller's slice")
	}
}

func TestSummaryEmpty(t *testing.T) {
	s := Summarize(&Run{})
	if s.Samples != 0 || !math.IsNaN(s.MaxInletC) || !strings.Contains(s.String(), "no samples") {
		t.Errorf("%+v", s)
	}
}

// Arbitrary values (NaN, infinities, huge numbers, odd labels) never panic, and the
// time-weighted figures stay within the run's duration.
func FuzzSummarize(f *testing.F) {
	f.Add([]byte{0, 10, 20, 30, 200, 255, 7, 9}, 25.0, 27.0, "trip")
	f.Add([]byte{255, 255, 0, 0, 1}, math.NaN(), math.Inf(1), "\x1b[2J")
	f.Fuzz(func(t *testing.T, data []byte, sp, lim float64, label string) {
		r := &Run{SetpointC: sp, LimitC: lim, BandK: lim - sp}
		tt := 0.0
		for i, b := range data {
			tt += float64(b % 16)
			v := float64(b)/8 + 10
			switch b % 7 {
			case 0:
				v = math.NaN()
			case 1:
				v = math.Inf(int(b%2)*2 - 1)
			}
			s := Sample{T: tt, InletsC: []float64{v, float64(b) / 9}, FanKW: v, BaselineFanKW: float64(b), FanKWh: tt, BaselineFanKWh: 2 * tt,
				Units: []Unit{{Name: label, Mode: string(rune('a' + b%3)), FanPct: v, SetpointC: sp, Alarm: b%2 == 0}}}
			if b%5 == 0 {
				s.Events = []Event{{T: tt - float64(i%3), Label: label}}
			}
			if err := r.Add(s); err != nil {
				t.Fatal(err)
			}
		}
		s := Summarize(r)
		if s.AboveLimitS > s.DurationS || s.AboveBandS > s.DurationS || s.AboveLimitS < 0 {
			t.Fatalf("above %v/%v s in %v s", s.AboveLimitS, s.AboveBandS, s.DurationS)
		}
		for _, e := range s.Events {
			if e.Recovered && e.RecoveryS < 0 {
				t.Fatalf("negative recovery %+v", e)
			}
		}
		_ = s.String()
	})
}
