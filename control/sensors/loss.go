package sensors

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Defaults for zero-valued LossConfig fields (see doc.go, "Sensor loss").
const (
	DefaultFlatAfter       = 4 * time.Minute
	DefaultFlatReports     = 4
	DefaultMoveK           = 0.3
	DefaultMovedNeighbours = 2
	DefaultSilentFactor    = 2.5
	DefaultOffsetTau       = 10 * time.Minute
	DefaultGrowKph         = 0.5
	DefaultGrowMaxK        = 1.0
)

// LossConfig sets how a zone notices lost sensors early and keeps their hot spot (Store.Measure).
type LossConfig struct {
	Disable bool `json:"disable" toml:"disable"`
	// A fresh sensor is Frozen in its zone when its value has not changed (Config.FrozenTol) for
	// FlatAfter and FlatReports reports, while at least MovedNeighbours (or all, if fewer) of the
	// zone's other fresh sensors have each moved MoveK (K, range of the smoothed value) since
	// its flat run began.
	FlatAfter       time.Duration `json:"flat_after" toml:"flat_after"`
	FlatReports     int           `json:"flat_reports" toml:"flat_reports"`
	MoveK           float64       `json:"move_k" toml:"move_k"`
	MovedNeighbours int           `json:"moved_neighbours" toml:"moved_neighbours"`
	// SilentFactor: a node every channel of which is overdue by this many times its own observed
	// report interval is silent: its sensors are Stale in the zone.
	SilentFactor float64 `json:"silent_factor" toml:"silent_factor"`
	// OffsetTau is the time constant of a sensor's learned offset from the zone's value.
	OffsetTau time.Duration `json:"offset_tau" toml:"offset_tau"`
	// A carried estimate grows by GrowKph (K/h), up to GrowMaxK, while it is carried: the longer
	// a hot spot is not seen, the less its old offset is worth, and the safe side is warmer.
	GrowKph  float64 `json:"grow_kph" toml:"grow_kph"`
	GrowMaxK float64 `json:"grow_max_k" toml:"grow_max_k"`
}

func (l *LossConfig) withDefaults() error {
	if l.FlatAfter == 0 {
		l.FlatAfter = DefaultFlatAfter
	}
	if l.FlatReports == 0 {
		l.FlatReports = DefaultFlatReports
	}
	if l.MoveK == 0 {
		l.MoveK = DefaultMoveK
	}
	if l.MovedNeighbours == 0 {
		l.MovedNeighbours = DefaultMovedNeighbours
	}
	if l.SilentFactor == 0 {
		l.SilentFactor = DefaultSilentFactor
	}
	if l.OffsetTau == 0 {
		l.OffsetTau = DefaultOffsetTau
	}
	if l.GrowKph == 0 {
		l.GrowKph = DefaultGrowKph
	}
	if l.GrowMaxK == 0 {
		l.GrowMaxK = DefaultGrowMaxK
	}
	switch {
	case l.FlatAfter < 0:
		return cfgErr("loss.flat_after", "must be >= 0 (got %v)", l.FlatAfter)
	case l.FlatReports < 2:
		return cfgErr("loss.flat_reports", "must be >= 2 (got %d)", l.FlatReports)
	case !finite(l.MoveK) || l.MoveK < 0.05 || l.MoveK > 10:
		return cfgErr("loss.move_k", "must be 0.05..10 K (got %g)", l.MoveK)
	case l.MovedNeighbours < 1:
		return cfgErr("loss.moved_neighbours", "must be >= 1 (got %d)", l.MovedNeighbours)
	case !finite(l.SilentFactor) || l.SilentFactor < 1.5:
		return cfgErr("loss.silent_factor", "must be >= 1.5 (got %g)", l.SilentFactor)
	case l.OffsetTau < time.Second:
		return cfgErr("loss.offset_tau", "must be >= 1s (got %v)", l.OffsetTau)
	case !finite(l.GrowKph) || l.GrowKph < 0 || l.GrowKph > 10:
		return cfgErr("loss.grow_kph", "must be 0..10 K/h (got %g)", l.GrowKph)
	case !finite(l.GrowMaxK) || l.GrowMaxK < 0 || l.GrowMaxK > 10:
		return cfgErr("loss.grow_max_k", "must be 0..10 K (got %g)", l.GrowMaxK)
	}
	return nil
}

