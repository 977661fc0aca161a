package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/field"
	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
	"github.com/coldaisle/coldaisle/storage"
)

// rigTOML is a one-unit site on a Modbus TCP simulator; fast period and rates keep tests short.
const rigTOML = `site = "test-room"
node_id = 7

[control]
period = "200ms"

[[line]]
name = "bms"
target = "tcp://%s"
timeout = "80ms"

[[unit]]
name = "crah-1"
line = "bms"
unit_id = 1
fan_rate_pct_s = 100
valve_rate_pct_s = 100

[[zone]]
name = "z1"
units = ["crah-1"]
sensors = ["00-17-0d-00-00-38-0a-1f/1", "00-17-0d-00-00-38-0a-1f/2"]
`

var (
	sensor1 = "00-17-0d-00-00-38-0a-1f/1"
	sensor2 = "00-17-0d-00-00-38-0a-1f/2"
)

// simulator starts a Modbus TCP server with CRAH units (remote enabled) at the given ids.
func simulator(t testing.TB, ids ...byte) (string, map[byte]*ahusim.CRAH) {
	t.Helper()
	srv := modbussim.NewServer()
	units := map[byte]*ahusim.CRAH{}
	for _, id := range ids {
		units[id] = ahusim.NewCRAH(id, ahusim.Options{RemoteEnabled: true})
		srv.Add(id, units[id])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeTCP(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String(), units
}

type rig struct {
	a    *App
	b    *backend
	crah *ahusim.CRAH
	addr string
	dir  string
}

// startRig runs an App (no board) against a simulated CRAH until the test ends.
func startRig(t *testing.T, mod func(*Options)) *rig {
	t.Helper()
	addr, units := simulator(t, 1)
	dir := t.TempDir()
	o := Options{ConfigPath: writeSite(t, dir, fmt.Sprintf(rigTOML, addr)), DBPath: filepath.Join(dir, "state.db"),
		NoBoard: true, Logf: quiet, Version: "v-test"}
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := Open(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			// Say where it hangs: every goroutine's stack.
			buf := make([]byte, 1<<20)
			t.Errorf("serve did not return 10 s after cancel; goroutines:\n%s", buf[:runtime.Stack(buf, true)])
		}
	})
	waitFor(t, 10*time.Second, "two control periods", func() bool { return a.periods.Load() >= 2 })
	b := a.backend()
	b.followSlack, b.inletWait, b.tunePoll, b.progressEvery = 3*time.Second, 600*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond
	return &rig{a: a, b: b, crah: units[1], addr: addr, dir: dir}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not synchronising on time
	}
}

func holding(c *ahusim.CRAH, reg uint16) uint16 {
	v, _ := c.Holding(reg)
	return v
}

// feedInlets is a one-line plant: both inlets read 30 C minus 0.1 K per % of the unit's fan
// command, reported every 100 ms, until the test ends.
func feedInlets(t *testing.T, r *rig) {
	feedBoth(t, r.crah, func() []*App { return []*App{r.a} })
}

