package sensors_test

import (
	"fmt"
	"time"

	"github.com/coldaisle/coldaisle/control/sensors"
)

// Three inlet sensors of a zone report; then one goes silent. Once it is stale it drops out of
// the zone's measurement (it can never hold the loop at its last, cool value), and a zone that
// needs all three is no longer OK: the engine puts its units in fail-safe.
func Example() {
	st, err := sensors.NewStore(sensors.Config{ReportInterval: time.Minute, FrozenAfter: 30 * time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	zone := []string{"r10/1", "r11/1", "r12/1"}
	t0 := time.Unix(1_750_000_000, 0) // the controller's monotonic clock
	report := func(id string, v float64, at time.Time) {
		// the mesh goroutine; Gateway is the gateway's time stamp, only used for ordering
		if _, err := st.Update(sensors.Reading{ID: id, Value: v, Gateway: at, Seq: uint8(at.Unix())}, at); err != nil {
			fmt.Println(err)
		}
	}
	report("r10/1", 22.1, t0)
	report("r11/1", 23.1, t0)
	report("r12/1", 22.6, t0)

	p90, _ := sensors.ParseAggregate("p90")
	hottest := st.Zone(zone, sensors.ZoneConfig{}, t0)
	fmt.Printf("hottest %.1f (%s), p90 %.2f\n", hottest.Value, hottest.Worst,
		st.Zone(zone, sensors.ZoneConfig{Percentile: p90}, t0).Value)

	// r11 stops reporting; the others go on every minute.
	var now time.Time
	for i := 1; i <= 4; i++ {
		now = t0.Add(time.Duration(i) * time.Minute)
		report("r10/1", 22.1, now)
		report("r12/1", 22.6, now)
	}
	fmt.Println(st.Classify("r11/1", now))
	agg := st.Zone(zone, sensors.ZoneConfig{MinValid: 2}, now)
	fmt.Printf("N=2: ok %v, %.1f from %d of %d\n", agg.OK, agg.Value, agg.Valid, agg.Total)
	agg = st.Zone(zone, sensors.ZoneConfig{MinValid: 3}, now)
	fmt.Printf("N=3: ok %v, value %v\n", agg.OK, agg.Value)
	fmt.Println(agg.Reason)

	for _, s := range st.Snapshot(now) { // for the console
		fmt.Println(s.ID, s.Quality, s.Value, s.Age)
	}
	// Output:
	// hottest 23.1 (r11/1), p90 23.00
	// stale
	// N=2: ok true, 22.6 from 2 of 3
	// N=3: ok false, value NaN
	// insufficient: 2 of 3 sensors valid, need 3 (r11/1 stale)
	// r10/1 fresh 22.1 0s
	// r11/1 stale 23.1 4m0s
	// r12/1 fresh 22.6 0s
}
