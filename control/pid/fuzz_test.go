package pid

import (
	"math"
	"testing"
	"time"
)

// FuzzUpdate drives random configurations, modes and inputs: nothing panics, the output is always
// finite, inside the limits and (outside Tracking) within the rate limit.
func FuzzUpdate(f *testing.F) {
	f.Add(2.0, 60.0, 5.0, 0.5, 0.0, 1.0, []byte{0, 10, 200, 3, 7, 90, 1, 2, 250})
	f.Add(0.1, 0.0, 0.0, 1.0, 1.0, 0.0, []byte{1, 1, 1, 1})
	f.Add(50.0, 1.0, 100.0, 0.0, 0.3, 10.0, []byte{255, 0, 255, 0, 128})
	f.Fuzz(func(t *testing.T, kp, ti, td, b, c, rate float64, ops []byte) {
		cfg := Config{Kp: kp, Ti: ti, Td: td, B: Weight(b), C: c, OutMin: 20, OutMax: 100, Rate: rate, Action: Direct}
		p, err := New(cfg)
		if err != nil {
			return // invalid configs are refused; that is tested elsewhere
		}
		now, lastT := epoch, epoch
		last := p.Output()
		for i, op := range ops {
			mode := p.Mode()
			switch op % 8 {
			case 0:
				_ = p.SetMode(Auto)
			case 1:
				_ = p.SetManual(float64(op))
			case 2:
				_ = p.Track(float64(op))
				mode = Tracking
			case 3:
				cfg.Kp = kp * (1 + float64(op)/64)
				_ = p.Retune(cfg)
			}
			dt := time.Duration(op%13) * 250 * time.Millisecond
			if op == 255 {
				dt = -time.Second
			}
			now = now.Add(dt)
			pv := 15 + float64(op)/8
			if op == 254 {
				pv = math.NaN()
			}
			u := p.Update(24, pv, now)
			if math.IsNaN(u) || math.IsInf(u, 0) || u < 20 || u > 100 {
				t.Fatalf("op %d: output %g", i, u)
			}
			el := now.Sub(lastT) // since the last update that was not ignored
			if !math.IsNaN(pv) {
				lastT = now
			}
			if rate > 0 && mode != Tracking && p.Mode() != Tracking {
				if d := math.Abs(u - last); d > rate*max(el.Seconds(), 0)+1e-9*(1+math.Abs(u)) {
					t.Fatalf("op %d: moved %g in %v with rate %g", i, d, el, rate)
				}
			}
			last = u
		}
	})
}
