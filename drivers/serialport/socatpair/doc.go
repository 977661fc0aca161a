// Package socatpair starts socat to make two linked pseudo-terminals with stable paths, the
// "null-modem cable" that integration tests put between the controller and a simulated peer
// (the twin makes its own pseudo-terminals and needs no socat):
//
//	socat -d -d pty,raw,echo=0,link=DIR/a pty,raw,echo=0,link=DIR/b
//
// Start returns once socat reports its transfer loop and both links exist (no sleeps: it reads
// socat's own log). Close stops socat (the links disappear, so ports open on them see a
// hang-up) and waits for it.
//
// Example opens the two ends with serialport and passes bytes across.
//
// Caveats: needs the socat binary (Available reports it); Linux only in practice.
//
// Sentinel errors: ErrNoSocat (socat is not installed).
package socatpair
