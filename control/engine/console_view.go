package engine

import (
	"time"

	"github.com/coldaisle/coldaisle/control/sensors"
)

// Read-only views for the console and other UIs (board/appliance). They copy; nothing here
// changes the engine.

// SensorStatus lists every sensor the engine's store has heard from, sorted by id and classified
// at now (now on the same clock as Reading.Arrival). A configured sensor never heard from is not
// listed: the caller knows the configuration and shows it as missing.
func (e *Engine) SensorStatus(now time.Time) []sensors.SensorStatus {
	e.mu.Lock()
	m := e.meas
	e.mu.Unlock()
	sm, ok := m.(*storeMeasurer)
	if !ok || sm == nil {
		return nil
	}
	return sm.st.Snapshot(now) // the store has its own lock
}

// ReadBack returns a unit's last successful read-back and when it was taken (on the runner's
// clock). ok is false for an unknown unit or one never read.
func (e *Engine) ReadBack(unit string) (st UnitState, at time.Time, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.unit(unit)
	if u == nil || !u.haveSt {
		return UnitState{}, time.Time{}, false
	}
	return u.st, u.stAt, true
}
