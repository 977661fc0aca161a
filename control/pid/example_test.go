package pid_test

import (
	"fmt"
	"time"

	"github.com/coldaisle/coldaisle/control/pid"
	"github.com/coldaisle/coldaisle/control/pid/pidtest"
)

// A cooling loop: a zone's inlet temperature drives a fan, Direct acting (warmer -> more fan).
// The loop starts from where the fan already runs (Track, then Auto: no bump), brings the inlet
// from 25 °C to its 24 °C setpoint, and its State is what a checkpoint stores.
func Example() {
	room := pidtest.FOPDT(-0.2, 120, 12, 0.2) // fan % -> inlet K: 2 min lag, 12 s dead time
	room.Offset = 35
	room.Settle(50) // inlet 25 °C at 50 % fan

	c, err := pid.New(pid.Config{Kp: 4, Ti: 150, OutMin: 30, OutMax: 100, Rate: 2, Action: pid.Direct})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = c.Track(50) // the unit's read-back fan speed
	_ = c.SetMode(pid.Auto)

	t0 := time.Unix(0, 0) // stands in for the injected monotonic clock
	first := 0.0
	for i := 0; i <= 1800; i++ { // one hour in 2 s periods
		now := t0.Add(time.Duration(i) * 2 * time.Second)
		fan := c.Update(24, room.Y(), now)
		if i == 0 {
			first = fan
		}
		room.Advance(fan, 2)
	}
	fmt.Printf("first output %.1f %%\n", first)
	fmt.Printf("after an hour: inlet %.1f °C, fan %.0f %%\n", room.Y(), c.Output())

	st := c.State()
	fmt.Println("checkpoint mode:", st.Mode)

	_, err = pid.New(pid.Config{Kp: 4, Ti: -1, OutMin: 30, OutMax: 100, Action: pid.Direct})
	fmt.Println(err)
	// Output:
	// first output 50.0 %
	// after an hour: inlet 24.0 °C, fan 55 %
	// checkpoint mode: auto
	// pid: ti_s must be >= 0 s (got -1); 0 disables integral action
}
