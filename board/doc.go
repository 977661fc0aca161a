// Package board drives the gateway board's hardware through periph.io: three status LEDs with
// blink patterns, the RS-485 bus-transfer relay, and the hardware watchdog.
//
// # Usage
//
//	p, err := board.DecodeProfile(siteConfigTOML) // the [board] table, or DefaultProfile
//	if err := board.ValidateTimeouts(period, bmsTimeout, p.WatchdogTime); err != nil { ... }
//	b, err := board.Open(p, &board.Options{ControlPeriod: period})
//	for _, w := range b.Warnings() { log.Print(w) } // missing GPIO or watchdog: no-ops
//	defer b.Close()                                  // relay off, LEDs dark, watchdog magic close
//	go b.Run(ctx, logErr)                            // LEDs and watchdog supervisor, 25 ms ticks
//
//	b.SetRole(board.RoleActive); b.SetControlling(true) // relay energised only while controlling
//	// in the control loop, after each completed period:
//	if b.Watchdog != nil { b.Watchdog.Pet(time.Now()) }
//
// # LEDs
//
//	role:   steady = active, slow 1 Hz = standby, fast 5 Hz = fault, dark = starting
//	health: heartbeat blip every 2 s = OK, double blip = degraded, fast = fault or control loop stalled
//	field:  steady = all links up, slow = some down, fast = all down, dark = none configured
//
// Patterns are pure functions of the time since they were set (Pattern.Level); LEDs are
// tick-driven with an injected clock and write a pin only when its level changes.
//
// # Watchdog
//
// The kernel's /dev/watchdog is used through WDIOC_SETTIMEOUT, WDIOC_GETTIMEOUT and
// WDIOC_KEEPALIVE behind an unexported device interface (watchdog_linux.go), so the logic is
// tested with a fake device that knows when the hardware would have fired. The control loop
// Pets after each completed period; the supervisor (Tick/Run) kicks the device only while the
// last Pet is at most MaxAge (3 control periods) old, so a stalled loop lets the board reset
// even though the supervisor goroutine still runs. Close writes the magic 'V' (clean shutdown
// only); Abandon closes without it. Opening the device arms it: tests never open a real one.
//
// Timeouts must keep control period < unit BMS timeout < watchdog timeout (ValidateTimeouts
// explains why in its error messages): units fall back to their own control before a hung
// controller's board resets.
//
// # Missing hardware
//
// host.Init on a machine without GPIO (x86, CI) succeeds with no pins; gpioreg.ByName then
// returns nil. Open turns every missing pin or watchdog into a warning and a no-op part, or into
// an error wrapping ErrNoDevice when Profile.Strict is set (production).
//
// # Caveats
//
// After a crash (not a Close) the relay's GPIO keeps its level until the watchdog resets the
// board, so the standby board can take the bus only after the watchdog timeout; the units are
// on their BMS fallback by then. LED pin errors are advisory and rate-limited by Run.
//
// Sentinel errors: ErrConfig (bad profile or timing), ErrNoDevice (missing pin or watchdog),
// ErrClosed.
package board
