// Package alarms keeps the controller's alarms as first-class objects: raised, updated,
// cleared, acknowledged (who and when) and shelved for a time, each with its reason in words.
//
// A Registry is a pure state machine in the style of etcd-io/raft: it has no clock, does no I/O
// and starts no goroutine. Every call takes the time and returns the Effects to send out (to
// syslog, to the log), in order; Active and Get are what a status page or metrics read. The
// caller owns the registry and serialises calls to it.
//
//	effs := alarms.FromEngine(reg, ev)        // engine events
//	effs = reg.Raise(alarms.KeyOf("controller", "storage"), "controller", "storage", text, now)
//	effs, err := reg.Ack(key, user, now)      // console
//	effs = reg.Tick(now)                      // every period: shelves that ran out
//
// Every effect is meant to be sent: an alarm and its updates go at its severity
// (Severity.Syslog: critical 2 crit, major 3 err, minor 4 warning, warning 5 notice), a clear at
// 6 (info), an operator's action at 5 (notice); Effect.Syslog says which.
//
// Choices and caveats:
//   - Identity is the key (KeyOf: "zone/row-a/inlet-high", "unit/crah-2/tripped",
//     "controller/storage"). A raise of an active key updates it; an update is sent out
//     (Updated) only when the text changed meaningfully: its words, not just its figures,
//     or the source or kind. "inlet 27.4 C" to "inlet 27.6 C" is stored silently (Text,
//     Updated), so a changing measurement does not flood the collector.
//   - Outside strings are never trusted. Raise never refuses (an alarm is never lost to its
//     wording): control characters, line and paragraph separators and bidi controls become
//     spaces, invalid UTF-8 becomes U+FFFD, long values are cut on a rune boundary (MaxTextLen,
//     MaxNameLen, MaxKeyLen), spaces inside keys and kinds become "_", and empty fields get
//     defaults (key KeyOf, source "controller", kind "unknown", text the kind). Ack, Shelve and
//     Unshelve come from people and refuse what they cannot take (ErrBadArgument, naming the
//     field): a key Raise could not have made, a user name other than 1 to 64 letters, digits
//     and ._-@, a shelf duration outside (0, max]. A refused call changes nothing.
//   - Acknowledgement: the first one stands (a second is a no-op). It survives updates, but not
//     a clear (the next raise is a new alarm) nor a worse severity under the same key.
//   - Shelving: the alarm stays active and listed, marked ShelvedBy/ShelvedUntil; while shelved
//     its raises and updates are not sent out. A shelf belongs to the key and outlives a
//     clear, so a flapping alarm stays quiet until the shelf ends. A clear of an alarm that was
//     announced is still sent (otherwise the collector would believe it active); one raised and
//     cleared under the shelf ends silently. When the shelf ends (Tick at or after
//     ShelvedUntil, or Unshelve) the result is Unshelved and, if the alarm is active, Raised
//     again with its present text. Critical alarms cannot be shelved (ErrCritical): inlet-high
//     means the servers breathe hot air now and must stay loud; a shelved alarm that turns
//     critical under its key is unshelved at once.
//   - Operator actions (Acked, Shelved, Unshelved) are always sent out, shelf or not.
//   - Time is whatever the caller passes; it is not checked to move forward. Shelves end only in
//     Tick (or an explicit Unshelve): call Tick every control period.
//   - Nothing is persisted: after a restart the engine and the appliance raise what is still
//     wrong, and acknowledgements and shelves are gone (fail safe: loud again).
//   - Severities come from a table by kind (SeverityOf); a kind it does not know is Major.
package alarms
