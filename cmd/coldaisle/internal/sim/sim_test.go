package sim

import (
	"bytes"
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSimShowsWhatTheControllerDid runs the twin and the controller on a short trip story and
// reads the headless output as a new user would: true and measured are labelled, the
// controller's actions and alarms are there with their reasons, the start-up raises no alarm,
// and the flash-wear line is no daily figure from a few seconds of a x60 simulation.
func TestSimShowsWhatTheControllerDid(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the twin and the controller for about 5 s")
	}
	var out, log lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{Scenario: "testdata/trip.toml", Speed: 60, Headless: true, Out: &out, Log: &log, Seed: 1})
	if err != nil {
		t.Fatalf("sim: %v\n%s", err, log.String())
	}
	o := out.String()
	for _, want := range []string{
		"true_C: hottest TRUE rack inlet",
		"meas_C: hottest zone value the controller MEASURED",
		"  scenario    crah-2 fan fault: the unit trips\n",
		"  controller  crah-2 alarm: tripped: not running, fan fault reported",
		"crah-1, fan-3 pick up its share",
		"  controller  crah-2 alarm cleared: tripped\n",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(o, "alarm on") || strings.Contains(o, "alarm off") {
		t.Error("an alarm without its reason")
	}
	// no alarm before the trip: the start-up (units taken over, sensors' first reports) is none
	alarmAt := regexp.MustCompile(`(?m)^\s+(\d+):(\d\d)  controller  .* alarm: `)
	for _, m := range alarmAt.FindAllStringSubmatch(o, -1) {
		if min, _ := strconv.Atoi(m[1]); min < 2 {
			t.Errorf("alarm before the trip: %q", m[0])
		}
	}
	if len(res.Summary.Actions) == 0 || math.IsNaN(res.Summary.MaxMeasuredC) || math.IsNaN(res.Summary.MaxInletC) {
		t.Errorf("summary: %d actions, max measured %v, max true %v", len(res.Summary.Actions), res.Summary.MaxMeasuredC, res.Summary.MaxInletC)
	}
	l := log.String()
	if !strings.Contains(l, "too short for a daily figure") || !strings.Contains(l, "simulated room at x60") || strings.Contains(l, "MB/day") {
		t.Errorf("flash-wear line:\n%s", l)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s\nlog:\n%s", o, l)
	}
}
