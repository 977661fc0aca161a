// Package consoletest has a fake clock and an in-memory fake console.Backend for tests of the
// serial console (and of programs that embed it).
//
// Example serves a console on the fake backend and clock over a net.Pipe, checks what a command
// did through the backend (Mode, EventsOf) and passes 15 idle minutes at once with Advance. Read
// the technician's end on a goroutine of its own: the console's writes block until read.
//
// Pair is a fake 2N pair board (console.Pair) with a settable status; PairBackend{Backend, Pair}
// is a Backend whose board runs in a pair, and ActivePairStatus and StandbyPairStatus are the two
// boards of a healthy pair over the small test site.
//
// Caveats: the plant data (sensors, units, tuning, commissioning) are canned numbers; CommitConfig
// validates like a real backend should and is atomic.
package consoletest
