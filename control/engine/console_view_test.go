package engine

import (
	"math"
	"testing"
)

// A fan in manual leaves the unit's valve loop in auto: it still moves with the supply air, and
// ValveMode says so (the console showed the fan's "manual" for both loops).
func TestValveModeIsTheValveLoopsOwn(t *testing.T) {
	h := newHarness(t, testConfig(t, 1, [][]string{{"u1"}}, 3), 900)
	h.run(10)
	if err := h.e.SetManual("u1", 60); err != nil {
		t.Fatal(err)
	}
	h.run(2)
	if m := h.unit("u1").Mode; m != ModeManual {
		t.Fatalf("fan mode %v", m)
	}
	if m, ok := h.e.ValveMode("u1"); !ok || m != "auto" {
		t.Fatalf("valve mode %q %v, want auto", m, ok)
	}
	before := h.cmd("u1").ValvePct
	h.r.supply = 24 // warm supply air: the valve loop opens the valve
	h.run(10)
	if after := h.cmd("u1").ValvePct; after <= before {
		t.Fatalf("valve %g -> %g with a warm supply: it should move", before, after)
	}
	h.noIO["u1"] = true
	h.run(3)
	if m, _ := h.e.ValveMode("u1"); m != "fail-safe" {
		t.Fatalf("isolated: valve mode %q, want fail-safe", m)
	}
	if _, ok := h.e.ValveMode("nope"); ok {
		t.Fatal("unknown unit has a valve mode")
	}
}

// LastRead shows a refused read-back (NaN: not available) where ReadBack keeps the last good one.
func TestLastReadShowsARefusedReadBack(t *testing.T) {
	h := newHarness(t, testConfig(t, 1, [][]string{{"u1"}}, 3), 900)
	h.run(3)
	h.state = func(_ int, st UnitState) UnitState { st.FanPct = math.NaN(); return st }
	h.run(1)
	rb, _, _ := h.e.ReadBack("u1")
	lr, at, ok := h.e.LastRead("u1")
	if !ok || !math.IsNaN(lr.FanPct) || at != h.now || math.IsNaN(rb.FanPct) {
		t.Fatalf("last read %+v at %v (%v), read-back %+v", lr, at, ok, rb)
	}
}
