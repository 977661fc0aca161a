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

// Experiment sizing and guards (see StartAutotune).
const (
	// tuneBaselinePeriods and tuneTimeoutPeriods count control periods (1 min and 2 h at the
	// default 2 s) so that a time-scaled configuration (the twin at Speed x) scales them too.
	tuneBaselinePeriods = 30
	tuneTimeoutPeriods  = 3600
	// tuneMaxD and tuneMinD bound the relay amplitude (fan %); a quarter of the fan's span at most.
	tuneMaxD = 10.0
	tuneMinD = 5.0
	// tuneHeadroomK: the zone must be at least this far below the alarm limit to start; the
	// experiment aborts when pv rises tuneMaxAboveK above its start level (at most headroom-1 K)
	// or a zone it holds comes within tuneAlarmMarginK of the alarm limit.
	tuneHeadroomK    = 1.0
	tuneMaxAboveK    = 1.5
	tuneAlarmMarginK = 0.5
	// tuneMaxBelowK: pv falling this far is not a risk (more air) but a sign that something else
	// changed; the experiment stops.
	tuneMaxBelowK = 10.0
	// tuneTauCRatio: SIMC's closed-loop time constant is this many dead times. The zone's pv is
	// its hottest sensor, each reporting every 30 s: SIMC's tight tau_c = L moved the fans
	// 30-50 % more than the hand-tuned defaults on the bench for little less IAE; 2 L keeps the
	// fan movement at the defaults' level (coldaisle bench, seeds 1..5).
	tuneTauCRatio = 2.0
)

// AutotuneStatus is what the console shows about a unit's experiment.
type AutotuneStatus struct {
	Unit     string
	Running  bool
	Progress autotune.Progress
	Result   *site.Tuning // on success: the zone-loop tuning to commit into the configuration
	Err      error        // on failure
	// Detail is the experiment's full result (Ku, Pu, model, data, every rule's gains for the
	// unit's fan; Result's gains are these rescaled to the zone) on success.
	Detail *autotune.Result
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
//
// The experiment is sized for cooling: the fan steps up by d (10 %, at most a quarter of its
// span) and the relay swings between its speed before the test and that plus 2d, so no zone gets
// less air than before. Only a fan too near its maximum for a relay of 5 % steps and swings down
// (5 %), with a tighter guard. It is refused when the zone is within 1 K of the alarm limit, and
// ends (the fan back to its speed before the test, then auto) when pv rises 1.5 K above its start
// level (less with less headroom) or a zone the experiment holds comes within 0.5 K of the alarm
// limit. Its baseline (1 min, longer while the zone still moves) and timeout (2 h) count 30 and
// 3600 control periods, so that a time-scaled configuration (the twin's) scales them too. The
// gains are SIMC PI with tau_c = 2 L (tuneTauCRatio) from the experiment's model.
func (e *Engine) StartAutotune(unit string, now time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, u, err := e.controllable(unit)
	if err != nil {
		return err
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
	z := e.zones[u.primary]
	headroom := e.cfg.Control.AlarmC - z.meas
	if headroom < tuneHeadroomK {
		return fmt.Errorf("%w: zone %s at %.1f C is within %g K of the alarm limit %.1f C: no experiment on %s now",
			ErrBadValue, z.cfg.Name, z.meas, tuneHeadroomK, e.cfg.Control.AlarmC, unit)
	}
	// The step and the relay go up from where the fan is: the relay swings between bias and
	// bias+2d, so the zones never get less air than before the test. Only a fan too near its
	// maximum for the smallest relay steps down, with the smallest d, guarded by max_above.
	bias := u.fan
	span := u.cfg.MaxFanPct - u.cfg.MinFanPct
	d := min(tuneMaxD, span/4, (u.cfg.MaxFanPct-bias)/2)
	step := d
	maxAbove := min(tuneMaxAboveK, headroom-tuneAlarmMarginK)
	if dMin := min(tuneMinD, span/4); d < dMin {
		d, step = dMin, -dMin
		maxAbove = min(maxAbove, headroom-tuneHeadroomK)
	}
	if bias+step-d < u.cfg.MinFanPct-1e-9 || d <= 0 || maxAbove <= 0 {
		return fmt.Errorf("%w: %s has no room for a relay of %g%% around %g%% (fan %g..%g%%, zone %s %.1f K below the alarm limit)",
			ErrBadValue, unit, d, bias, u.cfg.MinFanPct, u.cfg.MaxFanPct, z.cfg.Name, headroom)
	}
	period := e.period
	tu, err := autotune.New(autotune.Config{Bias: bias, StepSize: step, D: d, OutMin: u.cfg.MinFanPct, OutMax: u.cfg.MaxFanPct,
		MaxAbove: maxAbove, MaxBelow: tuneMaxBelowK, TauCRatio: tuneTauCRatio,
		Baseline: tuneBaselinePeriods * period, Timeout: tuneTimeoutPeriods * period})
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
	j, err := e.unitIndex(unit)
	if err != nil {
		return err
	}
	e.units[j].tune = e.abortTune(e.units[j], "operator", e.now)
	return nil
}

// AutotuneStatus returns the state of a unit's experiment (ok false: none running or finished
// since the engine started).
func (e *Engine) AutotuneStatus(unit string) (AutotuneStatus, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.unit(unit)
	if u == nil {
		return AutotuneStatus{}, false
	}
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

// tuneOutput steps the experiment and returns the relay output. A zone the experiment takes
// from its loop (one the unit or a unit held for it serves) within tuneAlarmMarginK of the alarm
// limit ends it: the unit returns to its speed before the test and then to auto.
func (e *Engine) tuneOutput(u *unitRT, now time.Time) float64 {
	t := u.tune
	j := e.byName[u.cfg.Name]
	for _, z := range e.zones {
		if !z.ok || z.meas < e.cfg.Control.AlarmC-tuneAlarmMarginK || !e.zoneTouches(z, j) {
			continue
		}
		t.tuner.Abort(fmt.Sprintf("zone %s at %.2f C, within %g K of the alarm limit %.1f C", z.cfg.Name, z.meas, tuneAlarmMarginK, e.cfg.Control.AlarmC))
		break
	}
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
			Method: "relay+simc", Data: fmt.Sprintf("zone %s share %.2f; %s tau_c %.0fs; %s", e.zones[t.zone].cfg.Name, t.share, AutotuneRule, res.TauC, res.Summary())}
		st.Result, st.Detail = tuning, &res
		u.lastTune = &st
		e.events = append(e.events, Event{Time: now, Kind: EventAutotune, Unit: u.cfg.Name, Tuning: tuning,
			Reason: fmt.Sprintf("autotune done: kp %.3g ti %.3gs td %.3gs", tuning.Kp, tuning.Ti, tuning.Td)})
	}
}

// zoneTouches reports whether zone z is served by unit j (under autotune) or by a unit held
// for it (one sharing a zone with j).
func (e *Engine) zoneTouches(z *zoneRT, j int) bool {
	if z.share[j] > 0 {
		return true
	}
	for k := range e.units {
		if z.share[k] <= 0 {
			continue
		}
		for _, z2 := range e.zones {
			if z2.share[k] > 0 && z2.share[j] > 0 {
				return true
			}
		}
	}
	return false
}

func round3(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}