func TestBackendUsers(t *testing.T) {
	r := startRig(t, nil)
	ctx := context.Background()
	if names, err := r.b.ListUsers(ctx); err != nil || len(names) != 0 {
		t.Fatalf("fresh database users %v %v", names, err)
	}
	if _, err := r.b.LookupUser(ctx, "admin"); !errors.Is(err, console.ErrNoUser) {
		t.Fatalf("unknown user: %v", err)
	}
	h, err := console.HashPassword("pw-long-enough", console.KDFParams{MemoryKiB: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.b.SaveUser(ctx, console.User{Name: "admin", Hash: h, MustChange: true}); err != nil {
		t.Fatal(err)
	}
	u, err := r.b.LookupUser(ctx, "admin")
	if err != nil || u.Hash != h || !u.MustChange || !console.CheckPassword(u.Hash, "pw-long-enough") {
		t.Fatalf("round trip: %+v %v", u, err)
	}
	su, _ := r.a.db.User("admin")
	if string(su.Hash) != h {
		t.Fatalf("stored hash %q", su.Hash)
	}
	if err := r.b.SaveUser(ctx, console.User{Name: "admin", Hash: h}); err != nil {
		t.Fatal(err)
	}
	if u, _ := r.b.LookupUser(ctx, "admin"); u.MustChange {
		t.Fatal("MustChange not cleared")
	}
	if err := r.b.SaveUser(ctx, console.User{Name: "bad name with spaces and far too long to be a user name", Hash: h}); err == nil {
		t.Fatal("an invalid user name was stored")
	}
	if names, _ := r.b.ListUsers(ctx); len(names) != 1 || names[0] != "admin" {
		t.Fatalf("users %v", names)
	}
}

func TestBackendEventKinds(t *testing.T) {
	r := startRig(t, nil)
	ctx := context.Background()
	long := strings.Repeat("x", 300) + "\xff"
	for _, e := range []console.Event{
		{User: "admin", Kind: console.EventLogin, Text: "login on the console"},
		{User: long, Kind: console.EventLoginFailed, Text: "failed login on the console"},
		{User: "admin", Kind: console.EventCommit, Text: "version 2 (was 1)"},
		{User: "admin", Kind: console.EventLoopMode, Text: "crah-1 manual at 60%"},
		{User: "admin", Kind: console.EventReboot, Text: "reboot from the console"},
	} {
		if err := r.b.LogEvent(ctx, e); err != nil {
			t.Fatalf("%s: %v", e.Kind, err)
		}
	}
	evs, err := r.b.Events(ctx, 5)
	if err != nil || len(evs) != 5 {
		t.Fatalf("events %v %v", evs, err)
	}
	want := []string{console.EventLogin, console.EventLoginFailed, console.EventCommit, console.EventLoopMode, console.EventReboot}
	for i, e := range evs {
		if e.Kind != want[i] {
			t.Errorf("event %d kind %q, want %q (oldest first)", i, e.Kind, want[i])
		}
	}
	if evs[1].Text != "failed login on the console" || len(evs[1].User) > 64 {
		t.Errorf("failed login event %+v", evs[1])
	}
	raw, _ := r.a.db.Events(5)
	kinds := map[string]string{}
	for _, e := range raw {
		kinds[strings.SplitN(e.Text, ":", 2)[0]] = e.Kind
	}
	for ck, sk := range map[string]string{"login": storage.KindLogin, "login-failed": storage.KindLogin, "commit": storage.KindConfig,
		"loop": storage.KindMode, "reboot": storage.KindSystem} {
		if kinds[ck] != sk {
			t.Errorf("console kind %s stored as %q, want %q", ck, kinds[ck], sk)
		}
	}
}

func TestBackendCommitAppliesWithoutRestart(t *testing.T) {
	r := startRig(t, nil)
	ctx := context.Background()
	cfg, v, err := r.b.RunningConfig(ctx)
	if err != nil || v.N != 1 || v.User != "import" {
		t.Fatalf("running: v%+v %v", v, err)
	}
	r.a.mu.Lock()
	fld := r.a.fieldNow()
	r.a.mu.Unlock()
	cfg.Control.SetpointC = 24
	cfg.Zones[0].SetpointC = 24
	nv, err := r.b.CommitConfig(ctx, cfg, console.CommitInfo{User: "tech", Time: time.Now(), Comment: "cooler"})
	if err != nil || nv.N != 2 || nv.User != "tech" {
		t.Fatalf("commit: %+v %v", nv, err)
	}
	cv, err := r.a.db.Config()
	if err != nil || cv.Version != 2 || cv.Who != "tech" || cv.Comment != "cooler" {
		t.Fatalf("stored: v%d %q %q %v", cv.Version, cv.Who, cv.Comment, err)
	}
	if got := r.a.eng.Config().Control.SetpointC; got != 24 {
		t.Fatalf("engine control setpoint %g", got)
	}
	if z := r.a.eng.Snapshot().Zones[0]; z.SetpointC != 24 {
		t.Fatalf("engine zone setpoint %g", z.SetpointC)
	}
	r.a.mu.Lock()
	same := r.a.fieldNow() == fld
	r.a.mu.Unlock()
	if !same {
		t.Fatal("a setpoint change reopened the field")
	}
	if _, v, _ := r.b.RunningConfig(ctx); v.N != 2 || v.User != "tech" {
		t.Fatalf("running after commit: %+v", v)
	}

	// A unit setting: written through the open field (the Modbus connection and the mesh
	// session stay), the unit's own register rewritten.
	periods := r.a.periods.Load()
	cfg.Units[0].MinFanPct = 35
	if _, err := r.b.CommitConfig(ctx, cfg, console.CommitInfo{User: "tech"}); err != nil {
		t.Fatal(err)
	}
	r.a.mu.Lock()
	same = r.a.fieldNow() == fld
	r.a.mu.Unlock()
	if !same {
		t.Fatal("a min_fan_pct change reopened the field")
	}
	waitFor(t, 10*time.Second, "min fan register 350", func() bool { return holding(r.crah, ahusim.CRAHMinFan) == 350 })
	waitFor(t, 10*time.Second, "control after the swap", func() bool { return r.a.periods.Load() > periods+3 })
	if m := r.b.unitModeNow(t, "crah-1"); m == "offline" {
		t.Fatal("unit offline after the field swap")
	}
	hist, err := r.b.ConfigHistory(ctx, 2)
	if err != nil || len(hist) != 2 || hist[0].N != 3 || hist[1].N != 2 {
		t.Fatalf("history newest first: %+v %v", hist, err)
	}
	old, ov, err := r.b.ConfigVersion(ctx, 1)
	if err != nil || ov.N != 1 || old.Control.SetpointC != 25 {
		t.Fatalf("version 1: %+v %v", ov, err)
	}
	for _, n := range []int{0, 99} {
		if _, _, err := r.b.ConfigVersion(ctx, n); !errors.Is(err, console.ErrNoVersion) {
			t.Fatalf("version %d: %v", n, err)
		}
	}

	// The checkpoint interval applies at once too, without rebuilding the field.
	if got := r.a.ckpt.Interval(); got != 20*time.Second {
		t.Fatalf("checkpoint interval %v before the change", got)
	}
	r.a.mu.Lock()
	fld = r.a.fieldNow()
	r.a.mu.Unlock()
	cfg.Control.Checkpoint.Duration = 45 * time.Second
	if _, err := r.b.CommitConfig(ctx, cfg, console.CommitInfo{User: "tech"}); err != nil {
		t.Fatal(err)
	}
	r.a.mu.Lock()
	same = r.a.fieldNow() == fld
	r.a.mu.Unlock()
	if got := r.a.ckpt.Interval(); got != 45*time.Second || !same {
		t.Fatalf("checkpoint interval %v after committing 45s; field kept %v", got, same)
	}
}

func (b *backend) unitModeNow(t *testing.T, unit string) string {
	t.Helper()
	us, ok := b.unitSnap(unit)
	if !ok {
		t.Fatalf("no unit %s", unit)
	}
	return b.unitMode(us)
}

func TestBackendFailedCommitChangesNothing(t *testing.T) {
	r := startRig(t, nil)
	ctx := context.Background()
	base, _, _ := r.b.RunningConfig(ctx)
	r.a.mu.Lock()
	cfg0, fld0 := r.a.cfg, r.a.fieldNow()
	r.a.mu.Unlock()
	eng0 := r.a.eng.Config()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		edit func(c *site.Config)
		want string
	}{
		{"invalid value", ctx, func(c *site.Config) { c.Units[0].MinFanPct = 150 }, "min_fan_pct"},
		{"unknown profile", ctx, func(c *site.Config) { c.Units[0].Profile = "nope" }, "profile"},
		{"line that cannot open", ctx, func(c *site.Config) { c.Lines[0].Target = "rtu:///dev/coldaisle-no-such-port" }, "coldaisle-no-such-port"},
		{"cancelled", cancelled, func(c *site.Config) { c.Control.SetpointC = 23 }, "canceled"},
	}
	for _, tc := range cases {
		c, _ := base.Clone()
		tc.edit(c)
		_, err := r.b.CommitConfig(tc.ctx, c, console.CommitInfo{User: "tech"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error naming %q, got %v", tc.name, tc.want, err)
		}
	}
	hist, _ := r.a.db.ConfigHistory()
	r.a.mu.Lock()
	cfg1, fld1, ver := r.a.cfg, r.a.fieldNow(), r.a.version
	r.a.mu.Unlock()
	if len(hist) != 1 || cfg1 != cfg0 || fld1 != fld0 || ver != 1 || r.a.eng.Config() != eng0 {
		t.Fatalf("a failed commit changed something: %d versions, cfg same %v, field same %v, v%d, engine same %v",
			len(hist), cfg1 == cfg0, fld1 == fld0, ver, r.a.eng.Config() == eng0)
	}
}

func TestBackendLiveViews(t *testing.T) {
	r := startRig(t, nil)
	ctx := context.Background()
	now := time.Now()
	r.a.eng.Observe(engine.Reading{Sensor: sensor1, Value: 23.5, Time: now, Arrival: now})
	r.a.eng.Observe(engine.Reading{Sensor: "00-17-0d-00-00-38-0a-99/1", Value: 21, Time: now, Arrival: now})
	ss, err := r.b.Sensors(ctx)
	if err != nil || len(ss) != 3 {
		t.Fatalf("sensors %+v %v", ss, err)
	}
	if s := ss[0]; s.ID != sensor1 || s.Zone != "z1" || s.State != "ok" || s.Value != 23.5 || s.Unit != "C" {
		t.Errorf("sensor 1: %+v", s)
	}
	if s := ss[1]; s.ID != sensor2 || s.State != "missing" {
		t.Errorf("sensor 2: %+v", s)
	}
	if s := ss[2]; s.Zone != "-" || s.State != "ok" {
		t.Errorf("unconfigured sensor: %+v", s)
	}
	waitFor(t, 5*time.Second, "a unit read-back", func() bool { _, _, ok := r.a.eng.ReadBack("crah-1"); return ok })
	waitFor(t, 5*time.Second, "a tick with the reading", func() bool { return r.a.eng.Snapshot().Zones[0].Valid == 1 })
	us, err := r.b.Units(ctx)
	if err != nil || len(us) != 1 || us[0].Name != "crah-1" || us[0].Line != "bms" || us[0].UnitID != 1 {
		t.Fatalf("units %+v %v", us, err)
	}
	ls, err := r.b.Loops(ctx)
	if err != nil || len(ls) != 3 || ls[0].Loop != "zone" || ls[0].Mode != "low 1/2" || ls[1].Loop != "fan" || ls[2].Loop != "valve" || ls[1].Kp != 8 {
		t.Fatalf("loops %+v %v", ls, err)
	}
	st, err := r.b.Status(ctx)
	if err != nil || st.Software != "v-test" || st.State != "controlling" || st.Uptime <= 0 {
		t.Fatalf("status %+v %v", st, err)
	}
	// One sensor of two has reported: the zone runs fail-safe, but within the start-up grace (one
	// report interval) that is no alarm yet.
	if strings.Contains(strings.Join(st.Alarms, "\n"), "insufficient") {
		t.Errorf("an insufficient-sensors alarm within the start-up grace: %q", st.Alarms)
	}
	if z := r.a.eng.Snapshot().Zones[0]; z.OK || z.Valid != 1 {
		t.Errorf("zone %+v, want 1 of 2 valid, not OK", z)
	}
	cs, err := r.b.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]uint64{}
	for _, c := range cs {
		found[c.Name] = c.Value
	}
	if found["engine.periods"] < 2 || found["modbus.crah-1.requests"] == 0 {
		t.Errorf("counters %v", found)
	}
}

func TestBackendLoopModeReachesTheUnit(t *testing.T) {
	r := startRig(t, nil)
	ctx := context.Background()
	if err := r.b.SetLoopMode(ctx, "crah-1", console.LoopMode{Manual: true, FanPct: 60}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "fan command register 600", func() bool { return holding(r.crah, ahusim.CRAHFanCmd) == 600 })
	if m := r.b.unitModeNow(t, "crah-1"); m != "manual" {
		t.Fatalf("mode %q", m)
	}
	if err := r.b.SetLoopMode(ctx, "crah-1", console.LoopMode{}); err != nil {
		t.Fatal(err)
	}
	if st := r.a.eng.State().Units["crah-1"]; st.Manual {
		t.Fatal("still manual after auto")
	}
	if err := r.b.SetLoopMode(ctx, "crah-9", console.LoopMode{}); !errors.Is(err, engine.ErrUnknownUnit) {
		t.Fatalf("unknown unit: %v", err)
	}
}

func TestBackendModbusRead(t *testing.T) {
	r := startRig(t, nil)
	other, units := simulator(t, 5)
	units[5].SetAlarm(42)
	ctx := context.Background()
	waitFor(t, 10*time.Second, "unit settings written", func() bool { return holding(r.crah, ahusim.CRAHMinFan) == 300 })
	want := []uint16{1, 10, 1000, 180, 300}
	for _, target := range []string{"bms", "tcp://" + r.addr} {
		regs, err := r.b.ModbusRead(ctx, console.ModbusRequest{Target: target, Unit: 1, Table: "holding", Addr: 0, Count: 5})
		if err != nil || fmt.Sprint(regs) != fmt.Sprint(want) {
			t.Errorf("%s: %v %v, want %v", target, regs, err, want)
		}
	}
	regs, err := r.b.ModbusRead(ctx, console.ModbusRequest{Target: "tcp://" + other, Unit: 5, Table: "input", Addr: 5, Count: 1})
	if err != nil || len(regs) != 1 || regs[0] != 42 {
		t.Errorf("other line: %v %v", regs, err)
	}
	if _, err := r.b.ModbusRead(ctx, console.ModbusRequest{Target: "bms", Unit: 1, Table: "coils", Count: 1}); err == nil || !strings.Contains(err.Error(), "coils") {
		t.Errorf("bad table: %v", err)
	}
	if _, err := r.b.ModbusRead(ctx, console.ModbusRequest{Target: "bms", Unit: 9, Table: "holding", Count: 1}); err == nil || !strings.Contains(err.Error(), "exception") {
		t.Errorf("no such unit on the gateway: %v", err)
	}
	if _, err := r.b.ModbusRead(ctx, console.ModbusRequest{Target: "nonsense", Unit: 1, Count: 1}); err == nil {
		t.Error("a target that is neither a line nor a URL was read")
	}
	start := time.Now()
	if _, err := r.b.ModbusRead(ctx, console.ModbusRequest{Target: "tcp://127.0.0.1:1", Unit: 1, Count: 1}); err == nil {
		t.Error("a closed port answered")
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("a dead target took %v", d)
	}
}

func TestBackendTestUnit(t *testing.T) {
	r := startRig(t, nil)
	feedInlets(t, r)
	ctx := context.Background()
	if err := r.b.SetLoopMode(ctx, "crah-1", console.LoopMode{Manual: true, FanPct: 50}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "fan at 50 %", func() bool { return holding(r.crah, ahusim.CRAHFanCmd) == 500 })
	var lines []string
	var mu sync.Mutex
	start := time.Now()
	res, err := r.b.TestUnit(ctx, "crah-1", func(l string) { mu.Lock(); lines = append(lines, l); mu.Unlock() })
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test unit took %v:\n%s", took, strings.Join(lines, "\n"))
	names := []string{"fan feedback at 70%", "zone z1 inlets respond", "valve feedback at"}
	if len(res.Checks) != 3 {
		t.Fatalf("checks %+v", res.Checks)
	}
	for i, c := range res.Checks {
		if !strings.HasPrefix(c.Name, names[i]) || !c.Pass || c.Want == "" || c.Got == "" {
			t.Errorf("check %d: %+v", i, c)
		}
	}
	if !res.Pass || res.Unit != "crah-1" {
		t.Errorf("result %+v", res)
	}
	// Restored: manual at 50 again, the valve back to its loop (configured range in the engine).
	if st := r.a.eng.State().Units["crah-1"]; !st.Manual || st.ManualPct != 50 {
		t.Errorf("fan loop after the test: %+v", st)
	}
	if u := r.a.eng.Config().Unit("crah-1"); u.MinValvePct != 0 || u.MaxValvePct != 100 {
		t.Errorf("valve range after the test %g..%g", u.MinValvePct, u.MaxValvePct)
	}
	waitFor(t, 10*time.Second, "fan back at 50 %", func() bool { return holding(r.crah, ahusim.CRAHFanCmd) == 500 })
	if hist, _ := r.a.db.ConfigHistory(); len(hist) != 1 {
		t.Errorf("the test stored %d configuration versions", len(hist)-1)
	}
	// It says how it goes while it waits: the inlets during their watch, with their values.
	watch := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "zone z1 inlets ") && strings.Contains(l, " C, ") {
			watch++
		}
	}
	if watch < 2 || !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "watching zone z1 inlets for") }) {
		t.Errorf("%d progress lines during the inlet watch:\n%s", watch, strings.Join(lines, "\n"))
	}
}

