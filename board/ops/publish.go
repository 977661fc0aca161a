package ops

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// TrendPoint is one sample of the trend: per zone its measurement, hottest inlet and setpoint, per
// unit its fan and valve commands.
type TrendPoint struct {
	Time  time.Time
	Zones map[string]ZonePoint
	Units map[string]UnitPoint
}

// ZonePoint is a zone in a TrendPoint.
type ZonePoint struct{ MeasureC, HottestC, SetpointC float64 }

// UnitPoint is a unit in a TrendPoint.
type UnitPoint struct{ FanPct, ValvePct float64 }

// Publisher holds the latest View and a trend of recent samples in memory (no disk: flash wear).
// Publish is called from the control loop and never waits on a reader: readers take no lock, they
// load immutable snapshots (the latest View, the trend slice) through atomic pointers. Readers get
// the last published values, which they must not modify.
type Publisher struct {
	latest atomic.Pointer[View]
	trend  atomic.Pointer[[]TrendPoint] // oldest first; replaced, never changed in place
	every  time.Duration
	keep   int

	mu    sync.Mutex // serializes writers only
	lastT time.Time
}

// NewPublisher keeps a trend of keep (e.g. an hour) sampled every every (e.g. 10 s).
func NewPublisher(keep, every time.Duration) *Publisher {
	if every <= 0 {
		every = 10 * time.Second
	}
	return &Publisher{every: every, keep: max(int(keep/every), 1)}
}

// Publish makes v the latest View and samples the trend when every has passed since the last
// sample (by v.Time). A sample copies the trend (a few hundred points, once per every), so readers
// never see a slice that changes under them.
func (p *Publisher) Publish(v *View) {
	p.latest.Store(v)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.lastT.IsZero() && v.Time.Sub(p.lastT) < p.every && v.Time.After(p.lastT) {
		return
	}
	p.lastT = v.Time
	pt := TrendPoint{Time: v.Time, Zones: make(map[string]ZonePoint, len(v.Zones)), Units: make(map[string]UnitPoint, len(v.Units))}
	for _, z := range v.Zones {
		pt.Zones[z.Name] = ZonePoint{MeasureC: z.MeasureC, HottestC: z.HottestC, SetpointC: z.SetpointC}
	}
	for _, u := range v.Units {
		pt.Units[u.Name] = UnitPoint{FanPct: u.FanCmdPct, ValvePct: u.ValveCmdPct}
	}
	var old []TrendPoint
	if o := p.trend.Load(); o != nil {
		old = *o
	}
	// A clock stepped back drops the samples now in its future, so the trend stays in time order
	// (Trend searches it) and never draws backwards.
	old = old[:sort.Search(len(old), func(i int) bool { return !old[i].Time.Before(v.Time) })]
	if len(old) >= p.keep {
		old = old[len(old)-p.keep+1:]
	}
	next := make([]TrendPoint, 0, p.keep)
	next = append(append(next, old...), pt)
	p.trend.Store(&next)
}

// Latest returns the last published View, or nil before the first.
func (p *Publisher) Latest() *View { return p.latest.Load() }

// Trend returns the samples taken at or after since, oldest first. The slice is shared: the caller
// must not modify it or its maps.
func (p *Publisher) Trend(since time.Time) []TrendPoint {
	o := p.trend.Load()
	if o == nil {
		return nil
	}
	s := *o
	i := sort.Search(len(s), func(i int) bool { return !s[i].Time.Before(since) })
	return s[i:len(s):len(s)]
}
