package alarms

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Sentinel errors. Every error of this package wraps one of them and names the field.
var (
	// ErrNoAlarm: no active (or, for Unshelve, shelved) alarm has the key.
	ErrNoAlarm = errors.New("alarms: no such alarm")
	// ErrBadArgument: a key, user or duration is not acceptable.
	ErrBadArgument = errors.New("alarms: bad argument")
	// ErrCritical: critical alarms cannot be shelved.
	ErrCritical = errors.New("alarms: a critical alarm cannot be shelved")
)

// Alarm is one active alarm as the registry holds it. It maps one to one onto board/ops.Alarm
// (Severity as its String, ShelvedBy and Updated in addition).
type Alarm struct {
	Key      string // stable identity: KeyOf(Source, Kind), e.g. "zone/row-a/inlet-high"
	Source   string // "zone row-a", "unit crah-2", "controller"
	Kind     string // "inlet-high", "tripped", "storage", ...
	Severity Severity
	Text     string    // the reason in words, one line
	Raised   time.Time // when it became active
	Updated  time.Time // when Text last changed (Raised at first)

	AckedBy string // empty when not acknowledged
	AckedAt time.Time

	ShelvedBy    string
	ShelvedUntil time.Time // zero when not shelved
}

// Acked reports whether someone acknowledged the alarm.
func (a Alarm) Acked() bool { return a.AckedBy != "" }

// Shelved reports whether the alarm is shelved.
func (a Alarm) Shelved() bool { return !a.ShelvedUntil.IsZero() }

// entry is one key: an active alarm, a shelf, or both (a shelf outlives a clear, so a flapping
// alarm stays quiet until the shelf runs out).
type entry struct {
	active    bool
	alarm     Alarm // the active alarm; the last one when !active
	announced bool  // a Raised effect went out for this activation
	shelfBy   string
	shelfTo   time.Time // zero: not shelved
}

func (e *entry) shelved() bool { return !e.shelfTo.IsZero() }

// Registry holds the alarms. It is a pure state machine: no clock, no I/O, no goroutines; every
// call takes the time and returns the effects to send out, in order. It is not safe for
// concurrent use: the caller serialises calls (one control loop, or a mutex).
type Registry struct {
	maxShelve time.Duration
	keys      map[string]*entry
}

// New returns an empty registry. Shelve accepts durations up to maxShelve; maxShelve <= 0
// disables shelving.
func New(maxShelve time.Duration) *Registry {
	return &Registry{maxShelve: maxShelve, keys: map[string]*entry{}}
}

// SetMaxShelve changes the longest shelf Shelve accepts (a new configuration); shelves already
// running keep their end.
func (r *Registry) SetMaxShelve(d time.Duration) { r.maxShelve = d }

// Raise makes the alarm key active with this text, or updates the text of the active one.
//
// Raise never refuses: an alarm is never lost to its wording. Control characters in every
// argument are replaced and long values cut (see the package doc); an empty key becomes
// KeyOf(source, kind), an empty source "controller", an empty kind "unknown", an empty text
// the kind.
//
// Effects (none while the key is shelved: the change is kept and listed but not sent out):
//   - a new alarm: Raised;
//   - an active alarm whose text changed meaningfully (another text once its numbers are masked,
//     or another source or kind): Updated. A text that differs only in its figures ("inlet 27.4
//     C" to "27.6 C") is stored without an effect, so a changing measurement does not flood
//     the collector;
//   - an active alarm with the same text: nothing.
//
// The acknowledgement is kept across updates unless the severity became worse; an alarm that
// cleared in between is a new alarm and starts unacknowledged.
func (r *Registry) Raise(key, source, kind, text string, now time.Time) []Effect {
	source = cleanWord(source, MaxNameLen, true)
	if source == "" {
		source = "controller"
	}
	kind = cleanWord(kind, MaxNameLen, false)
	if kind == "" {
		kind = "unknown"
	}
	key = cleanWord(key, MaxKeyLen, false)
	if key == "" {
		key = KeyOf(source, kind)
	}
	text = cleanText(text, MaxTextLen)
	if text == "" {
		text = kind
	}
	sev := SeverityOf(kind)

	e := r.keys[key]
	if e == nil {
		e = &entry{}
		r.keys[key] = e
	}
	if !e.active {
		e.active = true
		e.alarm = Alarm{Key: key, Source: source, Kind: kind, Severity: sev, Text: text,
			Raised: now, Updated: now, ShelvedBy: e.shelfBy, ShelvedUntil: e.shelfTo}
		e.announced = false
		if sev == Critical && e.shelved() {
			// Only a kind change can get here (critical ones are never shelved); fail safe.
			return r.endShelf(e, "")
		}
		if e.shelved() {
			return nil
		}
		e.announced = true
		return []Effect{{Kind: EffectRaised, Alarm: e.alarm}}
	}

	a := &e.alarm
	if a.Text == text && a.Source == source && a.Kind == kind {
		return nil
	}
	meaningful := shape(a.Text) != shape(text) || a.Source != source || a.Kind != kind
	worse := sev < a.Severity
	a.Source, a.Kind, a.Severity, a.Text, a.Updated = source, kind, sev, text, now
	if worse {
		a.AckedBy, a.AckedAt = "", time.Time{}
	}
	if sev == Critical && e.shelved() {
		return r.endShelf(e, "")
	}
	if e.shelved() || !meaningful {
		return nil
	}
	if !e.announced {
		e.announced = true
		return []Effect{{Kind: EffectRaised, Alarm: *a}}
	}
	return []Effect{{Kind: EffectUpdated, Alarm: *a}}
}

