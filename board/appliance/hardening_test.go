package appliance

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// A fan held in manual leaves the unit's valve loop in auto, still moving: show loops says so
// (it showed the fan's "manual" for the valve too); a valve held by a commissioning test is "held".
func TestBackendValveLoopShowsItsOwnMode(t *testing.T) {
	r := startRig(t, nil)
	ctx := context.Background()
	if err := r.b.SetLoopMode(ctx, "crah-1", console.LoopMode{Manual: true, FanPct: 60}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the fan in manual", func() bool { return r.b.unitModeNow(t, "crah-1") == "manual" })
	modes := func() (fan, valve string) {
		ls, err := r.b.Loops(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			switch l.Unit + " " + l.Loop {
			case "crah-1 fan":
				fan = l.Mode
			case "crah-1 valve":
				valve = l.Mode
			}
		}
		return fan, valve
	}
	if fan, valve := modes(); fan != "manual" || valve != "auto" {
		t.Fatalf("loops: fan %q valve %q, want manual and auto", fan, valve)
	}
	if err := r.b.holdValve("crah-1", 30); err != nil {
		t.Fatal(err)
	}
	if _, valve := modes(); valve != "held" {
		t.Fatalf("held valve shows %q", valve)
	}
	r.b.releaseValve("crah-1")
}

// A unit serving two zones shows both in show loops.
func TestBackendUnitInTwoZonesShowsBoth(t *testing.T) {
	r := startRig(t, func(o *Options) {
		data, err := os.ReadFile(o.ConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, "\n[[zone]]\nname = \"z2\"\nunits = [\"crah-1\"]\nsensors = [\"00-17-0d-00-00-38-0a-20/1\"]\n"...)
		if err := os.WriteFile(o.ConfigPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	ls, err := r.b.Loops(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Unit == "crah-1" && l.Loop == "fan" {
			if l.Zone != "z1,z2" {
				t.Fatalf("fan loop zone %q, want z1,z2", l.Zone)
			}
			return
		}
	}
	t.Fatalf("no fan loop: %+v", ls)
}

// fanFeedbackReg is input register 2 of crah-generic (fan speed feedback, 0.1 %).
const fanFeedbackReg = 2

// sentinelCRAH answers the "not available" sentinel 0x7FFF for its fan feedback while bad is set.
type sentinelCRAH struct {
	*ahusim.CRAH
	bad atomic.Bool
}

func (c *sentinelCRAH) ReadInputRegisters(addr, count uint16) ([]uint16, error) {
	regs, err := c.CRAH.ReadInputRegisters(addr, count)
	if err == nil && c.bad.Load() && addr <= fanFeedbackReg && int(addr)+int(count) > fanFeedbackReg {
		regs[fanFeedbackReg-addr] = 0x7fff
	}
	return regs, err
}

// A unit that reports its fan feedback as 0x7FFF ("not available") is shown n/a, not 3277 %, and
// the engine never takes it as airflow: the unit goes fail-safe (more air), and back when the
// feedback is real again.
func TestBackendNotAvailableReadBack(t *testing.T) {
	crah := &sentinelCRAH{CRAH: ahusim.NewCRAH(1, ahusim.Options{RemoteEnabled: true})}
	srv := modbussim.NewServer()
	srv.Add(1, crah)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srvDone := make(chan struct{})
	go func() { defer close(srvDone); _ = srv.ServeTCP(ctx, ln) }()
	dir := t.TempDir()
	a, err := Open(ctx, Options{ConfigPath: writeSite(t, dir, fmt.Sprintf(rigTOML, ln.Addr())), DBPath: filepath.Join(dir, "state.db"),
		NoBoard: true, Logf: quiet, Version: "v-test"})
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
	feedInlets(t, &rig{a: a, b: b, crah: crah.CRAH})
	waitFor(t, 10*time.Second, "auto", func() bool { return b.unitModeNow(t, "crah-1") == "auto" })
	crah.bad.Store(true)
	var u console.UnitStatus
	waitFor(t, 10*time.Second, "the fan feedback shown unavailable", func() bool {
		us, err := b.Units(context.Background())
		if err != nil || len(us) != 1 {
			t.Fatalf("units %+v %v", us, err)
		}
		u = us[0]
		return math.IsNaN(u.FanPct)
	})
	if u.FanPct > 100 || math.IsNaN(u.ReturnC) || u.ReturnC == 0 {
		t.Fatalf("unit %+v", u)
	}
	waitFor(t, 10*time.Second, "fail-safe", func() bool { return b.unitModeNow(t, "crah-1") == "fail-safe" })
	if rb, _, _ := a.eng.ReadBack("crah-1"); rb.FanPct > 100 {
		t.Fatalf("the engine took %v %% as the fan's read-back", rb.FanPct)
	}
	for _, us := range a.eng.Snapshot().Units {
		if us.Mode != engine.ModeFailSafe || !us.Isolated {
			t.Fatalf("engine mode %v (isolated %v), want fail-safe: the read-back is refused", us.Mode, us.Isolated)
		}
	}
	crah.bad.Store(false)
	waitFor(t, 10*time.Second, "the feedback back", func() bool {
		us, _ := b.Units(context.Background())
		return len(us) == 1 && !math.IsNaN(us[0].FanPct) && b.unitModeNow(t, "crah-1") == "auto"
	})
}
