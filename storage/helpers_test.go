package storage

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// openTest opens a fresh database in t.TempDir() and checks its integrity at cleanup.
func openTest(t testing.TB, opts *Options) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "coldaisle.db")
	db, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { checkAndClose(t, db) })
	return db, path
}

// track checks and closes db at cleanup (for a DB reopened inside a test).
func track(t testing.TB, db *DB) {
	t.Cleanup(func() { checkAndClose(t, db) })
}

func checkAndClose(t testing.TB, db *DB) {
	t.Helper()
	if db.closed.Load() {
		return
	}
	if err := db.Check(); err != nil {
		t.Errorf("Check at cleanup: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// fakeClock is a settable clock for the Checkpointer and time stamps.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// sampleState is a realistic checkpoint: n loops with full-precision floats and the counters a
// controller keeps (mesh, modbus per unit, control).
func sampleState(n, step int) (map[string]LoopState, map[string]uint64) {
	loops := map[string]LoopState{}
	for i := range n {
		f := float64(step*1000+i) + 0.123456789012345
		loops[fmt.Sprintf("crah-%02d", i+1)] = LoopState{
			Mode: "auto", Integrator: f / 7, LastOut: 30 + f/1000, Setpoint: 24.5, LastError: -f / 13,
		}
	}
	counters := map[string]uint64{}
	for _, name := range []string{"mesh.frames", "mesh.bad_fcs", "mesh.dup", "mesh.reorder", "mesh.reconnects",
		"modbus.requests", "modbus.timeouts", "modbus.exceptions", "modbus.retries", "control.periods",
		"control.late_periods", "control.fallbacks", "sensors.stale", "sensors.frozen", "role.changes",
		"storage.checkpoints"} {
		counters[name] = uint64(step) * 123457
	}
	for i := range n {
		counters[fmt.Sprintf("unit.%02d.writes", i+1)] = uint64(step) * 31
	}
	return loops, counters
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func jsonSize(v any) (int, error) {
	raw, err := json.Marshal(v)
	return len(raw), err
}
