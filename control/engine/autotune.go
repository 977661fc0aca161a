package engine

import (
	"fmt"
	"math"
	"time"

	"github.com/coldaisle/coldaisle/control/autotune"
	"github.com/coldaisle/coldaisle/control/site"
)

// AutotuneRule is the tuning rule applied to an experiment's model.
const AutotuneRule = "simc-pi"

// AutotuneStatus is what the console shows about a unit's experiment.
type AutotuneStatus struct {
	Unit     string
	Running  bool
	Progress autotune.Progress
	Result   *site.Tuning // on success: the zone-loop tuning to commit into the configuration
	Err      error        // on failure
}

type tuneRT struct {
	tuner *autotune.Tuner
	zone  int     // the zone whose measurement is the pv
	share float64 // the unit's share of that zone (rescales the unit's gains to zone demand)
	out   float64
	done  bool
}

// StartAutotune runs a relay experiment (control/autotune) on a unit's fan with its main zone's
// measurement as pv, in place of the zone loop. The units sharing a zone with it hold their speed
// meanwhile so that nothing fights the relay. The unit must be in auto. The result arrives as an
// EventAutotune event (and in AutotuneStatus) with a site.Tuning the caller commits into the
// configuration (the unit's fan_tuning; it then tunes the zones the unit leads).
func (e *Engine) StartAutotune(unit string, now time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, ok := e.byName[unit]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownUnit, unit)
	}
	u := e.units[j]
	if u.cfg.DisableControls {
		return fmt.Errorf("%w: %s", ErrDisabled, unit)
	}
	if u.tune != nil {
		return fmt.Errorf("%w on %s", ErrBusy, unit)
	}
	if u.mode != ModeAuto || u.primary < 0 || !e.zones[u.primary].ok {
		return fmt.Errorf("%w: %s must be in auto with a valid zone measurement (mode %v)", ErrNoFeedback, unit, u.mode)
	}
	for _, o := range e.units {
		if o.tune != nil {
			for _, z := range e.zones {
				if z.share[j] > 0 && z.share[e.byName[o.cfg.Name]] > 0 {
					return fmt.Errorf("%w: %s shares a zone with %s", ErrBusy, unit, o.cfg.Name)
				}
			}
		}
	}
	bias := u.fan
	span := u.cfg.MaxFanPct - u.cfg.MinFanPct
	d := math.Min(10, span/4)
	step := d
	if bias+2*d > u.cfg.MaxFanPct {
		step = -d // no room above: step and relay below (more air is never the risk here)
	}
	if bias+step-d < u.cfg.MinFanPct || d <= 0 {
		return fmt.Errorf("%w: %s has no room for a relay of %g%% around %g%%", ErrBadValue, unit, d, bias)
	}
	tu, err := autotune.New(autotune.Config{Bias: bias, StepSize: step, D: d, OutMin: u.cfg.MinFanPct, OutMax: u.cfg.MaxFanPct,
		MaxDev: 2, Timeout: time.Hour})
	if err != nil {
		return fmt.Errorf("engine: autotune %s: %w", unit, err)
	}
	u.tune = &tuneRT{tuner: tu, zone: u.primary, share: e.zones[u.primary].share[j], out: bias}
	return nil
}

// AbortAutotune stops a unit's experiment; the unit returns to auto bumplessly.
func (e *Engine) AbortAutotune(unit string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, ok := e.byName[unit]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownUnit, unit)
	}
	e.units[j].tune = e.abortTune(e.units[j], "operator", e.now)
	return nil
}

// AutotuneStatus returns the state of a unit's experiment (ok false: none running or finished
// since the engine started).
func (e *Engine) AutotuneStatus(unit string) (AutotuneStatus, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, ok := e.byName[unit]
	if !ok {
		return AutotuneStatus{}, false
	}
	u := e.units[j]
	if u.tune != nil {
		return AutotuneStatus{Unit: unit, Running: true, Progress: u.tune.tuner.Progress()}, true
	}
	if u.lastTune != nil {
		return *u.lastTune, true
	}
	return AutotuneStatus{}, false
}

func (e *Engine) abortTune(u *unitRT, why string, now time.Time) *tuneRT {
	if u.tune == nil {
		return nil
	}
	u.tune.tuner.Abort(why)
	st := AutotuneStatus{Unit: u.cfg.Name, Progress: u.tune.tuner.Progress(), Err: fmt.Errorf("%w: %s", autotune.ErrAborted, why)}
	u.lastTune = &st
	e.events = append(e.events, Event{Time: now, Kind: EventAutotune, Unit: u.cfg.Name, Reason: "autotune aborted: " + why})
	return nil
}

// tuneOutput steps the experiment and returns the relay output.
func (e *Engine) tuneOutput(u *unitRT, now time.Time) float64 {
	t := u.tune
	z := e.zones[t.zone]
	out, done := t.tuner.Step(z.meas, now)
	t.out, t.done = out, done
	return clamp(out, u.cfg.MinFanPct, u.cfg.MaxFanPct)
}

// finishTunes turns finished experiments into events and returns their units to auto.
func (e *Engine) finishTunes(now time.Time) {
	for _, u := range e.units {
		t := u.tune
		if t == nil || !t.done {
			continue
		}
		u.tune = nil
		st := AutotuneStatus{Unit: u.cfg.Name, Progress: t.tuner.Progress()}
		res, err := t.tuner.Result()
		var tn autotune.Tuning
		if err == nil {
			tn, err = res.Tuning(AutotuneRule)
		}
		if err != nil {
			st.Err = err
			u.lastTune = &st
			e.events = append(e.events, Event{Time: now, Kind: EventAutotune, Unit: u.cfg.Name, Reason: "autotune failed: " + err.Error()})
			continue
		}
		// The experiment moved one unit; the zone loop moves the zone's demand, of which this
		// unit carries share: the zone gain is the unit's gain times its share.
		kp := tn.Kp * t.share
		if kp <= 0 || math.IsNaN(kp) {
			st.Err = fmt.Errorf("%w: gain %g", autotune.ErrModel, kp)
			u.lastTune = &st
			e.events = append(e.events, Event{Time: now, Kind: EventAutotune, Unit: u.cfg.Name, Reason: "autotune failed: " + st.Err.Error()})
			continue
		}
		tuning := &site.Tuning{Kp: round3(kp), Ti: round3(tn.Ti), Td: round3(tn.Td), Date: now.UTC().Format(time.RFC3339),
			Method: "relay+simc", Data: fmt.Sprintf("zone %s share %.2f; %s", e.zones[t.zone].cfg.Name, t.share, res.Summary())}
		st.Result = tuning
		u.lastTune = &st
		e.events = append(e.events, Event{Time: now, Kind: EventAutotune, Unit: u.cfg.Name, Tuning: tuning,
			Reason: fmt.Sprintf("autotune done: kp %.3g ti %.3gs td %.3gs", tuning.Kp, tuning.Ti, tuning.Td)})
	}
}

func round3(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}
