package report

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors. Returned errors wrap them, so test with errors.Is.
var (
	// ErrSample: a sample is unusable (non-finite or decreasing time).
	ErrSample = errors.New("report: bad sample")
	// ErrNoSamples: a plot was asked for a run without samples.
	ErrNoSamples = errors.New("report: no samples")
	// ErrOption: an option is out of range (negative size, DPI, rate).
	ErrOption = errors.New("report: bad option")
)

// Defaults used when the corresponding Run or option field is zero.
const (
	DefaultLimitC  = 27.0  // inlet limit (ASHRAE recommended upper bound)
	DefaultBandK   = 0.5   // recovered = max inlet <= setpoint + band
	DefaultSettleS = 600.0 // start-up excluded from "max inlet after settling"
)

// Unit is one air handler at one moment, as the controller sees it.
type Unit struct {
	Name     string
	FanPct   float64 // 0..100
	ValvePct float64 // 0..100; NaN when the unit has no valve under our control
	Mode     string  // free form: "auto", "fallback", "tripped", ...
	Zone     string  // the zone the unit's loop controls
	// ZoneC is the zone value the controller MEASURED from its sensors (what its loop acts on,
	// with the sensors' delay, noise and dropouts), not the true inlet; NaN when invalid.
	ZoneC     float64
	SetpointC float64
	Alarm     bool
	// Alarms are the controller's reasons for Alarm, in words ("tripped: not running"); Alarm
	// may be set without a reason known.
	Alarms []string
}

// Event marks something that happened at plant time T ("load step", "crah-2 trip").
type Event struct {
	T     float64 // plant seconds
	Label string
	// Controller: the controller's own action or alarm ("crah-2 alarm: tripped: ..."), not a
	// scripted event of the room. Only the room's events are judged for excursion and recovery.
	Controller bool
}

// Sample is one moment of a run. Slices are copied by Run.Add, so a caller may reuse them.
type Sample struct {
	T     float64 // plant seconds
	Units []Unit
	// InletsC are the TRUE inlet temperatures (the plant's truth, which no controller sees),
	// one per rack or sensor, in a stable order. NaN entries are gaps.
	InletsC []float64
	// FanKW is our total fan power; BaselineFanKW the baseline's (every unit at 100 % under
	// local control) at the same moment.
	FanKW, BaselineFanKW float64
	// FanKWh and BaselineFanKWh are the cumulative fan energies since the start.
	FanKWh, BaselineFanKWh float64
	// Events that happened since the previous sample (their T may lie before Sample.T).
	Events []Event
}

// MaxInletC is the highest finite inlet temperature of the sample, NaN when there is none.
func (s *Sample) MaxInletC() float64 {
	m := math.NaN()
	for _, v := range s.InletsC {
		if isFinite(v) && (math.IsNaN(m) || v > m) {
			m = v
		}
	}
	return m
}

// MaxMeasuredC is the highest finite zone value the controller measured (Unit.ZoneC), NaN when
// there is none.
func (s *Sample) MaxMeasuredC() float64 {
	m := math.NaN()
	for _, u := range s.Units {
		if isFinite(u.ZoneC) && (math.IsNaN(m) || u.ZoneC > m) {
			m = u.ZoneC
		}
	}
	return m
}

// Run collects the samples of one simulation for the summary and the plot. The zero value
// is ready to use. A Run is not safe for concurrent use.
type Run struct {
	Title string
	// SetpointC is the reference the max inlet is held against. Zero: at each sample the lowest
	// finite unit setpoint (the strictest zone), so an excursion is never missed.
	SetpointC float64
	LimitC    float64 // inlet limit; zero means DefaultLimitC
	BandK     float64 // recovery band over the setpoint; zero means DefaultBandK
	SettleS   float64 // start-up length in plant s; zero means DefaultSettleS, negative none

	Samples []Sample
	Events  []Event // every event of every sample (the room's and the controller's), in the order added
}

// Add appends a deep copy of s. Times must be finite and not decrease; a bad sample is
// rejected with an error wrapping ErrSample and the Run is unchanged.
func (r *Run) Add(s Sample) error {
	if !isFinite(s.T) {
		return fmt.Errorf("%w: time %v is not finite", ErrSample, s.T)
	}
	if n := len(r.Samples); n > 0 && s.T < r.Samples[n-1].T {
		return fmt.Errorf("%w: time %.3f s before the previous sample's %.3f s", ErrSample, s.T, r.Samples[n-1].T)
	}
	for _, e := range s.Events {
		if !isFinite(e.T) {
			return fmt.Errorf("%w: event %q time %v is not finite", ErrSample, e.Label, e.T)
		}
	}
	c := s
	c.Units = append([]Unit(nil), s.Units...)
	for i := range c.Units {
		if c.Units[i].Alarms != nil {
			c.Units[i].Alarms = append([]string(nil), c.Units[i].Alarms...)
		}
	}
	c.InletsC = append([]float64(nil), s.InletsC...)
	c.Events = append([]Event(nil), s.Events...)
	r.Samples = append(r.Samples, c)
	r.Events = append(r.Events, s.Events...)
	return nil
}

func (r *Run) limitC() float64 { return orDefault(r.LimitC, DefaultLimitC) }
func (r *Run) bandK() float64  { return orDefault(r.BandK, DefaultBandK) }
func (r *Run) settleS() float64 {
	switch {
	case r.SettleS < 0:
		return 0
	case r.SettleS == 0:
		return DefaultSettleS
	}
	return r.SettleS
}

// setpointAt is the reference setpoint of sample i (see Run.SetpointC), NaN when unknown.
func (r *Run) setpointAt(s *Sample) float64 {
	if r.SetpointC != 0 && isFinite(r.SetpointC) {
		return r.SetpointC
	}
	return lowestSetpoint(s.Units)
}

func lowestSetpoint(us []Unit) float64 {
	sp := math.NaN()
	for _, u := range us {
		if isFinite(u.SetpointC) && (math.IsNaN(sp) || u.SetpointC < sp) {
			sp = u.SetpointC
		}
	}
	return sp
}

func orDefault(v, d float64) float64 {
	if v == 0 || !isFinite(v) {
		return d
	}
	return v
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// clock formats plant seconds as m:ss, or h:mm:ss from an hour on.
func clock(t float64) string {
	if !isFinite(t) {
		return "--:--"
	}
	neg := ""
	if t < 0 {
		neg, t = "-", -t
	}
	t = math.Min(t, 3.6e9) // a million hours: keeps the width bounded for absurd input
	s := int64(t)          // truncation: a frame at 59.9 s still says 0:59
	if s >= 3600 {
		return fmt.Sprintf("%s%d:%02d:%02d", neg, s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%s%d:%02d", neg, s/60, s%60)
}
