// Package board drives the gateway board's hardware through periph.io: three status LEDs with
// blink patterns, the RS-485 bus-transfer relay, and the hardware watchdog.
//
// # Usage
//
// Example decodes the [board] table of a site file (DefaultProfile without one), checks the
// timeouts, opens a board that has no parts (every missing pin or watchdog is a no-op with a
// warning), sets the role and the relay and ticks. On a board, go b.Run(ctx, logErr) drives the
// LEDs and the watchdog supervisor on 25 ms ticks, the control loop calls b.Watchdog.Pet after
// each completed period (Watchdog is nil without one), and Close drops the relay, darkens the
// LEDs and disarms the watchdog with the magic close.
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
