// Package bench runs the controller (control/engine) against the simulated room (control/plant) in
// lockstep on one simulated clock and scores it: fan energy against the baseline (every unit at
// 100 %) and the oracle (least fan power that holds every inlet, in steady state), degree-minutes
// above the alarm limit and above setpoint + 1 K, the hottest inlet, IAE, the total variation of the
// fan commands, and per event the peak over the setpoint and the recovery time.
//
//	sc, _ := plant.LoadScenario("hall")
//	res, err := bench.Run(sc, bench.Options{Seed: 1})
//	bench.WriteTable(os.Stdout, res)       // or json.Marshal(res)
//
// The lockstep: the plant steps by 1 s; every sensor reports at its interval (30 s, seeded phase)
// its measured value through a simulated mesh that honours the scenario's field events (sensor
// die/freeze/revive, loss, duplicates, reordering, delay, gateway reboot); every control period
// (from the site configuration) each unit is read, the engine ticks and the commands are written.
// Units follow the BMS rules: no heartbeat write for the BMS timeout -> local fallback at the
// fallback fan speed; a unit that stops answering returns errors to reads and writes (and so falls
// back); a tripped unit reads back a fan fault. No goroutines: a run is deterministic for a seed.
//
// SiteConfig maps a scenario to the site configuration the controller runs (the twin uses the
// same mapping): one zone per scenario zone, with influence shares computed from the scenario's
// influence matrix so that the engine's linear model (zone cold air = sum of share x fan) matches
// the plant's air distribution.
//
// Caveats: "passed" is no true inlet above the alarm limit after the first 10 minutes (SettleS).
// Energies are reported over the whole run (as control/plant computes the baseline and oracle) and
// after the settle time; the start from units in local fallback at 100 % fan is a large share of a
// short scenario's energy. The fan total variation is counted after settle (the start-up ramp is
// reported separately); the oracle's counts only its steps between load periods.
package bench
