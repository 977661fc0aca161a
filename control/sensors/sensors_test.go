package sensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// feed delivers a reading of id every interval from start for n reports, with the value given by
// val(i), gateway time = arrival + skew, seq = i.
func feed(t *testing.T, s *Store, id string, start, interval time.Duration, n int, val func(i int) float64) {
	t.Helper()
	for i := range n {
		arr := at(start + time.Duration(i)*interval)
		o, err := s.Update(Reading{ID: id, Value: val(i), Gateway: arr.Add(-3 * time.Second), Seq: uint8(i)}, arr)
		if err != nil || o != Accepted {
			t.Fatalf("feed %s #%d: %v %v", id, i, o, err)
		}
	}
}

func newStore(t *testing.T, c Config) *Store {
	t.Helper()
	s, err := NewStore(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	s := newStore(t, Config{})
	c := s.Config()
	if c.ReportInterval != time.Minute || c.MaxAge != 3*time.Minute || c.FrozenAfter != 30*time.Minute ||
		c.Min != 5 || c.Max != 50 || c.ResyncAfter != 3 || c.FrozenTol != DefaultFrozenTol {
		t.Errorf("defaults %+v", c)
	}
	// 30 s .. 5 min report intervals are all accepted, stale at 3x.
	for _, ri := range []time.Duration{30 * time.Second, 5 * time.Minute} {
		s := newStore(t, Config{ReportInterval: ri})
		if s.Config().MaxAge != 3*ri {
			t.Errorf("interval %v: max age %v", ri, s.Config().MaxAge)
		}
	}
	bad := []struct {
		field string
		c     Config
	}{
		{"report_interval", Config{ReportInterval: time.Millisecond}},
		{"max_age", Config{ReportInterval: time.Minute, MaxAge: 30 * time.Second}},
		{"frozen_after", Config{FrozenAfter: time.Minute}},
		{"frozen_tol", Config{FrozenTol: math.NaN()}},
		{"max", Config{Min: 30, Max: 20}},
		{"resync_after", Config{ResyncAfter: 1}},
		{"max_sensors", Config{MaxSensors: -1}},
	}
	for _, b := range bad {
		_, err := NewStore(b.c)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), b.field) {
			t.Errorf("%s: got %v", b.field, err)
		}
	}
}

