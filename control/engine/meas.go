package engine

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/coldaisle/coldaisle/control/sensors"
)

// Per-sensor smoothing of the zone measurement.
const (
	// filterAlpha is the weight of a new report in a sensor's smoothed value (an exponential
	// average over about three reports). The hottest of many noisy sensors is biased up and
	// jumps with every report; averaging each sensor before the max removes most of both.
	filterAlpha = 0.4
	// filterJumpK: a report this far from the smoothed value is a real change (a load step, a
	// hot spot), not noise, and is taken at once: the filter never delays heat.
	filterJumpK = 0.3
)

// measurer is how the engine turns sensor readings into zone measurements: control/sensors
// (hottest valid inlet or a percentile, N-of-M rule, stale/frozen/range/outlier checks).
type measurer interface {
	observe(r Reading)
	// measure returns the zone measurement, how many of its sensors are valid, and the hot
	// readings that must be alarmed.
	measure(sensors []string, pct float64, minValid int, now time.Time) zoneReading
	// rise is how far the sensors have warmed (K): the largest rise of one sensor's smoothed value
	// above its own recent low (which relaxes upwards at lowRelaxKps), over the given sensors.
	rise(sensors []string) float64
}

// zoneReading is one zone's measurement at an instant.
type zoneReading struct {
	v     float64 // the loop's measurement (NaN unless ok)
	valid int
	ok    bool
	// hottest is the hottest inlet the zone counts (raw, not smoothed), with its sensor: the
	// alarm limit applies to every counted inlet, not only to the aggregate (a p90 zone can hide
	// one rack far above the limit).
	hottest   float64
	hottestID string
	median    float64
	hot       []sensorNote // hot spots: far above the median, counted
	dropped   []sensorNote // hot readings left out as implausible (the node's other channels belie them)
	overRange []sensorNote // above the plausible range: not counted
}

// sensorNote is a sensor and its latest value, for alarm texts.
type sensorNote struct {
	id string
	v  float64
}

// storeMeasurer is the control/sensors store behind the measurer interface. The store judges
// every sensor (the raw readings); the zone value is then the max (or percentile) of the used
// sensors' smoothed values.
type storeMeasurer struct {
	st   *sensors.Store
	filt map[string]float64 // smoothed value per sensor
	low  map[string]sensorLow
	buf  []float64
}

// sensorLow is a sensor's recent low: the start-up slew brakes on a sensor's own rise, not on the
// zone's max moving between sensors as they report one after the other.
type sensorLow struct {
	v  float64
	at time.Time // of the report that set or last relaxed it
}

func newStoreMeasurer(maxAge, frozenAfter time.Duration, lo, hi float64) (*storeMeasurer, error) {
	ri := min(maxAge/3, time.Minute)
	ri = max(ri, time.Second)
	st, err := sensors.NewStore(sensors.Config{ReportInterval: ri, MaxAge: maxAge, FrozenAfter: frozenAfter, Min: lo, Max: hi})
	if err != nil {
		return nil, fmt.Errorf("engine: sensors: %w", err)
	}
	return &storeMeasurer{st: st, filt: map[string]float64{}, low: map[string]sensorLow{}}, nil
}

func (m *storeMeasurer) observe(r Reading) {
	out, err := m.st.Update(sensors.Reading{ID: r.Sensor, Value: r.Value, Fault: r.Fault, Arrived: r.Arrival, Gateway: r.Time, Seq: r.Seq}, r.Arrival)
	if err != nil || (out != sensors.Accepted && out != sensors.Resynced) {
		return
	}
	if r.Fault || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		delete(m.filt, r.Sensor) // starts afresh from its next good report
		return
	}
	f, ok := m.filt[r.Sensor]
	if !ok || math.Abs(r.Value-f) > filterJumpK {
		f = r.Value
	} else {
		f += filterAlpha * (r.Value - f)
	}
	m.filt[r.Sensor] = f
	l, ok := m.low[r.Sensor]
	if ok {
		if dt := r.Arrival.Sub(l.at).Seconds(); dt > 0 {
			l.v += lowRelaxKps * dt
		}
	}
	if !ok || f < l.v {
		l.v = f
	}
	l.at = r.Arrival
	m.low[r.Sensor] = l
}

func (m *storeMeasurer) rise(ids []string) float64 {
	r := 0.0
	for _, id := range ids {
		f, ok := m.filt[id]
		l, okl := m.low[id]
		if ok && okl {
			r = math.Max(r, f-l.v)
		}
	}
	return r
}

func (m *storeMeasurer) measure(ids []string, pct float64, minValid int, now time.Time) zoneReading {
	p := pct
	if p >= 100 {
		p = 0
	}
	a := m.st.Zone(ids, sensors.ZoneConfig{MinValid: minValid, Percentile: p}, now)
	r := zoneReading{v: a.Value, valid: a.Valid, ok: a.OK, hottest: math.NaN(), median: a.Median}
	val := map[string]float64{}
	v := m.buf[:0]
	for _, mb := range a.Members {
		val[mb.ID] = mb.Value
		if !mb.Used {
			continue
		}
		if r.hottestID == "" || mb.Value > r.hottest {
			r.hottest, r.hottestID = mb.Value, mb.ID
		}
		f, ok := m.filt[mb.ID]
		if !ok {
			f = mb.Value
		}
		v = append(v, f)
	}
	m.buf = v
	notes := func(ids []string) []sensorNote {
		var out []sensorNote
		for _, id := range ids {
			out = append(out, sensorNote{id, val[id]})
		}
		return out
	}
	r.dropped, r.overRange = notes(a.Implausible), notes(a.AboveRange)
	for _, id := range a.HotOutliers {
		if !slices.Contains(a.Implausible, id) {
			r.hot = append(r.hot, sensorNote{id, val[id]})
		}
	}
	if a.OK && len(v) > 0 {
		r.v = aggregate(v, p)
	}
	return r
}

// aggregate is the max of xs (p <= 0 or >= 100) or its p-th percentile by linear interpolation
// between order statistics, as control/sensors computes it. xs is reordered.
func aggregate(xs []float64, p float64) float64 {
	if p <= 0 || p >= 100 {
		return slices.Max(xs)
	}
	slices.Sort(xs)
	pos := p / 100 * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	if lo >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	f := pos - float64(lo)
	return xs[lo] + f*(xs[lo+1]-xs[lo])
}