// lossVerdicts marks fresh members Frozen (flat while their neighbours move) and lists those of
// nodes gone silent (still Fresh and used: their last value is younger than MaxAge; Measure
// carries them) and returns their ids. The caller holds s.mu; ents[i] is members[i]'s entry.
func (s *Store) lossVerdicts(members []Member, ents []*entry, l LossConfig, now time.Time) (flat, silent []string) {
	fresh := func(i int) bool { return members[i].Quality == Fresh && ents[i] != nil }
	isFlat := func(i int) bool {
		e := ents[i]
		return e.haveRun && e.runN >= l.FlatReports && e.last.Arrived.Sub(e.runStart) >= l.FlatAfter
	}
	var mark []int
	for i := range members {
		if !fresh(i) || !isFlat(i) {
			continue
		}
		// The others that moved must be at least MovedNeighbours and more than half of the zone's
		// other fresh sensors: one hot spot jumping in a steady (exactly repeating) zone does not
		// make every other sensor frozen.
		others, moved := 0, 0
		for k := range members {
			if k == i || !fresh(k) {
				continue
			}
			others++
			if !isFlat(k) && ents[k].moved(ents[i].runStart) >= l.MoveK {
				moved++
			}
		}
		if moved >= l.MovedNeighbours && 2*moved > others {
			mark = append(mark, i)
		}
	}
	for _, i := range mark {
		members[i].Quality = Frozen
		flat = append(flat, members[i].ID)
	}
	// Nodes: every channel in the zone overdue by SilentFactor x its own interval.
	overdue := func(i int) bool {
		e := ents[i]
		iv := e.interval
		if iv <= 0 {
			iv = s.cfg.ReportInterval
		}
		return now.Sub(e.last.Arrived) > time.Duration(l.SilentFactor*float64(iv))
	}
	done := map[string]bool{}
	for i := range members {
		if !fresh(i) {
			continue
		}
		n := NodeOf(members[i].ID)
		if done[n] {
			continue
		}
		done[n] = true
		var chans []int
		all := true
		for k := range members {
			if NodeOf(members[k].ID) != n || ents[k] == nil {
				continue
			}
			if members[k].Quality == Fresh && !overdue(k) {
				all = false
				break
			}
			if members[k].Quality == Fresh {
				chans = append(chans, k)
			}
		}
		if !all {
			continue
		}
		for _, k := range chans {
			silent = append(silent, members[k].ID)
		}
	}
	return flat, silent
}

// Carried is a lost sensor counted at its estimate in a zone's value.
type Carried struct {
	ID        string  `json:"id"`
	Quality   Quality `json:"quality"`    // why it is lost
	EstimateC float64 `json:"estimate_c"` // the value it is counted at
	OffsetK   float64 `json:"offset_k"`   // its learned offset from the zone's value
}

// ZoneMemory is what Store.Measure remembers of one zone between calls: each sensor's learned
// offset from the zone's value and the state of a carried loss. The zero value is not usable:
// use NewZoneMemory. It is not safe for concurrent use (one zone, one loop).
type ZoneMemory struct {
	off     map[string]*offset
	lost    map[string]time.Time // lost sensors with an offset, since when
	floor   float64              // continuity of the value at the onset of a loss, K
	last    float64
	hasLast bool
}

type offset struct {
	d  float64
	at time.Time
}

// NewZoneMemory returns an empty memory.
func NewZoneMemory() *ZoneMemory {
	return &ZoneMemory{off: map[string]*offset{}, lost: map[string]time.Time{}}
}

// Offset returns a sensor's learned offset from its zone's value (K, <= 0 for the max).
func (zm *ZoneMemory) Offset(id string) (float64, bool) {
	o := zm.off[id]
	if o == nil {
		return 0, false
	}
	return o.d, true
}

// MaxOffsetK bounds a learned offset taken from outside (a checkpoint, the active board's
// stream): a sensor more than this far from its zone's value is not one hot spot.
const MaxOffsetK = 30.0

// Offsets returns a copy of the learned offsets (K by sensor id), for a checkpoint.
func (zm *ZoneMemory) Offsets() map[string]float64 {
	out := make(map[string]float64, len(zm.off))
	for id, o := range zm.off {
		out[id] = o.d
	}
	return out
}

// CheckOffsets is RestoreOffsets' check alone, for a caller that must refuse a whole checkpoint
// before it restores any part of it: every offset finite and within MaxOffsetK.
func CheckOffsets(off map[string]float64) error {
	for id, d := range off {
		if math.IsNaN(d) || math.IsInf(d, 0) || math.Abs(d) > MaxOffsetK {
			return fmt.Errorf("%w: offset of %q: %v K", ErrBadOffset, id, d)
		}
	}
	return nil
}

// RestoreOffsets takes learned offsets from a checkpoint or from the active board, as if learned
// at now; offsets of other sensors stay. A carried loss is not part of a checkpoint: a sensor
// that is lost when its offset is restored is carried from then on (its growth starts at 0). It
// refuses the whole set, changing nothing, if any offset is not finite or beyond MaxOffsetK.
func (zm *ZoneMemory) RestoreOffsets(off map[string]float64, now time.Time) error {
	if err := CheckOffsets(off); err != nil {
		return err
	}
	for id, d := range off {
		zm.off[id] = &offset{d: d, at: now}
	}
	return nil
}