// Each class, from a reading history and a classification time.
func TestClassify(t *testing.T) {
	steady := func(int) float64 { return 24.5 }
	wiggle := func(i int) float64 { return 24.5 + 0.01*float64(i%2) } // quantised sensor, steady room
	cases := []struct {
		name string
		cfg  Config
		hist func(t *testing.T, s *Store)
		now  time.Duration
		want Quality
	}{
		{"missing", Config{}, func(*testing.T, *Store) {}, 0, Missing},
		{"fresh", Config{}, func(t *testing.T, s *Store) { feed(t, s, "a", 0, time.Minute, 5, wiggle) }, 4 * time.Minute, Fresh},
		{"fresh at max age", Config{}, func(t *testing.T, s *Store) { feed(t, s, "a", 0, time.Minute, 5, wiggle) }, 7 * time.Minute, Fresh},
		{"stale past max age", Config{}, func(t *testing.T, s *Store) { feed(t, s, "a", 0, time.Minute, 5, wiggle) }, 7*time.Minute + time.Second, Stale},
		{"5 min interval fresh after 14 min", Config{ReportInterval: 5 * time.Minute}, func(t *testing.T, s *Store) {
			feed(t, s, "a", 0, 5*time.Minute, 3, wiggle)
		}, 24 * time.Minute, Fresh},
		{"5 min interval stale after 16 min", Config{ReportInterval: 5 * time.Minute}, func(t *testing.T, s *Store) {
			feed(t, s, "a", 0, 5*time.Minute, 3, wiggle)
		}, 26 * time.Minute, Stale},
		{"30 s interval stale after 91 s", Config{ReportInterval: 30 * time.Second}, func(t *testing.T, s *Store) {
			feed(t, s, "a", 0, 30*time.Second, 3, wiggle)
		}, time.Minute + 91*time.Second, Stale},
		{"probe fault", Config{}, func(t *testing.T, s *Store) {
			feed(t, s, "a", 0, time.Minute, 3, wiggle)
			s.Update(Reading{ID: "a", Fault: true, Value: math.NaN(), Gateway: at(3 * time.Minute), Seq: 3}, at(3*time.Minute))
		}, 3 * time.Minute, ProbeFault},
		{"fault cleared", Config{}, func(t *testing.T, s *Store) {
			s.Update(Reading{ID: "a", Fault: true, Gateway: at(0), Seq: 0}, at(0))
			feed(t, s, "a", time.Minute, time.Minute, 1, wiggle)
		}, time.Minute, Fresh},
		{"out of range high", Config{}, func(t *testing.T, s *Store) { feed(t, s, "a", 0, time.Minute, 1, func(int) float64 { return 85 }) }, 0, OutOfRange},
		{"out of range low", Config{}, func(t *testing.T, s *Store) { feed(t, s, "a", 0, time.Minute, 1, func(int) float64 { return -40 }) }, 0, OutOfRange},
		{"custom range", Config{Min: 10, Max: 30}, func(t *testing.T, s *Store) { feed(t, s, "a", 0, time.Minute, 1, func(int) float64 { return 31 }) }, 0, OutOfRange},
		{"steady 29 min not frozen", Config{}, func(t *testing.T, s *Store) { feed(t, s, "a", 0, time.Minute, 30, steady) }, 29 * time.Minute, Fresh},
		{"unchanged 30 min frozen", Config{}, func(t *testing.T, s *Store) { feed(t, s, "a", 0, time.Minute, 31, steady) }, 30 * time.Minute, Frozen},
		{"quantised wiggle never frozen", Config{}, func(t *testing.T, s *Store) { feed(t, s, "a", 0, time.Minute, 120, wiggle) }, 119 * time.Minute, Fresh},
		{"wiggle within tolerance frozen", Config{FrozenTol: 0.02}, func(t *testing.T, s *Store) { feed(t, s, "a", 0, time.Minute, 31, wiggle) }, 30 * time.Minute, Frozen},
		{"slow drift past tolerance not frozen", Config{FrozenTol: 0.05}, func(t *testing.T, s *Store) {
			feed(t, s, "a", 0, time.Minute, 60, func(i int) float64 { return 24 + 0.01*float64(i) })
		}, 59 * time.Minute, Fresh},
		{"frozen check disabled", Config{FrozenAfter: -1}, func(t *testing.T, s *Store) { feed(t, s, "a", 0, time.Minute, 90, steady) }, 89 * time.Minute, Fresh},
		{"frozen then moves", Config{}, func(t *testing.T, s *Store) {
			feed(t, s, "a", 0, time.Minute, 40, steady)
			s.Update(Reading{ID: "a", Value: 25, Gateway: at(40 * time.Minute), Seq: 40}, at(40*time.Minute))
		}, 40 * time.Minute, Fresh},
		{"stale beats fault", Config{}, func(t *testing.T, s *Store) {
			s.Update(Reading{ID: "a", Fault: true, Gateway: at(0)}, at(0))
		}, time.Hour, Stale},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, tc.cfg)
			tc.hist(t, s)
			if got := s.Classify("a", at(tc.now)); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// Out-of-order and duplicate readings are ignored; a gateway clock that steps back is followed
// after ResyncAfter consistent readings.
func TestOrderingDuplicatesResync(t *testing.T) {
	s := newStore(t, Config{})
	up := func(v float64, gw time.Duration, seq uint8, arr time.Duration) Outcome {
		o, err := s.Update(Reading{ID: "a", Value: v, Gateway: at(gw), Seq: seq}, at(arr))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	steps := []struct {
		v       float64
		gw      time.Duration
		seq     uint8
		want    Outcome
		current float64
	}{
		{24, 0, 1, Accepted, 24},
		{25, time.Minute, 2, Accepted, 25},
		{25, time.Minute, 2, Duplicate, 25},         // the mesh delivered it twice
		{24.5, 30 * time.Second, 9, OutOfOrder, 25}, // late report from before the latest
		{26, 2 * time.Minute, 3, Accepted, 26},
		{26, 2 * time.Minute, 3, Duplicate, 26},
		// The gateway rebooted and its clock restarted an hour earlier: older, but consistent.
		{27, -time.Hour, 4, OutOfOrder, 26},
		{27, -time.Hour, 4, Duplicate, 26}, // a duplicate of a rejected one changes nothing
		{27.5, -time.Hour + time.Minute, 5, OutOfOrder, 26},
		{28, -time.Hour + 2*time.Minute, 6, Resynced, 28},
		{28.5, -time.Hour + 3*time.Minute, 7, Accepted, 28.5},
		{20, 0, 8, Accepted, 20}, // a normal, newer reading after the resync
	}
	for i, st := range steps {
		if got := up(st.v, st.gw, st.seq, time.Duration(i)*time.Minute); got != st.want {
			t.Errorf("step %d: %v, want %v", i, got, st.want)
		}
		if r, _ := s.Latest("a"); r.Value != st.current {
			t.Errorf("step %d: current %g, want %g", i, r.Value, st.current)
		}
	}
	// A single reordered reading between normal ones never resyncs.
	s2 := newStore(t, Config{})
	for i := range 20 {
		gw := time.Duration(i) * time.Minute
		if i%2 == 1 {
			gw -= 90 * time.Second // every other report is late by more than an interval
		}
		s2.Update(Reading{ID: "b", Value: float64(20 + i), Gateway: at(gw), Seq: uint8(i)}, at(time.Duration(i)*time.Minute))
	}
	if ss := s2.Snapshot(at(20 * time.Minute)); ss[0].Resyncs != 0 || ss[0].OutOfOrder != 10 {
		t.Errorf("interleaved late readings: %+v", ss[0])
	}
	snap := s.Snapshot(at(12 * time.Minute))
	if snap[0].Duplicates != 3 || snap[0].OutOfOrder != 3 || snap[0].Resyncs != 1 {
		t.Errorf("counters %+v", snap[0])
	}
}

func TestBadReadings(t *testing.T) {
	s := newStore(t, Config{MaxSensors: 2})
	for _, r := range []Reading{
		{ID: "", Value: 20},
		{ID: strings.Repeat("x", 65), Value: 20},
		{ID: "a", Value: math.NaN()},
		{ID: "a", Value: math.Inf(-1)},
	} {
		if o, err := s.Update(r, t0); !errors.Is(err, ErrReading) || o != Rejected {
			t.Errorf("%+v: %v %v", r, o, err)
		}
	}
	if len(s.Snapshot(t0)) != 0 {
		t.Error("a bad reading was stored")
	}
	// NaN with the fault flag is a probe fault, not bad input.
	if _, err := s.Update(Reading{ID: "a", Value: math.NaN(), Fault: true}, t0); err != nil {
		t.Error(err)
	}
	s.Update(Reading{ID: "b", Value: 20}, t0)
	if _, err := s.Update(Reading{ID: "c", Value: 20}, t0); !errors.Is(err, ErrTooMany) {
		t.Errorf("third sensor: %v", err)
	}
	if _, err := json.Marshal(s.Snapshot(t0)); err != nil {
		t.Errorf("snapshot with a NaN fault reading does not marshal: %v", err)
	}
}

// zoneStore builds a store where each sensor reported its value every minute for 10 minutes.
// zoneStore: the judgement and aggregation tests read raw values (no smoothing; see
// TestSmoothing for it).
func zoneStore(t *testing.T, vals map[string]float64) *Store {
	t.Helper()
	s := newStore(t, Config{SmoothAlpha: -1})
	for id, v := range vals {
		feed(t, s, id, 0, time.Minute, 10, func(i int) float64 { return v + 0.01*float64(i%2) })
	}
	return s
}

func TestZoneAggregation(t *testing.T) {
	now := at(10 * time.Minute)
	ids := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("s%d", i))
		}
		return out
	}
	vals := func(v ...float64) map[string]float64 {
		m := map[string]float64{}
		for i, x := range v {
			m[fmt.Sprintf("s%d", i)] = x
		}
		return m
	}
	cases := []struct {
		name      string
		vals      map[string]float64
		zone      []string
		cfg       ZoneConfig
		ok        bool
		value     float64
		valid     int
		worst     string
		outliers  []string // members classed Outlier
		hotDiscar []string // reported as hot outliers (hot spots)
	}{
		{"max of three", vals(24, 26.5, 25), ids(3), ZoneConfig{}, true, 26.51, 3, "s1", nil, nil},
		{"p90 of ten", vals(20, 21, 22, 23, 24, 25, 26, 27, 28, 29), ids(10), ZoneConfig{Percentile: 90}, true, 28.11, 10, "s9", nil, nil},
		{"p50 of five", vals(20, 22, 24, 26, 28), ids(5), ZoneConfig{Percentile: 50}, true, 24.01, 5, "s4", nil, nil},
		{"missing sensor counts in M not N", vals(24, 25), ids(3), ZoneConfig{MinValid: 2}, true, 25.01, 2, "s1", nil, nil},
		{"below N is insufficient", vals(24, 25), ids(3), ZoneConfig{MinValid: 3}, false, math.NaN(), 2, "s1", nil, nil},
		{"default N is min(2,M)", vals(24), ids(3), ZoneConfig{}, false, math.NaN(), 1, "s0", nil, nil},
		{"single sensor zone default N=1", vals(24), ids(1), ZoneConfig{}, true, 24.01, 1, "s0", nil, nil},
		{"duplicate ids count once", vals(24, 25), []string{"s0", "s1", "s0"}, ZoneConfig{MinValid: 2}, true, 25.01, 2, "s1", nil, nil},
		{"out of range dropped", vals(24, 25, 70), ids(3), ZoneConfig{}, true, 25.01, 2, "s1", nil, nil},
		{"cold outlier dropped", vals(24, 24.5, 25, 15), ids(4), ZoneConfig{}, true, 25.01, 3, "s2", []string{"s3"}, nil},
		{"cold outlier needs 3 fresh", vals(24, 15), ids(2), ZoneConfig{}, true, 24.01, 2, "s0", nil, nil},
		{"hot spot kept with 4 sensors", vals(24, 24.5, 25, 44), ids(4), ZoneConfig{}, true, 44.01, 4, "s3", nil, []string{"s3"}},
		{"hot spot +10 K kept with 6 sensors", vals(24, 24.5, 25, 24.2, 24.8, 35), ids(6), ZoneConfig{}, true, 35.01, 6, "s5", nil, nil},
		// Issue 9: a single very hot inlet is never dropped on statistics alone; it counts and is
		// reported as a hot spot.
		{"very hot reading kept with 6 sensors", vals(24, 24.5, 25, 24.2, 24.8, 48), ids(6), ZoneConfig{}, true, 48.01, 6, "s5", nil, []string{"s5"}},
		{"49.9 C among 22 C kept", vals(22, 22.1, 21.9, 22.2, 22, 21.8, 49.9), ids(7), ZoneConfig{}, true, 49.91, 7, "s6", nil, []string{"s6"}},
		{"outliers disabled", vals(24, 24.5, 25, 15), ids(4), ZoneConfig{Outliers: OutlierConfig{Disable: true}}, true, 25.01, 4, "s2", nil, nil},
		{"spread zone: wide MAD keeps a 5 K cold one", vals(20, 23, 26, 29, 21), ids(5), ZoneConfig{}, true, 29.01, 5, "s3", nil, nil},
		{"bad config is not OK", vals(24, 25), ids(2), ZoneConfig{MinValid: 3}, false, math.NaN(), 0, "", nil, nil},
		{"empty zone", vals(24), nil, ZoneConfig{}, false, math.NaN(), 0, "", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := zoneStore(t, tc.vals)
			a := s.Zone(tc.zone, tc.cfg, now)
			if a.OK != tc.ok || a.Valid != tc.valid || a.Worst != tc.worst {
				t.Errorf("ok %v valid %d worst %q, want %v %d %q (%s)", a.OK, a.Valid, a.Worst, tc.ok, tc.valid, tc.worst, a.Reason)
			}
			if math.IsNaN(tc.value) != math.IsNaN(a.Value) || (!math.IsNaN(tc.value) && math.Abs(a.Value-tc.value) > 1e-9) {
				t.Errorf("value %g, want %g", a.Value, tc.value)
			}
			if !a.OK && a.Reason == "" {
				t.Error("not OK without a reason")
			}
			var out []string
			for _, m := range a.Members {
				if m.Quality == Outlier {
					out = append(out, m.ID)
				}
			}
			if fmt.Sprint(out) != fmt.Sprint(tc.outliers) || fmt.Sprint(a.HotOutliers) != fmt.Sprint(tc.hotDiscar) {
				t.Errorf("outliers %v hot %v, want %v %v", out, a.HotOutliers, tc.outliers, tc.hotDiscar)
			}
			if len(a.HotOutliers) > 0 && a.HottestFreshID != a.HotOutliers[0] {
				t.Errorf("a hot outlier must be reported as hottest fresh: %q", a.HottestFreshID)
			}
			if _, err := json.Marshal(a); err != nil {
				t.Errorf("aggregate does not marshal: %v", err)
			}
		})
	}
}

