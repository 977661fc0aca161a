package field

import (
	"context"
	"errors"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/ahu"
	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

func testSite(t *testing.T, addr string) *site.Config {
	t.Helper()
	src := `node_id = 3
[[line]]
name = "bms"
target = "tcp://` + addr + `"
[[unit]]
name = "crah-1"
line = "bms"
unit_id = 1
[[unit]]
name = "fan-2"
line = "bms"
unit_id = 2
profile = "vfd-fan"
[[zone]]
name = "z"
units = ["crah-1", "fan-2"]
sensors = ["00-17-0d-00-00-38-0a-1f/1"]
`
	cfg, err := site.Parse([]byte(src), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestFieldAgainstSimulatedUnits drives a CRAH and a fan drive through the real bus over TCP
// loopback: settings, read-back (a drive has no temperatures: they read as 0, not NaN, so the
// engine takes it), and one command block.
func TestFieldAgainstSimulatedUnits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := modbussim.NewServer()
	crah := ahusim.NewCRAH(1, ahusim.Options{})
	srv.Add(1, crah)
	srv.Add(2, ahusim.NewVFD(2, ahusim.Options{}))
	done := make(chan error, 1)
	go func() { done <- srv.ServeTCP(ctx, ln) }()
	defer func() { cancel(); <-done }()

	cfg := testSite(t, ln.Addr().String())
	if err := Check(cfg); err != nil {
		t.Fatal(err)
	}
	f, err := Open(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, want := range map[string][2]bool{"crah-1": {true, true}, "fan-2": {false, false}, "nope": {false, false}} {
		if s, r := f.HasTemps(name); s != want[0] || r != want[1] {
			t.Errorf("HasTemps(%s) = %v, %v; want %v", name, s, r, want)
		}
	}
	if errs := f.ConfigureUnits(ctx, 2*time.Second); len(errs) > 0 {
		t.Fatalf("configure: %v", errs)
	}
	reg := func(a uint16) uint16 { v, _ := crah.Holding(a); return v }
	if v := reg(0); v != 1 {
		t.Fatalf("remote enable register = %d after ConfigureUnits", v)
	}
	for _, name := range []string{"crah-1", "fan-2"} {
		st, err := f.ReadState(ctx, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if math.IsNaN(st.SupplyC) || math.IsNaN(st.ReturnC) {
			t.Fatalf("%s: read-back has NaN temperatures: %+v", name, st)
		}
	}
	// One control period of a CRAH is two transactions: one read of the input block, one
	// write of the command block. Nothing less can read the unit and command it.
	before := srv.Requests(1)
	if _, err := f.ReadState(ctx, "crah-1"); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteCommand(ctx, "crah-1", engine.Command{Owner: 3, Epoch: 2, Heartbeat: 9, FanPct: 55, ValvePct: 40, Write: true}); err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(1) - before; n != 2 {
		t.Fatalf("one control period took %d transactions, want 2", n)
	}
	if got := []uint16{reg(10), reg(11), reg(12), reg(13), reg(14)}; got[0] != 3 || got[1] != 2 || got[2] != 9 || got[3] != 550 || got[4] != 400 {
		t.Fatalf("command block = %v", got)
	}
	if _, err := f.ReadState(ctx, "crah-9"); err == nil || !strings.Contains(err.Error(), "crah-9") {
		t.Fatalf("unknown unit: %v", err)
	}

	// New unit settings go through the open field; anything else of the field refuses.
	next, _ := cfg.Clone()
	next.Units[0].MinFanPct = 42
	for _, bad := range []func(c *site.Config){
		func(c *site.Config) { c.Units[0].UnitID = 9 },
		func(c *site.Config) { c.Units[1].Profile = "crah-generic" },
		func(c *site.Config) { c.Lines[0].Target = "tcp://127.0.0.1:1" },
		func(c *site.Config) { c.Mesh.Baud = 9600 },
		func(c *site.Config) { c.Units = c.Units[:1] },
	} {
		c, _ := next.Clone()
		bad(c)
		if _, err := f.UpdateUnits(c); !errors.Is(err, ErrNeedsReopen) {
			t.Fatalf("UpdateUnits with a changed address, profile, line, mesh or unit set: %v", err)
		}
	}
	changed, err := f.UpdateUnits(next)
	if err != nil || len(changed) != 1 || changed[0] != "crah-1" {
		t.Fatalf("UpdateUnits: %v %v, want [crah-1]", changed, err)
	}
	if err := f.ConfigureUnit(ctx, "crah-1"); err != nil {
		t.Fatal(err)
	}
	if v := reg(ahusim.CRAHMinFan); v != 420 {
		t.Fatalf("min fan register %d after the update, want 420", v)
	}
	if changed, err := f.UpdateUnits(next); err != nil || len(changed) != 0 {
		t.Fatalf("UpdateUnits again: %v %v, want nothing changed", changed, err)
	}
}

func TestCheckNamesUnknownProfile(t *testing.T) {
	cfg := testSite(t, "127.0.0.1:1")
	cfg.Units[1].Profile = "vfd-fann"
	err := Check(cfg)
	if err == nil || !strings.Contains(err.Error(), `unit[1](fan-2).profile: "vfd-fann"`) {
		t.Fatalf("Check = %v", err)
	}
}

// The built-in profile names site validates against are drivers/ahu's own list.
func TestBuiltinProfilesRegistered(t *testing.T) {
	if got, want := strings.Join(site.BuiltinProfiles(), ","), strings.Join(ahu.BuiltinNames(), ","); got != want || got == "" {
		t.Fatalf("site knows %q, ahu ships %q", got, want)
	}
}

// A deferred line (a 2N standby's RTU line) is not opened: its units answer ErrLineDeferred and
// nothing touches the device until OpenDeferred, which reports a device that is not there.
func TestDeferredLine(t *testing.T) {
	src := `node_id = 3
[[line]]
name = "bms"
target = "tcp://127.0.0.1:1"
[[line]]
name = "rs485"
target = "rtu:///dev/coldaisle-no-such-port?baud=9600"
[[unit]]
name = "crah-1"
line = "bms"
unit_id = 1
[[unit]]
name = "fan-2"
line = "rs485"
unit_id = 2
profile = "vfd-fan"
[[zone]]
name = "z"
units = ["crah-1", "fan-2"]
sensors = ["00-17-0d-00-00-38-0a-1f/1"]
`
	cfg, err := site.Parse([]byte(src), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !Witnessable(cfg, cfg.Lines[0]) || Witnessable(cfg, cfg.Lines[1]) {
		t.Fatal("witnessable: the TCP line of a crah is, the RTU line is not")
	}
	f, err := Open(context.Background(), cfg, Options{Defer: func(l site.Line) bool { return !Witnessable(cfg, l) }})
	if err != nil {
		t.Fatalf("open with the RTU line deferred: %v", err)
	}
	defer f.Close()
	if _, err := f.ReadState(context.Background(), "fan-2"); !errors.Is(err, ErrLineDeferred) {
		t.Fatalf("read of a unit on a deferred line: %v", err)
	}
	if !f.Deferred("fan-2") || f.Deferred("crah-1") {
		t.Fatal("Deferred")
	}
	if err := f.OpenDeferred(); err == nil || !strings.Contains(err.Error(), "rs485") {
		t.Fatalf("open of a missing device: %v", err)
	}
	if !f.Deferred("fan-2") {
		t.Fatal("a line that failed to open is still deferred")
	}
}
