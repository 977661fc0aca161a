package engine

import (
	"strings"
	"testing"
)

// alarmEvents are the raised alarms of evs with key (all keys when key is "").
func alarmEvents(evs []Event, key string) []Event {
	var out []Event
	for _, ev := range evs {
		if ev.Kind == EventAlarm && (key == "" || ev.Alarm == key) {
			out = append(out, ev)
		}
	}
	return out
}

func texts(evs []Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.Text())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestStartUpFallbackIsNoAlarm: units found in local fallback at start (no controller wrote to
// them yet) leave it with the first command; that is tracked, not alarmed.
func TestStartUpFallbackIsNoAlarm(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 3)
	h := newHarness(t, cfg, 300)
	commanded := 0
	h.each = func(h *harness, k int) { commanded++ }
	h.state = func(j int, st UnitState) UnitState {
		st.Fallback = commanded == 0 // the first heartbeat ends the BMS timeout
		return st
	}
	h.run(1)
	if s := h.unit("u1"); s.Mode != ModeTracking || s.Reason != "unit in local fallback" {
		t.Fatalf("u1 %v %q in the first period, want tracking its fallback", s.Mode, s.Reason)
	}
	h.run(20)
	if a := alarmEvents(h.evs, ""); len(a) > 0 {
		t.Fatalf("start-up alarms:\n%s", texts(a))
	}
	if m := h.unit("u1").Mode; m != ModeAuto {
		t.Fatalf("u1 mode %v after the start, want auto", m)
	}
}

// TestStuckFallbackIsAlarmed: a unit that stays in fallback although we command it every period
// is alarmed after fallbackAlarmPeriods, with its reason; the alarm clears when it follows again.
func TestStuckFallbackIsAlarmed(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 3)
	h := newHarness(t, cfg, 300)
	stuck := true
	h.state = func(j int, st UnitState) UnitState {
		st.Fallback = j == 0 && stuck
		return st
	}
	h.run(fallbackAlarmPeriods) // the first period has no command of ours before it
	if a := alarmEvents(h.evs, "fallback"); len(a) > 0 {
		t.Fatalf("fallback alarmed after %d periods:\n%s", fallbackAlarmPeriods, texts(a))
	}
	h.run(1)
	a := alarmEvents(h.evs, "fallback")
	want := "u1 alarm: in local fallback: still on its own control after 5 periods of commands"
	if len(a) != 1 || a[0].Text() != want {
		t.Fatalf("fallback alarms:\n%swant %q", texts(a), want)
	}
	h.run(10)
	if a := alarmEvents(h.evs, "fallback"); len(a) != 1 {
		t.Fatalf("the same fallback alarm raised again:\n%s", texts(a))
	}
	stuck = false
	h.run(2)
	cleared := false
	for _, ev := range h.evs {
		if ev.Kind == EventClear && ev.Alarm == "fallback" {
			cleared = ev.Text() == "u1 alarm cleared: in local fallback"
		}
	}
	if !cleared {
		t.Fatalf("fallback alarm not cleared in words:\n%s", texts(h.evs))
	}
}

