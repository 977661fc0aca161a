package sensors

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults for zero-valued OutlierConfig fields.
const (
	DefaultOutlierK       = 3.5  // robust standard deviations (1.4826 x MAD)
	DefaultColdFloor      = 4.0  // K below the zone median, at least
	DefaultHotFloor       = 15.0 // K above the zone median, at least
	DefaultOutlierMin     = 3    // fresh sensors needed to call any outlier
	DefaultHotOutlierMinN = 5    // fresh sensors needed to discard a hot one
)

// OutlierConfig sets the zone outlier test. A fresh sensor is an outlier when its distance from
// the median of the zone's fresh sensors exceeds both K robust standard deviations (1.4826 x the
// median absolute deviation) and a floor in kelvin. The test is asymmetric because cooling must
// fail safe: a cold outlier (a probe on the floor, in front of a perforated tile) is dropped at
// ColdFloor with MinSensors fresh sensors. A hot one (HotFloor kelvin above the median) may be a
// real hot spot (recirculation, a missing blanking panel): it is always reported (HotOutliers)
// and counts in the zone, unless it is proven implausible: with HotMinSensors fresh sensors in
// the zone, its own node's other channels (at least two, fresh) all read near the median
// (within ColdFloor) and more than HotFloor below it. Statistics alone never drop heat.
type OutlierConfig struct {
	Disable       bool    `json:"disable" toml:"disable"`
	K             float64 `json:"k" toml:"k"`
	ColdFloor     float64 `json:"cold_floor_k" toml:"cold_floor_k"`
	HotFloor      float64 `json:"hot_floor_k" toml:"hot_floor_k"`
	MinSensors    int     `json:"min_sensors" toml:"min_sensors"`
	HotMinSensors int     `json:"hot_min_sensors" toml:"hot_min_sensors"`
}

// ZoneConfig sets how a zone's sensors become one measurement.
type ZoneConfig struct {
	// MinValid (N) is how many valid sensors the loop needs; 0 means min(2, M) for M sensors.
	MinValid int `json:"min_valid" toml:"min_valid"`
	// Percentile: 0 (or 100) aggregates by the hottest valid inlet; 1..99 takes that percentile
	// (linear interpolation between order statistics), e.g. 90 for p90. See ParseAggregate.
	Percentile float64       `json:"percentile" toml:"percentile"`
	Outliers   OutlierConfig `json:"outliers" toml:"outliers"`
	Loss       LossConfig    `json:"loss" toml:"loss"`
}

// ParseAggregate turns "max" (or "") into 0 and "pNN" into NN, for ZoneConfig.Percentile.
func ParseAggregate(s string) (float64, error) {
	if s == "" || s == "max" {
		return 0, nil
	}
	if n, ok := strings.CutPrefix(s, "p"); ok {
		if v, err := strconv.ParseFloat(n, 64); err == nil && v >= 1 && v <= 100 {
			return v, nil
		}
	}
	return 0, cfgErr("aggregate", "must be max or p1..p100 (got %q)", s)
}

func (z ZoneConfig) withDefaults(m int) (ZoneConfig, error) {
	if z.MinValid == 0 {
		z.MinValid = min(2, m)
	}
	if z.MinValid < 1 || z.MinValid > m {
		return z, cfgErr("min_valid", "must be 1..%d, the zone's sensor count (got %d)", m, z.MinValid)
	}
	if !finite(z.Percentile) || z.Percentile < 0 || z.Percentile > 100 || (z.Percentile > 0 && z.Percentile < 1) {
		return z, cfgErr("percentile", "must be 0 (max) or 1..100 (got %g)", z.Percentile)
	}
	o := &z.Outliers
	if o.K == 0 {
		o.K = DefaultOutlierK
	}
	if o.ColdFloor == 0 {
		o.ColdFloor = DefaultColdFloor
	}
	if o.HotFloor == 0 {
		o.HotFloor = DefaultHotFloor
	}
	if o.MinSensors == 0 {
		o.MinSensors = DefaultOutlierMin
	}
	if o.HotMinSensors == 0 {
		o.HotMinSensors = DefaultHotOutlierMinN
	}
	switch {
	case !finite(o.K) || o.K < 1:
		return z, cfgErr("outliers.k", "must be >= 1 (got %g)", o.K)
	case !finite(o.ColdFloor) || o.ColdFloor < 0.5:
		return z, cfgErr("outliers.cold_floor_k", "must be >= 0.5 K (got %g)", o.ColdFloor)
	case !finite(o.HotFloor) || o.HotFloor < o.ColdFloor:
		return z, cfgErr("outliers.hot_floor_k", "must be >= cold_floor_k %g (got %g)", o.ColdFloor, o.HotFloor)
	case o.MinSensors < 3:
		return z, cfgErr("outliers.min_sensors", "must be >= 3 (got %d)", o.MinSensors)
	case o.HotMinSensors < max(o.MinSensors, 4):
		return z, cfgErr("outliers.hot_min_sensors", "must be >= max(min_sensors, 4) (got %d)", o.HotMinSensors)
	}
	if err := z.Loss.withDefaults(); err != nil {
		return z, err
	}
	return z, nil
}

