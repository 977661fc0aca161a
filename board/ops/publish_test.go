package ops

import (
	"testing"
	"time"
)

func TestPublisherKeepsTheLastHour(t *testing.T) {
	p := NewPublisher(time.Hour, 10*time.Second)
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	if p.Latest() != nil {
		t.Fatal("a view before the first publish")
	}
	for i := 0; i < 2*3600; i++ { // two hours of 1 s periods
		p.Publish(&View{Time: t0.Add(time.Duration(i) * time.Second), Zones: []Zone{{Name: "z1", MeasureC: float64(i)}}})
	}
	if v := p.Latest(); v.Zones[0].MeasureC != 7199 {
		t.Fatalf("latest %+v", v.Zones)
	}
	tr := p.Trend(time.Time{})
	if len(tr) != 360 {
		t.Fatalf("%d points, want 360 (an hour at 10 s)", len(tr))
	}
	if first, last := tr[0].Time, tr[len(tr)-1].Time; last.Sub(first) != time.Hour-10*time.Second || !last.Equal(t0.Add(7190*time.Second)) {
		t.Fatalf("trend spans %v..%v", first, last)
	}
	if got := len(p.Trend(t0.Add(7200*time.Second - 5*time.Minute))); got != 30 {
		t.Fatalf("last 5 minutes: %d points, want 30", got)
	}
}
