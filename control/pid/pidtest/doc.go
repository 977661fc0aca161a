// Package pidtest holds small linear plants for testing control loops: a chain of first-order lags
// with dead time, y = Offset + K e^{-Ls} / Π(1 + T_i s) (u + Load), simulated exactly for a held
// input (zero-order hold) on a fine internal step, plus the plant's analytical ultimate gain and
// period. It is deterministic and pure; control/pid and control/autotune use it in their tests.
//
//	pl := pidtest.FOPDT(-0.2, 120, 12, 0.2) // fan % -> inlet K, 2 min lag, 12 s dead time
//	pl.Offset = 35
//	pl.Settle(50)                          // steady state at 50 %
//	y := pl.Advance(60, 2)                 // hold 60 % for 2 s
//	ku, pu := pl.Ultimate()
//
// Caveat: New panics on a bad plant description: it is test scaffolding, never fed by input.
package pidtest
