// Package commission holds the commissioning sequences a technician runs on a unit from the
// console: today `test unit UNIT` (Tester.Run). A sequence is a plain function over small
// interfaces: Engine (manual/auto, snapshot, read-back, autotune status; *engine.Engine has
// them), Valve (hold a valve at a position and give it back) and Clock (Now, and Until a time).
// It has no drivers, storage or board code, so it runs the same on a board (the appliance's
// adapter: the running engine, its valve holds on top of every commit, Wall) and on the lockstep
// bench (control/bench: the engine against control/plant's room, hours of plant time in
// seconds), where a Lockstep runs it as a coroutine of the bench's loop.
//
// # The unit test
//
//  1. The fan goes to manual where it runs, then steps by StepPct (20 %; down when there is no
//     room above, never out of min_fan_pct..max_fan_pct). Its feedback must follow within the
//     ramp at the unit's fan_rate_pct, three control periods and FollowSlack (30 s).
//  2. The zone the unit serves most is watched for InletWait (1 min): its inlets must fall after
//     a step up (rise after a step down) by 0.1 K or more.
//  3. The fan goes back; the valve is held StepPct away and its feedback must follow within
//     three control periods and FollowSlack.
//
// Every wait is bounded and on the injected clock; a cancelled context ends the test with the
// context's error. Whatever happens the valve is released and the fan goes back to the mode it
// was in (auto, or manual at its speed). Progress lines say each step, how a feedback or the
// inlets go at least every ProgressEvery (10 s), each check with its numbers and the restore.
//
// # Lockstep
//
// Lockstep.Start runs a sequence up to its first wait; each Lockstep.Advance (the bench calls it
// after every control period) sets the clock and runs the sequence to its next wait. The sequence
// never runs beside the loop, so it may call the loop's engine directly and a run stays
// deterministic for a seed. A cancel is seen at the next Advance; Stop ends a sequence the loop
// gives up on (its clean-up runs before Stop returns). EngineValve holds valves on an engine
// nobody else reconfigures.
//
// Example runs `test unit crah-1` on the small room; the bench tests run it on the small room
// and the hall: healthy units pass (fan and valve feedback after 6 s, inlets -0.7..-1.0 K in the
// minute, 74 plant seconds, a few milliseconds of wall time), a unit tripped as the test starts
// fails its fan check (0 % read back, timed out after 40 s), a room with no IT load fails the
// inlets check (+0.2..+0.3 K: more air only adds fan heat), and an abort at the valve step
// restores the operator's manual speed and the valve range.
//
// # Caveats
//
//   - The inlets check is not specific to the unit: the other units serving the zone stay in auto
//     and move too. On the bench a unit that tripped just before its test still "passes" it
//     (-0.4..-1.0 K: its neighbours pick up its share and the room recovers); only the fan check
//     catches it. A zone loop that answers the step by lowering the neighbours may shrink the
//     response of a healthy unit.
//   - A unit whose profile has no valve feedback (vfd-fan) reads back 0 % for its valve and fails
//     the valve check even when healthy (the test knows the configuration, not the profile).
//   - The "fan held" wait before the step is not a check: a unit that does not follow spends
//     that timeout too, so a failed fan costs about twice the follow timeout.
//   - Lockstep's clock only moves at Advance: a poll or progress interval shorter than the loop's
//     step (the control period on the bench) is stretched to it, so the progress lines are
//     fewer and the feedback times are whole periods.
//   - On the Wall clock the feedback is polled every period/4 (at least 20 ms); the time a check
//     reports includes up to one poll interval of delay.
package commission
