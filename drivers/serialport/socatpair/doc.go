// Package socatpair starts socat to make two linked pseudo-terminals with stable paths, the
// "null-modem cable" that integration tests and the digital twin put between the controller
// and a simulated peer:
//
//	socat -d -d pty,raw,echo=0,link=DIR/a pty,raw,echo=0,link=DIR/b
//
// Start returns once socat reports its transfer loop and both links exist (no sleeps: it reads
// socat's own log). Close stops socat (the links disappear, so ports open on them see a
// hang-up) and waits for it.
//
// Usage:
//
//	p, err := socatpair.Start(ctx, t.TempDir())
//	if err != nil { ... }
//	defer p.Close()
//	ctrl, _ := serialport.Open(p.A, serialport.Config{})
//	peer, _ := serialport.Open(p.B, serialport.Config{ReadTimeout: 50 * time.Millisecond})
//
// Caveats: needs the socat binary (Available reports it); Linux only in practice.
//
// Sentinel errors: ErrNoSocat (socat is not installed).
package socatpair
