package twin

import (
	"testing"
	"time"
)

// stepHour steps one simulated hour of hall with the full coupling: unit inputs from the
// register banks, the plant and its lockstep baseline, feedback into the banks, events, sensor
// reports into the gateway's queue. No I/O and no pacing.
func stepHour(tb testing.TB) time.Duration {
	tw := newTwin(tb, Options{Scenario: scenario(tb, "hall"), Seed: 1})
	t0 := time.Now()
	tw.steps(3600)
	d := time.Since(t0)
	if tw.gws[0].stats.Sent == 0 {
		tb.Fatal("no sensor report was made")
	}
	return d
}

// BenchmarkHallHourCoupled: target < 1 s per simulated hour.
func BenchmarkHallHourCoupled(b *testing.B) {
	for b.Loop() {
		stepHour(b)
	}
}

// A generous bound on the same work (the target is well under 1 s; -race and qemu are slower).
func TestHallHourCoupledSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	d := stepHour(t)
	t.Logf("one simulated hour of hall, twin coupling at 1 s: %v", d)
	if d > 20*time.Second {
		t.Errorf("one simulated hour took %v", d)
	}
}
