// Package pidtest holds small linear plants for testing control loops: a chain of first-order lags
// with dead time, y = Offset + K e^{-Ls} / Π(1 + T_i s) (u + Load), simulated exactly for a held
// input (zero-order hold) on a fine internal step, plus the plant's analytical ultimate gain and
// period. It is deterministic and pure; control/pid and control/autotune use it in their tests.
//
// Example builds a fan-to-inlet plant, steps it and reads its ultimate gain and period.
//
// Caveat: New panics on a bad plant description: it is test scaffolding, never fed by input.
package pidtest
