// Package meshsim is the gateway side of the mesh serial link (the SmartMesh-style network
// manager), for the digital twin and for tests. It speaks the same spec as package mesh,
// over any io.ReadWriter: a pty master, a serial port, a net.Pipe.
//
// The Gateway answers hello with hello_response, acknowledges subscribe, sends a data
// notification for each Report (asking for an ack unless the controller's unackFilter has the
// data bit; an unacknowledged one is sent again every RetryInterval, at most MaxRetries times,
// after which the gateway drops the session), and sends manager_hello every
// ManagerHelloInterval while it has no session (at start and after Reboot). Acknowledged
// notifications are stop-and-wait: one outstanding at a time, as the duplicate rule needs.
//
// Impairments are set at run time (SetImpairments) and drawn from an RNG seeded by
// Options.Seed: loss, duplication (the same frame twice), reordering (a report overtakes the
// one queued before it), extra delay, line noise (garbage bytes between frames) and bit flips.
//
// Example runs a Gateway on a pseudo-terminal's master against the real client on its slave:
// Report queues node reports, SetImpairments degrades the line at run time, Reboot cuts the
// session (a truncated frame, then manager_hello until the controller says hello again).
//
// EncodeFrame, DataPacket and DataFrame build frames by hand for tests.
//
// Caveats:
//   - Run waits for its reader and writer goroutines when ctx ends. It unblocks them with
//     SetReadDeadline / SetWriteDeadline when rw has them (os.File with a poller, net.Conn);
//     otherwise rw needs a read timeout (a serialport with ReadTimeout) so the reader notices.
//   - Reports queued while there is no subscription are kept and sent once there is one; the
//     notification in flight at Reboot is lost (as in a real reboot); one in flight when a new
//     hello arrives is sent again in the new session.
//   - Other notification types can be queued with Notify; they follow the data notifications'
//     ack mode.
package meshsim
