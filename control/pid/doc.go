// Package pid is the loop controller of coldaisle: a PID in ISA (standard) form with setpoint
// weighting, a filtered derivative on the measurement, output magnitude and rate limits,
// back-calculation anti-windup that respects both limits, and bumpless Manual, Auto and Tracking
// modes. It is pure: no clock, no I/O. The caller passes the time of each sample (from its
// injected monotonic clock) or the step dt.
//
// # Control law
//
//	u = Kp * ( ep + (1/Ti) ∫ e dt + Td * d/dt[ ed ] / (1 + s Tf) )
//	e  = s*(sp - pv)      integral error
//	ep = s*(b*sp - pv)    proportional error, setpoint weight b (default 1)
//	ed = s*(c*sp - pv)    derivative error, setpoint weight c (default 0: derivative on pv only)
//	s  = +1 Reverse, -1 Direct;  Tf = Td/N (N default 10) unless Tf is given
//
// Convention: Direct action means the output rises when the measurement rises above the setpoint,
// i.e. the error driving the loop is pv - sp. A cooling loop (rack inlet temperature -> fan speed)
// is Direct: inlet above setpoint -> more fan. Reverse is the textbook sp - pv (heating). Kp is
// always positive. Parallel gains (kp, ki, kd) convert with FromParallel.
//
// Discretisation, per sample of length h: the derivative filter uses backward differences (stable
// for any h >= 0); the integral is forward Euler, held in output units so that Ti changes need no
// rescaling. Anti-windup is back-calculation: the integral is also driven by (u - v), the
// difference between the output actually applied (after the magnitude and the rate limit) and the
// unlimited output, with tracking time Tt (default sqrt(Ti*Td), or Ti without derivative), using
// the gain 1-exp(-h/Tt) which never exceeds 1.
//
// # Modes
//
//   - Manual: the output ramps to the SetManual value at the rate limit (a new PID starts in Manual
//     at OutMin).
//   - Tracking: the output is the Track value (the actuator's read-back), exactly, without the rate
//     limit: it is a measurement of where the actuator is, not a command.
//   - Auto: the control law. Entering Auto from Manual or Tracking sets the integral at the first
//     Auto update so that the output equals the last output: no bump.
//
// Retune swaps the configuration in any mode without a bump (the integral absorbs the change of
// the proportional and derivative terms), so calling it every tick for gain scheduling is safe.
// The output limits bound every mode; Manual and Track values are clamped to them, so a loop never
// commands a fan below its configured minimum.
//
// # Time
//
// Update(sp, pv, now) uses now - previous now as the step. The first update after New or Restore,
// after the clock went backwards, or after a pause longer than MaxGap (default 5 min) neither
// integrates nor differentiates, and with a rate limit holds the output for that one sample.
// Non-finite sp or pv are ignored and the output holds (Rejected counts them); the caller's sensor
// layer decides about fail-safe.
//
// # Usage
//
// Example runs a cooling loop from a bumpless start to its setpoint and checkpoints it; a bad
// Config is refused with an error naming the field ("pid: ti_s must be >= 0 s (got -1); ...").
//
// Caveats: the State does not carry the time base (it restarts on Restore). Tracking is exempt
// from the rate limit by design. Changing the output limits with Retune clamps the output at once,
// which may exceed the rate limit for that step (the limits win).
//
// Sub-package pidtest has the linear test plants (lags with dead time) the tests of this package
// and of control/autotune use.
package pid