func TestBackendTestUnitAbortRestores(t *testing.T) {
	r := startRig(t, nil)
	r.b.followSlack = time.Minute // the valve below never follows: the test waits until cancelled
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stepped atomic.Bool
	done := make(chan error, 1)
	go func() {
		_, err := r.b.TestUnit(ctx, "crah-1", func(l string) {
			if strings.HasPrefix(l, "valve step") && !stepped.Load() {
				// Hold the valve's feedback away from its step, so the test is still waiting
				// when it is cancelled, however slow the machine.
				fan := float64(holding(r.crah, ahusim.CRAHFanCmd)) / 1000
				r.crah.SetFeedback(ahusim.Feedback{FanFrac: fan, ValveFrac: 0.37, SupplyC: 18, ReturnC: 24})
				stepped.Store(true)
			}
		})
		done <- err
	}()
	waitFor(t, 20*time.Second, "the valve step", stepped.Load)
	if u := r.a.eng.Config().Unit("crah-1"); u.MinValvePct != u.MaxValvePct {
		t.Fatalf("valve not held during the test: %g..%g", u.MinValvePct, u.MaxValvePct)
	}
	// A commit during the test keeps the hold; the test's end releases it.
	cfg, _, _ := r.b.RunningConfig(context.Background())
	cfg.Zones[0].SetpointC = 24
	if _, err := r.b.CommitConfig(context.Background(), cfg, console.CommitInfo{User: "tech"}); err != nil {
		t.Fatal(err)
	}
	if u := r.a.eng.Config().Unit("crah-1"); u.MinValvePct != u.MaxValvePct {
		t.Fatal("a commit released the valve held by a running test")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("aborted test: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the test did not stop on cancel")
	}
	if st := r.a.eng.State().Units["crah-1"]; st.Manual {
		t.Error("the unit stayed in manual after an aborted test")
	}
	if u := r.a.eng.Config().Unit("crah-1"); u.MinValvePct != 0 || u.MaxValvePct != 100 || r.a.eng.Snapshot().Zones[0].SetpointC != 24 {
		t.Errorf("after the abort: valve %g..%g, setpoint %g", u.MinValvePct, u.MaxValvePct, r.a.eng.Snapshot().Zones[0].SetpointC)
	}
}

