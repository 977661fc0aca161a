package pidtest_test

import (
	"fmt"

	"github.com/coldaisle/coldaisle/control/pid/pidtest"
)

// A fan-to-inlet plant: -0.2 K per % of fan, a 2 min lag and 12 s of dead time, 35 °C with the
// fan off. Settle puts it in steady state; Advance holds an input for a while.
func Example() {
	pl := pidtest.FOPDT(-0.2, 120, 12, 0.2)
	pl.Offset = 35
	pl.Settle(50)
	fmt.Printf("at 50 %%: %.2f °C\n", pl.Y())

	y := pl.Advance(60, 2) // 60 % for 2 s: the dead time has not passed yet
	fmt.Printf("2 s after a step to 60 %%: %.2f °C\n", y)
	for pl.Time() < 2*3600 {
		pl.Advance(60, 10)
	}
	fmt.Printf("two hours later: %.2f °C\n", pl.Y())

	ku, pu := pl.Ultimate()
	fmt.Printf("ultimate gain %.1f %%/K, period %.0f s\n", ku, pu)
	// Output:
	// at 50 %: 25.00 °C
	// 2 s after a step to 60 %: 25.00 °C
	// two hours later: 23.00 °C
	// ultimate gain 81.8 %/K, period 46 s
}
