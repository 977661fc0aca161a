package appliance

import (
	"context"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/control/commission"
	"github.com/coldaisle/coldaisle/control/engine"
)

// TestUnit implements console.Controller: the commissioning test of one unit (commission.Tester:
// fan step and feedback, the zone's inlets, valve step and feedback), on the running engine and
// the wall clock. The unit is claimed for the test (no tune or second test beside it); the valve
// is held through a configuration applied to the engine only, on top of any commit meanwhile.
func (b *backend) TestUnit(ctx context.Context, unit string, progress func(string)) (console.UnitTest, error) {
	release, err := b.claim(unit, "test")
	if err != nil {
		return console.UnitTest{Unit: unit}, err
	}
	defer release()
	cfg, _ := b.running()
	t := commission.Tester{
		Engine: b.a.eng, Valve: testValves{b}, Clock: commission.Wall{},
		Tol: b.tol, FollowSlack: b.followSlack, InletWait: b.inletWait, ProgressEvery: b.progressEvery,
	}
	res, err := t.Run(ctx, cfg, unit, progress)
	out := console.UnitTest{Unit: res.Unit, Pass: res.Pass}
	for _, c := range res.Checks {
		out.Checks = append(out.Checks, console.TestCheck{Name: c.Name, Want: c.Want, Got: c.Got, Pass: c.Pass})
	}
	return out, err
}

// testValves holds valves for commission.Tester through the backend's holds (kept on top of every
// commit while the test runs).
type testValves struct{ b *backend }

func (v testValves) Hold(unit string, pct float64) error { return v.b.holdValve(unit, pct) }
func (v testValves) Release(unit string)                 { v.b.releaseValve(unit) }

func (b *backend) unitSnap(unit string) (engine.UnitSnapshot, bool) {
	for _, u := range b.a.eng.Snapshot().Units {
		if u.Name == unit {
			return u, true
		}
	}
	return engine.UnitSnapshot{}, false
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