func TestBackendAutotune(t *testing.T) {
	r := startRig(t, nil)
	ctx := context.Background()
	if _, err := r.b.Autotune(ctx, "crah-1", "valve", func(string) {}); err == nil || !strings.Contains(err.Error(), "valve") {
		t.Fatalf("valve loop: %v", err)
	}
	if _, err := r.b.Autotune(ctx, "crah-1", "fan", func(string) {}); !errors.Is(err, engine.ErrNoFeedback) {
		t.Fatalf("no sensors: want ErrNoFeedback, got %v", err)
	}
	feedInlets(t, r)
	waitFor(t, 10*time.Second, "auto", func() bool { return r.b.unitModeNow(t, "crah-1") == "auto" })
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var n atomic.Int32
	done := make(chan error, 1)
	go func() {
		_, err := r.b.Autotune(tctx, "crah-1", "fan", func(string) { n.Add(1) })
		done <- err
	}()
	waitFor(t, 10*time.Second, "two progress lines", func() bool { return n.Load() >= 2 })
	if _, err := r.b.TestUnit(ctx, "crah-1", func(string) {}); err == nil {
		t.Error("a unit test started during a tune")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("aborted tune: %v", err)
	}
	if st, ok := r.a.eng.AutotuneStatus("crah-1"); !ok || st.Running || st.Err == nil {
		t.Fatalf("status after abort: %+v", st)
	}
}

