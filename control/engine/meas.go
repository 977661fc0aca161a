package engine

import (
	"fmt"

	"github.com/coldaisle/coldaisle/control/sensors"
	"time"
)

// measurer is how the engine turns sensor readings into zone measurements: control/sensors
// (hottest valid inlet or a percentile, N-of-M rule, stale/frozen/range/outlier checks).
type measurer interface {
	observe(r Reading)
	// measure returns the zone measurement and how many of its sensors are valid.
	measure(sensors []string, pct float64, minValid int, now time.Time) (v float64, valid int, ok bool)
}

// storeMeasurer is the control/sensors store behind the measurer interface.
type storeMeasurer struct {
	st *sensors.Store
}

func newStoreMeasurer(maxAge, frozenAfter time.Duration, lo, hi float64) (*storeMeasurer, error) {
	ri := min(maxAge/3, time.Minute)
	ri = max(ri, time.Second)
	st, err := sensors.NewStore(sensors.Config{ReportInterval: ri, MaxAge: maxAge, FrozenAfter: frozenAfter, Min: lo, Max: hi})
	if err != nil {
		return nil, fmt.Errorf("engine: sensors: %w", err)
	}
	return &storeMeasurer{st: st}, nil
}

func (m *storeMeasurer) observe(r Reading) {
	_, _ = m.st.Update(sensors.Reading{ID: r.Sensor, Value: r.Value, Fault: r.Fault, Arrived: r.Arrival, Gateway: r.Time, Seq: r.Seq}, r.Arrival)
}

func (m *storeMeasurer) measure(ids []string, pct float64, minValid int, now time.Time) (float64, int, bool) {
	p := pct
	if p >= 100 {
		p = 0
	}
	a := m.st.Zone(ids, sensors.ZoneConfig{MinValid: minValid, Percentile: p}, now)
	return a.Value, a.Valid, a.OK
}
