package engine

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/coldaisle/coldaisle/control/pid"
	"github.com/coldaisle/coldaisle/control/sensors"
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
	// Offsets are the learned offsets (K, 0.01 K steps) of the zone's CheckpointOffsets hottest
	// sensors from its value: what carries a lost hot spot (control/sensors, "Sensor loss")
	// across a restart or a takeover. Older checkpoints have none: the zone learns them again.
	Offsets map[string]float64 `json:"offsets,omitempty"`
}

// CheckpointOffsets is how many learned offsets a zone's checkpoint keeps: those of its hottest
// sensors (the largest offsets), the only ones whose loss can carry the zone's value, within the
// store's size for one loop.
const CheckpointOffsets = 8

// HottestOffsets keeps the n largest offsets (ties by id), rounded to 0.01 K; nil for none. A
// store with less room than CheckpointOffsets takes fewer with it.
func HottestOffsets(all map[string]float64, n int) map[string]float64 {
	ids := make([]string, 0, len(all))
	for id, d := range all {
		if !bad(d) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		if all[ids[i]] != all[ids[j]] {
			return all[ids[i]] > all[ids[j]]
		}
		return ids[i] < ids[j]
	})
	if len(ids) > n {
		ids = ids[:n]
	}
	if len(ids) == 0 {
		return nil
	}
	out := make(map[string]float64, len(ids))
	for _, id := range ids {
		out[id] = math.Round(all[id]*100) / 100
	}
	return out
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
		zs := ZoneState{Loop: z.pid.state(), Offsets: HottestOffsets(z.mem.Offsets(), CheckpointOffsets)}
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
		if err := sensors.CheckOffsets(z.Offsets); err != nil {
			return fmt.Errorf("%w: zone %s: %v", ErrBadState, name, err)
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
			// Only the zone's own sensors: a checkpoint from another configuration names others.
			off := map[string]float64{}
			for _, id := range z.cfg.Sensors {
				if d, ok := zs.Offsets[id]; ok {
					off[id] = d
				}
			}
			_ = z.mem.RestoreOffsets(off, e.now) // checked above
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
