package appliance

import (
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/storage"
)

// TestWearLineProjectsOnlyFromAWindow: a run of a few seconds says what it wrote, not a daily
// figure; a long run projects from its window after the start-up, not from the start-up's
// writes; a simulated room says its figures are no real day.
func TestWearLineProjectsOnlyFromAWindow(t *testing.T) {
	ck := 20 * time.Second
	short := wearLine(storage.Stats{Commits: 8, BytesWritten: 139264}, 50*time.Second, storage.Stats{}, 10*time.Second, true, ck, 0)
	if strings.Contains(short, "/day") || !strings.Contains(short, "139 kB written in 50s") || !strings.Contains(short, "too short for a daily figure") {
		t.Errorf("50 s run: %q", short)
	}
	// 100 kB at start-up, then 1 MB in the 1000 s window: 86.4 MB/day (the whole run would say 94.3)
	long := wearLine(storage.Stats{Commits: 60, BytesWritten: 1_100_000}, 1008*time.Second,
		storage.Stats{BytesWritten: 100_000}, 1000*time.Second, true, ck, 0)
	if !strings.Contains(long, "86.4 MB/day at the rate of the last 16m40s, start-up excluded") || strings.Contains(long, "simulated") {
		t.Errorf("long run: %q", long)
	}
	if l := wearLine(storage.Stats{BytesWritten: 1e6}, time.Hour, storage.Stats{}, 0, false, ck, 0); strings.Contains(l, "/day") {
		t.Errorf("no window, yet a daily figure: %q", l)
	}
	// a checkpoint interval of 2 min needs 10 min of window
	if l := wearLine(storage.Stats{BytesWritten: 1e6}, 9*time.Minute, storage.Stats{}, 8*time.Minute, true, 2*time.Minute, 0); strings.Contains(l, "/day") || !strings.Contains(l, "needs 10m0s") {
		t.Errorf("window of 4 checkpoints: %q", l)
	}
	sim := wearLine(storage.Stats{Commits: 8, BytesWritten: 139264}, 50*time.Second, storage.Stats{}, 0, false, ck, 30)
	if !strings.Contains(sim, "simulated room at x30: that is 25m0s of room time") || !strings.Contains(sim, "no figure here is a real day") {
		t.Errorf("simulated run: %q", sim)
	}
}

func TestWearMeterMarksAfterWarmUp(t *testing.T) {
	var w wearMeter
	start := time.Now()
	calls := 0
	stats := func() storage.Stats { calls++; return storage.Stats{BytesWritten: int64(1000 * calls)} }
	w.mark(start.Add(39*time.Second), start, 20*time.Second, stats)
	if _, _, ok := w.window(); ok || calls != 0 {
		t.Fatalf("marked during the warm-up (%d calls)", calls)
	}
	w.mark(start.Add(40*time.Second), start, 20*time.Second, stats)
	w.mark(start.Add(90*time.Second), start, 20*time.Second, stats)
	base, at, ok := w.window()
	if !ok || calls != 1 || base.BytesWritten != 1000 || !at.Equal(start.Add(40*time.Second)) {
		t.Fatalf("window %v %v %v after %d calls", base, at, ok, calls)
	}
}

// TestEngineEventTextOnce: the event log says the alarm's kind once ("fallback: fallback" was
// the key and the reason's own prefix).
func TestEngineEventTextOnce(t *testing.T) {
	for _, c := range []struct {
		ev   engine.Event
		want string
	}{
		{engine.Event{Kind: engine.EventAlarm, Unit: "crah-2", Alarm: "tripped", Reason: "tripped: not running; crah-1 picks up its share"},
			"crah-2 alarm: tripped: not running; crah-1 picks up its share"},
		{engine.Event{Kind: engine.EventAlarm, Zone: "row-a", Alarm: "inlet-high", Reason: "inlet 27.4 C above alarm limit 27.0 C"},
			"zone row-a alarm: inlet 27.4 C above alarm limit 27.0 C"},
		{engine.Event{Kind: engine.EventClear, Unit: "crah-1", Alarm: "fallback", Reason: "fallback cleared"},
			"crah-1 alarm cleared: in local fallback"},
		{engine.Event{Kind: engine.EventMode, Unit: "crah-1", From: engine.ModeFailSafe, To: engine.ModeAuto, Reason: "cause of the fail-safe cleared"},
			"crah-1 fail-safe -> auto: cause of the fail-safe cleared"},
	} {
		got := engineEvent(c.ev)
		if got.Text != c.want {
			t.Errorf("event log text %q, want %q", got.Text, c.want)
		}
		if c.ev.Kind == engine.EventMode && got.Kind != storage.KindMode || c.ev.Kind != engine.EventMode && got.Kind != storage.KindAlarm {
			t.Errorf("%q stored as %s", got.Text, got.Kind)
		}
	}
}
