// Package appliance is the program that runs on a gateway board: `coldaisle run`. It wires the
// bbolt store, the site configuration, the field drivers, the loop engine, the board hardware and
// the serial console together, and owns their goroutines.
//
// Example runs it against the digital twin: appliance.Run(ctx, Options{ConfigPath, DBPath})
// imports the site file into a new database, takes the units over and returns nil once ctx ends
// and the state is checkpointed.
//
// Start-up: open the database (a second process gets storage.ErrInUse; a corrupt file is
// refused: the controller never controls with garbage, and the units stay in their own BMS
// fallback); on first boot, or with Import, validate the site file and store it as a new
// configuration version (an invalid file changes nothing); bump the failover epoch; restore the
// last checkpoint into the engine; read every unit back and go through tracking into auto with no
// bump.
//
// Steady state: every control period the engine's runner reads the units, ticks, and writes each
// command block; the hook checkpoints the loop state at most every control.checkpoint (flash
// wear), queues the engine's events to go in that same commit (the console's log shows the
// queued ones too), pets the hardware watchdog and drives the LEDs.
//
// Shutdown (ctx ends: SIGTERM, SIGINT): the runner finishes its in-flight requests (at most one
// request timeout), the state is checkpointed, the relay drops and the watchdog is disarmed with
// the magic close. Nothing is written to the units after that: they fall back on their BMS
// timeout, fan at the fallback speed. The log gets the write volume (flash wear): what the run
// wrote and, only from a window after the start-up of at least 5 checkpoint intervals and 5 min,
// that rate over a day (wear.go); Options.SimSpeed makes it say a simulation's figures are no
// field day.
//
// Console: with Options.Console set, the technician's console (board/console) is served on it,
// again after every disconnect, with a Backend over this App: users and the event log in the
// database, configuration commits that are validated whole, stored as a new version and applied
// without a restart (new unit settings are written through the open field; the field is
// reopened only when lines, the mesh port, profiles or unit addresses change), and the live
// engine for show, loop, tune and test unit.
//
// A 2N pair (Options.Identity, pair.go): the epoch is not bumped at start (it rises only on a
// takeover, stored before the first write); the control/pair machine decides the role from the
// peer's heartbeats (drivers/peer, every heartbeat interval), reads of every crah unit's command
// block on the TCP lines (the witness, twice per witness interval) and this board's field. Every
// write passes the machine's lease right before it goes on the wire (field.Options.WriteGate) and
// carries this board's owner block (node id, epoch, one heartbeat sequence per unit); the keeper
// rewrites every witnessed unit's last block at least every witness interval. A board not active
// runs passive control periods (reads only, no tick, no write; RTU lines and lines of drives
// stay closed), stays warm from the active's streams (loop state every period, restored into its
// engine and checkpointed at the normal rhythm; every reading, used when its own gateway is
// silent; every commit, stored at once) and refuses console commits. On takeover it rewrites
// every witnessed block with its owner block and the fan and valve the unit holds, opens the
// deferred lines, configures the units and runs a control period at once, in tracking. A clean
// stop of the active hands over (Yield) before the link closes.
//
// This package sits under board/ because it is the board's program: it is the one place where
// drivers, storage and hardware meet, and it keeps cmd/coldaisle thin.
package appliance