// Measure is Zone with memory: it learns each used sensor's offset from the zone's value while no
// loss is carried, and when sensors with a learned offset are lost (any quality but Fresh, or
// left out as outliers) it counts each at the survivors' estimate of the zone plus its own offset
// (growing by LossConfig.GrowKph), and never below the zone's value at the onset of the loss. The
// carry only ever raises Value (see doc.go, "Sensor loss"). mem nil is Zone.
func (s *Store) Measure(mem *ZoneMemory, zoneSensors []string, cfg ZoneConfig, now time.Time) Aggregate {
	a := s.Zone(zoneSensors, cfg, now)
	if mem == nil {
		return a
	}
	a.Survivors = a.Value
	z, err := cfg.withDefaults(max(a.Total, 1))
	if err != nil || z.Loss.Disable || !a.OK {
		mem.hasLast = false
		return a
	}
	l := z.Loss
	survEst, silentEst := math.Inf(-1), math.Inf(-1)
	vals := make([]float64, 0, len(a.Members))
	var lost []int // sensors with a learned offset, not used now or of a silent node
	for i, m := range a.Members {
		o := mem.off[m.ID]
		silent := slices.Contains(a.Silent, m.ID)
		switch {
		case o != nil && (!m.Used || silent):
			lost = append(lost, i)
			if m.Used {
				silentEst = math.Max(silentEst, m.Smoothed-o.d)
			}
		case m.Used:
			vals = append(vals, m.Smoothed)
			if o != nil && !silent {
				survEst = math.Max(survEst, m.Smoothed-o.d)
			}
		}
	}
	if math.IsInf(survEst, -1) && len(mem.lost) > 0 {
		// A loss is carried and every sensor left is of a silent node now: their last values
		// (still younger than MaxAge) are the best estimate there is; without one the carry
		// would end and the zone read the lost hot spot as cooler. (A zone gone silent all at
		// once keeps its last values as they are: nothing was lost relative to the rest.)
		survEst = silentEst
	}
	for id := range mem.lost {
		if !slices.ContainsFunc(lost, func(i int) bool { return a.Members[i].ID == id }) {
			delete(mem.lost, id)
		}
	}
	if len(mem.lost) == 0 && len(lost) == 0 {
		mem.floor = 0
	}
	raised := false
	if len(lost) > 0 && !math.IsInf(survEst, -1) {
		base := slices.Clone(vals)
		est := make([]float64, len(lost))
		fresh := false
		for k, i := range lost {
			m := a.Members[i]
			since, ok := mem.lost[m.ID]
			if !ok {
				since, fresh = now, true
				mem.lost[m.ID] = now
			}
			grow := math.Min(l.GrowMaxK, l.GrowKph*now.Sub(since).Hours())
			est[k] = survEst + mem.off[m.ID].d + grow
			if m.Used { // a silent node's last value stands if it is warmer
				est[k] = math.Max(est[k], m.Smoothed)
			}
			base = append(base, est[k])
		}
		v := quantile(base, z.Percentile)
		if fresh && mem.hasLast {
			// The loss must not read as "the room got cooler": the value goes on from where it was.
			mem.floor = math.Max(mem.floor, mem.last-v)
		}
		v += mem.floor
		if v > a.Value+1e-9 {
			raised = true
			for k, i := range lost {
				m := a.Members[i]
				if e := est[k] + mem.floor; e > a.Value {
					a.Carried = append(a.Carried, Carried{ID: m.ID, Quality: m.Quality, EstimateC: e, OffsetK: mem.off[m.ID].d})
				}
			}
			if len(a.Carried) == 0 { // raised by the floor alone: name the lost
				for k, i := range lost {
					m := a.Members[i]
					a.Carried = append(a.Carried, Carried{ID: m.ID, Quality: m.Quality, EstimateC: est[k] + mem.floor, OffsetK: mem.off[m.ID].d})
				}
			}
			a.Value, a.Partial = v, v
		}
	}
	if !raised {
		mem.learn(a, l, now)
	}
	mem.last, mem.hasLast = a.Value, true
	return a
}

// learn moves each used sensor's offset towards its smoothed value minus the zone's value, unless
// the zone's hottest sensor is flat (a probe stuck before it is judged would teach its neighbours
// a wrong offset).
func (zm *ZoneMemory) learn(a Aggregate, l LossConfig, now time.Time) {
	for _, m := range a.Members {
		if m.Used && m.ID == a.Worst && m.Unchanged >= learnFlatReports {
			return
		}
	}
	for _, m := range a.Members {
		if !m.Used || m.Unchanged >= learnFlatReports || slices.Contains(a.Silent, m.ID) {
			continue
		}
		d := m.Smoothed - a.Value
		o := zm.off[m.ID]
		if o == nil {
			zm.off[m.ID] = &offset{d: d, at: now}
			continue
		}
		dt := now.Sub(o.at).Seconds()
		if dt <= 0 {
			continue
		}
		o.d += (1 - math.Exp(-dt/l.OffsetTau.Seconds())) * (d - o.d)
		o.at = now
	}
}

// learnFlatReports: a sensor that repeated its value this many reports in a row teaches no offset
// (it may be stuck), and none is learned while the zone's hottest is one.
const learnFlatReports = 3

// String is the carried sensor for an alarm text.
func (c Carried) String() string {
	return fmt.Sprintf("%s (%s, counted at %.1f C, offset %+.1f K)", c.ID, c.Quality, c.EstimateC, c.OffsetK)
}
