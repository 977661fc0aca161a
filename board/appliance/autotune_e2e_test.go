package appliance

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/twin"
)

// twinSpeed runs the room 90 times faster than the wall clock: an experiment of about 35 plant
// minutes takes about 25 s. The twin's site configuration scales the controller's loop times by
// it; its control period (and so the experiment's baseline and timeout, which count periods)
// stops at the site's 100 ms floor, 9 plant seconds here.
const twinSpeed = 90

// expectWithin is expect with its own deadline; it fails at once if the console prints one of
// the fail strings first.
func (tm *terminal) expectWithin(want string, d time.Duration, fail ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(d)
	for {
		tm.mu.Lock()
		all := tm.out.String()
		tm.mu.Unlock()
		seen := all[tm.mark:]
		if i := strings.Index(seen, want); i >= 0 {
			tm.mark += i + len(want)
			return seen[:i+len(want)]
		}
		for _, f := range fail {
			if strings.Contains(seen, f) {
				tm.t.Fatalf("the console printed %q before %q:\n%s", f, want, seen)
			}
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the console never printed %q in %v; it printed:\n%s", want, d, seen)
		}
		time.Sleep(20 * time.Millisecond) // polling the screen, not synchronising on time
	}
}

// expectOr is expectWithin that reports (instead of failing) when retry shows up first.
func (tm *terminal) expectOr(want string, d time.Duration, retry string, fail ...string) (string, bool) {
	tm.t.Helper()
	deadline := time.Now().Add(d)
	for {
		tm.mu.Lock()
		all := tm.out.String()
		tm.mu.Unlock()
		seen := all[tm.mark:]
		if i := strings.Index(seen, want); i >= 0 {
			tm.mark += i + len(want)
			return seen[:i+len(want)], false
		}
		if i := strings.Index(seen, retry); i >= 0 {
			tm.mark += i + len(retry)
			return seen, true
		}
		for _, f := range fail {
			if strings.Contains(seen, f) {
				tm.t.Fatalf("the console printed %q before %q:\n%s", f, want, seen)
			}
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the console never printed %q in %v; it printed:\n%s", want, d, seen)
		}
		time.Sleep(20 * time.Millisecond) // polling the screen, not synchronising on time
	}
}

var (
	tuneDoneRe = regexp.MustCompile(`tune crah-1 fan: kp \S+, ti_s \S+, td_s \S+ \(([^)]*)\)\r?\n\s*(.*?)\r?\n`)
)

