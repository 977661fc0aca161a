package commission

import (
	"fmt"

	"github.com/coldaisle/coldaisle/control/engine"
)

// EngineValve holds valves on an engine nobody else reconfigures (the bench, a simulation): it
// applies the engine's running configuration with min_valve_pct = max_valve_pct = the held
// position, and gives the configured range back on Release. An appliance, whose operators commit
// configurations while a test runs, keeps its holds on top of every commit instead.
type EngineValve struct {
	Engine *engine.Engine
	held   map[string][2]float64 // unit -> configured min, max
}

// Hold implements Valve.
func (v *EngineValve) Hold(unit string, pct float64) error {
	c, err := v.Engine.Config().Clone()
	if err != nil {
		return fmt.Errorf("commission: hold the valve of %s: %w", unit, err)
	}
	u := c.Unit(unit)
	if u == nil {
		return fmt.Errorf("commission: hold the valve: %w %q", engine.ErrUnknownUnit, unit)
	}
	rng, ok := v.held[unit]
	if !ok {
		rng = [2]float64{u.MinValvePct, u.MaxValvePct}
	}
	pct = min(max(pct, rng[0]), rng[1])
	u.MinValvePct, u.MaxValvePct = pct, pct
	if err := v.Engine.ApplyConfig(c); err != nil {
		return fmt.Errorf("commission: hold the valve of %s at %g %%: %w", unit, pct, err)
	}
	if v.held == nil {
		v.held = map[string][2]float64{}
	}
	v.held[unit] = rng
	return nil
}

// Release implements Valve: the valve goes back to its supply-air loop, bumplessly (the engine
// resumes the loop from the held output). A release the engine refuses leaves the hold on and
// is tried again at the next Release.
func (v *EngineValve) Release(unit string) {
	rng, ok := v.held[unit]
	if !ok {
		return
	}
	c, err := v.Engine.Config().Clone()
	if err != nil {
		return
	}
	if u := c.Unit(unit); u != nil {
		u.MinValvePct, u.MaxValvePct = rng[0], rng[1]
	}
	if err := v.Engine.ApplyConfig(c); err != nil {
		return
	}
	delete(v.held, unit)
}

var (
	_ Valve  = (*EngineValve)(nil)
	_ Engine = (*engine.Engine)(nil)
)
