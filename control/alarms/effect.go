package alarms

import (
	"strings"
	"time"
)

// EffectKind says what happened to an alarm.
type EffectKind uint8

// The effect kinds.
const (
	EffectRaised    EffectKind = iota + 1 // announced: new, or again after a shelf ended
	EffectUpdated                         // its text changed meaningfully
	EffectCleared                         // it ended
	EffectAcked                           // an operator acknowledged it (By)
	EffectShelved                         // an operator shelved it (By, Alarm.ShelvedUntil)
	EffectUnshelved                       // its shelf ended: By lifted it, or it ran out (By empty)
)

var effectNames = [...]string{"", "RAISED", "UPDATED", "CLEARED", "ACKED", "SHELVED", "UNSHELVED"}

func (k EffectKind) String() string {
	if int(k) < len(effectNames) && k > 0 {
		return effectNames[k]
	}
	return "UNKNOWN"
}

// Effect is one thing to send out (syslog, the log): every effect the registry returns is meant
// to be sent, in order. Alarm is a copy as it stands after the change (for Cleared: as it was;
// for Unshelved: with the shelf that ended).
type Effect struct {
	Kind  EffectKind
	Alarm Alarm
	By    string // the operator for Acked, Shelved and Unshelved; empty otherwise
}

// Text is the effect as one line for people, e.g.
//
//	RAISED critical zone row-a inlet-high: inlet 28.1 C above alarm limit 27.0 C
//	CLEARED major unit crah-2 tripped (was: tripped: not running)
//	SHELVED minor unit crah-2 fallback by alice until 2026-03-01T10:30:00Z
//
// Every part was cleaned by the registry, so the line holds no control characters.
func (e Effect) Text() string {
	a := e.Alarm
	var b strings.Builder
	b.WriteString(e.Kind.String())
	b.WriteByte(' ')
	b.WriteString(a.Severity.String())
	b.WriteByte(' ')
	b.WriteString(a.Source)
	b.WriteByte(' ')
	b.WriteString(a.Kind)
	switch e.Kind {
	case EffectRaised, EffectUpdated:
		b.WriteString(": ")
		b.WriteString(a.Text)
		if a.Acked() {
			b.WriteString(" [acked by " + a.AckedBy + "]")
		}
	case EffectCleared:
		b.WriteString(" (was: " + a.Text + ")")
	case EffectAcked:
		b.WriteString(" by " + e.By)
	case EffectShelved:
		b.WriteString(" by " + e.By + " until " + a.ShelvedUntil.UTC().Format(time.RFC3339))
	case EffectUnshelved:
		switch {
		case e.By != "":
			b.WriteString(" by " + e.By)
		case a.Severity == Critical:
			// Critical alarms are never shelved: this one became critical on the shelf.
			b.WriteString(" (critical now: shelf lifted)")
		default:
			b.WriteString(" (shelf ran out)")
		}
	}
	return b.String()
}

// Syslog is the RFC 5424 severity to send the effect with: a raise or an update at the alarm's
// Severity.Syslog, a clear at 6 (info), an operator's action (ack, shelve, unshelve) at
// 5 (notice).
func (e Effect) Syslog() int {
	switch e.Kind {
	case EffectRaised, EffectUpdated:
		return e.Alarm.Severity.Syslog()
	case EffectCleared:
		return SyslogInfo
	}
	return SyslogNotice
}
