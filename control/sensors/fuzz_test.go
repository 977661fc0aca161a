package sensors

import (
	"math"
	"testing"
	"time"
)

// FuzzStore feeds arbitrary reading streams: nothing panics, and every aggregate is consistent:
// Value is NaN exactly when not OK, an OK zone has at least N valid sensors, and the value never
// exceeds the hottest valid member seen so far (Value is smoothed: after a hot reading falls it
// stays warm for a while, the safe side, but it never invents heat).
func FuzzStore(f *testing.F) {
	f.Add([]byte{0, 10, 20, 1, 1, 200, 30, 2, 2, 255, 40, 3}, uint8(2), uint8(0))
	f.Add([]byte{5, 5, 5, 5, 5, 5, 5, 5, 5}, uint8(1), uint8(90))
	f.Fuzz(func(t *testing.T, data []byte, minValid, pct uint8) {
		s, err := NewStore(Config{ReportInterval: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{"a", "b", "c", "d", "e", "f"}
		now := t0
		hot := math.Inf(-1) // the hottest valid member used so far
		for i := 0; i+2 < len(data); i += 3 {
			id := ids[int(data[i])%len(ids)]
			now = now.Add(time.Duration(data[i+1]%64) * time.Second)
			r := Reading{ID: id, Value: float64(data[i+2]) / 4, Fault: data[i+2] == 255,
				Gateway: t0.Add(time.Duration(int(data[i+1])-40) * 3 * time.Second), Seq: data[i]}
			if data[i+2] == 254 {
				r.Value = math.NaN()
			}
			_, _ = s.Update(r, now)
			a := s.Zone(ids[:4], ZoneConfig{MinValid: int(minValid % 6), Percentile: float64(pct % 101)}, now)
			if math.IsNaN(a.Value) == a.OK {
				t.Fatalf("value %g with OK=%v", a.Value, a.OK)
			}
			if a.OK && a.Valid < a.Need {
				t.Fatalf("OK with %d valid < %d", a.Valid, a.Need)
			}
			for _, m := range a.Members {
				if m.Used {
					hot = math.Max(hot, m.Value)
				}
			}
			if a.OK && a.Value > hot+1e-9 {
				t.Fatalf("value %g above the hottest used so far %g", a.Value, hot)
			}
		}
		_ = s.Snapshot(now)
	})
}
