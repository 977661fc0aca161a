// Package modbussim is a Modbus server for simulations and tests: a TCP gateway (one listener,
// many connections, every unit id added to it) and RTU slaves on any io.ReadWriter, typically
// the master side of a pty or a serial port. Devices (the Device interface) hold the register
// maps; the server does the protocol: functions 3, 4, 6 and 16, exception 0x01 for any other,
// count limits (1..125 for reads, 1..123 for writes, byte count consistent) answered with 0x03,
// addresses past 65535 with 0x02.
//
// It is written here rather than taken from a library because it must inject frame-level
// faults per unit (SetFault: no answer, busy 0x06, late replies, replies split in two pieces)
// and serve RTU on a pty as a multi-drop line: it answers only its own unit ids, ignores frames
// for others, drops frames with a bad CRC and regains framing on line silence.
//
// Example serves two banks as RTU slaves on a pseudo-terminal to the real client, one of them
// made busy with SetFault; ServeTCP takes a listener instead (net.Listen("tcp", "127.0.0.1:0"))
// and serves every added unit id behind it. Both return ctx.Err() once ctx ends (ServeTCP after
// every connection is closed).
//
// Per connection (TCP): Conns lists the live connections (id, client address and source port,
// the owner id last written on it once SetOwnerRegister names the owner register); CutConns
// resets the matching ones and keeps resetting any that comes to match, StallConns swallows
// their requests (no answer, nothing executed) for a while or until HealConns. MatchPort,
// MatchOwner, MatchConn and MatchAll select them: one of two controllers on the same units can
// lose its link while the other keeps its own.
//
// Caveats:
//   - MatchOwner knows a connection from its first write of the owner register on: a client that
//     reconnects after a cut is served (reads) until it writes its owner again.
//   - A delayed reply (Fault.Delay) holds that connection, or the whole RTU line, for the delay:
//     like a real slave, the server handles one request per line at a time.
//   - On TCP a unit id with no device is answered with 0x0A (gateway path unavailable).
//   - ServeRTU can only interrupt a blocked Read if rw has SetReadDeadline (os.File from
//     serialport.OpenPTY does) or a read timeout (serialport.Port); otherwise the reader
//     goroutine ends when the caller closes rw.
//
// Devices return an Exception (ExIllegalAddress, ...) to refuse a request; any other error is
// answered with ExSlaveDeviceFailure.
package modbussim
