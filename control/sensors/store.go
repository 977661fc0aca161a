package sensors

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// Quality is the class of a sensor at an instant. Only Fresh sensors count in a zone.
type Quality uint8

// The classes, from the sensor's own history (Classify) and, for Outlier, from its zone (Zone).
const (
	Fresh      Quality = iota // a recent, plausible, changing value
	Missing                   // never heard from
	Stale                     // last reading arrived more than MaxAge ago
	ProbeFault                // the node flagged the probe as faulty in its last report
	OutOfRange                // last value outside the plausible range [Min, Max]
	Frozen                    // value unchanged (within FrozenTol) for FrozenAfter or longer
	Outlier                   // implausibly far from the other sensors of its zone (see ZoneConfig)
	numQualities
)

var qualityNames = [...]string{"fresh", "missing", "stale", "probe-fault", "out-of-range", "frozen", "outlier"}

func (q Quality) String() string {
	if q < numQualities {
		return qualityNames[q]
	}
	return fmt.Sprintf("quality(%d)", uint8(q))
}

// MarshalText implements encoding.TextMarshaler.
func (q Quality) MarshalText() ([]byte, error) { return []byte(q.String()), nil }

// Valid reports whether a sensor of this quality may feed a loop.
func (q Quality) Valid() bool { return q == Fresh }

// Outcome says what Update did with a reading.
type Outcome uint8

const (
	Accepted   Outcome = iota // stored as the sensor's latest reading
	Duplicate                 // same gateway time and node seq as the latest: ignored
	OutOfOrder                // older than the latest: ignored
	// Resynced: older than the latest, but the ResyncAfter-th in a row of a stream moving forward:
	// the gateway clock stepped back, so it is accepted as the new latest.
	Resynced
	Rejected // bad input (see the error)
)

var outcomeNames = [...]string{"accepted", "duplicate", "out-of-order", "resynced", "rejected"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Sentinel errors.
var (
	// ErrConfig: a Config or ZoneConfig field is invalid; the message names it.
	ErrConfig = errors.New("sensors: invalid config")
	// ErrReading: a reading has no id, a too long id, or a non-finite value without the fault flag.
	ErrReading = errors.New("sensors: bad reading")
	// ErrTooMany: the store already tracks MaxSensors sensors; a new id is refused.
	ErrTooMany = errors.New("sensors: too many sensors")
	// ErrBadOffset: a learned offset to restore is not finite or beyond MaxOffsetK.
	ErrBadOffset = errors.New("sensors: bad learned offset")
)

// Reading is one inlet temperature as delivered by the mesh.
type Reading struct {
	ID      string    // "00-17-0d-00-00-38-0a-1f/2"
	Value   float64   // °C; ignored when Fault
	Fault   bool      // the node reported a probe fault for this channel
	Arrived time.Time // arrival on the controller's monotonic clock; zero: the now given to Update
	Gateway time.Time // the gateway's time stamp: orders readings, never used for ages
	Seq     uint8     // the node's report sequence number (wraps)
}

// Defaults for zero-valued Config fields.
const (
	DefaultReportInterval = time.Minute
	DefaultFrozenAfter    = 30 * time.Minute
	DefaultFrozenTol      = 0.001 // K: only a value repeated exactly (after quantisation) is "unchanged"
	DefaultMin            = 5.0   // °C
	DefaultMax            = 50.0  // °C
	DefaultResyncAfter    = 3
	DefaultMaxSensors     = 4096
	maxIDLen              = 64
	// DefaultSmoothAlpha is the weight of a new report in a sensor's smoothed value (an
	// exponential average over about three reports). The hottest of many noisy sensors is biased
	// up and jumps with every report; averaging each sensor before the max removes most of both.
	DefaultSmoothAlpha = 0.4
	// DefaultSmoothJumpK: a report this far (K) from the smoothed value is a real change (a load
	// step, a hot spot), not noise, and is taken at once: the filter never delays heat.
	DefaultSmoothJumpK = 0.3
	// DefaultLowRelaxKps: a sensor's recent low (see Store.Rise) relaxes upwards at this rate
	// (K/s), so that a slow drift is not taken for a rise.
	DefaultLowRelaxKps = 0.3 / 120
)

// Config sets the per-sensor classification. The zero value is usable: 60 s reports, stale after
// 3 min, frozen after 30 min, plausible 5..50 °C.
type Config struct {
	// ReportInterval is how often sensors are expected to report (30 s .. 5 min in the field).
	ReportInterval time.Duration `json:"report_interval" toml:"report_interval"`
	// MaxAge: a sensor whose last reading arrived longer ago is Stale. Default 3 x ReportInterval,
	// so one or two lost reports are tolerated. Use the slowest interval of a mixed fleet.
	MaxAge time.Duration `json:"max_age" toml:"max_age"`
	// FrozenAfter: a value unchanged for this long is Frozen. Default 30 min (a quantised sensor in
	// a steady room repeats legitimately for minutes); < 0 disables the check.
	FrozenAfter time.Duration `json:"frozen_after" toml:"frozen_after"`
	// FrozenTol: changes up to this (K) from the value that started the run count as unchanged.
	FrozenTol float64 `json:"frozen_tol" toml:"frozen_tol"`
	// Min and Max bound plausible values (°C); both zero means 5..50.
	Min float64 `json:"min" toml:"min"`
	Max float64 `json:"max" toml:"max"`
	// ResyncAfter: this many older-than-latest readings in a row, each newer than the one before,
	// mean the gateway clock stepped back; the last of them is accepted. Default 3.
	ResyncAfter int `json:"resync_after" toml:"resync_after"`
	// MaxSensors bounds memory against a flood of ids. Default 4096.
	MaxSensors int `json:"max_sensors" toml:"max_sensors"`
	// SmoothAlpha (0..1, default 0.4) and SmoothJumpK (K, default 0.3): each sensor's smoothed
	// value, which the zone aggregate is taken over, is an exponential average with weight
	// SmoothAlpha per report; a report further than SmoothJumpK from it is taken at once. A
	// negative SmoothAlpha disables the smoothing (the raw values are aggregated).
	SmoothAlpha float64 `json:"smooth_alpha" toml:"smooth_alpha"`
	SmoothJumpK float64 `json:"smooth_jump_k" toml:"smooth_jump_k"`
	// LowRelaxKps: how fast (K/s) a sensor's recent low relaxes upwards (Store.Rise). Default
	// 0.3 K per 2 min.
	LowRelaxKps float64 `json:"low_relax_kps" toml:"low_relax_kps"`
}

func cfgErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrConfig, field, fmt.Sprintf(format, args...))
}

