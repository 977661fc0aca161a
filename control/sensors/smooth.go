package sensors

import (
	"math"
	"slices"
	"time"
)

// smooth updates e's smoothed value and recent low with the accepted good reading r.
func (s *Store) smooth(e *entry, r Reading) {
	f := e.filt
	if !e.haveFilt || s.cfg.SmoothAlpha < 0 || math.Abs(r.Value-f) > s.cfg.SmoothJumpK {
		f = r.Value
	} else {
		f += s.cfg.SmoothAlpha * (r.Value - f)
	}
	e.filt, e.haveFilt = f, true
	e.record(r.Arrived)
	if e.haveLow {
		if dt := r.Arrived.Sub(e.lowAt).Seconds(); dt > 0 {
			e.low += s.cfg.LowRelaxKps * dt
		}
	}
	if !e.haveLow || f < e.low {
		e.low = f
	}
	e.lowAt, e.haveLow = r.Arrived, true
}

// Smoothed returns a sensor's smoothed value (see Config.SmoothAlpha); ok is false for a sensor
// never heard from or whose latest report was a fault.
func (s *Store) Smoothed(id string) (float64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[id]
	if e == nil || !e.haveFilt {
		return 0, false
	}
	return e.filt, true
}

// Rise is how far the sensors ids have warmed (K): the largest rise of one sensor's smoothed
// value above its own recent low (which relaxes upwards at LowRelaxKps), whatever their
// quality. A start-up descent brakes on a sensor's own rise, not on a zone's max moving between
// sensors as they report one after the other.
func (s *Store) Rise(ids []string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := 0.0
	for _, id := range ids {
		if e := s.m[id]; e != nil && e.haveFilt && e.haveLow {
			r = math.Max(r, e.filt-e.low)
		}
	}
	return r
}

// Reconfigured returns a new store with cfg holding everything s knows (readings, runs, smoothed
// values, counters): a change of settings must not forget what the sensors said.
func (s *Store) Reconfigured(cfg Config) (*Store, error) {
	n, err := NewStore(cfg)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.m {
		c := *e
		n.m[id] = &c
	}
	return n, nil
}

// histLen bounds a sensor's history of smoothed values (32 reports: 16 min at 30 s, 96 min at
// 3 min), enough to see its neighbours move during a flat run of FlatAfter.
const histLen = 32

type histPoint struct {
	at time.Time
	f  float64
}

// record appends the smoothed value to e's history.
func (e *entry) record(at time.Time) {
	e.hist[e.histI] = histPoint{at, e.filt}
	e.histI = (e.histI + 1) % histLen
	e.histN = min(e.histN+1, histLen)
}

// moved is how far (K) e's smoothed value has ranged (max - min) over the reports that arrived
// at or after since, and the value just before them.
func (e *entry) moved(since time.Time) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for k := 0; k < e.histN; k++ {
		p := e.hist[(e.histI-1-k+histLen)%histLen]
		lo, hi = math.Min(lo, p.f), math.Max(hi, p.f)
		if p.at.Before(since) {
			break
		}
	}
	if hi < lo {
		return 0
	}
	return hi - lo
}

// Interval is the median observed report interval of the sensors ids (0 when none is known yet).
func (s *Store) Interval(ids []string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var iv []time.Duration
	for _, id := range ids {
		if e := s.m[id]; e != nil && e.interval > 0 {
			iv = append(iv, e.interval)
		}
	}
	if len(iv) == 0 {
		return 0
	}
	slices.Sort(iv)
	return iv[len(iv)/2]
}
