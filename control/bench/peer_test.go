package bench

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/site"
)

// TestCommonSpeedTuningGrid reruns the grid CommonSpeedTuning was chosen from (slow: set
// BENCH_TUNE_PEER=1). It logs each setting's fan energy over the built-in scenarios and seeds
// 1..5, the hottest true inlet after settle and the time above the setpoint, and checks that the
// chosen setting holds the alarm limit and is the cheapest one that does.
func TestCommonSpeedTuningGrid(t *testing.T) {
	if os.Getenv("BENCH_TUNE_PEER") == "" {
		t.Skip("set BENCH_TUNE_PEER=1 to rerun the peer's tuning grid")
	}
	bestKWh, best := math.Inf(1), site.Tuning{}
	for _, kp := range []float64{5, 6, 8, 10, 12} {
		for _, ti := range []float64{40, 60, 90} {
			tot, worst, above := 0.0, 0.0, 0.0
			pass := true
			for _, name := range plant.Builtin() {
				sc := load(t, name)
				for seed := int64(1); seed <= 5; seed++ {
					r, err := RunCommonSpeed(sc, Options{Seed: seed}, site.Tuning{Kp: kp, Ti: ti})
					if err != nil {
						t.Fatal(err)
					}
					tot += r.FanKWh
					worst = math.Max(worst, r.MaxInletSettledC)
					above += r.MinutesAboveSP
					pass = pass && r.Passed
				}
			}
			t.Logf("Kp %g %%/K Ti %g s: %.3f kWh, hottest after settle %.2f C, %.1f min above the setpoint, holds the alarm limit: %v", kp, ti, tot, worst, above, pass)
			if pass && tot < bestKWh {
				bestKWh, best = tot, site.Tuning{Kp: kp, Ti: ti}
			}
		}
	}
	if best.Kp != CommonSpeedTuning.Kp || best.Ti != CommonSpeedTuning.Ti {
		t.Errorf("cheapest setting holding the alarm limit: Kp %g Ti %g; CommonSpeedTuning is Kp %g Ti %g", best.Kp, best.Ti, CommonSpeedTuning.Kp, CommonSpeedTuning.Ti)
	}
}

// TestCommonSpeedPeerCommands drives the peer directly: fail-safe at the safe speed before any
// reading; one common speed, clamped to each unit's own minimum, moving at most at the rate limit;
// more air when the hottest valid inlet is above the setpoint; the safe speed for
// CommonSpeedFailHold after a unit is lost; a supply-air loop on the coil valve.
func TestCommonSpeedPeerCommands(t *testing.T) {
	sc := load(t, "small-room")
	cfg := SiteConfig(sc)
	p, err := newCommonSpeed(cfg, CommonSpeedTuning)
	if err != nil {
		t.Fatal(err)
	}
	now := simTime(0)
	var seq uint8
	feed := func(hot float64) {
		seq++
		for k, s := range cfg.Sensors {
			v := 20.0
			if k == 3 {
				v = hot
			}
			p.Observe(engine.Reading{Sensor: s.ID, Value: v, Time: now, Seq: seq, Arrival: now})
		}
	}
	running := engine.UnitState{FanPct: 100, Running: true, Remote: true, SupplyC: 20, ReturnC: 30}
	units := func(st engine.UnitState) {
		for _, u := range cfg.Units {
			p.UpdateUnit(u.Name, st, nil, now)
		}
	}
	units(running)
	cmds := p.Tick(now)
	for _, c := range cmds {
		if c.FanPct != 100 || !c.Write {
			t.Fatalf("no readings yet: %+v, want the safe speed", c)
		}
	}
	period := cfg.Control.Period.Duration
	last := []float64{100, 100}
	tick := func(secs int, hot float64, check func(k int, cmds []engine.Command)) {
		for k := 0; k < secs/int(period.Seconds()); k++ {
			now = now.Add(period)
			if k%15 == 0 {
				feed(hot)
			}
			cmds = p.Tick(now)
			for j, c := range cmds {
				u := cfg.Units[j]
				if c.FanPct < u.MinFanPct || c.FanPct > u.MaxFanPct {
					t.Fatalf("%s at %.2f %%, outside %g..%g", c.Unit, c.FanPct, u.MinFanPct, u.MaxFanPct)
				}
				if d := math.Abs(c.FanPct - last[j]); d > u.FanRatePct*period.Seconds()+1e-9 && c.FanPct != 100 {
					t.Fatalf("%s moved %.2f %% in %v (rate limit %g %%/s)", c.Unit, d, period, u.FanRatePct)
				}
				last[j] = c.FanPct
			}
			if lo := math.Max(cfg.Units[0].MinFanPct, cfg.Units[1].MinFanPct); cmds[0].FanPct > lo && cmds[1].FanPct > lo && cmds[0].FanPct != cmds[1].FanPct {
				t.Fatalf("not one common speed: %.2f %.2f", cmds[0].FanPct, cmds[1].FanPct)
			}
			if check != nil {
				check(k, cmds)
			}
		}
	}
	valve0 := p.valve[0].Output()
	tick(600, 20, nil) // a cool room: down to each unit's own minimum
	if cmds[0].FanPct != cfg.Units[0].MinFanPct || cmds[1].FanPct != cfg.Units[1].MinFanPct {
		t.Fatalf("cool room: %.2f %.2f, want the minimums %g %g", cmds[0].FanPct, cmds[1].FanPct, cfg.Units[0].MinFanPct, cfg.Units[1].MinFanPct)
	}
	if !(cmds[0].ValvePct > valve0) {
		t.Errorf("supply 20 C over its 18 C setpoint: valve %.1f %% from %.1f %%", cmds[0].ValvePct, valve0)
	}
	tick(120, 26.5, nil) // one hot inlet: more air for every unit
	if !(cmds[0].FanPct > cfg.Units[0].MinFanPct+10 && cmds[1].FanPct == cmds[0].FanPct) {
		t.Fatalf("hot inlet: %.2f %.2f", cmds[0].FanPct, cmds[1].FanPct)
	}
	tick(120, 20, nil)
	lost := running
	lost.Running, lost.FanFault = false, true
	p.UpdateUnit(cfg.Units[1].Name, lost, nil, now)
	hold := int(CommonSpeedFailHold / period)
	tick(int((CommonSpeedFailHold + 20*period).Seconds()), 20, func(k int, cmds []engine.Command) {
		switch {
		case k < hold && cmds[0].FanPct != 100:
			t.Fatalf("%v after a unit is lost: %.2f %%, want the safe speed", time.Duration(k+1)*period, cmds[0].FanPct)
		case k > hold+1 && cmds[0].FanPct == 100:
			t.Fatalf("%v after a unit is lost: still at the safe speed", time.Duration(k+1)*period)
		}
	})
}
