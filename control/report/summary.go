package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// EventResult is how the room rode through one event.
type EventResult struct {
	Event
	SetpointC float64 // reference setpoint at the event
	// PeakOverK is the highest max inlet minus setpoint in the event's window (from the event
	// to its recovery, or to the next event when there was no excursion; may be negative),
	// reached at PeakT.
	PeakOverK float64
	PeakT     float64
	// Excursion: the max inlet rose above setpoint + band before the next event.
	Excursion bool
	// Recovered: it came back to <= setpoint + band before the end of the run (true without
	// an excursion). RecoveryS is the time from the event to the first sample back within the
	// band; 0 without an excursion, NaN when not recovered.
	Recovered bool
	RecoveryS float64
}

// ModeTime is how long a unit spent in one mode.
type ModeTime struct {
	Mode string
	S    float64
}

// UnitStats summarises one unit over the run (time-weighted, sample-and-hold).
type UnitStats struct {
	Name                             string
	MeanFanPct, MinFanPct, MaxFanPct float64
	AlarmS                           float64
	Modes                            []ModeTime // in order of first appearance
}

// Summary is the result of a run. Durations are plant seconds. Every sample holds its values
// until the next sample's time (the last sample covers no time).
type Summary struct {
	Title             string
	Samples           int
	StartT, EndT      float64
	DurationS         float64
	LimitC, BandK     float64
	SettleS           float64
	MaxInletC         float64 // the TRUE inlets (Sample.InletsC); NaN without inlets
	MaxInletT         float64
	MaxMeasuredC      float64 // what the controller MEASURED (Unit.ZoneC); NaN without any
	MaxMeasuredT      float64
	MaxInletSettledC  float64 // from StartT+SettleS on; NaN when the run is shorter
	MaxInletSettledT  float64
	AboveLimitS       float64 // max inlet > LimitC
	AboveBandS        float64 // max inlet > setpoint + BandK
	FanKWh            float64 // the last sample's cumulative energies
	BaselineFanKWh    float64
	SavingPct         float64 // (1 - ours/baseline) * 100; NaN without a baseline
	MeanFanKW         float64
	MeanBaselineFanKW float64
	Events            []EventResult // the room's events (not the controller's), judged
	Actions           []Event       // the controller's own events: what it did and why
	Units             []UnitStats
}

// Summarize computes the summary of r. An empty run gives a Summary with Samples == 0 and
// NaN temperatures.
func Summarize(r *Run) Summary {
	s := Summary{
		Title: r.Title, Samples: len(r.Samples), LimitC: r.limitC(), BandK: r.bandK(), SettleS: r.settleS(),
		MaxInletC: math.NaN(), MaxInletT: math.NaN(), MaxInletSettledC: math.NaN(), MaxInletSettledT: math.NaN(),
		MaxMeasuredC: math.NaN(), MaxMeasuredT: math.NaN(),
		SavingPct: math.NaN(), MeanFanKW: math.NaN(), MeanBaselineFanKW: math.NaN(),
	}
	n := len(r.Samples)
	if n == 0 {
		return s
	}
	s.StartT, s.EndT = r.Samples[0].T, r.Samples[n-1].T
	s.DurationS = s.EndT - s.StartT
	last := &r.Samples[n-1]
	s.FanKWh, s.BaselineFanKWh = last.FanKWh, last.BaselineFanKWh
	s.SavingPct = savingPct(s.FanKWh, s.BaselineFanKWh)

	maxIn := make([]float64, n)
	sps := make([]float64, n)
	var kw, bkw, wsum float64
	units := map[string]*unitAcc{}
	var order []string
	for i := range r.Samples {
		sm := &r.Samples[i]
		m := sm.MaxInletC()
		maxIn[i], sps[i] = m, r.setpointAt(sm)
		if isFinite(m) && (math.IsNaN(s.MaxInletC) || m > s.MaxInletC) {
			s.MaxInletC, s.MaxInletT = m, sm.T
		}
		if mm := sm.MaxMeasuredC(); isFinite(mm) && (math.IsNaN(s.MaxMeasuredC) || mm > s.MaxMeasuredC) {
			s.MaxMeasuredC, s.MaxMeasuredT = mm, sm.T
		}
		if isFinite(m) && sm.T >= s.StartT+s.SettleS && (math.IsNaN(s.MaxInletSettledC) || m > s.MaxInletSettledC) {
			s.MaxInletSettledC, s.MaxInletSettledT = m, sm.T
		}
		dt := 0.0
		if i+1 < n {
			dt = r.Samples[i+1].T - sm.T
		}
		if m > s.LimitC {
			s.AboveLimitS += dt
		}
		if m > sps[i]+s.BandK {
			s.AboveBandS += dt
		}
		if isFinite(sm.FanKW) && isFinite(sm.BaselineFanKW) {
			kw += sm.FanKW * dt
			bkw += sm.BaselineFanKW * dt
			wsum += dt
		}
		for _, u := range sm.Units {
			a := units[u.Name]
			if a == nil {
				a = &unitAcc{st: UnitStats{Name: u.Name, MinFanPct: math.NaN(), MaxFanPct: math.NaN()}, modes: map[string]int{}}
				units[u.Name] = a
				order = append(order, u.Name)
			}
			a.add(u, dt)
		}
	}
	if wsum > 0 {
		s.MeanFanKW, s.MeanBaselineFanKW = kw/wsum, bkw/wsum
	} else if isFinite(r.Samples[0].FanKW) {
		s.MeanFanKW, s.MeanBaselineFanKW = r.Samples[0].FanKW, r.Samples[0].BaselineFanKW
	}
	for _, name := range order {
		s.Units = append(s.Units, units[name].result())
	}
	s.Events = eventResults(r, maxIn, sps, s.BandK)
	for _, e := range r.Events {
		if e.Controller {
			s.Actions = append(s.Actions, e)
		}
	}
	return s
}

