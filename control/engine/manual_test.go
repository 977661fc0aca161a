package engine

import (
	"strings"
	"testing"
	"time"
)

// Issue 9 item 11: an operator's manual mode ends by itself (default control.manual_default),
// may not be asked for longer than control.manual_max, and a restart resumes it only with what
// was left of it.
func TestManualModeExpires(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 3)
	cfg.Control.ManualDefault.Duration = 10 * time.Minute
	cfg.Control.ManualMax.Duration = 30 * time.Minute
	h := newHarness(t, cfg, 250)
	h.run(300)
	if err := h.e.SetManualFor("u1", 60, time.Hour); err == nil || !strings.Contains(err.Error(), "control.manual_max 30m0s") {
		t.Fatalf("manual for 1h with a 30m maximum: %v", err)
	}
	if err := h.e.SetManual("u1", 60); err != nil {
		t.Fatal(err)
	}
	h.run(1)
	if u := h.unit("u1"); u.Mode != ModeManual || u.ManualLeft <= 9*time.Minute || u.ManualLeft > 10*time.Minute {
		t.Fatalf("after SetManual: mode %v, left %v", u.Mode, u.ManualLeft)
	}
	// A checkpoint taken 4 minutes in resumes with 6 minutes left on a new engine.
	h.run(120)
	st := h.e.State()
	if ul := st.Units["u1"]; !ul.Manual || ul.ManualLeft < 5*time.Minute || ul.ManualLeft > 6*time.Minute+time.Second {
		t.Fatalf("checkpoint: %+v", ul)
	}
	h2 := newHarness(t, cfg, 250)
	if err := h2.e.Restore(st); err != nil {
		t.Fatal(err)
	}
	h2.run(3)
	if u := h2.unit("u1"); u.Mode != ModeManual || u.ManualLeft > 6*time.Minute {
		t.Fatalf("restored: mode %v left %v", u.Mode, u.ManualLeft)
	}
	// The rest of the time runs out: back to auto through tracking, with an event that says why.
	h2.run(200)
	u := h2.unit("u1")
	if u.Mode != ModeAuto || u.ManualLeft != 0 {
		t.Fatalf("after expiry: mode %v left %v", u.Mode, u.ManualLeft)
	}
	found := false
	for _, ev := range h2.evs {
		if ev.Kind == EventMode && ev.Unit == "u1" && strings.Contains(ev.Reason, "manual mode expired") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no event says the manual mode expired: %v", h2.evs)
	}
}

// A checkpoint written before manual had a limit (no ManualLeft) does not bring manual back.
func TestOldCheckpointManualNotRestored(t *testing.T) {
	cfg := testConfig(t, 1, [][]string{{"u1"}}, 2)
	h := newHarness(t, cfg, 250)
	h.run(10)
	st := h.e.State()
	ul := st.Units["u1"]
	ul.Manual, ul.ManualPct, ul.ManualLeft = true, 55, 0
	st.Units["u1"] = ul
	h2 := newHarness(t, cfg, 250)
	if err := h2.e.Restore(st); err != nil {
		t.Fatal(err)
	}
	h2.run(5)
	if m := h2.unit("u1").Mode; m == ModeManual {
		t.Fatal("an unbounded manual mode came back from a checkpoint")
	}
}
