package appliance

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/ops"
)

// The console's trend is the Publisher's, converted: none before the operations wiring sets a
// Publisher, then its samples from since on, NaN (no valve, no measurement) kept.
func TestBackendTrend(t *testing.T) {
	b := &backend{a: &App{}}
	pts, err := b.Trend(context.Background(), time.Time{})
	if err != nil || len(pts) != 0 {
		t.Fatalf("no publisher: %v, %v", pts, err)
	}
	b.a.pub = ops.NewPublisher(time.Hour, 10*time.Second)
	if pts, err = b.Trend(context.Background(), time.Time{}); err != nil || len(pts) != 0 {
		t.Fatalf("nothing published: %v, %v", pts, err)
	}
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	for i := range 6 {
		b.a.pub.Publish(&ops.View{Time: t0.Add(time.Duration(i) * 10 * time.Second),
			Zones: []ops.Zone{{Name: "z1", MeasureC: 24 + float64(i), HottestC: 25 + float64(i), SetpointC: 25}},
			Units: []ops.Unit{{Name: "crah-1", FanCmdPct: 40 + float64(i), ValveCmdPct: math.NaN()}}})
	}
	pts, err = b.Trend(context.Background(), t0.Add(30*time.Second))
	if err != nil || len(pts) != 3 {
		t.Fatalf("since +30s: %d points, %v", len(pts), err)
	}
	p := pts[2]
	if !p.Time.Equal(t0.Add(50*time.Second)) || p.Zones["z1"].MeasureC != 29 || p.Zones["z1"].HottestC != 30 ||
		p.Zones["z1"].SetpointC != 25 || p.Units["crah-1"].FanPct != 45 || !math.IsNaN(p.Units["crah-1"].ValvePct) {
		t.Fatalf("last point %+v", p)
	}
	if !pts[0].Time.Before(pts[1].Time) {
		t.Fatalf("not oldest first: %v, %v", pts[0].Time, pts[1].Time)
	}
}