// Clear ends the alarm key. Clearing a key that is not active does nothing (the engine and
// the appliance may clear twice). The effect is Cleared, carrying the alarm as it was, when its
// raise was sent out; an alarm raised and cleared while shelved ends silently. A shelf stays on
// the key until it runs out or is lifted.
func (r *Registry) Clear(key string, now time.Time) []Effect {
	key = cleanWord(key, MaxKeyLen, false)
	e := r.keys[key]
	if e == nil || !e.active {
		return nil
	}
	e.active = false
	old := e.alarm
	var effs []Effect
	if e.announced {
		effs = []Effect{{Kind: EffectCleared, Alarm: old}}
	}
	e.announced = false
	if !e.shelved() {
		delete(r.keys, key)
	}
	return effs
}

// Ack acknowledges the active alarm key as user at now: Acked. An alarm already acknowledged
// keeps its first acknowledgement (no effect, no error). Bad arguments and unknown keys return
// an error and change nothing. Acknowledging is allowed while shelved, and is sent out: an
// operator's action is always on the record.
func (r *Registry) Ack(key, user string, now time.Time) ([]Effect, error) {
	e, err := r.lookup(key, user)
	if err != nil {
		return nil, err
	}
	if e.alarm.Acked() {
		return nil, nil
	}
	e.alarm.AckedBy, e.alarm.AckedAt = user, now
	return []Effect{{Kind: EffectAcked, Alarm: e.alarm, By: user}}, nil
}

// Shelve keeps the active alarm key from being sent out again for d (0 < d <= the registry's
// maximum): Shelved. A shelved alarm stays active and listed (ShelvedBy, ShelvedUntil); its
// updates, clears and raises are not sent out until the shelf ends (Tick, Unshelve). Shelving
// again replaces the shelf (by user, until now+d). Critical alarms cannot be shelved
// (ErrCritical): the one alarm that means the servers get hot air must stay loud.
func (r *Registry) Shelve(key, user string, d time.Duration, now time.Time) ([]Effect, error) {
	if d <= 0 || d > r.maxShelve {
		if r.maxShelve <= 0 {
			return nil, fmt.Errorf("%w: duration: shelving is disabled", ErrBadArgument)
		}
		return nil, fmt.Errorf("%w: duration %v: must be more than 0 and at most %v", ErrBadArgument, d, r.maxShelve)
	}
	e, err := r.lookup(key, user)
	if err != nil {
		return nil, err
	}
	if e.alarm.Severity == Critical {
		return nil, fmt.Errorf("%w: %s", ErrCritical, key)
	}
	e.shelfBy, e.shelfTo = user, now.Add(d)
	e.alarm.ShelvedBy, e.alarm.ShelvedUntil = e.shelfBy, e.shelfTo
	return []Effect{{Kind: EffectShelved, Alarm: e.alarm, By: user}}, nil
}

// Unshelve lifts the shelf on key as user: Unshelved, then Raised again when the alarm is
// still active (it is announced anew, with its present text). A key that is active but not
// shelved is left as it is (no effect, no error); a key neither active nor shelved is
// ErrNoAlarm.
func (r *Registry) Unshelve(key, user string, now time.Time) ([]Effect, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if err := checkUser(user); err != nil {
		return nil, err
	}
	e := r.keys[key]
	if e == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoAlarm, key)
	}
	if !e.shelved() {
		return nil, nil
	}
	return r.endShelf(e, user), nil
}

// Tick ends the shelves that ran out by now (ShelvedUntil <= now), soonest first, then by key:
// for each, Unshelved, and Raised again when the alarm is still active. Call it every period;
// nothing else ends a shelf on time.
func (r *Registry) Tick(now time.Time) []Effect {
	var due []*entry
	for _, e := range r.keys {
		if e.shelved() && !now.Before(e.shelfTo) {
			due = append(due, e)
		}
	}
	slices.SortFunc(due, func(a, b *entry) int {
		return cmp.Or(a.shelfTo.Compare(b.shelfTo), cmp.Compare(a.alarm.Key, b.alarm.Key))
	})
	var effs []Effect
	for _, e := range due {
		effs = append(effs, r.endShelf(e, "")...)
	}
	return effs
}

// endShelf lifts e's shelf (by user; empty: it ran out or the alarm turned critical) and
// announces the alarm again when it is active.
func (r *Registry) endShelf(e *entry, user string) []Effect {
	last := e.alarm
	last.ShelvedBy, last.ShelvedUntil = e.shelfBy, e.shelfTo
	e.shelfBy, e.shelfTo = "", time.Time{}
	e.alarm.ShelvedBy, e.alarm.ShelvedUntil = "", time.Time{}
	effs := []Effect{{Kind: EffectUnshelved, Alarm: last, By: user}}
	if !e.active {
		delete(r.keys, e.alarm.Key)
		return effs
	}
	e.announced = true
	return append(effs, Effect{Kind: EffectRaised, Alarm: e.alarm})
}

// lookup checks key and user and finds the active alarm key.
func (r *Registry) lookup(key, user string) (*entry, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if err := checkUser(user); err != nil {
		return nil, err
	}
	e := r.keys[key]
	if e == nil || !e.active {
		return nil, fmt.Errorf("%w: %s", ErrNoAlarm, key)
	}
	return e, nil
}

// Active lists the active alarms, shelved ones included, newest first (by Raised, then by key).
func (r *Registry) Active() []Alarm {
	out := make([]Alarm, 0, len(r.keys))
	for _, e := range r.keys {
		if e.active {
			out = append(out, e.alarm)
		}
	}
	slices.SortFunc(out, func(a, b Alarm) int {
		return cmp.Or(b.Raised.Compare(a.Raised), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// Get returns the active alarm key.
func (r *Registry) Get(key string) (Alarm, bool) {
	e := r.keys[key]
	if e == nil || !e.active {
		return Alarm{}, false
	}
	return e.alarm, true
}