func TestBackendRebootRefused(t *testing.T) {
	r := startRig(t, nil)
	if err := r.b.RebootPermitted(context.Background()); !errors.Is(err, ErrRebootNotPermitted) {
		t.Fatalf("reboot permitted: %v", err)
	}
	if err := r.b.Reboot(context.Background()); !errors.Is(err, ErrRebootNotPermitted) || err.Error() != "reboot: not permitted on this machine" {
		t.Fatalf("reboot: %v", err)
	}
	evs, _ := r.a.db.Events(1)
	if len(evs) != 1 || !strings.Contains(evs[0].Text, "reboot refused") {
		t.Fatalf("no event: %+v", evs)
	}
}

func TestFieldChanged(t *testing.T) {
	base, err := site.Parse([]byte(fmt.Sprintf(rigTOML, "127.0.0.1:5020")), "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(c *site.Config)
		want field.Change
	}{
		{"setpoint", func(c *site.Config) { c.Zones[0].SetpointC = 22 }, field.Same},
		{"tuning", func(c *site.Config) { c.Control.FanTuning.Kp = 3 }, field.Same},
		{"max fan", func(c *site.Config) { c.Units[0].MaxFanPct = 90 }, field.Same},
		{"line target", func(c *site.Config) { c.Lines[0].Target = "tcp://127.0.0.1:5021" }, field.Reopen},
		{"unit id", func(c *site.Config) { c.Units[0].UnitID = 2 }, field.Reopen},
		{"profile", func(c *site.Config) { c.Units[0].Profile = "vfd-fan" }, field.Reopen},
		{"mesh baud", func(c *site.Config) { c.Mesh.Baud = 9600 }, field.Reopen},
		{"bms timeout", func(c *site.Config) { c.Units[0].BMSTimeout = site.D(20 * time.Second) }, field.SettingsOnly},
		{"fallback", func(c *site.Config) { c.Units[0].FallbackFanPct = 80 }, field.SettingsOnly},
		{"min fan", func(c *site.Config) { c.Units[0].MinFanPct = 40 }, field.SettingsOnly},
		{"min fan and line", func(c *site.Config) { c.Units[0].MinFanPct = 40; c.Lines[0].Timeout = site.D(time.Second) }, field.Reopen},
		{"new unit", func(c *site.Config) {
			u := c.Units[0]
			u.Name, u.UnitID = "crah-2", 2
			c.Units = append(c.Units, u)
		}, field.Reopen},
	} {
		c, _ := base.Clone()
		tc.edit(c)
		if got := field.Compare(base, c); got != tc.want {
			t.Errorf("%s: field.Compare %v, want %v", tc.name, got, tc.want)
		}
	}
}

