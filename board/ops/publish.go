package ops

import (
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

// Publisher holds the latest View and a trend ring buffer in memory (no disk: flash wear). Publish
// is called from the control loop and never blocks on a reader; readers get the last published
// View, which they must not modify.
type Publisher struct {
	latest atomic.Pointer[View]
	every  time.Duration

	mu    sync.Mutex
	ring  []TrendPoint
	next  int // index of the oldest point once the ring is full
	full  bool
	lastT time.Time
}

// NewPublisher keeps a trend of keep (e.g. an hour) sampled every every (e.g. 10 s).
func NewPublisher(keep, every time.Duration) *Publisher {
	if every <= 0 {
		every = 10 * time.Second
	}
	n := max(int(keep/every), 1)
	return &Publisher{every: every, ring: make([]TrendPoint, 0, n)}
}

// Publish makes v the latest View and samples the trend when every has passed since the last
// sample (by v.Time).
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
	if len(p.ring) < cap(p.ring) {
		p.ring = append(p.ring, pt)
		return
	}
	p.ring[p.next] = pt
	p.next = (p.next + 1) % len(p.ring)
	p.full = true
}

// Latest returns the last published View, or nil before the first.
func (p *Publisher) Latest() *View { return p.latest.Load() }

// Trend returns the samples taken at or after since, oldest first.
func (p *Publisher) Trend(since time.Time) []TrendPoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]TrendPoint, 0, len(p.ring))
	for i := range p.ring {
		pt := p.ring[(p.next+i)%len(p.ring)]
		if !pt.Time.Before(since) {
			out = append(out, pt)
		}
	}
	return out
}
