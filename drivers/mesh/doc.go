// Package mesh speaks the controller side of the mesh gateway's serial link
// (/work/shared/specs/mesh-gateway.md): HDLC-like framing with FCS-16, the hello/subscribe
// session with acknowledgements, duplicate suppression and retransmission, and the sensor
// payload v1 inside data notifications, delivered as Readings.
//
// Layers, each usable on its own:
//   - AppendFrame / Deframer: framing. The Deframer is a streaming byte-at-a-time state
//     machine that resynchronises on every flag and never allocates.
//   - ParsePacket / AppendPacket: the 4-byte packet header.
//   - ParseDataNotification, ParsePayload, Decoder: notifData and the sensor payload.
//   - Session: the protocol as a pure state machine (etcd raft style): Step(frame, now) and
//     Tick(now) return the bytes to send; no I/O, no clock. Tests drive time by hand.
//   - Client: a Session plus the I/O: it opens the port through an injected func, reads it on
//     its own goroutine, arms one timer from an injected Clock, and reopens a vanished port
//     with back-off until its context ends.
//
// Example runs a Client on a pseudo-terminal against a simulated gateway: the open func returns
// the port (serialport.Open at a site), Run delivers Readings until ctx ends and returns
// ctx.Err(), and Counters has every count by name.
//
// Choices the spec leaves open:
//   - Data notifications are acknowledged by default (unackFilter = 0): the gateway resends
//     until acked, so a reading lost to line noise is recovered; a repeat of the previous
//     seqNo is acked again but not delivered. Options.UnackData sets the data bit in
//     unackFilter instead (less traffic, lost frames stay lost).
//   - "Sent again after 500 ms, at most 5 times": a request goes out at most 6 times
//     (1 + MaxRetries), then a new session starts (hello, then subscribe).
//   - Responses (control bit 0) echo our seqNo and are matched to the one outstanding request;
//     the duplicate rule applies only to the gateway's own requests and notifications.
//     hello_response's mgrSeqNo seeds that rule, so the gateway's next packet must be mgrSeqNo+1.
//   - A manager_hello while our hello is outstanding is ignored (the hello's retransmission
//     answers it); at any other time it starts a new session.
//   - Gateway packets that arrive before hello_response belong to an old session: they are
//     counted (no_session) and not acked, so the gateway keeps them for the new session.
//   - A hello carries header seqNo 0 and cliSeqNo = our last seqNo (0xFF at first, matching
//     the spec's worked frame); our requests continue from cliSeqNo+1.
//
// Counters: every dropped frame, packet, notification and record is counted by reason
// (bad_fcs, too_long, short_frame, bad_length, bad_escape, no_sync, unknown_packet,
// stale_response, malformed_response, no_session, duplicate, malformed_notification,
// other_port, bad_version, malformed_payload, unknown_kind) next to traffic and session events
// (frames_ok, readings, acks_sent, retransmits, sessions, keepalives, port_errors, ...). See
// the Count* constants.
//
// Caveats:
//   - Readings are delivered on Run's goroutine; a slow deliver func delays acks.
//   - The duplicate rule only catches a repeat of the immediately preceding seqNo (as the spec
//     says). The mesh itself may still deliver a node report twice, late or out of order:
//     Reading.NodeSeq lets consumers spot that.
//   - Writes are synchronous: a peer that never reads can block Run once the port's output
//     buffer is full.
//   - Sensor id strings are cached per (MAC, channel) for up to 1024 nodes, so steady-state
//     decoding does not allocate; readings of further nodes format their id every time.
//
// Sentinel errors: ErrShortPacket, ErrBadLength, ErrTooLong (packet header),
// ErrMalformedNotification, ErrBadVersion, ErrMalformedPayload (notification and payload),
// ErrRunning (Run called twice).
package mesh