// flakyLine reads end of file once (a technician unplugging), then what the test types.
type flakyLine struct {
	mu     sync.Mutex
	reads  int
	out    strings.Builder
	in     chan []byte
	closed chan struct{}
}

func (l *flakyLine) Read(p []byte) (int, error) {
	l.mu.Lock()
	l.reads++
	n := l.reads
	l.mu.Unlock()
	if n == 1 {
		return 0, io.EOF
	}
	select {
	case b := <-l.in:
		return copy(p, b), nil
	case <-l.closed:
		return 0, io.EOF
	}
}

func (l *flakyLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out.Write(p)
}

func (l *flakyLine) output() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out.String()
}

func TestConsoleServedAgainAfterEOF(t *testing.T) {
	r := startRig(t, nil)
	old := consoleRetry
	consoleRetry = 10 * time.Millisecond
	t.Cleanup(func() { consoleRetry = old })
	line := &flakyLine{in: make(chan []byte), closed: make(chan struct{})}
	defer close(line.closed)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.a.serveConsole(ctx, line) }()
	waitFor(t, 10*time.Second, "a second read after end of file", func() bool {
		line.mu.Lock()
		defer line.mu.Unlock()
		return line.reads >= 2
	})
	select {
	case line.in <- []byte("admin\r"):
	case <-time.After(5 * time.Second):
		t.Fatal("the console does not read after end of file")
	}
	waitFor(t, 10*time.Second, "the password prompt", func() bool { return strings.Contains(line.output(), "Password:") })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("serveConsole: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serveConsole did not stop with its context")
	}
	if names, _ := r.b.ListUsers(context.Background()); len(names) != 1 || names[0] != console.FactoryUser {
		t.Fatalf("factory account not created: %v", names)
	}
}

