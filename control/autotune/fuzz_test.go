package autotune

import (
	"math"
	"testing"
	"time"
)

// FuzzStep feeds arbitrary measurement streams and tick spacings: nothing panics, the output stays
// within the limits, and once done the tuner stays done at Bias.
func FuzzStep(f *testing.F) {
	f.Add([]byte{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120}, uint8(3))
	f.Add([]byte{0, 255, 0, 255, 0, 255}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, spacing uint8) {
		tu, err := New(Config{Bias: 40, D: 10, OutMin: 20, OutMax: 100, Baseline: 5 * time.Second, Timeout: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		done := false
		for i := 0; i < 5000; i++ {
			b := data[i%max(len(data), 1):]
			v := 24.0
			if len(b) > 0 {
				v = 20 + float64(b[0])/16
				if b[0] == 255 && i%97 == 0 {
					v = math.NaN()
				}
			}
			now = now.Add(time.Duration(spacing%7) * time.Second)
			out, d := tu.Step(v, now)
			if out < 20 || out > 100 || math.IsNaN(out) {
				t.Fatalf("output %g", out)
			}
			if done && (!d || out != 40) {
				t.Fatalf("left done: %g %v", out, d)
			}
			done = done || d
			_ = tu.Progress()
		}
		if done {
			if _, err := tu.Result(); err == nil && tu.Err() != nil {
				t.Fatal("result and error both set")
			}
		}
	})
}
