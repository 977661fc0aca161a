// Package sensors judges rack-inlet readings and turns a zone's sensors into the one measurement a
// loop controls on. It is pure: no clock, no I/O; every call takes now from the caller's injected
// monotonic clock.
//
// # Classes
//
// A sensor's own quality (Store.Classify), checked in this order:
//
//   - Missing: never heard from (or forgotten/pruned).
//   - Stale: its latest reading arrived more than MaxAge ago (default 3 x ReportInterval, i.e. 3 min
//     for 60 s reports, 15 min for 5 min reports). Ages use the controller's arrival time, never
//     the gateway's clock.
//   - ProbeFault: the node flagged the probe in its latest report.
//   - OutOfRange: the latest value is outside the plausible range (default 5..50 °C).
//   - Frozen: the value has not moved more than FrozenTol (default 0.001 K, i.e. "repeated
//     exactly") from the value that started the run for FrozenAfter (default 30 min). A quantised
//     sensor in a steady room repeats legitimately for minutes and usually flickers by one
//     quantum, which counts as a change; a stuck one repeats exactly.
//   - Fresh otherwise.
//
// Outlier is a zone's verdict (Store.Zone) on a fresh sensor far from the median of the zone's
// fresh sensors (further than both K robust standard deviations, 1.4826 x MAD, K default 3.5,
// and a floor). The test is deliberately asymmetric, to fail safe: a cold outlier (floor 4 K) is
// dropped with 3 or more fresh sensors. A hot one (floor 15 K) is never dropped on statistics
// alone: it is reported at once (Aggregate.HotOutliers, HottestFresh) for an alarm, and it counts
// in the zone, unless it is proven implausible: with 5 or more fresh sensors, at least two other
// channels of its own node are fresh, all near the median and more than 15 K below it. Then it is
// left out and reported (Aggregate.Implausible). A value above the plausible range is OutOfRange,
// not used, and reported too (Aggregate.AboveRange): no hot reading disappears silently.
//
// Ordering: a reading whose gateway time is not after the sensor's latest is ignored, as a
// duplicate (same time and node seq) or out of order. If ResyncAfter (default 3) such readings in a
// row each move forward among themselves, the gateway clock has stepped back (gateway reboot):
// the last is accepted as the new latest, so a clock step cannot silence a sensor for good.
//
// # Aggregation
//
// Store.Zone uses only Fresh sensors that are not outliers. The measurement is the hottest of them
// (default) or a percentile (e.g. p90, linear interpolation), taken over each sensor's smoothed
// value: an exponential average over about three reports (Config.SmoothAlpha 0.4), where a report
// more than SmoothJumpK (0.3 K) away is taken at once, so heat is never delayed. The hottest of
// many noisy sensors is biased up and jumps with every report; averaging each sensor before the max
// removes most of both. Aggregate.Value is the value a loop controls on; Worst and WorstC are the
// hottest used sensor's raw latest value, for the alarm limit. Store.Rise is a sensor's own warming
// above its recent low (relaxing upwards at LowRelaxKps): a start-up descent brakes on it. The loop needs N valid sensors of
// the zone's M (ZoneConfig.MinValid, default min(2, M)); with fewer the Aggregate is not OK, its
// Value is NaN and Reason says which sensors are missing and why: the engine must put the zone's
// units in fail-safe. A sensor that dies while reporting a cool value drops out once it is stale,
// so it can never hold a loop at that value.
//
// # Sensor loss
//
// A lost hot spot must never read as "the room got cooler". Store.Measure is Zone with a per-zone
// memory (ZoneMemory, one per zone, kept by the caller):
//
//   - Learning: while nothing is carried, each used sensor's offset from the zone's value
//     (smoothed value minus Value, <= 0 for a max zone) is an exponential average with time
//     constant LossConfig.OffsetTau (10 min). A sensor that repeated its value 3 reports in a row
//     teaches nothing, and nothing is learned while the zone's hottest sensor is such a one (a
//     probe stuck before it is judged must not teach its neighbours a wrong offset).
//   - Fast frozen: a fresh sensor whose value has not changed (FrozenTol) for FlatAfter (4 min)
//     and FlatReports (4) reports is Frozen in its zone (not used) when at least
//     MovedNeighbours (2) of the zone's other fresh sensors, and more than half of them, have
//     each moved MoveK (0.3 K, range of the smoothed value, well above smoothed noise) since its
//     flat run began: the neighbours are how the store sees the plant move. In a steady zone
//     nothing moves and a stuck probe reads the truth anyway; Frozen after FrozenAfter still
//     applies. A zone of 2 sensors cannot judge this (no majority).
//   - Silent node: when every channel of a node in the zone is overdue by SilentFactor (2.5) x
//     its own observed report interval, its sensors are listed in Aggregate.Silent and carried
//     (their last value stands if warmer); they still count for N-of-M until MaxAge.
//   - Carry: a sensor with a learned offset that is not used (stale, frozen, faulty, out of
//     range, an outlier) or silent is counted at E = S + d + g, where S is the survivors'
//     estimate of the zone, the largest of (smoothed value - own offset) over the used sensors
//     with an offset (when a loss is carried and every one of them is of a silent node too, over
//     those: their last values are still the best estimate, and the carry must not end for it), d the lost
//     sensor's offset, and g its growth, GrowKph (0.5 K/h) since it
//     was lost, at most GrowMaxK (1 K). The decay is toward the safe side: an old offset is
//     worth less the longer the hot spot is not seen, so the estimate rises slowly, never falls
//     for that reason. At the onset of a loss the value is floored at the zone's previous value
//     (it goes on from where it was), and the floor holds until every lost sensor is back. The
//     carry only ever raises Value; the sensors that raise it are in Aggregate.Carried, for an
//     alarm, and Survivors is the value without them.
//
// Assumptions: the offsets between a zone's sensors change slowly compared with OffsetTau (a rack
// that changes its load while its probe is lost is followed only through its neighbours); a
// sensor lost before it was ever learned (never heard, or lost at start-up) cannot be carried;
// the survivors' estimate is the largest over them, so it errs warm. The offsets are the part of
// the memory that outlives the process (Offsets, RestoreOffsets: the engine's checkpoint and the
// standby's warm copy keep a zone's hottest few); a loss being carried is not, so after a restart
// a sensor still lost is carried again from the restored offset, its growth and the onset floor
// starting over.
//
// # Usage
//
// Example feeds a zone's readings (Update, from the mesh goroutine), aggregates the zone on a
// control tick (Zone, with ParseAggregate for a percentile), shows a sensor going stale and the
// zone becoming insufficient, and lists the sensors for the console (Snapshot).
//
// Caveats: a reading delivered late (a delayed mesh report) is judged fresh by its arrival; only
// readings older than the latest one are dropped. Use the slowest report interval of a mixed fleet
// for MaxAge (the observed interval per sensor is in the Snapshot). The Store is safe for
// concurrent use.
package sensors