// The N-of-M rule as sensors fail one by one in a zone of 4 needing 3.
func TestZoneNofM(t *testing.T) {
	s := zoneStore(t, map[string]float64{"a": 24, "b": 25, "c": 26, "d": 27})
	zone := []string{"a", "b", "c", "d"}
	cfg := ZoneConfig{MinValid: 3}
	now := at(10 * time.Minute)
	if a := s.Zone(zone, cfg, now); !a.OK || a.Valid != 4 {
		t.Fatalf("all fresh: %+v", a)
	}
	s.Update(Reading{ID: "d", Fault: true, Gateway: now, Seq: 99}, now)
	a := s.Zone(zone, cfg, now)
	if !a.OK || a.Valid != 3 || a.Worst != "c" || a.Counts["probe-fault"] != 1 {
		t.Fatalf("one faulty: %+v", a)
	}
	s.Forget("b")
	a = s.Zone(zone, cfg, now)
	if a.OK || a.Valid != 2 || !math.IsNaN(a.Value) || a.Partial != 26.01 || a.Counts["missing"] != 1 {
		t.Fatalf("two lost: %+v", a)
	}
	if !strings.Contains(a.Reason, "2 of 4") || !strings.Contains(a.Reason, "b missing") || !strings.Contains(a.Reason, "d probe-fault") {
		t.Errorf("reason %q", a.Reason)
	}
}

