package appliance

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/control/engine"
)

// stepPct is the size of the commissioning steps (fan and valve).
const stepPct = 20.0

// TestUnit implements console.Controller: the commissioning test of one unit.
//
//  1. The fan is put in manual where it runs, then stepped by +20 % (capped at max_fan_pct; down
//     by 20 % when there is no room above, never below min_fan_pct). The fan feedback must follow
//     within the ramp time at the unit's rate limit plus a margin.
//  2. The zone the unit serves most is watched for a while: its inlets must fall after a step up
//     (rise after a step down) by at least 0.1 K.
//  3. The fan goes back, the valve is held 20 % away from where it is (through a configuration
//     with min_valve_pct = max_valve_pct applied to the engine only, never stored: the engine has
//     no manual valve) and its feedback must follow.
//
// Whatever happens (a failed check, a cancelled ctx), the valve is released and the fan loop goes
// back to the mode it was in (auto, or manual at its speed).
func (b *backend) TestUnit(ctx context.Context, unit string, progress func(string)) (res console.UnitTest, err error) {
	res.Unit = unit
	cfg, _ := b.running()
	uc := cfg.Unit(unit)
	switch {
	case uc == nil:
		return res, fmt.Errorf("%w %q", engine.ErrUnknownUnit, unit)
	case uc.DisableControls:
		return res, fmt.Errorf("%w: %s", engine.ErrDisabled, unit)
	}
	release, err := b.claim(unit, "test")
	if err != nil {
		return res, err
	}
	defer release()
	us, ok := b.unitSnap(unit)
	switch {
	case !ok:
		return res, fmt.Errorf("%w %q", engine.ErrUnknownUnit, unit)
	case us.Isolated:
		return res, fmt.Errorf("%s does not answer: nothing to test", unit)
	}
	if st, ok := b.a.eng.AutotuneStatus(unit); ok && st.Running {
		return res, fmt.Errorf("%w on %s", engine.ErrBusy, unit)
	}
	prev := b.a.eng.State().Units[unit]
	defer func() {
		b.releaseValve(unit)
		if prev.Manual {
			_ = b.a.eng.SetManual(unit, prev.ManualPct)
			progress(fmt.Sprintf("%s back in manual at %g%%", unit, prev.ManualPct))
		} else {
			_ = b.a.eng.SetAuto(unit)
			progress(unit + " back in automatic control")
		}
	}()
	period := cfg.Control.Period.Duration
	check := func(c console.TestCheck) {
		res.Checks = append(res.Checks, c)
		verdict := "FAIL"
		if c.Pass {
			verdict = "pass"
		}
		progress(fmt.Sprintf("%s: %s (want %s) %s", c.Name, c.Got, c.Want, verdict))
	}

	// 1. Hold the fan where it is, then step it.
	base := clampF(us.FanPct, uc.MinFanPct, uc.MaxFanPct)
	if err := b.a.eng.SetManual(unit, base); err != nil {
		return res, err
	}
	progress(fmt.Sprintf("fan held at %.0f%% (manual)", base))
	if _, err := b.follow(ctx, unit, false, base, b.followTimeout(0, uc.FanRatePct, period), progress); err != nil {
		return res, err
	}
	z0, zone := b.zoneNow(unit)
	target := math.Min(base+stepPct, uc.MaxFanPct)
	if target-base < stepPct/4 {
		target = math.Max(base-stepPct, uc.MinFanPct)
	}
	if math.Abs(target-base) < 1 {
		check(console.TestCheck{Name: "fan step", Want: fmt.Sprintf("room for a step in %g..%g %%", uc.MinFanPct, uc.MaxFanPct),
			Got: fmt.Sprintf("fan at %.0f %%", base)})
	} else {
		if err := b.a.eng.SetManual(unit, target); err != nil {
			return res, err
		}
		progress(fmt.Sprintf("fan step %.0f%% -> %.0f%%", base, target))
		to := b.followTimeout(target-base, uc.FanRatePct, period)
		fr, err := b.follow(ctx, unit, false, target, to, progress)
		if err != nil {
			return res, err
		}
		check(fr.check(fmt.Sprintf("fan feedback at %.0f%%", target), target, b.tol, to))

		// 2. The zone's inlets: more air, cooler inlets (and the reverse).
		if zone != "" {
			if err := b.watchInlets(ctx, unit, zone, z0, progress); err != nil {
				return res, err
			}
			z1, _ := b.zoneNow(unit)
			c := console.TestCheck{Name: "zone " + zone + " inlets respond"}
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
				c.Got = fmt.Sprintf("%+.2f K in %v", d, b.inletWait.Round(100*time.Millisecond))
				c.Pass = up && d <= -0.1 || !up && d >= 0.1
			}
			check(c)
		}
		if err := b.a.eng.SetManual(unit, base); err != nil {
			return res, err
		}
		progress(fmt.Sprintf("fan back to %.0f%%", base))
	}

	// 3. The valve.
	us, _ = b.unitSnap(unit)
	vbase := clampF(us.ValvePct, uc.MinValvePct, uc.MaxValvePct)
	vt := math.Min(vbase+stepPct, uc.MaxValvePct)
	if vt-vbase < stepPct/4 {
		vt = math.Max(vbase-stepPct, uc.MinValvePct)
	}
	if math.Abs(vt-vbase) < 1 {
		check(console.TestCheck{Name: "valve step", Want: fmt.Sprintf("room for a step in %g..%g %%", uc.MinValvePct, uc.MaxValvePct),
			Got: fmt.Sprintf("valve at %.0f %%", vbase)})
	} else {
		if err := b.holdValve(unit, vt); err != nil {
			return res, err
		}
		progress(fmt.Sprintf("valve step %.0f%% -> %.0f%%", vbase, vt))
		to := b.followTimeout(0, 0, period)
		fr, err := b.follow(ctx, unit, true, vt, to, progress)
		if err != nil {
			return res, err
		}
		check(fr.check(fmt.Sprintf("valve feedback at %.0f%%", vt), vt, b.tol, to))
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

func (b *backend) unitSnap(unit string) (engine.UnitSnapshot, bool) {
	for _, u := range b.a.eng.Snapshot().Units {
		if u.Name == unit {
			return u, true
		}
	}
	return engine.UnitSnapshot{}, false
}

// zoneNow returns the snapshot of the zone the unit serves most.
func (b *backend) zoneNow(unit string) (engine.ZoneSnapshot, string) {
	snap := b.a.eng.Snapshot()
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
func (b *backend) followTimeout(delta, rate float64, period time.Duration) time.Duration {
	d := 3*period + b.followSlack
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

func (f followed) check(name string, want, tol float64, timeout time.Duration) console.TestCheck {
	c := console.TestCheck{Name: name, Want: fmt.Sprintf("%.0f ±%.0f %% in %v", want, tol, timeout.Round(100*time.Millisecond)), Pass: f.ok}
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

// watchInlets waits b.inletWait for the zone's inlets to answer a fan step, telling how they go
// every progressEvery (a minute without a word looks like a hung console).
func (b *backend) watchInlets(ctx context.Context, unit, zone string, z0 engine.ZoneSnapshot, progress func(string)) error {
	progress(fmt.Sprintf("watching zone %s inlets for %v (now %s)", zone, b.inletWait.Round(100*time.Millisecond), zoneTemp(z0)))
	start := time.Now()
	for {
		left := b.inletWait - time.Since(start)
		if left <= 0 {
			return ctx.Err()
		}
		if err := sleepCtx(ctx, min(left, b.progressEvery)); err != nil {
			return err
		}
		if el := time.Since(start); el < b.inletWait {
			z, _ := b.zoneNow(unit)
			progress(fmt.Sprintf("zone %s inlets %s, %v of %v", zone, zoneTemp(z), el.Round(time.Second), b.inletWait.Round(time.Second)))
		}
	}
}

func zoneTemp(z engine.ZoneSnapshot) string {
	if !z.OK || math.IsNaN(z.MeasureC) {
		return fmt.Sprintf("n/a, %d of %d sensors valid", z.Valid, z.Total)
	}
	return fmt.Sprintf("%.2f C", z.MeasureC)
}

// follow waits until a read-back taken after now shows the fan (or valve) within tol of want,
// telling where it is every progressEvery. It returns ctx's error when cancelled, and ok false
// at the timeout.
func (b *backend) follow(ctx context.Context, unit string, valve bool, want float64, timeout time.Duration, progress func(string)) (followed, error) {
	start := time.Now()
	poll := time.NewTicker(b.pollEvery())
	defer poll.Stop()
	last := math.NaN()
	what := "fan"
	if valve {
		what = "valve"
	}
	told := start
	for {
		if time.Since(told) >= b.progressEvery {
			told = time.Now()
			got := "n/a"
			if !math.IsNaN(last) {
				got = fmt.Sprintf("%.1f %%", last)
			}
			progress(fmt.Sprintf("%s feedback %s (want %.0f ±%.0f %%), %v of %v", what, got, want, b.tol,
				time.Since(start).Round(time.Second), timeout.Round(time.Second)))
		}
		if st, at, ok := b.a.eng.ReadBack(unit); ok && at.After(start) {
			last = st.FanPct
			if valve {
				last = st.ValvePct
			}
			if feedbackClose(last, want, b.tol) {
				return followed{got: last, took: time.Since(start), ok: true}, nil
			}
		}
		if time.Since(start) >= timeout {
			return followed{got: last, took: time.Since(start)}, nil
		}
		select {
		case <-ctx.Done():
			return followed{got: last}, ctx.Err()
		case <-poll.C:
		}
	}
}

func (b *backend) pollEvery() time.Duration {
	cfg, _ := b.running()
	return max(cfg.Control.Period.Duration/4, 20*time.Millisecond)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// holdValve makes the engine run the unit's valve at pct (until releaseValve).
func (b *backend) holdValve(unit string, pct float64) error {
	b.cfgMu.Lock()
	defer b.cfgMu.Unlock()
	b.holds[unit] = pct
	cfg, _ := b.running()
	if err := b.a.eng.ApplyConfig(b.withHolds(cfg)); err != nil {
		delete(b.holds, unit)
		return err
	}
	return nil
}

// releaseValve gives the unit's valve back to its supply-air loop (bumplessly: the loop resumes
// from the held output).
func (b *backend) releaseValve(unit string) {
	b.cfgMu.Lock()
	defer b.cfgMu.Unlock()
	if _, ok := b.holds[unit]; !ok {
		return
	}
	delete(b.holds, unit)
	cfg, _ := b.running()
	if err := b.a.eng.ApplyConfig(b.withHolds(cfg)); err != nil {
		b.a.warnf("test unit %s: valve release: %v", unit, err)
	}
}
