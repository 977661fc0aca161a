package board

import (
	"testing"
	"time"
)

// sample returns the pattern's levels every 50 ms over 2 s.
func sample(p Pattern) []bool {
	var out []bool
	for t := time.Duration(0); t < 2*time.Second; t += 50 * time.Millisecond {
		out = append(out, p.Level(t))
	}
	return out
}

func TestPatternsAreDistinct(t *testing.T) {
	all := []Pattern{Off, On, Slow, Fast, Heartbeat, Double}
	seen := map[string]Pattern{}
	for _, p := range all {
		key := ""
		for _, l := range sample(p) {
			if l {
				key += "#"
			} else {
				key += "."
			}
		}
		if other, ok := seen[key]; ok {
			t.Fatalf("%v and %v look the same: %s", p, other, key)
		}
		seen[key] = p
	}
}

func TestPatternTimings(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	cases := []struct {
		p    Pattern
		at   time.Duration
		want bool
	}{
		{Off, 0, false}, {On, ms(1234), true},
		{Slow, 0, true}, {Slow, ms(499), true}, {Slow, ms(500), false}, {Slow, ms(1000), true},
		{Fast, ms(99), true}, {Fast, ms(100), false}, {Fast, ms(200), true},
		{Heartbeat, ms(50), true}, {Heartbeat, ms(100), false}, {Heartbeat, ms(1999), false}, {Heartbeat, ms(2000), true},
		{Double, ms(50), true}, {Double, ms(150), false}, {Double, ms(250), true}, {Double, ms(300), false},
		{Slow, -time.Second, true}, // a clock step backwards shows the pattern's start, no panic
	}
	for _, c := range cases {
		if got := c.p.Level(c.at); got != c.want {
			t.Errorf("%v at %v = %v, want %v", c.p, c.at, got, c.want)
		}
	}
	// Count the on-time fraction over whole periods.
	for p, want := range map[Pattern]float64{Slow: 0.5, Fast: 0.5, Heartbeat: 0.05, Double: 0.1, On: 1, Off: 0} {
		on := 0
		for t := time.Duration(0); t < 10*time.Second; t += time.Millisecond {
			if p.Level(t) {
				on++
			}
		}
		if got := float64(on) / 10000; got != want {
			t.Errorf("%v duty %.3f, want %.3f", p, got, want)
		}
	}
}

func TestStateMappings(t *testing.T) {
	if RoleActive.Pattern() != On || RoleStandby.Pattern() != Slow || RoleFault.Pattern() != Fast || RoleUnknown.Pattern() != Off {
		t.Error("role mapping")
	}
	if HealthOK.Pattern() != Heartbeat || HealthDegraded.Pattern() != Double || HealthFault.Pattern() != Fast {
		t.Error("health mapping")
	}
	if FieldOK.Pattern() != On || FieldDegraded.Pattern() != Slow || FieldDown.Pattern() != Fast || FieldNone.Pattern() != Off {
		t.Error("field mapping")
	}
	if Heartbeat.String() != "heartbeat" || Pattern(42).String() != "pattern(42)" {
		t.Error("String")
	}
}
