package commission

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/site"
)

// StepPct is the size of the commissioning steps (fan and valve).
const StepPct = 20.0

// The defaults of Tester's knobs (the console's).
const (
	DefaultTol           = 5.0
	DefaultFollowSlack   = 30 * time.Second
	DefaultInletWait     = time.Minute
	DefaultProgressEvery = 10 * time.Second
)

// Engine is what a test needs of the engine; *engine.Engine has it.
type Engine interface {
	SetManual(unit string, pct float64) error
	SetAuto(unit string) error
	Snapshot() engine.Snapshot
	State() engine.State
	// ReadBack is the unit's last read-back and when it was taken (on the Clock's time line).
	ReadBack(unit string) (engine.UnitState, time.Time, bool)
	AutotuneStatus(unit string) (engine.AutotuneStatus, bool)
}

// Valve holds a unit's valve at a position (the engine has no manual valve: the holder applies a
// configuration with min_valve_pct = max_valve_pct to the engine only) and gives it back to its
// supply-air loop.
type Valve interface {
	Hold(unit string, pct float64) error
	Release(unit string)
}

// Result is the outcome of a commissioning test.
type Result struct {
	Unit   string
	Pass   bool
	Checks []Check
}

// Check is one check of a test, with the numbers.
type Check struct {
	Name string // "fan feedback at 80%"
	Want string // "80 ±5 % in 36s"
	Got  string // "79.4 % after 5.0 s"
	Pass bool
}

// Tester runs the commissioning test of a unit. Zero knobs take the Default values.
type Tester struct {
	Engine Engine
	Valve  Valve
	Clock  Clock

	Tol           float64       // feedback tolerance, %
	FollowSlack   time.Duration // added to the rate-limited ramp time when waiting for a feedback
	InletWait     time.Duration // how long the zone's inlets are watched after the fan step
	ProgressEvery time.Duration // the test tells how it goes at least this often
}

func (t *Tester) defaults() {
	if !(t.Tol > 0) {
		t.Tol = DefaultTol
	}
	if t.FollowSlack <= 0 {
		t.FollowSlack = DefaultFollowSlack
	}
	if t.InletWait <= 0 {
		t.InletWait = DefaultInletWait
	}
	if t.ProgressEvery <= 0 {
		t.ProgressEvery = DefaultProgressEvery
	}
}