func (c Config) withDefaults() (Config, error) {
	if c.ReportInterval == 0 {
		c.ReportInterval = DefaultReportInterval
	}
	if c.ReportInterval < time.Second || c.ReportInterval > time.Hour {
		return c, cfgErr("report_interval", "must be 1s..1h (got %v)", c.ReportInterval)
	}
	if c.MaxAge == 0 {
		c.MaxAge = 3 * c.ReportInterval
	}
	if c.MaxAge < c.ReportInterval {
		return c, cfgErr("max_age", "must be >= report_interval %v (got %v)", c.ReportInterval, c.MaxAge)
	}
	if c.FrozenAfter == 0 {
		c.FrozenAfter = DefaultFrozenAfter
	}
	if c.FrozenAfter > 0 && c.FrozenAfter < 2*c.ReportInterval {
		return c, cfgErr("frozen_after", "must be >= 2 x report_interval (got %v)", c.FrozenAfter)
	}
	if c.FrozenTol == 0 {
		c.FrozenTol = DefaultFrozenTol
	}
	if math.IsNaN(c.FrozenTol) || c.FrozenTol < 0 || c.FrozenTol > 5 {
		return c, cfgErr("frozen_tol", "must be 0..5 K (got %g)", c.FrozenTol)
	}
	if c.Min == 0 && c.Max == 0 {
		c.Min, c.Max = DefaultMin, DefaultMax
	}
	if !finite(c.Min) || !finite(c.Max) || c.Max <= c.Min {
		return c, cfgErr("max", "plausible range needs finite min < max (got %g..%g)", c.Min, c.Max)
	}
	if c.ResyncAfter == 0 {
		c.ResyncAfter = DefaultResyncAfter
	}
	if c.ResyncAfter < 2 {
		return c, cfgErr("resync_after", "must be >= 2 (got %d)", c.ResyncAfter)
	}
	if c.MaxSensors == 0 {
		c.MaxSensors = DefaultMaxSensors
	}
	if c.MaxSensors < 1 {
		return c, cfgErr("max_sensors", "must be >= 1 (got %d)", c.MaxSensors)
	}
	if c.SmoothAlpha == 0 {
		c.SmoothAlpha = DefaultSmoothAlpha
	}
	if math.IsNaN(c.SmoothAlpha) || c.SmoothAlpha > 1 {
		return c, cfgErr("smooth_alpha", "must be <= 1 (got %g)", c.SmoothAlpha)
	}
	if c.SmoothJumpK == 0 {
		c.SmoothJumpK = DefaultSmoothJumpK
	}
	if !finite(c.SmoothJumpK) || c.SmoothJumpK < 0 || c.SmoothJumpK > 10 {
		return c, cfgErr("smooth_jump_k", "must be 0..10 K (got %g)", c.SmoothJumpK)
	}
	if c.LowRelaxKps == 0 {
		c.LowRelaxKps = DefaultLowRelaxKps
	}
	if !finite(c.LowRelaxKps) || c.LowRelaxKps < 0 || c.LowRelaxKps > 1 {
		return c, cfgErr("low_relax_kps", "must be 0..1 K/s (got %g)", c.LowRelaxKps)
	}
	return c, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

type entry struct {
	last Reading // latest accepted reading (Arrived filled in)

	runStart time.Time // arrival of the first reading of the current run of unchanged values
	runRef   float64
	haveRun  bool

	rejStreak int // consecutive older-than-latest readings, each newer than the previous one
	rejGw     time.Time
	rejSeq    uint8

	interval time.Duration // smoothed observed report interval

	runN int // accepted good readings in the current run of unchanged values

	hist  [histLen]histPoint // the latest smoothed values, a ring (see moved)
	histI int
	histN int

	filt     float64 // smoothed value (valid when haveFilt)
	haveFilt bool
	low      float64 // recent low of filt, relaxing upwards (valid when haveLow)
	lowAt    time.Time
	haveLow  bool

	accepted, duplicates, outOfOrder, resyncs uint64
}

// Store holds the latest reading of every sensor and classifies them. It is safe for concurrent
// use: the mesh delivers readings while the engine and the console read.
type Store struct {
	cfg Config
	mu  sync.Mutex
	m   map[string]*entry
}

// NewStore validates cfg (filling in defaults) and returns an empty store.
func NewStore(cfg Config) (*Store, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Store{cfg: c, m: map[string]*entry{}}, nil
}

// Config returns the configuration in force, with defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// Update offers a reading that arrived at now (or at r.Arrived when set). Readings older than the
// sensor's latest (by gateway time) and duplicates (same gateway time and node seq) are ignored and
// counted; a bad reading is refused with an error and changes nothing.
func (s *Store) Update(r Reading, now time.Time) (Outcome, error) {
	if r.ID == "" || len(r.ID) > maxIDLen {
		return Rejected, fmt.Errorf("%w: id %q", ErrReading, r.ID)
	}
	if !r.Fault && !finite(r.Value) {
		return Rejected, fmt.Errorf("%w: %s value %g", ErrReading, r.ID, r.Value)
	}
	if r.Arrived.IsZero() {
		r.Arrived = now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[r.ID]
	if e == nil {
		if len(s.m) >= s.cfg.MaxSensors {
			return Rejected, fmt.Errorf("%w: %d tracked, refusing %s", ErrTooMany, len(s.m), r.ID)
		}
		e = &entry{}
		s.m[r.ID] = e
		s.accept(e, r)
		return Accepted, nil
	}
	if r.Gateway.After(e.last.Gateway) {
		s.accept(e, r)
		return Accepted, nil
	}
	if r.Gateway.Equal(e.last.Gateway) && r.Seq == e.last.Seq {
		e.duplicates++
		return Duplicate, nil
	}
	if e.rejStreak > 0 && r.Gateway.Equal(e.rejGw) && r.Seq == e.rejSeq {
		e.duplicates++ // a duplicate of a rejected reading: neither helps nor breaks a resync
		return Duplicate, nil
	}
	if e.rejStreak > 0 && r.Gateway.After(e.rejGw) {
		e.rejStreak++
	} else {
		e.rejStreak = 1
	}
	e.rejGw, e.rejSeq = r.Gateway, r.Seq
	if e.rejStreak >= s.cfg.ResyncAfter {
		e.resyncs++
		s.accept(e, r)
		return Resynced, nil
	}
	e.outOfOrder++
	return OutOfOrder, nil
}

func (s *Store) accept(e *entry, r Reading) {
	if e.accepted > 0 {
		if d := r.Arrived.Sub(e.last.Arrived); d > 0 {
			if e.interval == 0 {
				e.interval = d
			} else {
				e.interval += (d - e.interval) / 4
			}
		}
	}
	e.last = r
	e.accepted++
	e.rejStreak = 0
	if r.Fault {
		e.haveFilt = false // starts afresh from its next good report
		return             // a fault carries no value: it neither extends nor breaks a run
	}
	s.smooth(e, r)
	if !e.haveRun || math.Abs(r.Value-e.runRef) > s.cfg.FrozenTol {
		e.runStart, e.runRef, e.haveRun, e.runN = r.Arrived, r.Value, true, 0
	}
	e.runN++
}

// classify is Classify without the lock.
func (s *Store) classify(e *entry, now time.Time) Quality {
	if e == nil || e.accepted == 0 {
		return Missing
	}
	if now.Sub(e.last.Arrived) > s.cfg.MaxAge {
		return Stale
	}
	if e.last.Fault {
		return ProbeFault
	}
	if v := e.last.Value; v < s.cfg.Min || v > s.cfg.Max {
		return OutOfRange
	}
	if s.cfg.FrozenAfter > 0 && e.haveRun && e.last.Arrived.Sub(e.runStart) >= s.cfg.FrozenAfter {
		return Frozen
	}
	return Fresh
}

// Classify returns the sensor's own quality at now: Missing, Stale, ProbeFault, OutOfRange,
// Frozen or Fresh, checked in that order. Outlier needs the zone: see Zone.
func (s *Store) Classify(id string, now time.Time) Quality {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.classify(s.m[id], now)
}

// Latest returns the sensor's latest accepted reading.
func (s *Store) Latest(id string) (Reading, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[id]
	if e == nil {
		return Reading{}, false
	}
	return e.last, true
}

// Forget drops a sensor (e.g. removed from the configuration).
func (s *Store) Forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// Prune drops every sensor whose last reading arrived more than olderThan before now and returns
// how many it dropped. A pruned sensor that belongs to a zone reads Missing, which is just as
// invalid as Stale.
func (s *Store) Prune(now time.Time, olderThan time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, e := range s.m {
		if now.Sub(e.last.Arrived) > olderThan {
			delete(s.m, id)
			n++
		}
	}
	return n
}

// SensorStatus is one sensor in a Snapshot, for the console and the API.
type SensorStatus struct {
	ID           string        `json:"id"`
	Quality      Quality       `json:"quality"`
	Value        float64       `json:"value"` // latest value (0 for a fault)
	Fault        bool          `json:"fault"`
	Age          time.Duration `json:"age"`           // since the latest reading arrived
	Gateway      time.Time     `json:"gateway"`       // the latest reading's gateway time
	Seq          uint8         `json:"seq"`           // the latest reading's node seq
	UnchangedFor time.Duration `json:"unchanged_for"` // length of the current run of equal values
	Interval     time.Duration `json:"interval"`      // observed report interval (smoothed)
	Accepted     uint64        `json:"accepted"`
	Duplicates   uint64        `json:"duplicates"`
	OutOfOrder   uint64        `json:"out_of_order"`
	Resyncs      uint64        `json:"resyncs"`
}

// Snapshot lists every known sensor, sorted by id, classified at now. Quality here is the
// sensor's own (it never says Outlier: that is a zone's verdict, see Aggregate.Members).
func (s *Store) Snapshot(now time.Time) []SensorStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SensorStatus, 0, len(s.m))
	for id, e := range s.m {
		st := SensorStatus{
			ID: id, Quality: s.classify(e, now), Value: e.last.Value, Fault: e.last.Fault,
			Age: max(now.Sub(e.last.Arrived), 0), Gateway: e.last.Gateway, Seq: e.last.Seq,
			Interval: e.interval, Accepted: e.accepted, Duplicates: e.duplicates,
			OutOfOrder: e.outOfOrder, Resyncs: e.resyncs,
		}
		if st.Fault {
			st.Value = 0
		}
		if e.haveRun {
			st.UnchangedFor = e.last.Arrived.Sub(e.runStart)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
