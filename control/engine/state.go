package engine

import (
	"fmt"
	"math"
	"time"

	"github.com/coldaisle/coldaisle/control/pid"
)

// StateVersion is the checkpoint format version.
const StateVersion = 1

// State is the engine's checkpoint: what storage persists every few seconds so that a cold restart
// resumes without a bump. It is plain data (JSON-friendly).
type State struct {
	Version int                  `json:"version"`
	Epoch   uint16               `json:"epoch"`
	Zones   map[string]ZoneState `json:"zones"`
	Units   map[string]UnitLoop  `json:"units"`
}

// ZoneState is one zone loop's checkpoint.
type ZoneState struct {
	Loop   LoopState `json:"loop"`
	Lambda float64   `json:"lambda"` // the allocator's warm start
}

// UnitLoop is one unit's checkpoint.
type UnitLoop struct {
	Mode      Mode    `json:"mode"`
	Manual    bool    `json:"manual"`
	ManualPct float64 `json:"manual_pct"`
	// ManualLeft is what was left of an operator's manual mode (0 with Manual: the
	// configuration's manual_fan_pct). A checkpoint without it does not restore an operator's
	// manual mode: it would last for ever.
	ManualLeft time.Duration `json:"manual_left,omitempty"`
	FanPct     float64       `json:"fan_pct"`   // last fan command
	ValvePct   float64       `json:"valve_pct"` // last valve command
	Heartbeat  uint16        `json:"heartbeat"`
	Valve      pid.State     `json:"valve"`
}

// State returns a checkpoint of every loop.
func (e *Engine) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := State{Version: StateVersion, Epoch: e.epoch, Zones: map[string]ZoneState{}, Units: map[string]UnitLoop{}}
	for i, z := range e.zones {
		zs := ZoneState{Loop: z.pid.state()}
		if i < len(e.alloc.lambda) {
			zs.Lambda = e.alloc.lambda[i]
		}
		s.Zones[z.cfg.Name] = zs
	}
	for _, u := range e.units {
		s.Units[u.cfg.Name] = UnitLoop{Mode: u.mode, Manual: u.manual, ManualPct: u.manPct, ManualLeft: u.manualLeft(e.now), FanPct: u.fan,
			ValvePct: u.valve, Heartbeat: u.hb, Valve: u.valvePID.State()}
	}
	return s
}

// Restore resumes from a checkpoint after a cold restart. Loops are matched by name (a loop missing
// from the checkpoint starts fresh, an unknown one is ignored). Every unit not in manual goes
// through tracking: its first commands hold the read-back, then auto continues from the restored
// integrators with no bump. A bad checkpoint is refused and changes nothing.
func (e *Engine) Restore(s State) error {
	if s.Version != StateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrBadState, s.Version, StateVersion)
	}
	for name, z := range s.Zones {
		l := z.Loop
		if bad(l.Integral) || bad(l.Output) || bad(l.LastPV) || bad(z.Lambda) {
			return fmt.Errorf("%w: zone %s: not finite", ErrBadState, name)
		}
	}
	for name, u := range s.Units {
		if bad(u.ManualPct) || bad(u.FanPct) || bad(u.ValvePct) || u.ManualPct < 0 || u.ManualPct > 100 || u.ManualLeft < 0 {
			return fmt.Errorf("%w: unit %s: bad values", ErrBadState, name)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.epoch = s.Epoch
	for i, z := range e.zones {
		if zs, ok := s.Zones[z.cfg.Name]; ok {
			z.pid.restore(zs.Loop)
			if i < len(e.alloc.lambda) {
				e.alloc.lambda[i] = math.Max(0, zs.Lambda)
			}
		}
	}
	for _, u := range e.units {
		ul, ok := s.Units[u.cfg.Name]
		if !ok || u.cfg.DisableControls {
			continue
		}
		if err := u.valvePID.Restore(ul.Valve); err != nil {
			return fmt.Errorf("%w: unit %s valve: %v", ErrBadState, u.cfg.Name, err)
		}
		// An operator's manual mode resumes with what was left of it, never longer than the site
		// now allows; the configuration's own manual_fan_pct was set up by build already.
		switch {
		case u.cfg.ManualFanPct != nil:
		case ul.Manual && ul.ManualLeft > 0:
			u.manual, u.manPct = true, clamp(ul.ManualPct, u.cfg.MinFanPct, u.cfg.MaxFanPct)
			u.manFor, u.manUntil = min(ul.ManualLeft, e.cfg.Control.ManualMax.Duration), time.Time{}
		default:
			u.manual, u.manFor, u.manUntil = false, 0, time.Time{}
		}
		u.hb = ul.Heartbeat
		u.needTrk = true
		if u.mode != ModeDisabled {
			u.mode = ModeTracking
		}
		u.haveCmd = false // the first command holds the read-back
	}
	return nil
}
