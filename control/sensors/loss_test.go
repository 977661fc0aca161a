package sensors

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// lossZone: two nodes of three channels (1 bottom, 2 middle, 3 top); the tops are the hot spot.
var lossIDs = []string{"a/1", "a/2", "a/3", "b/1", "b/2", "b/3"}

var lossOffset = map[string]float64{"a/1": -2.5, "a/2": -1.5, "a/3": 0, "b/1": -2.8, "b/2": -1.9, "b/3": -0.6}

// lossRig feeds the zone every 30 s: base(t) + the sensor's offset + a small deterministic wiggle,
// unless the sensor is frozen (its last value repeated) or dead (silent).
type lossRig struct {
	t      *testing.T
	s      *Store
	mem    *ZoneMemory
	now    time.Time
	seq    map[string]uint8
	last   map[string]float64
	frozen map[string]bool
	dead   map[string]bool
	k      int
}

func newLossRig(t *testing.T) *lossRig {
	return &lossRig{t: t, s: newStore(t, Config{ReportInterval: 30 * time.Second}), mem: NewZoneMemory(), now: t0,
		seq: map[string]uint8{}, last: map[string]float64{}, frozen: map[string]bool{}, dead: map[string]bool{}}
}

// step advances 30 s at base temperature base and returns the zone's aggregate.
func (r *lossRig) step(base float64) Aggregate {
	r.t.Helper()
	r.now = r.now.Add(30 * time.Second)
	r.k++
	for i, id := range lossIDs {
		if r.dead[id] {
			continue
		}
		v := base + lossOffset[id] + 0.02*float64((r.k+i)%3-1)
		if r.frozen[id] {
			v = r.last[id]
		}
		r.last[id] = v
		r.seq[id]++
		if _, err := r.s.Update(Reading{ID: id, Value: v, Gateway: r.now, Seq: r.seq[id]}, r.now); err != nil {
			r.t.Fatal(err)
		}
	}
	return r.s.Measure(r.mem, lossIDs, ZoneConfig{}, r.now)
}

// TestLostHotSpotIsCarried: the top sensors freeze cool while the room warms, then die; the zone's
// value follows the true hot spot (its offset over the survivors) and never drops, the loss is
// named, and the frozen probes are judged in minutes, not after FrozenAfter (30 min).
func TestLostHotSpotIsCarried(t *testing.T) {
	r := newLossRig(t)
	base := 24.0
	for range 40 { // 20 min steady: offsets learned
		if a := r.step(base); !a.OK || len(a.Carried) > 0 || len(a.Flat) > 0 {
			t.Fatalf("steady zone: %+v", a)
		}
	}
	if d, ok := r.mem.Offset("b/1"); !ok || math.Abs(d-(-2.8)) > 0.05 {
		t.Fatalf("b/1 offset %g %v, want about -2.8", d, ok)
	}
	r.frozen["a/3"], r.frozen["b/3"] = true, true
	prev := r.step(base).Value
	judged := time.Duration(0)
	start := r.now
	for k := range 60 { // 30 min: the room warms 0.05 K a report (3 K in all)
		base += 0.05
		if k == 30 {
			r.dead["a/3"], r.dead["b/3"] = true, true // and then they die
		}
		a := r.step(base)
		truth := base // a/3's true value
		if !a.OK {
			t.Fatalf("zone not OK at %v: %s", r.now.Sub(start), a.Reason)
		}
		if a.Value < prev-0.03 { // the wiggle, no more
			t.Fatalf("zone value dropped from %.3f to %.3f at %v (carried %v)", prev, a.Value, r.now.Sub(start), a.Carried)
		}
		if slices.Contains(a.Flat, "a/3") && judged == 0 {
			judged = r.now.Sub(start)
		}
		if judged > 0 {
			if len(a.Carried) == 0 || !strings.Contains(a.Carried[0].String(), "a/3") {
				t.Fatalf("at %v the loss is not named: %+v", r.now.Sub(start), a.Carried)
			}
			if a.Value < truth-0.35 || a.Value > truth+0.8 {
				t.Fatalf("at %v zone %.2f, true hot spot %.2f", r.now.Sub(start), a.Value, truth)
			}
		}
		prev = a.Value
	}
	if judged == 0 || judged > 6*time.Minute {
		t.Fatalf("frozen probes judged after %v, want within 6 min", judged)
	}
}

// TestSilentNodeIsCarried: node a (which carries the hot spot) goes silent while the room warms;
// after 2.5 report intervals its sensors are carried on b's movement.
func TestSilentNodeIsCarried(t *testing.T) {
	r := newLossRig(t)
	base := 24.0
	for range 40 {
		r.step(base)
	}
	r.dead["a/1"], r.dead["a/2"], r.dead["a/3"] = true, true, true
	var a Aggregate
	for range 5 { // 2.5 min, within MaxAge (90 s default is 3 x 30 s: stale after 3 reports)
		base += 0.1
		a = r.step(base)
	}
	if a.OK && a.Value < base-0.35 {
		t.Fatalf("zone %.2f while the true hot spot is %.2f (carried %v, silent %v)", a.Value, base, a.Carried, a.Silent)
	}
	if !slices.Contains(a.Silent, "a/3") && a.Counts["stale"] == 0 {
		t.Fatalf("node a neither silent nor stale: %+v", a)
	}
}