// The engine's events wait for the next checkpoint commit (flash wear) but the console's log
// shows them at once, in time order with the events committed directly.
func TestBackendShowsPendingEngineEvents(t *testing.T) {
	r := startRig(t, nil)
	ctx := context.Background()
	t0 := time.Now()
	if err := r.b.LogEvent(ctx, console.Event{User: "admin", Kind: console.EventLogin, Text: "login on the console"}); err != nil {
		t.Fatal(err)
	}
	pend := storage.Event{Time: t0.Add(time.Hour), Kind: storage.KindAlarm, Who: "engine", Text: "crah-9: alarm test: pending"}
	if err := r.a.ckpt.Log(pend); err != nil {
		t.Fatal(err)
	}
	// (The rig's engine may log its own events meanwhile; the pending one is an hour ahead.)
	evs, err := r.b.Events(ctx, 50)
	if err != nil || len(evs) < 2 {
		t.Fatalf("events %+v %v", evs, err)
	}
	login := slices.IndexFunc(evs, func(e console.Event) bool { return e.Kind == console.EventLogin })
	if login < 0 || evs[len(evs)-1].Text != pend.Text {
		t.Fatalf("log view %+v: want the login, and the pending engine event last", evs)
	}
	if got, _ := r.b.Events(ctx, 1); len(got) != 1 || got[0].Text != pend.Text {
		t.Fatalf("newest event %+v, want the pending one", got)
	}
	// The next commit carries it to the database.
	if err := r.a.ckpt.Flush(); err != nil {
		t.Fatal(err)
	}
	found := false
	raw, _ := r.a.db.Events(50)
	for _, e := range raw {
		found = found || e.Text == pend.Text
	}
	if !found || len(r.a.ckpt.Pending()) != 0 {
		t.Fatalf("after the commit: in the database %v, still pending %d", found, len(r.a.ckpt.Pending()))
	}
}

