// Package syslog sends RFC 5424 syslog messages to one collector over UDP (RFC 5426).
//
//	s, err := syslog.Dial("udp://10.0.0.9:514", syslog.Options{Hostname: "crah-room-1"})
//	go s.Run(ctx)                  // the one goroutine that writes; ends with ctx
//	s.Send(syslog.Message{Severity: 3, MsgID: "RAISED", Text: "..."}) // never blocks
//
// Each message is one datagram:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [SP MSG]
//
// PRI is Facility*8+Severity (facility local0, 16, by default). TIMESTAMP is RFC 3339 with
// microseconds and the time's own offset ("Z" in UTC); a zero Message.Time is the time of Send,
// a year outside 0..9999 the NILVALUE. Empty header fields are the NILVALUE "-".
//
// Choices and caveats:
//   - UDP is lossy and unacknowledged: a message lost on the way, or sent while no collector
//     listens, is gone. Nothing is retried, buffered to disk or acknowledged. There is no TLS
//     (RFC 5425) and no TCP: the collector must be on a network you trust, and anyone on the
//     path can read and forge messages. The alarm state of record is the controller's own.
//   - Send never blocks the control loop: it formats the message and queues it; when the
//     queue (QueueLen, 256) is full the message is dropped and counted (Counters.Dropped).
//     Run writes; a datagram the socket refuses (ICMP port unreachable from a stopped
//     collector, no route) is counted in Errors and dropped. Logf hears the first failure,
//     a summary at most once a minute while failures go on, and the recovery.
//   - When Run's context ends, what is already queued is still written for up to 200 ms (a
//     last message at shutdown gets out), then the socket is closed. Run may be called once.
//   - The host in the target is resolved once, at Dial.
//   - Header fields (HOSTNAME 255, APP-NAME 48, PROCID 128, MSGID 32 bytes) hold only
//     PRINTUSASCII. Options that break that are refused at Dial (they are configuration); a
//     Message's MSGID is repaired instead (other bytes become "_", then it is cut), as is the
//     machine's own host name when Options.Hostname is empty.
//   - STRUCTURED-DATA: SD-IDs and PARAM-NAMEs are repaired the same way (at most 32 bytes; no
//     '=', ' ', ']', '"'; one '@' in an SD-ID, none in a name); an element whose ID repeats an
//     earlier one or is empty is left out (an SD-ID occurs at most once). Use an ID of your own
//     with an enterprise number ("alarm@32473"; 32473 is the number RFC 5612 reserves for
//     documentation: register your own). PARAM-VALUEs escape '"', '\' and ']' with a
//     backslash.
//   - MSG is UTF-8. It starts with the BOM that RFC 5424 asks for when it holds anything but
//     ASCII; plain ASCII goes without one (it reads the same either way, and collectors that
//     do not strip the BOM show it as junk). Invalid UTF-8 becomes U+FFFD. Control and
//     formatting characters, in MSG and in PARAM-VALUEs, are written as Go-style escapes
//     (\n, \r, \t, \x1b, \u0085, \u2028, \u202e), so a message can never break a log line, move
//     a terminal's cursor or reorder text in a viewer.
//   - A datagram is at most 2048 bytes (MaxDatagram: what every receiver must take, RFC 5426).
//     A longer MSG is cut on a character boundary, never inside an escape; when the header and
//     STRUCTURED-DATA alone are too long, SD elements are dropped from the end, whole.
//     Counters.Truncated counts such messages.
//   - Message.Severity outside 0..7 is sent as 2 (crit): a wrong severity errs loud.
package syslog