// TestSteadyZoneNothingFrozen: a steady zone whose values repeat exactly, and one sensor jumping
// hot, judge nothing frozen (one mover is no evidence against the rest).
func TestSteadyZoneNothingFrozen(t *testing.T) {
	s := newStore(t, Config{ReportInterval: 30 * time.Second})
	mem := NewZoneMemory()
	now := t0
	for k := range 30 {
		now = now.Add(30 * time.Second)
		for i, id := range lossIDs {
			v := 24 + lossOffset[id]
			if i == 0 && k > 20 {
				v = 30 + 0.5*float64(k) // a/1 runs away hot
			}
			s.Update(Reading{ID: id, Value: v, Gateway: now, Seq: uint8(k)}, now)
		}
		a := s.Measure(mem, lossIDs, ZoneConfig{}, now)
		if len(a.Flat) > 0 || !a.OK {
			t.Fatalf("report %d: flat %v (%s)", k, a.Flat, a.Reason)
		}
	}
}

func TestLossConfigValidation(t *testing.T) {
	for _, l := range []LossConfig{{FlatReports: 1}, {MoveK: 0.01}, {SilentFactor: 1}, {OffsetTau: time.Millisecond}, {GrowKph: -1}, {GrowMaxK: math.NaN()}} {
		if _, err := (ZoneConfig{Loss: l}).withDefaults(3); err == nil {
			t.Errorf("%+v accepted", l)
		}
	}
}

// TestLossKeptWhenTheSurvivorsGoSilent: the hot spot's node dies, then the other node goes silent
// too (a gateway down): until the sensors are stale the zone keeps the carried hot spot instead of
// reading the cooler survivors' last values.
func TestLossKeptWhenTheSurvivorsGoSilent(t *testing.T) {
	r := newLossRig(t)
	for range 40 {
		r.step(24)
	}
	hot := r.step(24).Value
	r.dead["a/1"], r.dead["a/2"], r.dead["a/3"] = true, true, true
	for range 6 {
		if a := r.step(24); a.Value < hot-0.05 {
			t.Fatalf("hot node dead: zone %.2f, was %.2f", a.Value, hot)
		}
	}
	r.dead["b/1"], r.dead["b/2"], r.dead["b/3"] = true, true, true
	for k := range 10 {
		a := r.step(24)
		if !a.OK {
			break // stale: the zone is insufficient, and the engine runs fail-safe
		}
		if a.Value < hot-0.05 {
			t.Fatalf("step %d, every node silent: zone %.2f, was %.2f (carried %v)", k, a.Value, hot, a.Carried)
		}
	}
}

// TestRestoredOffsetsCarryAtOnce: the learned offsets outlive the memory (a restart, a takeover):
// a fresh memory given them carries a hot spot that is already dead, so the zone does not read
// its cooler survivors; a fresh memory without them does (what a restart did before). A bad
// offset is refused whole and changes nothing.
func TestRestoredOffsetsCarryAtOnce(t *testing.T) {
	r := newLossRig(t)
	for range 40 {
		r.step(24)
	}
	saved := r.mem.Offsets()
	if d := saved["a/3"]; len(saved) != len(lossIDs) || math.Abs(d) > 0.05 {
		t.Fatalf("offsets %v", saved)
	}
	saved["a/3"] -= 0.001 // a copy: the memory is not changed through it
	if d, _ := r.mem.Offset("a/3"); d == saved["a/3"] {
		t.Fatal("Offsets returned the memory's own values")
	}
	r.dead["a/3"], r.dead["b/3"] = true, true
	for range 8 { // 4 min: the tops are stale (MaxAge 3 intervals by default)
		r.step(24)
	}
	r.mem = NewZoneMemory() // the board restarted
	if err := r.mem.RestoreOffsets(saved, r.now); err != nil {
		t.Fatal(err)
	}
	warm := r.step(24)
	fresh := r.s.Measure(NewZoneMemory(), lossIDs, ZoneConfig{}, r.now)
	t.Logf("restored: %.2f C (carried %v); without offsets %.2f C", warm.Value, warm.Carried, fresh.Value)
	if warm.Value < 24-0.1 || len(warm.Carried) == 0 {
		t.Errorf("restored memory: zone %.2f C, carried %v; the hot spot is at 24", warm.Value, warm.Carried)
	}
	if !(fresh.Value < 24-0.4) {
		t.Errorf("without offsets the zone reads %.2f C: the test shows nothing", fresh.Value)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), MaxOffsetK + 1} {
		m := NewZoneMemory()
		if err := m.RestoreOffsets(map[string]float64{"a/1": -1, "a/2": bad}, r.now); !errors.Is(err, ErrBadOffset) {
			t.Errorf("offset %v: %v", bad, err)
		}
		if len(m.Offsets()) != 0 {
			t.Errorf("offset %v: the memory took %v", bad, m.Offsets())
		}
	}
}