// A fan drive (vfd-fan: no coil, no temperature points) beside a CRAH: the console shows no
// temperatures or valve for it (NaN, printed "-") and lists no valve loop; the CRAH keeps both.
func TestBackendFanDriveView(t *testing.T) {
	srv := modbussim.NewServer()
	srv.Add(1, ahusim.NewCRAH(1, ahusim.Options{RemoteEnabled: true}))
	srv.Add(2, ahusim.NewVFD(2, ahusim.Options{}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srvDone := make(chan struct{})
	go func() { defer close(srvDone); _ = srv.ServeTCP(ctx, ln) }()
	toml := strings.Replace(fmt.Sprintf(rigTOML, ln.Addr()), `units = ["crah-1"]`, `units = ["crah-1", "fan-2"]`, 1) + `
[[unit]]
name = "fan-2"
line = "bms"
unit_id = 2
profile = "vfd-fan"
`
	dir := t.TempDir()
	a, err := Open(ctx, Options{ConfigPath: writeSite(t, dir, toml), DBPath: filepath.Join(dir, "state.db"), NoBoard: true, Logf: quiet, Version: "v-test"})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-served
		<-srvDone
	})
	b := a.backend()
	waitFor(t, 10*time.Second, "both units read back", func() bool {
		_, _, ok1 := a.eng.ReadBack("crah-1")
		_, _, ok2 := a.eng.ReadBack("fan-2")
		return ok1 && ok2
	})
	us, err := b.Units(context.Background())
	if err != nil || len(us) != 2 {
		t.Fatalf("units %+v %v", us, err)
	}
	for _, u := range us {
		noTemps := u.NoSupply && u.NoReturn && u.NoValve
		if (u.Name == "fan-2") != noTemps || math.IsNaN(u.FanPct) {
			t.Errorf("%s: %+v", u.Name, u)
		}
	}
	ls, err := b.Loops(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var loops []string
	for _, l := range ls {
		loops = append(loops, l.Unit+" "+l.Loop)
	}
	if got := strings.Join(loops, ", "); got != "z1 zone, crah-1 fan, crah-1 valve, fan-2 fan" {
		t.Errorf("loops %q, want a valve loop for the CRAH only", got)
	}
}
