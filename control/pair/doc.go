// Package pair is the role state machine of a 2N pair of boards: which one writes to the units,
// and when the other may take over. It is pure, like control/engine: no clock, no I/O; the caller
// feeds it the peer's heartbeats, reads of the units' owner blocks (the witness), its own field's
// health and operator requests, ticks it with the monotonic time, and carries out the effects it
// returns (store an epoch, change role, raise an alarm).
//
// # Rules
//
//   - A board starts Waiting and writes nothing until it has heard its peer or watched every unit
//     it reaches stay silent for longer than the takeover budget. A restarted process comes back
//     as the standby of an active peer, never as a second writer.
//   - Takeover needs both: the peer silent on every path for peer_timeout (or never heard since
//     start, for the whole takeover budget) and the witness agreeing: over a window longer than one
//     witness interval no reachable unit's owner block (owner, epoch, heartbeat) moved (the
//     active rewrites every block at least once per witness interval, so the window would see it). A silent
//     peer whose units are still being written is an alarm, not a takeover. A board that reaches
//     no unit cannot witness and stays out.
//   - Epochs: a takeover raises the epoch above the highest seen anywhere (this board's stored
//     one, the peer's, every unit's register 11), with this board's low bit (node ids one even,
//     one odd, so the two boards never take the same epoch); it is stored (PersistEpoch, then
//     EpochStored) before the first write, never bumped at start, and refused past 65535.
//   - A newer epoch anywhere (the peer active with it, a unit's owner block, a fencing refusal)
//     makes an active step down at once. Two actives that meet resolve by reach (a board that
//     reaches its units wins), hold, epoch, priority, then node id.
//   - Lease: the active writes only while CanWrite(now) holds, checked right before each request
//     with the time read then. The lease is evidence that the standby cannot have decided yet,
//     never a timer of the active's own: a standby decides only after peer_timeout without our
//     heartbeats and a witness window (one witness interval and a heartbeat) in which no owner
//     block moved. So a write accepted at t renews it to t + witness interval, and a standby's
//     heartbeat that echoes (acks) our heartbeat sent at t renews it to t + peer_timeout -
//     heartbeat. A frame that waited in a queue echoes an old heartbeat and renews nothing. An
//     active paused (SIGSTOP, a frozen VM) past its lease resumes with no right to write; with
//     its peer silent it steps down at once, and with its peer heard it writes again only when a
//     fresh heartbeat says the peer is still standby.
//   - An active that reaches no unit while its peer does hands over (Yield); so does one asked to
//     switch over, or held standby. The peer takes over at once on a Yield, without waiting for
//     the peer timeout.
//
// Caveats: a request already on the wire when a process is paused can still arrive late; units
// that fence (crah-generic register 15) refuse it by the new active's higher epoch, which the new
// active writes first. Units without an owner block (vfd-fan drives, RTU lines with one master)
// cannot witness: the standby never writes or opens them until it is active.
package pair