// A sensor that dies while reporting a cool value must not hold the loop at that value: it drops
// out when stale, and if that leaves fewer than N the zone is Insufficient.
func TestDeadCoolSensorDropsOut(t *testing.T) {
	s := newStore(t, Config{ReportInterval: time.Minute}) // stale after 3 min
	zone := []string{"cool", "hot"}
	// Both report for 10 minutes; then "cool" dies at 22 °C while the room heats up and "hot" keeps
	// reporting the rise.
	feed(t, s, "cool", 0, time.Minute, 10, func(i int) float64 { return 22 + 0.01*float64(i%2) })
	feed(t, s, "hot", 0, time.Minute, 30, func(i int) float64 {
		if i < 10 {
			return 23 + 0.01*float64(i%2)
		}
		return 23 + 0.5*float64(i-9)
	})
	// p50 of two sensors is their mean: the dead cool one would pull the measurement down.
	cfg := ZoneConfig{MinValid: 1, Percentile: 50}
	a := s.Zone(zone, cfg, at(11*time.Minute))
	if !a.OK || a.Valid != 2 {
		t.Fatalf("cool one still within max age: %+v", a)
	}
	a = s.Zone(zone, cfg, at(12*time.Minute+time.Second))
	if !a.OK || a.Valid != 1 || a.Value < 24.5 || a.Members[0].Quality != Stale {
		t.Fatalf("dead cool sensor still counted once stale: %+v", a)
	}
	// Needing both, the zone is Insufficient as soon as the cool one is stale.
	a = s.Zone(zone, ZoneConfig{MinValid: 2}, at(12*time.Minute+time.Second))
	if a.OK || !math.IsNaN(a.Value) {
		t.Fatalf("zone needing 2 still OK with one stale sensor: %+v", a)
	}
	// And when the hot one dies too, nothing valid remains.
	a = s.Zone(zone, cfg, at(40*time.Minute))
	if a.OK || a.Valid != 0 || !math.IsNaN(a.Value) {
		t.Fatalf("all stale: %+v", a)
	}
}

