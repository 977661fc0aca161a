package report

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// controllerRun: the controller measures 0.8 K above the truth (its sensors sit in the hot
// aisle's path) and reports what it did; the room has one scripted trip at 60 s.
func controllerSamples() []Sample {
	var out []Sample
	for i := 0; i < 12; i++ {
		t := float64(i) * 10
		s := Sample{T: t, InletsC: []float64{23, 23.4}, FanKW: 2, BaselineFanKW: 9, FanKWh: t / 1000, BaselineFanKWh: t / 400}
		for k, n := range []string{"crah-1", "crah-2"} {
			u := Unit{Name: n, FanPct: 50, ValvePct: 40, Mode: "auto", Zone: "row-a", ZoneC: 24.2, SetpointC: 25}
			if t >= 60 && k == 1 {
				u.FanPct, u.Mode, u.Alarm = 0, "tripped", true
				u.Alarms = []string{"tripped: not running, fan fault reported; crah-1 picks up its share"}
			}
			if t >= 80 {
				u.Alarm = true
				u.Alarms = append(u.Alarms, "zone row-a: inlet 27.4 C above alarm limit 27.0 C")
			}
			s.Units = append(s.Units, u)
		}
		switch t {
		case 60:
			s.Events = []Event{{T: 60, Label: "crah-2 fan fault: the unit trips"},
				{T: 60, Label: "crah-2 alarm: tripped: not running, fan fault reported; crah-1 picks up its share", Controller: true},
				{T: 60, Label: "crah-2 auto -> tracking: unit tripped, its command held", Controller: true}}
		case 80:
			s.Events = []Event{{T: 80, Label: "zone row-a alarm: inlet 27.4 C above alarm limit 27.0 C", Controller: true}}
		}
		out = append(out, s)
	}
	return out
}

func liveOutput(t *testing.T, opt LiveOptions) string {
	t.Helper()
	var out bytes.Buffer
	opt.MaxFPS = 1000
	l, err := NewLive(&out, opt)
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Now()
	for i, s := range controllerSamples() {
		if err := l.Update(s, wall.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestLiveSaysTrueAndMeasured: the live view tells the plant's true inlets from what the
// controller measured, and shows the measured value beside the true one.
func TestLiveSaysTrueAndMeasured(t *testing.T) {
	fs := frames(liveOutput(t, LiveOptions{Title: "labels"}))
	last := stripANSI(fs[len(fs)-1])
	checkWidth(t, "frame", last, 80)
	for _, want := range []string{" meas ", "true inlet    23.40 C max, plant truth", "meas inlet    24.20 C max, as the controller's sensors report it"} {
		if !strings.Contains(last, want) {
			t.Errorf("frame lacks %q:\n%s", want, last)
		}
	}
	head := liveOutput(t, LiveOptions{Title: "labels", Headless: true})
	for _, want := range []string{"true_C", "meas_C", "TRUE rack inlet", "MEASURED from its sensors", "     0:00    23.4    24.2  "} {
		if !strings.Contains(head, want) {
			t.Errorf("headless output lacks %q:\n%s", want, head)
		}
	}
}

// TestLiveShowsWhatTheControllerDid: the controller's events are listed beside the room's,
// each tagged, and its alarms carry their reasons (a zone's alarm once, not per unit).
func TestLiveShowsWhatTheControllerDid(t *testing.T) {
	fs := frames(liveOutput(t, LiveOptions{Title: "actions"}))
	last := stripANSI(fs[len(fs)-1])
	for _, want := range []string{
		"   1:00  scenario   crah-2 fan fault: the unit trips",
		"   1:00  controller crah-2 alarm: tripped: not running, fan fault reported; crah",
		"   1:20  controller zone row-a alarm: inlet 27.4 C above alarm limit 27.0 C",
		"\nalarms\n",
		"\n  crah-2: tripped: not running, fan fault reported; crah-1 picks up its share\n",
		"\n  zone row-a: inlet 27.4 C above alarm limit 27.0 C\n",
	} {
		if !strings.Contains(last, want) {
			t.Errorf("frame lacks %q:\n%s", want, last)
		}
	}
	if n := strings.Count(last, "zone row-a: inlet 27.4"); n != 1 {
		t.Errorf("the zone's alarm is listed %d times:\n%s", n, last)
	}

	// headless with the controller's events: its lines, and no derived "alarm"/"mode" lines
	head := liveOutput(t, LiveOptions{Headless: true, ControllerEvents: true})
	for _, want := range []string{
		"     1:00  scenario    crah-2 fan fault: the unit trips\n",
		"     1:00  controller  crah-2 alarm: tripped: not running, fan fault reported; crah-1 picks up its share\n",
		"     1:00  controller  crah-2 auto -> tracking: unit tripped, its command held\n",
	} {
		if !strings.Contains(head, want) {
			t.Errorf("headless output lacks %q:\n%s", want, head)
		}
	}
	if strings.Contains(head, "  mode ") || strings.Contains(head, "crah-1  alarm") {
		t.Errorf("derived lines beside the controller's events:\n%s", head)
	}
	// without them, the derived alarm line gives the reasons
	head = liveOutput(t, LiveOptions{Headless: true})
	if !strings.Contains(head, "     1:00  crah-2  alarm: tripped: not running, fan fault reported; crah-1 picks up its share\n") ||
		strings.Contains(head, "alarm on") {
		t.Errorf("derived alarm line without its reason:\n%s", head)
	}
}

// TestSummarySaysTrueMeasuredAndActions: the summary names true and measured, judges only the
// room's events, and lists what the controller did.
func TestSummarySaysTrueMeasuredAndActions(t *testing.T) {
	r := &Run{Title: "actions", SetpointC: 25}
	for _, s := range controllerSamples() {
		if err := r.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	s := Summarize(r)
	if s.MaxInletC != 23.4 || s.MaxMeasuredC != 24.2 || s.MaxMeasuredT != 0 {
		t.Errorf("max true %v, measured %v at %v", s.MaxInletC, s.MaxMeasuredC, s.MaxMeasuredT)
	}
	if len(s.Events) != 1 || s.Events[0].Label != "crah-2 fan fault: the unit trips" || len(s.Actions) != 3 {
		t.Fatalf("room events %+v, actions %+v", s.Events, s.Actions)
	}
	txt := s.String()
	for _, want := range []string{
		"max true inlet    23.40 C at 0:00",
		"max measured      24.20 C at 0:00",
		"what the controller did\n",
		"     1:00  crah-2 alarm: tripped: not running, fan fault reported; crah-1 picks\n",
		"           up its share\n",
		"     1:20  zone row-a alarm: inlet 27.4 C above alarm limit 27.0 C\n",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("summary lacks %q:\n%s", want, txt)
		}
	}
	for i, line := range strings.Split(txt, "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("summary line %d is %d columns: %q", i, n, line)
		}
	}
}

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		s    string
		n, m int
		want []string
	}{
		{"short", 10, 3, []string{"short"}},
		{"one two three four", 9, 3, []string{"one two", "three", "four"}},
		{"abcdefghijklmnop", 5, 2, []string{"abcde", "fghi~"}},
		{"", 5, 2, []string{""}},
	} {
		got := wrap(c.s, c.n, c.m)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("wrap(%q, %d, %d) = %q, want %q", c.s, c.n, c.m, got, c.want)
		}
	}
	if got := wrap(strings.Repeat("x", 300), 68, 4); len(got) != 4 || math.Abs(float64(len([]rune(got[3])))-68) > 0 {
		t.Errorf("long word: %q", got)
	}
}
