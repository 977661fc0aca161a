package board_test

import (
	"fmt"
	"time"

	"github.com/coldaisle/coldaisle/board"
)

// The board part of a site configuration, checked against the control timing, and opened. This
// board has no GPIO and no watchdog (empty names), so every part is a no-op: what a bench or CI
// machine runs. On a real board Open arms the watchdog and Close disarms it with the magic close;
// tests never open a real one.
func Example() {
	p, err := board.DecodeProfile([]byte(`
[board]
name = "bench"
led_role = ""
relay = ""
watchdog = ""
watchdog_timeout = "15s"
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	period, bms := 2*time.Second, 10*time.Second
	fmt.Println("timeouts:", board.ValidateTimeouts(period, bms, p.WatchdogTime))
	fmt.Println(board.ValidateTimeouts(period, 20*time.Second, p.WatchdogTime))

	b, err := board.Open(p, &board.Options{ControlPeriod: period})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close() // relay off, LEDs dark, watchdog magic close
	fmt.Println("warnings:", b.Warnings(), "watchdog:", b.Watchdog != nil)
	// With a board: go b.Run(ctx, logErr) drives the LEDs and the watchdog supervisor.
	b.SetRole(board.RoleActive)
	fmt.Println("relay:", b.SetControlling(true)) // energised only while controlling
	// after each completed control period: if b.Watchdog != nil { b.Watchdog.Pet(time.Now()) }
	fmt.Println("tick:", b.Tick())

	fmt.Println(board.Slow.Level(0), board.Slow.Level(600*time.Millisecond)) // 1 Hz blink
	// Output:
	// timeouts: <nil>
	// board: unit BMS timeout 20s must be shorter than the watchdog timeout 15s, so that a hung controller hands the units to their local fallback before the board resets: board: bad configuration
	// warnings: [] watchdog: false
	// relay: <nil>
	// tick: <nil>
	// true false
}