func TestParseAggregate(t *testing.T) {
	for in, want := range map[string]float64{"": 0, "max": 0, "p90": 90, "p50": 50, "p100": 100, "p99.5": 99.5} {
		if got, err := ParseAggregate(in); err != nil || got != want {
			t.Errorf("%q: %g %v", in, got, err)
		}
	}
	for _, in := range []string{"mean", "p0", "p101", "p", "90", "pNaN"} {
		if _, err := ParseAggregate(in); !errors.Is(err, ErrConfig) {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestZoneConfigValidation(t *testing.T) {
	s := zoneStore(t, map[string]float64{"a": 24, "b": 25, "c": 26})
	for field, c := range map[string]ZoneConfig{
		"min_valid":               {MinValid: -1},
		"percentile":              {Percentile: 0.5},
		"outliers.k":              {Outliers: OutlierConfig{K: 0.5}},
		"outliers.cold_floor_k":   {Outliers: OutlierConfig{ColdFloor: 0.1}},
		"outliers.hot_floor_k":    {Outliers: OutlierConfig{ColdFloor: 5, HotFloor: 3}},
		"outliers.min_sensors":    {Outliers: OutlierConfig{MinSensors: 2}},
		"outliers.hot_min_sensor": {Outliers: OutlierConfig{HotMinSensors: 3}},
	} {
		a := s.Zone([]string{"a", "b", "c"}, c, at(10*time.Minute))
		if a.OK || !strings.Contains(a.Reason, field) {
			t.Errorf("%s: OK=%v reason %q", field, a.OK, a.Reason)
		}
	}
}

func TestSnapshot(t *testing.T) {
	s := newStore(t, Config{})
	feed(t, s, "b", 0, time.Minute, 5, func(int) float64 { return 24 })
	feed(t, s, "a", 0, 30*time.Second, 9, func(i int) float64 { return 24 + float64(i%2) })
	snap := s.Snapshot(at(5 * time.Minute))
	if len(snap) != 2 || snap[0].ID != "a" || snap[1].ID != "b" {
		t.Fatalf("order %+v", snap)
	}
	if snap[0].Interval != 30*time.Second || snap[1].Interval != time.Minute {
		t.Errorf("observed intervals %v %v", snap[0].Interval, snap[1].Interval)
	}
	if snap[1].UnchangedFor != 4*time.Minute || snap[1].Age != time.Minute || snap[1].Quality != Fresh {
		t.Errorf("b: %+v", snap[1])
	}
	js, err := json.Marshal(snap)
	if err != nil || !strings.Contains(string(js), `"quality":"fresh"`) {
		t.Errorf("json %s %v", js, err)
	}
	if n := s.Prune(at(time.Hour), 10*time.Minute); n != 2 || len(s.Snapshot(at(time.Hour))) != 0 {
		t.Errorf("prune: %d", n)
	}
}

// The mesh goroutine updates while the engine aggregates and the console snapshots (run -race).
func TestConcurrentUse(t *testing.T) {
	s := newStore(t, Config{})
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				now := at(time.Duration(i) * time.Second)
				switch g {
				case 0:
					s.Update(Reading{ID: fmt.Sprintf("s%d", i%7), Value: 24, Gateway: now, Seq: uint8(i)}, now)
				case 1:
					s.Zone([]string{"s0", "s1", "s2"}, ZoneConfig{}, now)
				case 2:
					s.Snapshot(now)
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkZone: one zone of 40 sensors aggregated per op (a control tick does a few).
func BenchmarkZone(b *testing.B) {
	s, _ := NewStore(Config{})
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("00-17-0d-00-00-38-0a-%02x/1", i)
		ids = append(ids, id)
		s.Update(Reading{ID: id, Value: 22 + float64(i%9)*0.3, Gateway: t0}, t0)
	}
	cfg := ZoneConfig{MinValid: 20, Percentile: 90}
	b.ResetTimer()
	for range b.N {
		s.Zone(ids, cfg, t0.Add(time.Minute))
	}
}

func BenchmarkUpdateReading(b *testing.B) {
	s, _ := NewStore(Config{})
	for i := range b.N {
		now := t0.Add(time.Duration(i) * time.Second)
		s.Update(Reading{ID: "00-17-0d-00-00-38-0a-1f/2", Value: 24, Gateway: now, Seq: uint8(i)}, now)
	}
}

// A hot reading is left out only when its own node's other channels belie it, and then it is
// still reported (Implausible); a hot spot whose node agrees, or with too few channels, counts.
func TestHotOutlierContradictedByItsNode(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	mk := func(vals map[string]float64) *Store {
		s, err := NewStore(Config{ReportInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		for id, v := range vals {
			if _, err := s.Update(Reading{ID: id, Value: v, Gateway: now, Arrived: now}, now); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	base := map[string]float64{"a/1": 22, "a/2": 22.3, "a/3": 48, "b/1": 22.1, "b/2": 21.9, "c/1": 22.2}
	ids := []string{"a/1", "a/2", "a/3", "b/1", "b/2", "c/1"}
	agg := mk(base).Zone(ids, ZoneConfig{}, now)
	if fmt.Sprint(agg.Implausible) != "[a/3]" || fmt.Sprint(agg.HotOutliers) != "[a/3]" || agg.Value > 23 || agg.HottestFreshID != "a/3" {
		t.Fatalf("contradicted: implausible %v hot %v value %g hottest %s", agg.Implausible, agg.HotOutliers, agg.Value, agg.HottestFreshID)
	}
	// The node's middle channel warm too: a real hot spot at the rack, counted.
	base["a/2"] = 35
	agg = mk(base).Zone(ids, ZoneConfig{}, now)
	if len(agg.Implausible) != 0 || agg.Value < 48 {
		t.Fatalf("node agrees: implausible %v value %g", agg.Implausible, agg.Value)
	}
	// Only one other channel on the node: not proof enough.
	delete(base, "a/2")
	base["a/2"] = 22.3
	agg = mk(base).Zone([]string{"a/1", "a/3", "b/1", "b/2", "c/1", "a/9"}, ZoneConfig{}, now)
	if len(agg.Implausible) != 0 || agg.Value < 48 {
		t.Fatalf("one channel: implausible %v value %g", agg.Implausible, agg.Value)
	}
}

func TestAboveRangeIsReported(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, err := NewStore(Config{ReportInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for id, v := range map[string]float64{"a/1": 22, "a/2": 70, "b/1": 23} {
		if _, err := s.Update(Reading{ID: id, Value: v, Gateway: now, Arrived: now}, now); err != nil {
			t.Fatal(err)
		}
	}
	agg := s.Zone([]string{"a/1", "a/2", "b/1"}, ZoneConfig{}, now)
	if fmt.Sprint(agg.AboveRange) != "[a/2]" || agg.Value != 23 {
		t.Fatalf("above range %v value %g", agg.AboveRange, agg.Value)
	}
}

// TestSmoothing: a sensor's noise is averaged before the zone's max, a real change (more than
// SmoothJumpK) is taken at once, a fault restarts the average, and Rise is a sensor's own warming
// above its recent low.
func TestSmoothing(t *testing.T) {
	s := newStore(t, Config{MaxAge: 10 * time.Minute})
	ids := []string{"a", "b"}
	tt := t0
	seq := uint8(0)
	report := func(id string, v float64, fault bool) {
		tt = tt.Add(time.Second)
		seq++
		if _, err := s.Update(Reading{ID: id, Value: v, Fault: fault, Gateway: tt, Seq: seq}, tt); err != nil {
			t.Fatal(err)
		}
	}
	report("a", 24.0, false)
	report("b", 23.0, false)
	if a := s.Zone(ids, ZoneConfig{}, tt); !a.OK || a.Value != 24 || a.WorstC != 24 {
		t.Fatalf("zone %+v, want 24", a)
	}
	report("a", 24.2, false) // noise: smoothed
	a := s.Zone(ids, ZoneConfig{}, tt)
	if want := 24 + DefaultSmoothAlpha*0.2; math.Abs(a.Value-want) > 1e-9 || a.WorstC != 24.2 || a.Worst != "a" {
		t.Fatalf("zone %g (worst %s %g) after a 0.2 K report, want %g and the raw 24.2", a.Value, a.Worst, a.WorstC, want)
	}
	report("a", 25.5, false) // heat: at once
	if v := s.Zone(ids, ZoneConfig{}, tt).Value; v != 25.5 {
		t.Fatalf("zone %g after a 1.3 K jump, want 25.5", v)
	}
	if r := s.Rise(ids); math.Abs(r-1.5) > 0.01 {
		t.Fatalf("rise %g, want about 1.5 K above the sensor's low", r)
	}
	if v := s.Zone(ids, ZoneConfig{Percentile: 50}, tt).Value; math.Abs(v-(23+25.5)/2) > 1e-9 {
		t.Fatalf("median %g", v)
	}
	report("a", 0, true) // a fault: the average starts afresh
	report("a", 25.6, false)
	if v, ok := s.Smoothed("a"); !ok || v != 25.6 {
		t.Fatalf("smoothed %g %v after a fault, want 25.6", v, ok)
	}
	n, err := s.Reconfigured(Config{MaxAge: 20 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := n.Smoothed("a"); !ok || v != 25.6 || n.Rise(ids) != s.Rise(ids) {
		t.Fatalf("reconfigured store forgot: %g %v", v, ok)
	}
	if _, err := s.Reconfigured(Config{SmoothAlpha: 2}); err == nil {
		t.Fatal("smooth_alpha 2 accepted")
	}
}

func TestForecast(t *testing.T) {
	s := newStore(t, Config{ReportInterval: 30 * time.Second, MaxAge: 3 * time.Minute})
	seq := map[string]uint8{}
	report := func(id string, v float64, at time.Time) {
		seq[id]++
		if _, err := s.Update(Reading{ID: id, Value: v, Gateway: at, Seq: seq[id]}, at); err != nil {
			t.Fatal(err)
		}
	}
	ids := []string{"rising", "falling"}
	report("rising", 20, t0)
	report("falling", 24, t0)
	report("rising", 20, t0.Add(30*time.Second))
	report("falling", 24, t0.Add(30*time.Second))
	// 3 K in 30 s: 0.1 K/s, 0.04 K/s above a 0.06 K/s threshold, 60 s ahead, 10 s after the report
	at := t0.Add(60 * time.Second)
	report("rising", 23, at)
	report("falling", 22, at)
	hot, ahead, ok := s.Forecast(ids, time.Minute, 0.06, at.Add(10*time.Second))
	if !ok || hot != 23 || math.Abs(ahead-(23+0.04*50)) > 1e-9 {
		t.Fatalf("forecast hot %g ahead %g ok %v, want 23 and %g", hot, ahead, ok, 23+0.04*50)
	}
	// past the horizon the report forecasts nothing more
	if _, ahead, _ := s.Forecast(ids, time.Minute, 0.06, at.Add(2*time.Minute)); ahead != 23 {
		t.Fatalf("ahead %g two minutes after the report, want the value 23", ahead)
	}
	// a rise below the threshold, and a fall, add nothing
	if _, ahead, _ := s.Forecast(ids, time.Minute, 0.2, at); ahead != 23 {
		t.Fatalf("ahead %g with a 0.2 K/s threshold, want 23", ahead)
	}
	// a report right after the previous one (jitter, a late one) is no jump: the rate is taken
	// against the report 32 s before it (3.6 K in 32 s), not 0.6 K in 2 s
	report("rising", 23.6, at.Add(2*time.Second))
	_, ahead, _ = s.Forecast(ids, time.Minute, 0, at.Add(2*time.Second))
	if r := (ahead - 23.6) / 60; math.Abs(r-3.6/32) > 1e-9 {
		t.Fatalf("rate %g K/s, want %g (3.6 K in 32 s), not 0.6 K in 2 s", r, 3.6/32)
	}
	// a stale sensor forecasts nothing
	if _, _, ok := s.Forecast(ids, time.Minute, 0, at.Add(10*time.Minute)); ok {
		t.Fatal("forecast from stale sensors")
	}
}

// TestForecastFastSensorNoise: a sensor reporting every second with 0.05 K of noise does not
// look like a fast rise (its rate is taken over at least 20 s), while a real rise still does.
func TestForecastFastSensorNoise(t *testing.T) {
	s := newStore(t, Config{ReportInterval: time.Second, MaxAge: time.Minute})
	at := t0
	for k := 0; k < 60; k++ {
		at = at.Add(time.Second)
		v := 24.0 + 0.05*float64(k%2*2-1)
		if _, err := s.Update(Reading{ID: "a", Value: v, Gateway: at, Seq: uint8(k)}, at); err != nil {
			t.Fatal(err)
		}
		if hot, ahead, _ := s.Forecast([]string{"a"}, time.Minute, 0.06, at); ahead != hot {
			t.Fatalf("report %d: noise forecast %g over %g", k, ahead, hot)
		}
	}
	for k := 60; k < 90; k++ { // then 0.2 K/s
		at = at.Add(time.Second)
		if _, err := s.Update(Reading{ID: "a", Value: 24 + 0.2*float64(k-59), Gateway: at, Seq: uint8(k)}, at); err != nil {
			t.Fatal(err)
		}
	}
	if hot, ahead, _ := s.Forecast([]string{"a"}, time.Minute, 0.06, at); ahead-hot < 5 {
		t.Fatalf("a 0.2 K/s rise forecasts only %g over %g", ahead-hot, hot)
	}
}
