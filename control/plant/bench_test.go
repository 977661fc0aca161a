package plant

import (
	"testing"
	"time"
)

// BenchmarkHallHour steps one simulated hour of the hall at 1 s resolution (events included).
func BenchmarkHallHour(b *testing.B) {
	sc := mustLoad(b, "hall")
	for b.Loop() {
		m := New(sc, 1)
		for k := 0; k < 3600; k++ {
			m.Step(1)
		}
	}
}

func BenchmarkOracleHall(b *testing.B) {
	sc := mustLoad(b, "hall")
	for b.Loop() {
		Oracle(sc, 1)
	}
}

// Generous bound on the same work as BenchmarkHallHour (the target is well under 1 s).
func TestHallHourSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	m := New(mustLoad(t, "hall"), 1)
	t0 := time.Now()
	for k := 0; k < 3600; k++ {
		m.Step(1)
	}
	d := time.Since(t0)
	t.Logf("one simulated hour of hall at 1 s: %v", d)
	if d > 10*time.Second {
		t.Errorf("one simulated hour of hall took %v", d)
	}
}
