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

// Heard is how many of the sensors ids have reported at least once.
func (s *Store) Heard(ids []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, id := range ids {
		if e := s.m[id]; e != nil && e.accepted > 0 {
			n++
		}
	}
	return n
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

// Forecast is where the fresh sensors ids are heading: hot is the hottest smoothed value and
// ahead the largest of each sensor's smoothed value plus its rate of rise over its last two
// reports (less minRate, K/s) times what is left of horizon since that report (ahead >= hot).
// An inlet behind a first-order lag tau that rises at r K/s has about tau*r still to come, so with
// horizon = tau, ahead is what the hottest inlets reach if nothing changes. A falling or slowly
// drifting sensor counts at its value, and a rate is taken over at least the sensor's own report
// interval and over at least a third of horizon (against an older report when the sensor reports
// faster: 20 s for a 60 s horizon, over which 0.05 K of noise is 0.0025 K/s), so that a late report followed closely by the next one (mesh jitter, a duplicate), or
// the noise of a sensor reporting every second, does not look like a jump. ok is false when no
// sensor is fresh.
func (s *Store) Forecast(ids []string, horizon time.Duration, minRate float64, now time.Time) (hot, ahead float64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hot, ahead = math.Inf(-1), math.Inf(-1)
	window := horizon / 3
	for _, id := range ids {
		e := s.m[id]
		if e == nil || !e.haveFilt || s.classify(e, now) != Fresh {
			continue
		}
		hot = math.Max(hot, e.filt)
		ahead = math.Max(ahead, e.filt)
		if e.histN < 2 {
			continue
		}
		// the rate against the newest report at least window older (or the oldest kept)
		p1 := e.hist[(e.histI-1+histLen)%histLen]
		p0 := e.hist[(e.histI-2+histLen)%histLen]
		for k := 2; k < e.histN && p1.at.Sub(p0.at) < window; k++ {
			p0 = e.hist[(e.histI-1-k+histLen)%histLen]
		}
		dt := max(p1.at.Sub(p0.at), e.interval, window).Seconds()
		left := (horizon - now.Sub(p1.at)).Seconds()
		if dt <= 0 || left <= 0 {
			continue
		}
		if r := (p1.f-p0.f)/dt - minRate; r > 0 {
			ahead = math.Max(ahead, e.filt+r*left)
		}
	}
	if math.IsInf(hot, -1) {
		return 0, 0, false
	}
	return hot, ahead, true
}