// Run is the commissioning test of one unit of cfg (the running configuration):
//
//  1. The fan is put in manual where it runs, then stepped by +20 % (capped at max_fan_pct; down
//     by 20 % when there is no room above, never below min_fan_pct). The fan feedback must follow
//     within the ramp time at the unit's rate limit, three control periods and FollowSlack.
//  2. The zone the unit serves most is watched for InletWait: its inlets must fall after a step
//     up (rise after a step down) by at least 0.1 K.
//  3. The fan goes back, the valve is held 20 % away from where it is and its feedback must
//     follow within three control periods and FollowSlack.
//
// Whatever happens (a failed check, a cancelled ctx), the valve is released and the fan loop goes
// back to the mode it was in (auto, or manual at its speed). A failed check is a Result with Pass
// false; the error is for a test that could not run or was cancelled (ctx's error).
func (t Tester) Run(ctx context.Context, cfg *site.Config, unit string, progress func(string)) (res Result, err error) {
	t.defaults()
	if progress == nil {
		progress = func(string) {}
	}
	res.Unit = unit
	var uc *site.Unit
	if cfg != nil {
		uc = cfg.Unit(unit)
	}
	switch {
	case t.Engine == nil || t.Valve == nil || t.Clock == nil:
		return res, fmt.Errorf("commission: test unit %s: engine, valve and clock are required", unit)
	case uc == nil:
		return res, fmt.Errorf("%w %q", engine.ErrUnknownUnit, unit)
	case uc.DisableControls:
		return res, fmt.Errorf("%w: %s", engine.ErrDisabled, unit)
	}
	us, ok := t.unitSnap(unit)
	switch {
	case !ok:
		return res, fmt.Errorf("%w %q", engine.ErrUnknownUnit, unit)
	case us.Isolated:
		return res, fmt.Errorf("%s does not answer: nothing to test", unit)
	}
	if st, ok := t.Engine.AutotuneStatus(unit); ok && st.Running {
		return res, fmt.Errorf("%w on %s", engine.ErrBusy, unit)
	}
	prev := t.Engine.State().Units[unit]
	defer func() {
		t.Valve.Release(unit)
		if prev.Manual {
			_ = t.Engine.SetManual(unit, prev.ManualPct)
			progress(fmt.Sprintf("%s back in manual at %g%%", unit, prev.ManualPct))
		} else {
			_ = t.Engine.SetAuto(unit)
			progress(unit + " back in automatic control")
		}
	}()
	period := cfg.Control.Period.Duration
	poll := max(period/4, 20*time.Millisecond)
	check := func(c Check) {
		res.Checks = append(res.Checks, c)
		verdict := "FAIL"
		if c.Pass {
			verdict = "pass"
		}
		progress(fmt.Sprintf("%s: %s (want %s) %s", c.Name, c.Got, c.Want, verdict))
	}

	// 1. Hold the fan where it is, then step it.
	base := clampF(us.FanPct, uc.MinFanPct, uc.MaxFanPct)
	if err := t.Engine.SetManual(unit, base); err != nil {
		return res, err
	}
	progress(fmt.Sprintf("fan held at %.0f%% (manual)", base))
	if _, err := t.follow(ctx, unit, false, base, t.followTimeout(0, uc.FanRatePct, period), poll, progress); err != nil {
		return res, err
	}
	z0, zone := t.zoneNow(unit)
	target := math.Min(base+StepPct, uc.MaxFanPct)
	if target-base < StepPct/4 {
		target = math.Max(base-StepPct, uc.MinFanPct)
	}
	if math.Abs(target-base) < 1 {
		check(Check{Name: "fan step", Want: fmt.Sprintf("room for a step in %g..%g %%", uc.MinFanPct, uc.MaxFanPct),
			Got: fmt.Sprintf("fan at %.0f %%", base)})
	} else {
		if err := t.Engine.SetManual(unit, target); err != nil {
			return res, err
		}
		progress(fmt.Sprintf("fan step %.0f%% -> %.0f%%", base, target))
		to := t.followTimeout(target-base, uc.FanRatePct, period)
		fr, err := t.follow(ctx, unit, false, target, to, poll, progress)
		if err != nil {
			return res, err
		}
		check(fr.check(fmt.Sprintf("fan feedback at %.0f%%", target), target, t.Tol, to))

		// 2. The zone's inlets: more air, cooler inlets (and the reverse).
		if zone != "" {
			if err := t.watchInlets(ctx, unit, zone, z0, progress); err != nil {
				return res, err
			}
			z1, _ := t.zoneNow(unit)
			c := Check{Name: "zone " + zone + " inlets respond"}
			up := target > base
			if up {
				c.Want = "fall by 0.1 K or more"
			} else {
				c.Want = "rise by 0.1 K or more"
			}
			switch {
			case !z0.OK || !z1.OK:
				c.Got = fmt.Sprintf("no valid measurement (%d of %d sensors valid)", z1.Valid, z1.Total)
			default:
				d := z1.MeasureC - z0.MeasureC
				c.Got = fmt.Sprintf("%+.2f K in %v", d, t.InletWait.Round(100*time.Millisecond))
				c.Pass = up && d <= -0.1 || !up && d >= 0.1
			}
			check(c)
		}
		if err := t.Engine.SetManual(unit, base); err != nil {
			return res, err
		}
		progress(fmt.Sprintf("fan back to %.0f%%", base))
	}

	// 3. The valve.
	us, _ = t.unitSnap(unit)
	vbase := clampF(us.ValvePct, uc.MinValvePct, uc.MaxValvePct)
	vt := math.Min(vbase+StepPct, uc.MaxValvePct)
	if vt-vbase < StepPct/4 {
		vt = math.Max(vbase-StepPct, uc.MinValvePct)
	}
	if math.Abs(vt-vbase) < 1 {
		check(Check{Name: "valve step", Want: fmt.Sprintf("room for a step in %g..%g %%", uc.MinValvePct, uc.MaxValvePct),
			Got: fmt.Sprintf("valve at %.0f %%", vbase)})
	} else {
		if err := t.Valve.Hold(unit, vt); err != nil {
			return res, err
		}
		progress(fmt.Sprintf("valve step %.0f%% -> %.0f%%", vbase, vt))
		to := t.followTimeout(0, 0, period)
		fr, err := t.follow(ctx, unit, true, vt, to, poll, progress)
		if err != nil {
			return res, err
		}
		check(fr.check(fmt.Sprintf("valve feedback at %.0f%%", vt), vt, t.Tol, to))
	}
	res.Pass = len(res.Checks) > 0
	for _, c := range res.Checks {
		res.Pass = res.Pass && c.Pass
	}
	return res, nil
}

func clampF(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return hi // unknown: more air
	}
	return math.Min(math.Max(v, lo), hi)
}

func (t Tester) unitSnap(unit string) (engine.UnitSnapshot, bool) {
	for _, u := range t.Engine.Snapshot().Units {
		if u.Name == unit {
			return u, true
		}
	}
	return engine.UnitSnapshot{}, false
}

