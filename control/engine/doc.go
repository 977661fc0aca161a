// Package engine is the loop engine: pure control code (no drivers, no storage, no wall clock),
// driven by ticks like etcd's raft: state goes in (Observe, UpdateUnit), commands come out (Tick).
//
// # Usage
//
// ExampleRunner runs the engine the way the board does: a Runner over a UnitIO (drivers/field at a
// site) reads, ticks and writes every control period and calls a Hook after each; the mesh
// goroutine hands readings to Observe (any goroutine may). Example drives it without the Runner, as
// the bench and tests do: UpdateUnit for every unit, Tick(now), write the commands with Write set,
// and drain Events() for the event log.
//
// One Tick runs its phases in order: advance (the clock), measureZones (zone measurements and
// their alarms), unitMode (each unit's condition and mode), allocInputs, zoneDemands (the zone
// loops and their feed-forward), allocate, commands (limits, deadband, more air past the alarm
// limit) and antiWindup. The rules below are pinned by the transcripts in testdata (start-up,
// trip, isolation, sensor loss, a restart with a hot spot lost, alarm limit, autotune, rise
// feed-forward): TestTranscripts replays them, `go test -run TestTranscripts -update` rewrites
// them with what the engine does now (read the diff before committing it).
//
// # Coordination of overlapping zones
//
// One PI loop per ZONE (not per unit) turns the zone's measurement into a zone demand D_z: the
// zone's cold air as a percentage of what it gets with every serving unit at 100 %, in the linear
// model  D_z = sum_u w[z][u] * f_u  where w[z][u] is unit u's influence share of zone z
// (normalised per zone) and f_u its fan %. An allocator then chooses the fan speeds of the units in
// auto by solving, every period,
//
//	minimise sum_u f_u^3  subject to  sum_u w[z][u] f_u >= D_z for every zone,  min_u <= f_u <= max_u
//
// (fan power goes with the cube of speed). The KKT conditions give f_u = sqrt(sum_z lambda_z
// w[z][u]) clamped: a unit carrying a larger share of a zone follows that zone's demand more
// (f proportional to sqrt(w) within one zone), and a zone whose constraint is already met because
// other zones force its units up has lambda = 0 and moves nothing. This is the max-selector done
// properly: a unit serving two zones is never fought over, and a zone's other units may run lower
// when a shared unit is already high for its neighbour. Dual coordinate ascent, warm-started, costs
// one sweep in steady state. A zone's lambda falls at most with a time constant of 40/150 of its
// loop's Ti (40 s at the bench's tuning; while the shares stay the same): the sensors of a room report one after the other, and a zone must not
// lend its units to a neighbour whose load rose a report before its own (ping-pong).
//
// The measurement is the hottest valid inlet (or the configured percentile) with the N-of-M rule of
// control/sensors, computed there on each sensor's smoothed value (an exponential average over
// about three reports; a report more than 0.3 K away is taken at once, so heat is never delayed):
// the hottest of many noisy sensors is biased up and jumps with every report, which moved the fans
// for nothing. The engine controls on the store's Aggregate.Value as it is.
//
// Sparse data: the fan tuning is for sensors reporting every 30 s. A zone whose sensors' median
// observed report interval is longer (before any sensor has reported twice, at a start: the time
// since the start divided by the share of its sensors heard so far, their phases being spread
// over an interval) has its proportional gain scaled by f = (15 s + 20 s) / (interval/2 + 20 s),
// at least 0.15, bumplessly, and its integral rate by f^2 (Ti/f) within 0.5 K over its setpoint (f
// past it: a zone that warm is not the sensors' noise): sparse reports add about half an
// interval of dead time, and a loop tuned for less hunts (SIMC: gain ~ 1/dead time); between
// two reports the loop integrates the same old error every period, so the integral must rise
// slower than the gain. From reports every 60 s on (f < 0.7) a cool zone integrates down at f
// (an over-cooled zone costs fan power while it lasts) but without the fast descent (the
// over-cooling seen may be an interval old, the air that caused it gone), and the start-up slew
// is slower by (30 s / interval)^2: the knee is seen only when a sensor's second report shows its
// rise, an interval late. Fewer, deliberate moves: on the slow-mesh scenario (3 min reports) the
// fans move 2.2 to 2.8 times as much as the oracle's, at its energy within 1 % at equal comfort,
// and a +20 % load step is back within 0.5 K in 5 to 7.5 min. A late or reordered report is
// refused by control/sensors (older than the latest), not chased.
//
// Feed-forward on a rise: a heat load that returns at once (after a night setback, a batch job)
// warms the inlets several kelvin a minute, while a zone that sat far below its setpoint asks
// little air until its inlets cross it, and the peak passes 2 K. Each zone's demand gets, on top of
// its PI output, the loop gain times how far above max(hottest inlet, setpoint - 0.5 K) its
// hottest fresh inlets are heading: sensors.Store.Forecast takes each sensor's rate of rise since
// its previous report (at least a third of the horizon back: a sensor reporting every second is
// not judged on its noise), less 3.6 K per horizon (3.6 K/min at 60 s: far above noise, drift or
// the loop's own moves), times what is left of the horizon, 0.4 x the zone loop's Ti (60 s at the
// bench's Ti of 150 s; Ti is tuned to the inlets' lag, and a first-order inlet rising at r has
// about tau*r still to come; a time-scaled twin scales it with Ti). The term holds its largest
// value and decays with the horizon as time constant; the zone loop's anti-windup is told the airflow less the term, so the PI does not
// learn it, and as it decays in a zone still 0.2 K over its setpoint the loop's integrator takes
// over what decays (bumplessly: the load it answered was real; a zone back near its setpoint
// lets it decay). Why it is safe: it is never negative, so it only ever
// adds air, and it enters before the allocation, so every fan command still goes through the
// deadband, the rate limits and min/max afterwards (it cannot take a fan below its minimum, nor
// move one faster than its rate limit: it asks for more, the limits decide how fast). It cannot
// hunt: it reacts to a fast rise only, never to a fall, and not to a rise that stays below the
// setpoint less 0.5 K (an inlet coming back up from an undershoot is the loop's own recovery),
// and once the rise slows below the threshold it only decays (or, in a zone still warm, is
// handed to the integrator, which the PI of a warm zone would raise anyway); a zone that is held,
// without a valid measurement or without a unit in auto gets none.
//
// Feed-forward on a trip: a unit that is tripped (not running) or isolated (no answer: it may have
// lost its power, fan and controller at once) contributes nothing, so in the same period the
// allocator raises the others to carry the missing air, before any inlet warms. The survivors' air
// fills the shared plenum behind it: in each zone it served the running units' shares are
// renormalised, and each survivor's air is spread over its zones in proportion to them (equal rack
// draw per zone assumed), so a survivor that also serves an unaffected zone is raised by what is
// really missing there, not by the whole lost share. Only 80 % of that redistribution is counted
// on: with uneven reach the equal-draw refill is optimistic for the racks the survivors reach
// least, and the rest is the safe side (more air at once; the loops take the excess back). A unit with a fan fault whose fan still runs
// is degraded: it stays in auto with the share of its air it has left (from its fan power read-back
// against what it drew when healthy; 50 % when the unit reports no power). Manual, fail-safe,
// tracking and fallback units contribute their known speed.
//
// Anti-windup across the selector: after the allocation every zone loop is told the airflow its
// zone actually gets (sum_u w f_u of the allocation, before rate limits) and its integrator is
// pulled towards it (back-calculation, time constant Ti/4). A zone that is not the binding one
// tracks what the others give it instead of winding down, and takes over bumplessly when it
// becomes binding; a zone that cannot be satisfied (all its units at max) does not wind up. A zone
// with no unit in auto, or without a valid measurement, tracks hard.
//
// Start-up: from units in local fallback at full speed a zone sits far (> 3 K) below its setpoint,
// where the inlets do not respond to airflow (every rack gets more cold air than it draws): its
// demand falls at the fan rate limit (the slew) until one of its sensors warms 0.3 K above its own
// recent low (the knee where racks start to recirculate), never below what the units give at their
// minimum, and never again once the zone has come within 3 K of its setpoint. Below the setpoint by
// more than 1.5 K the PI integrates down 3x faster.
//
// Isolation and return: a zone served by an isolated unit (for up to 10 min), or by one back from
// isolation and still tracking, does not wind its loop down while over-cooled (that is most likely
// the unit's fallback air), and keeps holding for up to 3 min after it is back, until the zone is
// near its setpoint again; a warm zone's loop acts at once. A tripped unit's command holds its
// last value (its fan reads 0): it restarts where it was, goes straight back to auto, and its zones
// ask at least their demand from before the trip.
//
// # Modes (per unit)
//
//   - tracking: at start, after Restore, in local fallback and when a unit comes back from
//     isolation; also while tripped. The command holds the unit's read-back fan speed (never below
//     its minimum; a tripped unit's last command); after two periods, or at once when the unit
//     already runs what it was commanded, the unit goes to auto. The zone loops have tracked the
//     real airflow meanwhile.
//   - auto: zone loops + allocator. Every unit entering auto starts from its last command and blends
//     into the new split with a decaying offset (30 s), so the transfer is bumpless; from the next
//     period a unit above its share whose zones are all over-cooled, or below it with a zone warm,
//     moves at its rate limit instead.
//   - manual: SetManual(unit, pct) (clamped to min..max); SetAuto returns bumplessly. Manual wins
//     over fail-safe from insufficient sensors (an operator decision, alarmed).
//   - fail-safe: the unit's safe fan speed (site safe_fan_pct, never below its minimum) when a
//     zone it serves has too few valid sensors, or when its own read-back is missing (valve: fully
//     open). It ends by itself when the cause clears: insufficient sensors -> auto (bumpless),
//     missing read-back -> tracking -> auto.
//   - autotune: StartAutotune runs a control/autotune relay experiment on the unit's fan with its
//     main zone's measurement as pv; units sharing a zone hold still. The finished result is an
//     EventAutotune carrying a site.Tuning (gains rescaled by the unit's share, so they are zone
//     loop gains; date, method, data summary) for the caller to commit as the unit's fan_tuning.
//   - disabled: never written (Command.Write false).
//
// Every command respects the unit's min/max and rate limits (%/s), in every mode except tracking
// (which holds where the fan already is). Fail safe is more air: nothing ever commands a fan below
// its configured minimum. In auto a fan command moves only when the change reaches 1.5 % (sensor
// noise is not worth a fan change).
//
// Past the alarm limit, more air: while any counted inlet of a zone is above control.alarm_c, every
// unit serving that zone in auto or manual ramps (at its rate limit) to its safe fan speed,
// whatever the loop or the operator asked; it hands back to them once the inlet is 0.5 K below the
// limit. The loops do not see this air (their anti-windup uses the allocation), so they resume
// where they were.
//
// Sensor loss (control/sensors, Store.Measure): each zone keeps a memory of its sensors' offsets
// from the zone's value; the sensors that carried its hot spot, once stale, frozen (judged in
// minutes: flat while the neighbours move), dead or of a silent node, are counted at their offset
// over the survivors, so the zone's value does not drop, and a sensor-loss zone alarm names them.
// A carried estimate counts for the alarm limit too.
//
// Hot readings are never silent: an inlet past the limit (inlet-high, naming the sensor), a hot spot
// far above the zone's median (hot-spot: counted in the zone), a hot reading its own node's other
// channels belie (implausible: not counted) and one above the plausible range (sensor-range: not
// counted) are each a zone alarm.
//
// Each unit also has a supply-air PI loop (control/pid) driving its valve to its supply setpoint.
//
// Mode changes and alarms (isolated, tripped, fallback, degraded, unit-alarm, write, insufficient,
// inlet-high, hot-spot, implausible, sensor-range, sensor-loss) are returned by Events with a reason text in
// words; Event.Text is the line for people ("crah-2 alarm: tripped: not running, fan fault
// reported; crah-1, fan-3 pick up its share", "zone row-a alarm: inlet 27.4 C above alarm limit
// 27.0 C"). A trip or an isolation names the units that pick up the share. Start-up is no alarm: a
// unit found in local fallback (no controller wrote to it yet) is alarmed only if it stays there
// for 5 periods of commands, and a zone whose sensors have not reported yet runs fail-safe without
// an alarm for about one report interval (max_age/3, at most 1 min). State/Restore checkpoint every loop
// (integrators, last outputs, modes, heartbeats) and each zone's learned sensor offsets, of its
// CheckpointOffsets hottest sensors: a hot spot lost before a restart or a takeover is carried at
// once, not read as the cooler survivors until it is learned again (it cannot be: it is lost);
// ApplyConfig switches configuration keeping the
// loops that still exist and retuning them bumplessly.
//
// # Runner
//
// Runner reads all units concurrently every period (each request with its own deadline), feeds the
// engine, ticks, writes concurrently, reports overruns and calls a Hook. A unit that does not answer
// is isolated by the engine and retried with exponential backoff (up to 1 min) without delaying the
// others; a request that ignores its context keeps only its own unit waiting.
//
// Caveats: the allocator's linear model (zone cold air = sum w f) is only as good as the influence
// weights, and the plenum refill assumes equal rack draw per zone; the zone loops correct the
// rest. A unit whose supply air is warm (a coil restarting) is still counted as cooling. An
// isolated unit that is alive in its fallback over-cools its zones until it is back (the safe
// side: the engine cannot tell it from a dead one in time). The start-up slew can undershoot the
// final speed (the inlets answer with the delay of the racks and of the sensor reports) and warm
// the inlets above the setpoint for a minute or two. The engine trusts the caller's clock to be
// monotonic.
package engine
