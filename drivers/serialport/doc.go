// Package serialport opens UART lines for the field drivers. It is the only importer of
// go.bug.st/serial, so the rest of the tree codes against the small Port interface and never sees
// that library's quirks.
//
// What it smooths over:
//   - go.bug.st/serial returns (0, nil) when a read times out; Port.Read returns
//     (0, err) with err wrapping ErrTimeout instead, and that error also has a Timeout() bool
//     method (like net.Error) so callers can test for it without importing this package.
//   - Errors name the device and say what was wrong ("serialport: open /dev/ttyX: ...").
//   - Modem status bits are left alone (InitialStatusBits nil): pseudo-terminals refuse the
//     TIOCMSET ioctl and every simulator and test here runs on one.
//
// OpenPTY makes a pseudo-terminal pair for simulators and tests: the slave path is opened with
// Open like a real UART, and the master *os.File is the "other end of the cable".
//
// Example opens a pseudo-terminal's slave like a UART, times a read out (ErrTimeout) and reads
// what the master end sends.
//
// Caveats:
//   - Linux pseudo-terminals refuse even and odd parity (EINVAL); Open reports that as a
//     parity error. Tests therefore use 8N1.
//   - The zero Config means 115200 baud, 8N1, no read timeout (Read blocks until data arrives
//     or the port is closed). Close unblocks a pending Read.
//   - SetReadTimeout must not be called while another goroutine is inside Read.
//   - The port is opened with exclusive access (TIOCEXCL): a second Open of the same device fails.
//
// Sentinel errors: ErrTimeout (read timed out), ErrClosed (operation on a closed port),
// ErrConfig (the Config is invalid or the device refused it).
package serialport