// Member is one sensor of a zone in an Aggregate.
type Member struct {
	ID      string  `json:"id"`
	Quality Quality `json:"quality"`
	Value   float64 `json:"value"` // latest value (0 when missing or faulty)
	// Smoothed is the sensor's smoothed value, which the zone aggregate is taken over (Value
	// when it has none).
	Smoothed float64       `json:"smoothed"`
	Age      time.Duration `json:"age"`
	// Unchanged counts the reports in a row with this value (FrozenTol), this one included.
	Unchanged int  `json:"unchanged"`
	Used      bool `json:"used"` // counted in Value
}

// Aggregate is a zone's measurement at an instant.
type Aggregate struct {
	// Value is the loop's measurement: the hottest valid inlet or the configured percentile, over
	// the used sensors' smoothed values (Member.Smoothed). It is NaN unless OK, so that a caller
	// that forgets to check OK cannot drive a loop with it (pid holds its output on NaN); use
	// Partial for display.
	Value float64
	OK    bool   // Valid >= Need: the loop may run; otherwise the zone is Insufficient -> fail-safe
	Valid int    // sensors used
	Total int    // distinct sensors configured (M)
	Need  int    // N
	Worst string // id of the hottest valid sensor (by its latest raw value)
	// WorstC is Worst's latest raw value: the alarm limit applies to every counted inlet as it
	// reads, not only to the smoothed aggregate (a p90 zone can hide one rack far above it).
	WorstC  float64
	Partial float64 // the same aggregate as Value over whatever sensors are valid, OK or not (0 if none)
	// HottestFresh is the hottest fresh reading including implausible ones, with its id, for
	// alarms.
	HottestFresh   float64
	HottestFreshID string
	Median         float64 // median of the fresh sensors (outlier reference)
	// HotOutliers are the fresh sensors far above the median: hot spots, to be alarmed at once.
	// They count in Value unless also in Implausible.
	HotOutliers []string
	// Implausible are the hot outliers left out of Value because their own node's other channels
	// contradict them (see OutlierConfig); they too must be alarmed.
	Implausible []string
	// AboveRange are the sensors whose latest value lies above the plausible range (OutOfRange,
	// not used): a hot reading that is not counted must still be reported.
	AboveRange []string
	// Flat are the sensors the zone judged Frozen in minutes (flat while their neighbours moved,
	// see LossConfig): not used. Silent are the sensors of nodes gone silent (every channel
	// overdue): still used until MaxAge, and carried by Store.Measure.
	Flat, Silent []string
	// Carried are the lost sensors (see Store.Measure) whose estimate, their learned offset over
	// the survivors, raises Value; Survivors is what Value would be without them.
	Carried   []Carried
	Survivors float64
	Members   []Member
	Counts    map[string]int // by quality name
	Reason    string         // why not OK (empty when OK)
}

// MarshalJSON writes NaN values as null (encoding/json refuses NaN).
func (a Aggregate) MarshalJSON() ([]byte, error) {
	type plain Aggregate
	var v *float64
	if finite(a.Value) {
		v = &a.Value
	}
	return json.Marshal(struct {
		Value *float64
		plain
	}{v, plain(a)})
}