// roomEvents are the events of the room (scripted), without the controller's own.
func roomEvents(evs []Event) []Event {
	var out []Event
	for _, e := range evs {
		if !e.Controller {
			out = append(out, e)
		}
	}
	return out
}

type unitAcc struct {
	st          UnitStats
	fanSum, fdt float64
	nFan        int
	fanPlain    float64
	modes       map[string]int
}

func (a *unitAcc) add(u Unit, dt float64) {
	if isFinite(u.FanPct) {
		a.fanSum += u.FanPct * dt
		a.fdt += dt
		a.fanPlain += u.FanPct
		a.nFan++
		if math.IsNaN(a.st.MinFanPct) || u.FanPct < a.st.MinFanPct {
			a.st.MinFanPct = u.FanPct
		}
		if math.IsNaN(a.st.MaxFanPct) || u.FanPct > a.st.MaxFanPct {
			a.st.MaxFanPct = u.FanPct
		}
	}
	if u.Alarm {
		a.st.AlarmS += dt
	}
	k, ok := a.modes[u.Mode]
	if !ok {
		k = len(a.st.Modes)
		a.modes[u.Mode] = k
		a.st.Modes = append(a.st.Modes, ModeTime{Mode: u.Mode})
	}
	a.st.Modes[k].S += dt
}

func (a *unitAcc) result() UnitStats {
	st := a.st
	switch {
	case a.fdt > 0:
		st.MeanFanPct = a.fanSum / a.fdt
	case a.nFan > 0:
		st.MeanFanPct = a.fanPlain / float64(a.nFan)
	default:
		st.MeanFanPct = math.NaN()
	}
	return st
}

// eventResults measures each event against the max inlet series.
func eventResults(r *Run, maxIn, sps []float64, band float64) []EventResult {
	evs := roomEvents(r.Events)
	out := make([]EventResult, 0, len(evs))
	n := len(r.Samples)
	over := func(i int) bool { return maxIn[i] > sps[i]+band }
	for _, e := range evs {
		res := EventResult{Event: e, SetpointC: math.NaN(), PeakOverK: math.NaN(), PeakT: math.NaN(), Recovered: true}
		next := math.Inf(1)
		for _, o := range evs {
			if o.T > e.T && o.T < next {
				next = o.T
			}
		}
		// first sample at or after the event
		i0 := 0
		for i0 < n && r.Samples[i0].T < e.T {
			i0++
		}
		if i0 == n {
			out = append(out, res) // after the last sample: nothing to measure
			continue
		}
		res.SetpointC = sps[i0]
		end := n // window is [i0, end)
		start := -1
		for i := i0; i < n && r.Samples[i].T < next; i++ {
			if over(i) {
				start = i
				break
			}
		}
		if start < 0 {
			for end = i0; end < n && r.Samples[end].T < next; end++ {
			}
			if end == i0 {
				end = i0 + 1 // the next event comes before any sample: judge the one at hand
			}
		} else {
			res.Excursion = true
			res.Recovered = false
			res.RecoveryS = math.NaN()
			for i := start + 1; i < n; i++ {
				if !over(i) && isFinite(maxIn[i]) {
					res.Recovered = true
					res.RecoveryS = r.Samples[i].T - e.T
					end = i + 1
					break
				}
			}
		}
		for i := i0; i < end; i++ {
			d := maxIn[i] - sps[i]
			if isFinite(d) && (math.IsNaN(res.PeakOverK) || d > res.PeakOverK) {
				res.PeakOverK, res.PeakT = d, r.Samples[i].T
			}
		}
		out = append(out, res)
	}
	return out
}

// wrap splits s into lines of at most n runes, at spaces where it can, at most maxLines (the
// last one cut with '~').
func wrap(s string, n, maxLines int) []string {
	var out []string
	r := []rune(s)
	for len(r) > n && len(out) < maxLines-1 {
		cut := n
		for i := n; i > n/2; i-- {
			if r[i] == ' ' {
				cut = i
				break
			}
		}
		out = append(out, strings.TrimRight(string(r[:cut]), " "))
		r = []rune(strings.TrimLeft(string(r[cut:]), " "))
	}
	return append(out, clipRunes(string(r), n))
}

