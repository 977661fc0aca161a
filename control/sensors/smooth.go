package sensors

import "math"

// smooth updates e's smoothed value and recent low with the accepted good reading r.
func (s *Store) smooth(e *entry, r Reading) {
	f := e.filt
	if !e.haveFilt || s.cfg.SmoothAlpha < 0 || math.Abs(r.Value-f) > s.cfg.SmoothJumpK {
		f = r.Value
	} else {
		f += s.cfg.SmoothAlpha * (r.Value - f)
	}
	e.filt, e.haveFilt = f, true
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