// Zone aggregates the sensors zoneSensors (duplicates ignored) at now. It never fails: a bad cfg
// gives an Aggregate that is not OK with the reason.
func (s *Store) Zone(zoneSensors []string, cfg ZoneConfig, now time.Time) Aggregate {
	ids := make([]string, 0, len(zoneSensors))
	for _, id := range zoneSensors {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	a := Aggregate{Value: math.NaN(), Total: len(ids), Counts: map[string]int{}}
	if len(ids) == 0 {
		a.Reason = "zone has no sensors"
		return a
	}
	z, err := cfg.withDefaults(len(ids))
	if err != nil {
		a.Reason = err.Error()
		return a
	}
	a.Need = z.MinValid

	s.mu.Lock()
	ents := make([]*entry, 0, len(ids))
	for _, id := range ids {
		e := s.m[id]
		ents = append(ents, e)
		m := Member{ID: id, Quality: s.classify(e, now)}
		if e != nil && e.accepted > 0 {
			m.Age = max(now.Sub(e.last.Arrived), 0)
			if !e.last.Fault {
				m.Value = e.last.Value
			}
		}
		m.Smoothed = m.Value
		if e != nil && e.haveFilt && !e.last.Fault {
			m.Smoothed = e.filt
			m.Unchanged = e.runN
		}
		a.Members = append(a.Members, m)
	}
	if !z.Loss.Disable {
		a.Flat, a.Silent = s.lossVerdicts(a.Members, ents, z.Loss, now)
	}
	s.mu.Unlock()

	var fresh []float64
	for _, m := range a.Members {
		if m.Quality == Fresh {
			fresh = append(fresh, m.Value)
		}
	}
	if len(fresh) > 0 {
		a.Median = quantile(fresh, 50)
	}
	o := z.Outliers
	if !o.Disable && len(fresh) >= o.MinSensors {
		dev := make([]float64, len(fresh))
		for i, v := range fresh {
			dev[i] = math.Abs(v - a.Median)
		}
		sigma := 1.4826 * quantile(dev, 50)
		var hot []int
		for i := range a.Members {
			m := &a.Members[i]
			if m.Quality != Fresh {
				continue
			}
			d := m.Value - a.Median
			switch {
			case d < 0 && -d > math.Max(o.K*sigma, o.ColdFloor):
				m.Quality = Outlier
			case d > 0 && d > math.Max(o.K*sigma, o.HotFloor):
				a.HotOutliers = append(a.HotOutliers, m.ID)
				hot = append(hot, i)
			}
		}
		if len(fresh) >= o.HotMinSensors {
			for _, i := range hot {
				if a.contradicted(i, o) {
					a.Members[i].Quality = Outlier
					a.Implausible = append(a.Implausible, a.Members[i].ID)
				}
			}
		}
	}
	for _, m := range a.Members {
		if m.Quality == OutOfRange && m.Value > a.Median && m.Value != 0 {
			a.AboveRange = append(a.AboveRange, m.ID)
		}
	}

	var used []float64
	for i := range a.Members {
		m := &a.Members[i]
		a.Counts[m.Quality.String()]++
		if m.Quality == Fresh || (m.Quality == Outlier && m.Value > a.Median) {
			if a.HottestFreshID == "" || m.Value > a.HottestFresh {
				a.HottestFresh, a.HottestFreshID = m.Value, m.ID
			}
		}
		if m.Quality != Fresh {
			continue
		}
		m.Used = true
		used = append(used, m.Smoothed)
		if a.Worst == "" || m.Value > a.WorstC {
			a.Worst, a.WorstC = m.ID, m.Value
		}
	}
	a.Valid = len(used)
	if a.Valid > 0 {
		a.Partial = quantile(used, z.Percentile)
	}
	a.OK = a.Valid >= a.Need
	if a.OK {
		a.Value = a.Partial
		return a
	}
	var bad []string
	for _, m := range a.Members {
		if !m.Used {
			bad = append(bad, m.ID+" "+m.Quality.String())
		}
	}
	a.Reason = fmt.Sprintf("insufficient: %d of %d sensors valid, need %d (%s)", a.Valid, a.Total, a.Need, strings.Join(bad, ", "))
	return a
}

// contradicted reports whether member i (a hot outlier) is belied by its own node: at least two
// other channels of the node are fresh, all within o.ColdFloor of the zone median and more than
// o.HotFloor below member i.
func (a *Aggregate) contradicted(i int, o OutlierConfig) bool {
	node, _, ok := strings.Cut(a.Members[i].ID, "/")
	if !ok {
		return false
	}
	n := 0
	for j, m := range a.Members {
		if j == i {
			continue
		}
		mn, _, _ := strings.Cut(m.ID, "/")
		if mn != node {
			continue
		}
		if m.Quality != Fresh || math.Abs(m.Value-a.Median) > o.ColdFloor || a.Members[i].Value-m.Value <= o.HotFloor {
			return false
		}
		n++
	}
	return n >= 2
}

// NodeOf is the node part of a sensor id ("00-17-0d-00-00-38-0a-1f" of ".../2").
func NodeOf(id string) string {
	n, _, _ := strings.Cut(id, "/")
	return n
}

// quantile is the p-th percentile (1..99) of xs by linear interpolation between order statistics
// (Hyndman-Fan type 7), its max for p <= 0 or >= 100. xs is not modified.
func quantile(xs []float64, p float64) float64 {
	if p <= 0 || p >= 100 {
		return slices.Max(xs)
	}
	v := slices.Clone(xs)
	slices.Sort(v)
	pos := p / 100 * float64(len(v)-1)
	lo := int(math.Floor(pos))
	if lo >= len(v)-1 {
		return v[len(v)-1]
	}
	f := pos - float64(lo)
	return v[lo] + f*(v[lo+1]-v[lo])
}