// zoneNow returns the snapshot of the zone the unit serves most.
func (t Tester) zoneNow(unit string) (engine.ZoneSnapshot, string) {
	snap := t.Engine.Snapshot()
	for _, u := range snap.Units {
		if u.Name != unit || u.Zone == "" {
			continue
		}
		for _, z := range snap.Zones {
			if z.Name == u.Zone {
				return z, z.Name
			}
		}
	}
	return engine.ZoneSnapshot{}, ""
}

// followTimeout is how long a feedback may take to follow a step of delta at rate %/s: the ramp,
// three control periods (command, write, read back) and a margin for the unit's own lag.
func (t Tester) followTimeout(delta, rate float64, period time.Duration) time.Duration {
	d := 3*period + t.FollowSlack
	if rate > 0 {
		d += time.Duration(math.Abs(delta) / rate * float64(time.Second))
	}
	return d
}

type followed struct {
	got  float64
	took time.Duration
	ok   bool
}

func (f followed) check(name string, want, tol float64, timeout time.Duration) Check {
	c := Check{Name: name, Want: fmt.Sprintf("%.0f ±%.0f %% in %v", want, tol, timeout.Round(100*time.Millisecond)), Pass: f.ok}
	switch {
	case math.IsNaN(f.got):
		c.Got = "no read-back"
	case f.ok:
		c.Got = fmt.Sprintf("%.1f %% after %.1f s", f.got, f.took.Seconds())
	default:
		c.Got = fmt.Sprintf("%.1f %% (timed out)", f.got)
	}
	return c
}

// watchInlets waits InletWait for the zone's inlets to answer a fan step, telling how they go
// every ProgressEvery (a minute without a word looks like a hung console).
func (t Tester) watchInlets(ctx context.Context, unit, zone string, z0 engine.ZoneSnapshot, progress func(string)) error {
	progress(fmt.Sprintf("watching zone %s inlets for %v (now %s)", zone, t.InletWait.Round(100*time.Millisecond), zoneTemp(z0)))
	start := t.Clock.Now()
	end := start.Add(t.InletWait)
	for {
		now := t.Clock.Now()
		if !now.Before(end) {
			return ctx.Err()
		}
		if err := t.Clock.Until(ctx, minTime(end, now.Add(t.ProgressEvery))); err != nil {
			return err
		}
		if el := t.Clock.Now().Sub(start); el < t.InletWait {
			z, _ := t.zoneNow(unit)
			progress(fmt.Sprintf("zone %s inlets %s, %v of %v", zone, zoneTemp(z), el.Round(time.Second), t.InletWait.Round(time.Second)))
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func zoneTemp(z engine.ZoneSnapshot) string {
	if !z.OK || math.IsNaN(z.MeasureC) {
		return fmt.Sprintf("n/a, %d of %d sensors valid", z.Valid, z.Total)
	}
	return fmt.Sprintf("%.2f C", z.MeasureC)
}

// feedbackClose reports whether a read-back is within tol of want.
func feedbackClose(got, want, tol float64) bool { return !math.IsNaN(got) && math.Abs(got-want) <= tol }

// follow waits until a read-back taken after now shows the fan (or valve) within tol of want,
// polling every poll and telling where it is every ProgressEvery. It returns ctx's error when
// cancelled, and ok false at the timeout.
func (t Tester) follow(ctx context.Context, unit string, valve bool, want float64, timeout, poll time.Duration, progress func(string)) (followed, error) {
	start := t.Clock.Now()
	last := math.NaN()
	what := "fan"
	if valve {
		what = "valve"
	}
	told := start
	for {
		now := t.Clock.Now()
		if now.Sub(told) >= t.ProgressEvery {
			told = now
			got := "n/a"
			if !math.IsNaN(last) {
				got = fmt.Sprintf("%.1f %%", last)
			}
			progress(fmt.Sprintf("%s feedback %s (want %.0f ±%.0f %%), %v of %v", what, got, want, t.Tol,
				now.Sub(start).Round(time.Second), timeout.Round(time.Second)))
		}
		if st, at, ok := t.Engine.ReadBack(unit); ok && at.After(start) {
			last = st.FanPct
			if valve {
				last = st.ValvePct
			}
			if feedbackClose(last, want, t.Tol) {
				return followed{got: last, took: t.Clock.Now().Sub(start), ok: true}, nil
			}
		}
		if t.Clock.Now().Sub(start) >= timeout {
			return followed{got: last, took: t.Clock.Now().Sub(start)}, nil
		}
		if err := t.Clock.Until(ctx, t.Clock.Now().Add(poll)); err != nil {
			return followed{got: last}, err
		}
	}
}
