package engine

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/coldaisle/coldaisle/control/sensors"
)

// measurer is how the engine turns sensor readings into zone measurements: control/sensors
// (hottest valid inlet or a percentile, N-of-M rule, stale/frozen/range/outlier checks).
type measurer interface {
	observe(r Reading)
	// measure returns the zone measurement, how many of its sensors are valid, and the hot
	// readings that must be alarmed.
	// mem is the zone's memory (learned offsets, a carried loss).
	measure(mem *sensors.ZoneMemory, sensors []string, pct float64, minValid int, now time.Time) zoneReading
	// rise is how far the sensors have warmed (K): the largest rise of one sensor's smoothed value
	// above its own recent low (which relaxes upwards at lowRelaxKps), over the given sensors.
	rise(sensors []string) float64
	// interval is the sensors' median observed report interval (0 unknown).
	interval(sensors []string) time.Duration
	// heard is how many of the sensors have reported at least once.
	heard(sensors []string) int
	// forecast is where the fresh sensors are heading (sensors.Store.Forecast).
	forecast(sensors []string, horizon time.Duration, minRate float64, now time.Time) (hot, ahead float64, ok bool)
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
	hot       []sensorNote      // hot spots: far above the median, counted
	dropped   []sensorNote      // hot readings left out as implausible (the node's other channels belie them)
	overRange []sensorNote      // above the plausible range: not counted
	carried   []sensors.Carried // lost sensors counted at their estimate (raising v)
	survivors float64           // v without them
}

// sensorNote is a sensor and its latest value, for alarm texts.
type sensorNote struct {
	id string
	v  float64
}

// storeMeasurer is the control/sensors store behind the measurer interface. The store judges
// every sensor, smooths it and aggregates the zone: the value it returns is the one the loop uses.
type storeMeasurer struct {
	st *sensors.Store
}

func storeConfig(maxAge, frozenAfter time.Duration, lo, hi float64) sensors.Config {
	ri := min(maxAge/3, time.Minute)
	ri = max(ri, time.Second)
	return sensors.Config{ReportInterval: ri, MaxAge: maxAge, FrozenAfter: frozenAfter, Min: lo, Max: hi, LowRelaxKps: lowRelaxKps}
}

// newStoreMeasurer builds the measurer; from old (nil: empty) it keeps everything the old store
// knew, so that a retune does not forget what the sensors said.
func newStoreMeasurer(maxAge, frozenAfter time.Duration, lo, hi float64, old *storeMeasurer) (*storeMeasurer, error) {
	cfg := storeConfig(maxAge, frozenAfter, lo, hi)
	var st *sensors.Store
	var err error
	if old != nil {
		st, err = old.st.Reconfigured(cfg)
	} else {
		st, err = sensors.NewStore(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: sensors: %w", err)
	}
	return &storeMeasurer{st: st}, nil
}

func (m *storeMeasurer) observe(r Reading) {
	_, _ = m.st.Update(sensors.Reading{ID: r.Sensor, Value: r.Value, Fault: r.Fault, Arrived: r.Arrival, Gateway: r.Time, Seq: r.Seq}, r.Arrival)
}

func (m *storeMeasurer) rise(ids []string) float64 { return m.st.Rise(ids) }

func (m *storeMeasurer) interval(ids []string) time.Duration { return m.st.Interval(ids) }

func (m *storeMeasurer) heard(ids []string) int { return m.st.Heard(ids) }

func (m *storeMeasurer) forecast(ids []string, horizon time.Duration, minRate float64, now time.Time) (hot, ahead float64, ok bool) {
	return m.st.Forecast(ids, horizon, minRate, now)
}

func (m *storeMeasurer) measure(mem *sensors.ZoneMemory, ids []string, pct float64, minValid int, now time.Time) zoneReading {
	p := pct
	if p >= 100 {
		p = 0
	}
	a := m.st.Measure(mem, ids, sensors.ZoneConfig{MinValid: minValid, Percentile: p}, now)
	r := zoneReading{v: a.Value, valid: a.Valid, ok: a.OK, hottest: math.NaN(), median: a.Median,
		carried: a.Carried, survivors: a.Survivors}
	if a.Worst != "" {
		r.hottest, r.hottestID = a.WorstC, a.Worst
	}
	// A carried estimate counts for the alarm limit too: a lost hot spot is still there.
	for _, c := range a.Carried {
		if math.IsNaN(r.hottest) || c.EstimateC > r.hottest {
			r.hottest, r.hottestID = c.EstimateC, c.ID+" (estimated, lost)"
		}
	}
	val := map[string]float64{}
	for _, mb := range a.Members {
		val[mb.ID] = mb.Value
	}
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
	return r
}
