package report

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func checkWidth(t *testing.T, what, out string, width int) {
	t.Helper()
	for i, line := range strings.Split(stripANSI(out), "\n") {
		if n := utf8.RuneCountInString(line); n > width {
			t.Errorf("%s line %d is %d columns (> %d): %q", what, i, n, width, line)
		}
		if strings.ContainsRune(line, 0x1b) {
			t.Errorf("%s line %d has an escape code left after stripping: %q", what, i, line)
		}
	}
}

func TestLiveFramesFit80Columns(t *testing.T) {
	var out bytes.Buffer
	l, err := NewLive(&out, LiveOptions{Title: "coldaisle sim: synthetic room", MaxFPS: 1000})
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Now()
	for i, s := range synthSamples() {
		if err := l.Update(s, wall.Add(time.Duration(i)*50*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	o := out.String()
	if !strings.HasPrefix(o, escHide) || !strings.HasSuffix(o, escShow) {
		t.Errorf("cursor not hidden at the start and shown at the end: %q ... %q", o[:10], o[len(o)-10:])
	}
	fs := frames(o)
	if len(fs) != synthN {
		t.Errorf("%d frames for %d samples at 20 samples/s under a 1000 fps cap (x100 speed)", len(fs), synthN)
	}
	for i, f := range fs {
		checkWidth(t, "frame", f, 80)
		// every line clears its rest, so a shorter line never leaves old text behind
		if lines := strings.Split(strings.TrimSuffix(f, escClearBelow+escShow), "\n"); len(lines) < 10 {
			t.Fatalf("frame %d has %d lines", i, len(lines))
		} else {
			for _, ln := range lines[:len(lines)-1] {
				if !strings.HasSuffix(ln, escClearLine) {
					t.Fatalf("frame %d line %q does not end with clear-to-end-of-line", i, ln)
				}
			}
		}
	}
	last := stripANSI(fs[len(fs)-1])
	for _, want := range []string{"plant 29:55", "crah-2", "tripped", "ALARM", "load step", "crah-2 trip", "x100", "peak 27.5 C at 0:00"} {
		if !strings.Contains(last, want) {
			t.Errorf("last frame lacks %q:\n%s", want, last)
		}
	}
	t.Logf("last frame:\n%s", last)
}

func TestLiveRedrawRateLimit(t *testing.T) {
	var out bytes.Buffer
	l, err := NewLive(&out, LiveOptions{MaxFPS: 10})
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Now()
	ss := synthSamples()[:100]
	for i, s := range ss { // 100 samples over 0.99 s of wall time
		if err := l.Update(s, wall.Add(time.Duration(i)*10*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	n := len(frames(out.String()))
	if n < 9 || n > 10 {
		t.Errorf("%d frames in 1 s at 10 fps", n)
	}
	if strings.Contains(stripANSI(frames(out.String())[n-1]), "plant "+clock(ss[99].T)) {
		t.Errorf("the last sample was drawn although it came 10 ms after a frame")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	fs := frames(out.String())
	if len(fs) != n+1 || !strings.Contains(stripANSI(fs[n]), "plant "+clock(ss[99].T)) {
		t.Errorf("Close did not draw the pending sample (%d frames)", len(fs))
	}
	if err := l.Update(ss[0], wall); !errors.Is(err, ErrClosed) {
		t.Errorf("Update after Close = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestLiveHostileInputStaysInside(t *testing.T) {
	var out bytes.Buffer
	l, err := NewLive(&out, LiveOptions{MaxUnits: 4, Events: 5, Title: strings.Repeat("very long title ", 10)})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("ünïcödé-nämé\x1b[31m", 5)
	s := Sample{T: 1e15, FanKW: 1e300, BaselineFanKW: math.Inf(1), FanKWh: -1e12, BaselineFanKWh: math.NaN(),
		InletsC: []float64{math.NaN(), 1e200}}
	for i := 0; i < 9; i++ {
		s.Units = append(s.Units, Unit{Name: long, Mode: long, Zone: long, FanPct: []float64{-50, 1e9, math.NaN()}[i%3],
			ValvePct: math.Inf(-1), ZoneC: -1e300, SetpointC: math.NaN(), Alarm: i%2 == 0})
		s.Events = append(s.Events, Event{T: -1e18, Label: long})
	}
	if err := l.Update(s, time.Now()); err != nil {
		t.Fatal(err)
	}
	l.Close()
	o := out.String()
	checkWidth(t, "hostile frame", o, 80)
	if strings.Contains(o, "\x1b[31mü") || strings.Contains(o, "\x1b[2J\x1b[H\x1b[2J") {
		t.Errorf("an escape code from a name reached the terminal")
	}
	if !strings.Contains(stripANSI(o), "... 6 more units, 3 in alarm") {
		t.Errorf("unit rows not capped:\n%s", stripANSI(o))
	}
	t.Logf("\n%s", stripANSI(o))
}

func TestLiveHeadless(t *testing.T) {
	var out bytes.Buffer
	l, err := NewLive(&out, LiveOptions{Headless: true, Title: "synthetic"})
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Now()
	for _, s := range synthSamples() {
		if err := l.Update(s, wall); err != nil { // the same wall time: headless is paced by plant time
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	o := out.String()
	if strings.ContainsRune(o, 0x1b) {
		t.Fatalf("headless output has escape codes: %q", o)
	}
	lines := strings.Split(strings.TrimSuffix(o, "\n"), "\n")
	var status, events, modes, alarms int
	for _, ln := range lines {
		switch {
		case strings.HasPrefix(ln, "#"):
		case strings.Contains(ln, "  scenario    "):
			events++
		case strings.Contains(ln, "mode auto -> tripped"):
			modes++
		case strings.Contains(ln, "crah-2  alarm: tripped: not running"):
			alarms++
		default:
			status++
		}
	}
	// one line per plant minute (0:00 .. 29:00) plus the final sample at 29:55 on Close
	if status != 31 || events != 2 || modes != 1 || alarms != 1 {
		t.Errorf("status %d events %d modes %d alarms %d:\n%s", status, events, modes, alarms, o)
	}
	if !strings.Contains(o, "   16:00  ") || !strings.Contains(o, "   29:55  ") {
		t.Errorf("missing the 16:00 or the final line:\n%s", o)
	}
	t.Logf("\n%s", strings.Join(lines[:8], "\n"))
}

func TestLiveOptionErrors(t *testing.T) {
	for _, o := range []LiveOptions{{MaxFPS: -1}, {Interval: math.NaN()}, {Width: 20}, {Events: -1}} {
		if _, err := NewLive(&bytes.Buffer{}, o); !errors.Is(err, ErrOption) {
			t.Errorf("NewLive(%+v) = %v, want ErrOption", o, err)
		}
	}
	if _, err := NewLive(nil, LiveOptions{}); !errors.Is(err, ErrOption) {
		t.Errorf("nil writer: %v", err)
	}
	l, _ := NewLive(&bytes.Buffer{}, LiveOptions{})
	if err := l.Update(Sample{T: math.NaN()}, time.Now()); !errors.Is(err, ErrSample) {
		t.Errorf("NaN time: %v", err)
	}
}

func TestBar(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{0, "░░░░░░░░░░"}, {100, "██████████"}, {55, "█████▌░░░░"}, {-3, "░░░░░░░░░░"}, {250, "██████████"}, {math.NaN(), "          "}} {
		if got := bar(c.v, 10, false); got != c.want {
			t.Errorf("bar(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	if got := bar(55, 10, true); got != "######...." {
		t.Errorf("ascii bar(55) = %q", got)
	}
}

func FuzzLiveFrameWidth(f *testing.F) {
	f.Add("crah-1", "auto", "row-a", "load step", 55.0, 24.3, 25.0, 1234.5)
	f.Add("\x1b[2J", "\xff\xfe", "ééééééééééééééé", "\t\n", math.Inf(1), math.NaN(), -1e308, 1e300)
	f.Fuzz(func(t *testing.T, name, mode, zone, label string, fan, zc, sp, tt float64) {
		for _, headless := range []bool{false, true} {
			var out bytes.Buffer
			l, err := NewLive(&out, LiveOptions{Title: label, Headless: headless})
			if err != nil {
				t.Fatal(err)
			}
			s := Sample{T: tt, FanKW: fan, BaselineFanKW: sp, FanKWh: zc, BaselineFanKWh: tt,
				InletsC: []float64{zc, fan}, Events: []Event{{T: tt, Label: label}},
				Units: []Unit{{Name: name, Mode: mode, Zone: zone, FanPct: fan, ValvePct: fan, ZoneC: zc, SetpointC: sp, Alarm: true}}}
			if err := l.Update(s, time.Now()); err != nil {
				if !isFinite(tt) && errors.Is(err, ErrSample) {
					return
				}
				t.Fatal(err)
			}
			l.Close()
			if headless {
				if strings.ContainsRune(out.String(), 0x1b) {
					t.Fatalf("escape in headless output %q", out.String())
				}
				continue
			}
			checkWidth(t, "fuzz frame", out.String(), 80)
		}
	})
}