// TestAlarmTextsGiveReasons: every alarm says what is wrong in words, once (no "tripped:
// tripped"), and a trip or an isolation says who picks up the unit's share.
func TestAlarmTextsGiveReasons(t *testing.T) {
	cfg := testConfig(t, 2, [][]string{{"u1", "u2"}}, 3)
	h := newHarness(t, cfg, 300)
	h.run(300)
	h.evs = nil

	h.r.trip[0] = true
	h.run(5)
	h.r.trip[0] = false
	h.run(30)
	h.noIO["u2"] = true
	h.run(isolateAfter + 5)
	delete(h.noIO, "u2")
	h.run(60)
	for _, id := range cfg.Zones[0].Sensors {
		h.cool[id] = 28.44
	}
	h.run(20)
	delete(h.cool, cfg.Zones[0].Sensors[0])
	delete(h.cool, cfg.Zones[0].Sensors[1])
	delete(h.cool, cfg.Zones[0].Sensors[2])
	h.run(60)

	all := texts(h.evs)
	for _, want := range []string{
		"u1 alarm: tripped: not running, fan fault reported; u2 picks up its share\n",
		"u1 auto -> tracking: unit tripped, its command held\n",
		"u1 alarm cleared: tripped\n",
		"u2 alarm: isolated: no answer: no answer; u1 picks up its share\n",
		"u2 auto -> fail-safe: no read-back\n",
		"u2 alarm cleared: isolated\n",
		"zone z1 alarm: inlet 00-17-0d-00-00-38-00-01/1 at 28.4 C above alarm limit 27.0 C; more air until it is back below\n",
		"zone z1 alarm cleared: inlet above the alarm limit\n",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("events lack %q", want)
		}
	}
	for _, ev := range alarmEvents(h.evs, "") {
		w := alarmWords[ev.Alarm]
		if w == "" {
			t.Errorf("alarm key %q has no words", ev.Alarm)
		}
		if strings.Count(ev.Text(), ev.Alarm+":") > 1 || strings.Contains(ev.Text(), "alarm "+ev.Alarm+":") {
			t.Errorf("alarm text repeats its key: %q", ev.Text())
		}
	}
	if t.Failed() {
		t.Logf("events:\n%s", all)
	}
}

// TestFailSafeLeftInWords: leaving fail-safe says why.
func TestFailSafeLeftInWords(t *testing.T) {
	cfg := testConfig(t, 1, [][]string{{"u1"}}, 2)
	cfg.Zones[0].MinValid = 2
	h := newHarness(t, cfg, 300)
	h.run(100)
	id := cfg.Zones[0].Sensors[0]
	h.dead[id] = true
	h.run(int(cfg.Control.MaxAge.Duration/cfg.Control.Period.Duration) + 5)
	delete(h.dead, id)
	h.run(40)
	all := texts(h.evs)
	for _, want := range []string{"u1 auto -> fail-safe: zone z1: 1 of 2 sensors valid, need 2\n",
		"zone z1 alarm: insufficient sensors: 1 of 2 valid, need 2\n",
		"u1 fail-safe -> auto: cause of the fail-safe cleared\n"} {
		if !strings.Contains(all, want) {
			t.Errorf("events lack %q:\n%s", want, all)
		}
	}
}

// TestStartUpSensorsNoAlarm: at start the zone runs fail-safe until its sensors have reported,
// without an alarm; sensors that never report are alarmed once the start-up grace is over.
func TestStartUpSensorsNoAlarm(t *testing.T) {
	cfg := testConfig(t, 1, [][]string{{"u1"}}, 2)
	h := newHarness(t, cfg, 300)
	for _, id := range cfg.Zones[0].Sensors {
		h.dead[id] = true
	}
	h.run(3)
	if s := h.unit("u1"); s.Mode != ModeFailSafe || !strings.Contains(s.Reason, "waiting for the first reports") {
		t.Fatalf("u1 %v %q before any report, want fail-safe waiting for the sensors", s.Mode, s.Reason)
	}
	for _, id := range cfg.Zones[0].Sensors {
		delete(h.dead, id)
	}
	h.run(5)
	if a := alarmEvents(h.evs, ""); len(a) > 0 {
		t.Fatalf("start-up alarms:\n%s", texts(a))
	}
	if m := h.unit("u1").Mode; m != ModeAuto {
		t.Fatalf("u1 mode %v once the sensors reported, want auto", m)
	}

	h = newHarness(t, cfg, 300)
	for _, id := range cfg.Zones[0].Sensors {
		h.dead[id] = true
	}
	grace := int(h.e.startGrace() / cfg.Control.Period.Duration)
	h.run(grace - 1)
	if a := alarmEvents(h.evs, "insufficient"); len(a) > 0 {
		t.Fatalf("alarm within the start-up grace:\n%s", texts(a))
	}
	h.run(2)
	if a := alarmEvents(h.evs, "insufficient"); len(a) != 1 {
		t.Fatalf("no insufficient-sensors alarm after the grace:\n%s", texts(h.evs))
	}
}
