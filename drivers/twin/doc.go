// Package twin is coldaisle's digital twin: the simulated room (control/plant) wired to simulated
// field links that the real controller talks to exactly as it talks to a site. One process
// serves:
//
//   - the air handlers: one ahusim register bank per scenario unit (crah-generic or vfd-fan, the
//     scenario's Modbus ids), served by one modbussim.Server over Modbus TCP (one listener acting
//     as a gateway for every unit id) and optionally as RTU slaves on a pseudo-terminal
//     (multi-drop, the same units);
//   - the wireless sensor mesh: a meshsim.Gateway on a pseudo-terminal whose slave is exposed as
//     a symlink; each sensor node (a MAC; its channels are the scenario sensors "mac/ch") reports
//     its channels' measured inlet temperatures every report interval (30 s plant time, seeded
//     phases), stamped Epoch + plant seconds.
//
// For an active/standby pair of controllers (2N) the twin serves one gateway per board
// (Options.GatewayLinks): each its own pty, session, impairments and reboots (SetGatewayImpairments,
// RebootGatewayOf), every one fed the same node reports; scenario mesh events and
// gateway_reboot act on all of them. Faults injects failures into one board's Modbus TCP
// connection (Cut: reset; Stall: requests swallowed), matched by the client's source port or by
// the owner id it wrote (register 10). The write log names the writer, its epoch, heartbeat, fan
// and valve of every write, accepted or refused with its exception; CheckPairLog finds dual
// writers, stale epochs accepted, refusals by owner and every handover's gap.
//
// The room runs at Speed x real time in 1 s plant steps, paced from monotonic wall time. Each
// step couples the two sides: every unit's ahusim Effective() (remote commands, or its own
// control in BMS fallback / with remote off) becomes plant.UnitInput, the plant steps, and its
// outputs feed the units' input registers (SetFeedback; a trip also sets the bank's fan fault).
// The units' BMS timers run on plant time (an atomic, interpolated between steps). The scenario
// timeline's field events act on the links: sensor_die / sensor_freeze / sensor_revive,
// mesh_loss / mesh_duplicates / mesh_reorder / mesh_delay (gateway impairments; delays converted
// to wall time by Speed), gateway_reboot (the gateway goes silent for the duration, then boots:
// cut-off frame, new session) and unit_no_answer / unit_answer_again (the Modbus server stops
// answering that id). Physical events are the plant's own. A second plant model runs in
// lockstep as the baseline (every unit on its own control at 100 % fan) for Snapshot.
//
// # Usage
//
// Example serves a built-in scenario on a pty symlink and a loopback Modbus port at 60x, waits
// until it is ready, takes the SiteConfig a controller would run (site.Encode it for `coldaisle
// run --config`), writes one unit, reads a Snapshot (for a UI) and checks the write log
// afterwards. Options.Status gets a line per simulated minute and Logf the story of the run.
//
// # Caveats
//
//   - SiteConfig at Speed > 1 divides the controller's time constants by Speed (see
//     BuildSiteConfig) and raises the units' BMS timeouts to five control periods of plant time:
//     the controller's clock is the wall clock, the room's runs faster. Tuning found at one speed
//     does not carry over exactly to another.
//   - The twin programs each unit's BMS timeout, fallback speed, local supply setpoint and
//     minimum fan from the scenario at start; those writes are not in the write log. Remote
//     control starts off: the controller enables it, as at a real site.
//   - A gateway with no controller keeps at most 4 reports per node queued; later reports are
//     dropped and counted (ReportStats.QueueFull). With acknowledged notifications the gateway is
//     stop-and-wait, so a large mesh_delay at a high Speed limits throughput the same way.
//   - The write log's gap rule ends at the log's last line: a controller that goes silent on
//     every unit at once shows no gap until something else is written.
//   - Stepping is paced by a timer; if the machine cannot keep up with Speed the twin logs it once
//     and runs as fast as it can rather than bursting to catch up.
//   - Snapshot and StatusLine's gateway figures are the first gateway's (ReportStatsOf and
//     GatewayStatsOf give each one's).
//   - Faults act on Modbus TCP only; the RTU line is one shared bus. A connection matched by
//     owner is known from its first write of register 10: a board reconnecting after a cut is
//     answered (reads) until it writes its block again, which is then reset unexecuted.
//   - Readings of a gateway_reboot outage are lost (the nodes' reports go nowhere); reports
//     queued in the gateway before it are kept, the one in flight is lost.
//
// Sentinel errors: ErrOptions (New), ErrRunning (Run twice), ErrLink (a listener, pty or
// symlink could not be set up; an existing non-symlink file is never replaced), ErrStopped
// (WaitReady after Run ended).
package twin
