package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestBenchJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := runBench(context.Background(), []string{"--json", "--seed", "3", "small-room"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	for _, k := range []string{"scenario", "fan_kwh", "baseline_fan_kwh", "oracle_fan_kwh", "savings_pct", "oracle_ratio",
		"degree_minutes_above_27", "degree_minutes_above_sp1", "max_inlet_c", "max_inlet_after_settle_c", "iae",
		"fan_total_variation", "oracle_fan_total_variation", "events", "passed"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %s missing", k)
		}
	}
	// The honest-benchmark keys: present and finite (JSON has no NaN or Inf: a number decoded
	// is finite), the peer holding the alarm limit.
	for _, k := range []string{"oracle_infeasible_s", "minutes_above_setpoint", "oracle_ratio_equal_comfort", "common_speed_kwh", "common_speed_ratio",
		"fan_kwh_feasible_periods", "degree_minutes_above_setpoint", "oracle_minutes_above_setpoint", "oracle_degree_minutes_above_setpoint",
		"mean_hottest_inlet_after_settle_c", "oracle_fan_kwh_equal_comfort", "common_speed_max_inlet_after_settle_c", "common_speed_minutes_above_setpoint"} {
		v, ok := m[k].(float64)
		if !ok {
			t.Errorf("key %s missing or not a number: %v", k, m[k])
			continue
		}
		if k != "oracle_infeasible_s" && k != "oracle_minutes_above_setpoint" && k != "oracle_degree_minutes_above_setpoint" && !(v > 0) {
			t.Errorf("%s = %g, want > 0", k, v)
		}
	}
	if m["common_speed_passed"] != true {
		t.Errorf("common-speed peer failed the alarm limit: %v", m["common_speed_max_inlet_after_settle_c"])
	}
	evs, _ := m["events"].([]any)
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	for _, k := range []string{"name", "t", "peak_over_setpoint_k", "recovery_s"} {
		if _, ok := evs[0].(map[string]any)[k]; !ok {
			t.Errorf("event key %s missing", k)
		}
	}
	if m["seed"].(float64) != 3 || m["passed"] != true {
		t.Fatalf("%v", m)
	}
}

func TestBenchTableAndErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runBench(context.Background(), []string{"small-room"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "scenario small-room") || !strings.Contains(out.String(), "PASS") {
		t.Fatalf("table:\n%s", out.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("name = \"x\"\nduration = \"1m\"\nsetpoint_c = 99\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := runBench(context.Background(), []string{bad}, &out, &errb); code != exitUsage {
		t.Fatalf("bad file: exit %d", code)
	}
	if !strings.Contains(errb.String(), bad) || !strings.Contains(errb.String(), "setpoint_c") {
		t.Fatalf("error does not name file and field: %s", errb.String())
	}
	// a room the units cannot hold: exit 1
	src, err := os.ReadFile("../../control/plant/scenarios/small-room.toml")
	if err != nil {
		t.Skip("small-room.toml not found")
	}
	hot := filepath.Join(t.TempDir(), "hot.toml")
	body := regexp.MustCompile(`load_kw = [0-9.]+`).ReplaceAllString(string(src), "load_kw = 40.0")
	if err := os.WriteFile(hot, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := runBench(context.Background(), []string{"--json", hot}, &out, &errb); code != exitFailure {
		t.Fatalf("overloaded room: exit %d: %s", code, out.String())
	}
	errb.Reset()
	if code := runBench(context.Background(), []string{"no-such-scenario"}, &out, &errb); code != exitUsage {
		t.Fatalf("unknown scenario: exit %d", code)
	}
	if code := runBench(context.Background(), []string{"--bogus"}, &out, &errb); code != exitUsage {
		t.Fatalf("bad flag: exit %d", code)
	}
}

func TestBenchSeeds(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runBench(context.Background(), []string{"--json", "--seed", "3", "--seeds", "2", "small-room"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	dec := json.NewDecoder(&out)
	var got []float64
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m["seed"].(float64))
	}
	if len(got) != 2 || got[0] != 3 || got[1] != 4 {
		t.Fatalf("seeds %v, want [3 4]", got)
	}
	out.Reset()
	if code := runBench(context.Background(), []string{"--seeds", "2", "small-room"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	txt := out.String()
	for _, want := range []string{"seed 1 ", "seed 2 ", "over 2 seeds (1..2): 2/2 passed", "at equal comfort", "ours / common speed", "oracle infeasible",
		"scenario    seeds  passed  ratio to oracle"} {
		if !strings.Contains(txt, want) {
			t.Errorf("no %q in:\n%s", want, txt)
		}
	}
	for _, bad := range [][]string{{"--seeds", "0"}, {"--seeds", "101"}, {"--seeds", "x"}, {"--seed", "9223372036854775807", "--seeds", "2"}} {
		errb.Reset()
		if code := runBench(context.Background(), append(bad, "small-room"), &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d", bad, code)
		}
	}
}
