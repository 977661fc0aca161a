package engine

import (
	"time"

	"github.com/coldaisle/coldaisle/control/pid"
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

// LastRead returns a unit's newest read-back, refused or not, and when it was taken: a reading
// the engine refused (a value not finite: the unit reported "not available") has NaN there and is
// not used for control, but a console shows it for what it is instead of the last good one. ok
// is false for an unknown unit or one never read.
func (e *Engine) LastRead(unit string) (st UnitState, at time.Time, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.unit(unit)
	if u == nil || u.rdAt.IsZero() {
		return UnitState{}, time.Time{}, false
	}
	return u.rd, u.rdAt, true
}

// ValveMode is the mode of a unit's supply-air (valve) loop as the last period ran it. That loop
// is the unit's own PI on its supply air and does not follow the fan's mode: a fan held in manual
// leaves its valve loop in auto, still moving. "fail-safe" is the valve driven fully open (no
// read-back), "tracking" follows the unit's own valve (tracking, tripped, or not yet commanded).
func (e *Engine) ValveMode(unit string) (mode string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.unit(unit)
	switch {
	case u == nil:
		return "", false
	case u.cfg.DisableControls || u.mode == ModeDisabled:
		return "disabled", true
	case !u.haveCmd:
		return "tracking", true
	}
	switch u.valvePID.Mode() {
	case pid.Manual: // set only while the unit is isolated
		return "fail-safe", true
	case pid.Tracking:
		return "tracking", true
	}
	return "auto", true
}
