package alarms

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzRegistry runs a random sequence of calls (some with hostile strings) and checks after each:
// no panic; an error wraps a sentinel and changes nothing; every effect's text is one clean line;
// Active is ordered, its alarms well formed, no critical one shelved; and what the effects told
// the outside agrees with the registry: every alarm announced is active, and every active
// alarm that is not shelved was announced.
func FuzzRegistry(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte("\x00\x00\x03\x01\x04\x02\x05\x00\x06\x07\x00\x01\x02"))
	f.Add([]byte("raise\x1b[2J\xff\xfe shelve ack tick clear"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys := []string{"zone/row-a/inlet-high", "unit/crah-2/tripped", "unit/fan-3/fallback", "controller/storage", ""}
		kinds := []string{"inlet-high", "tripped", "fallback", "storage", "battery", "odd"}
		users := []string{"alice", "bob", "", "b ob", "x\x1b"}
		texts := []string{"inlet 27.4 C", "inlet 28.0 C", "tripped: not running", "a\nb\x00c\u202e"}
		r := New(time.Hour)
		now := t0
		outside := map[string]bool{} // keys the effects announced and did not clear
		pick := func(i int, s []string) string { return s[i%len(s)] }
		for len(data) >= 3 {
			op, a, b := data[0], int(data[1]), int(data[2])
			data = data[3:]
			var raw string // a hostile string from the input itself
			if n := min(int(op>>4), len(data)); n > 0 {
				raw, data = string(data[:n]), data[n:]
			}
			key := pick(a, keys)
			before := snapshot(r)
			var effs []Effect
			var err error
			switch op % 8 {
			case 0:
				effs = r.Raise(key, "unit x", pick(b, kinds), pick(b, texts)+raw, now)
			case 1:
				effs = r.Raise(raw, raw, raw, raw, now)
			case 2:
				effs = r.Clear(key, now)
			case 3:
				effs, err = r.Ack(key, pick(b, users), now)
			case 4:
				effs, err = r.Shelve(key, pick(b, users), time.Duration(b-20)*time.Minute, now)
			case 5:
				effs, err = r.Unshelve(key, pick(b, users), now)
			case 6:
				now = now.Add(time.Duration(b) * time.Minute)
				effs = r.Tick(now)
			case 7:
				effs, err = r.Ack(raw, raw, now)
			}
			if err != nil {
				if !errors.Is(err, ErrNoAlarm) && !errors.Is(err, ErrBadArgument) && !errors.Is(err, ErrCritical) {
					t.Fatalf("error without a sentinel: %v", err)
				}
				if !reflect.DeepEqual(before, snapshot(r)) || effs != nil {
					t.Fatalf("failed call changed the registry: %v", err)
				}
			}
			for i, e := range effs {
				if s := e.Text(); !cleanLine(s) {
					t.Fatalf("effect text not clean: %q", s)
				}
				k := e.Alarm.Key
				switch e.Kind {
				case EffectRaised:
					again := i > 0 && effs[i-1].Kind == EffectUnshelved && effs[i-1].Alarm.Key == k
					if outside[k] && !again {
						t.Fatalf("raised twice without an unshelve: %s", k)
					}
					outside[k] = true
				case EffectCleared:
					if !outside[k] {
						t.Fatalf("cleared an alarm never announced: %s", k)
					}
					delete(outside, k)
				case EffectUpdated:
					if !outside[k] {
						t.Fatalf("updated an alarm never announced: %s", k)
					}
				}
			}
			act := r.Active()
			seen := map[string]bool{}
			for i, a := range act {
				if i > 0 && (a.Raised.After(act[i-1].Raised) || a.Raised.Equal(act[i-1].Raised) && a.Key < act[i-1].Key) {
					t.Fatalf("Active out of order at %d", i)
				}
				if seen[a.Key] {
					t.Fatalf("key twice: %s", a.Key)
				}
				seen[a.Key] = true
				if a.Severity != SeverityOf(a.Kind) || a.Text == "" || len(a.Text) > MaxTextLen ||
					!cleanLine(a.Text+a.Source+a.Kind+a.Key) || checkKey(a.Key) != nil {
					t.Fatalf("bad alarm %+v", a)
				}
				if a.Shelved() != (a.ShelvedBy != "") || a.Shelved() && a.Severity == Critical {
					t.Fatalf("bad shelf %+v", a)
				}
				if a.Acked() && checkUser(a.AckedBy) != nil {
					t.Fatalf("bad ack %+v", a)
				}
				if g, ok := r.Get(a.Key); !ok || g != a {
					t.Fatalf("Get(%s) = %+v, %v", a.Key, g, ok)
				}
				if !a.Shelved() && !outside[a.Key] {
					t.Fatalf("active, not shelved, never announced: %s", a.Key)
				}
			}
			for k := range outside {
				if !seen[k] {
					t.Fatalf("announced but not active: %s", k)
				}
			}
		}
	})
}

func cleanLine(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unsafeRune) && !slices.Contains([]byte(s), '\n')
}