// TestAutotuneOnTwinFromConsole: a technician on the console (a real pty) of an App that controls
// the digital twin's small room at x90 runs `tune crah-1`, waits for the relay experiment, then
// stores its result the way the console says (configure, set unit crah-1 fan_tuning ..., commit),
// with where the gains came from (method and data as printed; the date as the engine stamped it,
// which the console does not print). The committed version holds the unit's fan_tuning with
// date, method and data, and the engine runs it.
func TestAutotuneOnTwinFromConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the twin at x90 with a relay experiment for about half a minute of wall time")
	}
	wall := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	sc, err := plant.LoadScenario("small-room")
	if err != nil {
		t.Fatal(err)
	}
	quietRoom := *sc
	quietRoom.Events = nil // an experiment assumes no load change while it runs
	tw, err := twin.New(twin.Options{Scenario: &quietRoom, Seed: 1, Speed: twinSpeed, GatewayLink: filepath.Join(dir, "gw"), ModbusListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	twDone := make(chan error, 1)
	go func() { twDone <- tw.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-twDone
	})
	if err := tw.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := tw.SiteConfig()
	data, err := site.Encode(cfg)
	if err != nil {
		t.Fatal(err)
	}

	slave, tm := consolePTY(t)
	o := Options{ConfigPath: writeSite(t, dir, string(data)), DBPath: filepath.Join(dir, "state.db"), NoBoard: true,
		Logf: quiet, Version: "v-test", Console: slave}
	appCtx, appCancel := context.WithCancel(ctx)
	a, err := Open(appCtx, o)
	if err != nil {
		appCancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(appCtx) }()
	t.Cleanup(func() { // before the twin and the pty: cleanups run last-in first-out
		appCancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not return 10 s after cancel")
		}
	})

	tm.expect("login: ")
	tm.typeLine("admin")
	tm.expect("Password: ")
	tm.typeLine("coldaisle")
	tm.expect("New password: ")
	tm.typeLine("n3w-secret")
	tm.expect("Retype new password: ")
	tm.typeLine("n3w-secret")
	tm.expect("password changed")
	prompt := "admin@small-room> "
	tm.expect(prompt)

	// The room settles under the controller: every unit in auto, then five plant minutes (the
	// experiment's baseline waits for the rest).
	unitsAuto := func() bool {
		for _, u := range a.eng.Snapshot().Units {
			if u.Mode != engine.ModeAuto {
				return false
			}
		}
		return true
	}
	waitFor(t, 60*time.Second, "every unit in auto", unitsAuto)
	t.Logf("every unit in auto %v after the start (plant %v)", time.Since(wall).Round(100*time.Millisecond), tw.PlantTime().Round(time.Second))
	rest := tw.PlantTime() + 5*time.Minute
	waitFor(t, 60*time.Second, "five plant minutes in auto", func() bool { return tw.PlantTime() >= rest })
	// The engine refuses an experiment on a zone within 1 K of the alarm limit, and the start-up
	// descent can leave a zone that warm for a while (longer when a loaded machine slows the
	// controller against the twin's clock): wait for the engine's own precondition, with margin.
	// At rest: every zone near its setpoint (the descent from the units' fallback speed is over)
	// and 1.5 K below the alarm limit. An experiment started while a zone is still far below
	// its setpoint finds no oscillation: more air does not cool a room already at supply air.
	cool := func() bool {
		for _, z := range a.eng.Snapshot().Zones {
			if !(z.MeasureC < cfg.Control.AlarmC-1.5 && z.MeasureC > z.SetpointC-2) {
				return false
			}
		}
		return true
	}
	waitFor(t, 120*time.Second, "every zone near its setpoint and 1.5 K below the alarm limit", logZones(t, a, cool))
	t.Logf("room settled %v after the start (plant %v)", time.Since(wall).Round(100*time.Millisecond), tw.PlantTime().Round(time.Second))
	// The nodes' battery voltages come through the gateway link to the console's sensor view
	// (the twin gives each node 2.9..3.3 V).
	ss, err := a.backend().Sensors(ctx)
	if err != nil || len(ss) == 0 {
		t.Fatalf("sensors: %v %v", ss, err)
	}
	for _, s := range ss {
		if s.State != "missing" && (s.BatteryMV < 2900 || s.BatteryMV >= 3300) {
			t.Errorf("sensor %s (%s): battery %d mV, want the twin's 2900..3299", s.ID, s.State, s.BatteryMV)
		}
	}

	// The engine aborts an experiment whose zone comes within 0.5 K of the alarm limit: right, and
	// on a loaded machine the x90 room can get there; that is the engine's safety rule, not the
	// console flow under test, so the tune is asked again (at most three times) once the room is
	// cool again.
	var start time.Time
	var plant0 time.Duration
	var out string
	for try := 1; ; try++ {
		start, plant0 = time.Now(), tw.PlantTime()
		tm.typeLine("tune crah-1")
		tm.expect("autotuning (any key aborts)")
		var aborted bool
		out, aborted = tm.expectOr("[y/N] ", 150*time.Second, "aborted: zone", "aborted", "error", "failed", "no experiment", "bad value")
		if !aborted {
			break
		}
		if try == 3 {
			t.Fatalf("tune crah-1 aborted three times for its zone's warmth:\n%s", out)
		}
		t.Logf("try %d aborted by the engine's alarm margin; again once the room is cool:\n%s", try, out)
		tm.expect(prompt)
		waitFor(t, 120*time.Second, "every zone near its setpoint and 1.5 K below the alarm limit", logZones(t, a, cool))
	}
	took, plantTook := time.Since(start), tw.PlantTime()-plant0
	m := tuneDoneRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("tune crah-1 printed no result:\n%s", out)
	}
	method, dataLine := m[1], strings.TrimSpace(m[2])
	st, ok := a.eng.AutotuneStatus("crah-1")
	if !ok || st.Result == nil || st.Detail == nil {
		t.Fatalf("engine status after the console's tune: %+v", st)
	}
	d := st.Detail
	t.Logf("tune crah-1 on the twin at x%d: %v wall (%v plant); Ku %.3g %%/K, Pu %.1f s wall; model (%s) K %.3g K/%%, T %.2f s, L %.2f s wall (x%d: T %.0f s, L %.0f s plant); zone gains kp %g %%/K, ti %g s",
		twinSpeed, took.Round(time.Second), plantTook.Round(time.Second), d.Ku, d.Pu, d.ModelFrom, d.Model.K, d.Model.T, d.Model.L,
		twinSpeed, d.Model.T*twinSpeed, d.Model.L*twinSpeed, st.Result.Kp, st.Result.Ti)
	t.Logf("baseline waited %.1f s for rest, step settled in %.1f s, %d relay periods, %.1f s in all (wall)", d.Baseline.Waited, d.Step.Settled, d.Relay.Cycles, d.DurationS)
	if took > 60*time.Second {
		t.Logf("the experiment took %v of wall time (more than a minute)", took.Round(time.Second))
	}
	if method != "relay+simc" || dataLine != st.Result.Data {
		t.Fatalf("console printed method %q data %q; the engine's result %+v", method, dataLine, *st.Result)
	}

	// Store it, with where it came from: the console offers to.
	tm.typeLine("y")
	tm.expect("stored as configuration version 2")
	tm.expect(prompt)

	cv, err := a.db.ConfigVersionN(2)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := site.Parse(cv.Data, "version 2")
	if err != nil {
		t.Fatal(err)
	}
	u := stored.Unit("crah-1")
	if u == nil || u.FanTuning == nil {
		t.Fatalf("stored version 2 has no crah-1 fan_tuning:\n%s", cv.Data)
	}
	got, want := *u.FanTuning, *st.Result
	if got != want {
		t.Fatalf("stored crah-1 fan_tuning %+v, the experiment's %+v", got, want)
	}
	if date, err := time.Parse(time.RFC3339, got.Date); err != nil || date.Before(start.Add(-time.Second)) || date.After(time.Now()) {
		t.Errorf("stored date %q (%v): want the experiment's end, between %v and now", got.Date, err, start)
	}
	if ft := a.eng.Config().Unit("crah-1").FanTuning; ft == nil || *ft != want {
		t.Errorf("the engine runs crah-1 fan_tuning %+v", ft)
	}
	if snap := tw.Snapshot(); snap.MaxInletC >= cfg.Control.AlarmC {
		t.Errorf("hottest inlet %.2f C after the experiment", snap.MaxInletC)
	}

	// Low batteries: the twin's nodes report 2.9..3.3 V, above the default 2.7 V limit, so
	// show status flags none; a technician raises the limit to 3.1 V and exactly the nodes
	// below it are flagged.
	lowAlarms := func() map[string]bool {
		st, err := a.backend().Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, al := range st.Alarms {
			if node, ok := strings.CutPrefix(al, "warning node "); ok && strings.Contains(al, "battery low") {
				out[node[:strings.Index(node, ":")]] = true
			}
		}
		return out
	}
	if got := lowAlarms(); len(got) != 0 {
		t.Errorf("battery alarms at the default limit: %v", got)
	}
	running, _, err := a.backend().RunningConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	running.Control.LowBatteryV = 3.1
	if _, err := a.backend().CommitConfig(ctx, running, console.CommitInfo{User: "tech"}); err != nil {
		t.Fatal(err)
	}
	lowNodes := map[string]bool{}
	ss, _ = a.backend().Sensors(ctx)
	for _, s := range ss {
		if s.BatteryMV > 0 && s.BatteryMV < 3100 {
			lowNodes[s.ID[:strings.Index(s.ID, "/")]] = true
		}
	}
	// The alarms follow at the next control period.
	deadline := time.Now().Add(5 * time.Second)
	for got := lowAlarms(); !maps.Equal(got, lowNodes) || len(lowNodes) == 0; got = lowAlarms() {
		if time.Now().After(deadline) {
			t.Errorf("battery alarms at 3.1 V: %v, want the nodes below it: %v", got, lowNodes)
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the status for the next period's alarms
	}
	t.Logf("whole test %v of wall time", time.Since(wall).Round(time.Second))
}

// logZones is cond that, while false, logs the zones and units every 10 s of wall time: when the
// room does not settle on a loaded machine, the log says why.
func logZones(t *testing.T, a *App, cond func() bool) func() bool {
	last := time.Now()
	return func() bool {
		ok := cond()
		if !ok && time.Since(last) > 10*time.Second {
			last = time.Now()
			snap := a.eng.Snapshot()
			var b strings.Builder
			for _, z := range snap.Zones {
				fmt.Fprintf(&b, " %s measure %.2f set %.2f demand %.1f hot %.2f %v;", z.Name, z.MeasureC, z.SetpointC, z.DemandPct, z.HottestC, z.Alarms)
			}
			for _, u := range snap.Units {
				fmt.Fprintf(&b, " %s %v %.1f%% (%s);", u.Name, u.Mode, u.FanPct, u.Why)
			}
			t.Logf("not yet:%s", b.String())
		}
		return ok
	}
}
