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
	// measure returns the zone measurement and how many of its sensors are valid.
	measure(sensors []string, pct float64, minValid int, now time.Time) (v float64, valid int, ok bool)
	// rise is how far the sensors have warmed (K): the largest rise of one sensor's smoothed value
	// above its own recent low (which relaxes upwards at lowRelaxKps), over the given sensors.
	rise(sensors []string) float64
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

func (m *storeMeasurer) measure(ids []string, pct float64, minValid int, now time.Time) (float64, int, bool) {
	p := pct
	if p >= 100 {
		p = 0
	}
	a := m.st.Zone(ids, sensors.ZoneConfig{MinValid: minValid, Percentile: p}, now)
	if !a.OK {
		return a.Value, a.Valid, a.OK
	}
	v := m.buf[:0]
	for _, mb := range a.Members {
		if !mb.Used {
			continue
		}
		f, ok := m.filt[mb.ID]
		if !ok {
			f = mb.Value
		}
		v = append(v, f)
	}
	m.buf = v
	if len(v) == 0 {
		return a.Value, a.Valid, a.OK
	}
	return aggregate(v, p), a.Valid, a.OK
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