// maxActionLines bounds the controller's events listed in the text summary.
const maxActionLines = 30

// String is the text of WriteText.
func (s Summary) String() string {
	var b bytes.Buffer
	_ = s.WriteText(&b)
	return b.String()
}

// WriteText writes the summary as a short human-readable report (under 80 columns for
// names of ordinary length).
func (s Summary) WriteText(w io.Writer) error {
	var b bytes.Buffer
	title := "run summary"
	if s.Title != "" {
		title = sanitize(s.Title) + ": summary"
	}
	fmt.Fprintln(&b, title)
	if s.Samples == 0 {
		fmt.Fprintln(&b, "  no samples")
		_, err := w.Write(b.Bytes())
		return err
	}
	row := func(label, format string, a ...any) {
		fmt.Fprintf(&b, "  %-17s %s\n", label, fmt.Sprintf(format, a...))
	}
	row("duration", "%s (%.1f min, %d samples)", clock(s.DurationS), s.DurationS/60, s.Samples)
	fmt.Fprintln(&b, "  (true: the room's real rack inlets, the plant's truth; measured: the zones as")
	fmt.Fprintln(&b, "  the controller's sensors reported them, what it acted on)")
	row("max true inlet", "%s C at %s", num(s.MaxInletC, 0, 2), clock(s.MaxInletT))
	row("max measured", "%s C at %s", num(s.MaxMeasuredC, 0, 2), clock(s.MaxMeasuredT))
	settled := fmt.Sprintf("true after %.0f min", s.SettleS/60)
	if isFinite(s.MaxInletSettledC) {
		row(settled, "%s C at %s", num(s.MaxInletSettledC, 0, 2), clock(s.MaxInletSettledT))
	} else {
		row(settled, "-- (the run is shorter)")
	}
	row(fmt.Sprintf("true above %.1f C", s.LimitC), "%.1f min", s.AboveLimitS/60)
	row(fmt.Sprintf("true > sp+%.1f K", s.BandK), "%.1f min", s.AboveBandS/60)
	row("fan energy", "%.2f kWh vs baseline %.2f kWh: saving %s %%", s.FanKWh, s.BaselineFanKWh, num(s.SavingPct, 0, 1))
	row("mean fan power", "%s kW vs baseline %s kW", num(s.MeanFanKW, 0, 2), num(s.MeanBaselineFanKW, 0, 2))
	if len(s.Events) > 0 {
		fmt.Fprintf(&b, "  room events (peak: max true inlet - setpoint; back: <= sp+%.1f K again)\n", s.BandK)
	}
	for _, e := range s.Events {
		rec := "no excursion"
		switch {
		case e.Excursion && e.Recovered:
			rec = fmt.Sprintf("back in %.0f s", e.RecoveryS)
		case e.Excursion:
			rec = "NOT recovered by the end"
		}
		peak := "--"
		if isFinite(e.PeakOverK) {
			peak = fmt.Sprintf("%+.2f K at %s", e.PeakOverK, clock(e.PeakT))
		}
		lbl := sanitize(e.Label)
		if utf8.RuneCountInString(lbl) > 16 {
			// a long label gets its own line, the numbers go underneath
			fmt.Fprintf(&b, "  %7s  %s\n", clock(e.T), clipRunes(lbl, 68))
			lbl = ""
		}
		at := ""
		if lbl != "" {
			at = clock(e.T)
		}
		fmt.Fprintf(&b, "  %7s  %-16s peak %s; %s\n", at, lbl, peak, rec)
	}
	if len(s.Actions) > 0 {
		fmt.Fprintln(&b, "  what the controller did")
	}
	for i, e := range s.Actions {
		if i == maxActionLines-1 && len(s.Actions) > maxActionLines {
			fmt.Fprintf(&b, "  %7s  ... and %d more (the controller's event log has them all)\n", "", len(s.Actions)-i)
			break
		}
		for k, ln := range wrap(sanitize(e.Label), 68, 4) {
			at := ""
			if k == 0 {
				at = clock(e.T)
			}
			fmt.Fprintf(&b, "  %7s  %s\n", at, ln)
		}
	}
	if len(s.Units) > 0 {
		fmt.Fprintln(&b, "  units (fan % mean, min..max; time per mode)")
	}
	for _, u := range s.Units {
		fmt.Fprintf(&b, "    %-10s %s (%s..%s)", clipRunes(sanitize(u.Name), 10), num(u.MeanFanPct, 5, 1),
			num(u.MinFanPct, 0, 0), num(u.MaxFanPct, 0, 0))
		for _, m := range u.Modes {
			fmt.Fprintf(&b, " %s %.1fm", clipRunes(sanitize(orString(m.Mode, "?")), 10), m.S/60)
		}
		if u.AlarmS > 0 {
			fmt.Fprintf(&b, " alarm %.1fm", u.AlarmS/60)
		}
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}
