package ahu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func f32words(v float32, cdab bool) (uint16, uint16) {
	b := math.Float32bits(v)
	if cdab {
		return uint16(b), uint16(b >> 16)
	}
	return uint16(b >> 16), uint16(b)
}

// crahFake holds a crah-generic register image: only the listed addresses exist.
func crahFake(id byte) *fakeConn {
	f := newFake(id)
	f.input[0] = uint16(234)                       // 23.4 °C
	f.input[1] = uint16(0xFFFF - 14)               // -1.5 °C
	f.input[2] = 555                               // 55.5 %
	f.input[3] = 400                               // 40 %
	f.input[4] = 1<<0 | 1<<2 | 1<<4                // running, fallback, remote
	f.input[5] = 0                                 //
	f.input[6], f.input[7] = f32words(3.25, false) // ABCD
	f.input[8], f.input[9] = f32words(41.5, true)  // CDAB
	for _, a := range []uint16{0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 15} {
		f.holding[a] = 0
	}
	f.holding[4] = 300
	return f
}

func vfdFake(id byte) *fakeConn {
	f := newFake(id)
	for a := uint16(0); a <= 8; a++ {
		f.holding[a] = 0
	}
	f.holding[2] = 1<<0 | 1<<1 // running, fault
	f.holding[3] = 10000       // 50 %
	f.holding[4], f.holding[5] = f32words(1.75, true)
	return f
}

func mustUnit(t *testing.T, c Conn, id byte, name string) *Unit {
	t.Helper()
	p, err := Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	u := NewUnit(c, id, p)
	if u.err != nil {
		t.Fatal(u.err)
	}
	return u
}

func TestReadStateCRAHOneRequest(t *testing.T) {
	f := crahFake(3)
	u := mustUnit(t, f, 3, "crah-generic")
	s, err := u.ReadState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := f.take(); len(got) != 1 || got[0].Op != "ri" || got[0].Addr != 0 || got[0].Count != 10 {
		t.Fatalf("requests %v, want one read of input 0..9", got)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(s.ReturnC, 23.4) || !near(s.SupplyC, -1.5) || !near(s.FanPct, 55.5) || !near(s.ValvePct, 40) ||
		s.FanKW != 3.25 || s.CoolingKW != 41.5 {
		t.Errorf("values %+v", s)
	}
	if !s.Running || s.Alarm || !s.Fallback || s.FanFault || !s.Remote || s.StatusWord != 0x15 {
		t.Errorf("status bits %+v", s)
	}
	f.input[4] = 1<<1 | 1<<3
	f.input[5] = 31
	s, _ = u.ReadState(context.Background())
	if s.Running || !s.Alarm || s.Fallback || !s.FanFault || s.Remote || s.AlarmCode != 31 {
		t.Errorf("status bits after trip %+v", s)
	}
}

func TestReadStateVFDOneRequest(t *testing.T) {
	f := vfdFake(7)
	u := mustUnit(t, f, 7, "vfd-fan")
	s, err := u.ReadState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := f.take(); len(got) != 1 || got[0].Op != "rh" || got[0].Addr != 2 || got[0].Count != 4 {
		t.Fatalf("requests %v, want one read of holding 2..5", got)
	}
	if s.FanPct != 50 || s.FanKW != 1.75 || !s.Running || !s.FanFault || !s.Alarm || s.Fallback || !s.Remote {
		t.Errorf("state %+v", s)
	}
	if !math.IsNaN(s.ReturnC) || !math.IsNaN(s.SupplyC) {
		t.Errorf("a drive has no temperatures, got %v / %v", s.ReturnC, s.SupplyC)
	}
	f.holding[2] = 1 << 2
	s, _ = u.ReadState(context.Background())
	if !s.Fallback || s.Remote {
		t.Errorf("comm-loss fallback: %+v", s)
	}
}

func TestReadStateCoalescing(t *testing.T) {
	ps, err := ParseProfiles([]byte(customTOML), "site.toml")
	if err != nil {
		t.Fatal(err)
	}
	f := newFake(1)
	for a := uint16(100); a < 105; a++ {
		f.input[a] = 0
	}
	f.input[200] = 1<<3 | 1<<0
	u := NewUnit(f, 1, ps[0])
	s, err := u.ReadState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []req{{Op: "ri", Addr: 100, Count: 5}, {Op: "ri", Addr: 200, Count: 1}}
	if got := f.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests %v, want %v (adjacent points merged, the gap not read)", got, want)
	}
	if !s.Running || !s.Remote || s.Fallback {
		t.Errorf("custom bit layout: %+v", s)
	}

	// 130 adjacent uint32 points: the plan must split at 125 registers.
	var pts []*Point
	for i := 0; i < 130; i++ {
		pts = append(pts, &Point{Name: fmt.Sprint(i), Table: TableInput, Addr: uint16(2 * i), Type: Uint32})
	}
	blocks := plan(pts)
	if len(blocks) != 3 || blocks[0].count != 124 || blocks[1].addr != 124 || blocks[2].addr != 248 {
		for _, b := range blocks {
			t.Logf("block %d/%d", b.addr, b.count)
		}
		t.Errorf("plan of 260 registers gave %d blocks", len(blocks))
	}
	for _, b := range blocks {
		if b.count > MaxReadRegisters {
			t.Errorf("block of %d registers", b.count)
		}
	}
}

func TestWriteCommandCRAHOneBlock(t *testing.T) {
	f := crahFake(3)
	u := mustUnit(t, f, 3, "crah-generic")
	ctx := context.Background()
	cases := []struct {
		min        float64
		fan, valve float64
		wantFan    uint16
		wantValve  uint16
	}{
		{0, 55.5, 40, 555, 400},
		{0, 150, 250, 1000, 1000}, // clamped to 100 %
		{0, -5, -3, 0, 0},         // clamped to 0
		{30, 10, 20, 300, 200},    // never below the minimum
		{30, 0, 0, 300, 0},
		{30, math.Inf(1), math.Inf(-1), 1000, 0},
		{30, 30.04, 0.06, 300, 1},
	}
	for i, c := range cases {
		if err := u.SetMinFanPct(c.min); err != nil {
			t.Fatal(err)
		}
		cmd := Command{Owner: 2, Epoch: 9, Heartbeat: uint16(100 + i), FanPct: c.fan, ValvePct: c.valve}
		if err := u.WriteCommand(ctx, cmd); err != nil {
			t.Fatal(err)
		}
		want := []req{{Op: "wm", Addr: 10, Count: 5, Values: []uint16{2, 9, uint16(100 + i), c.wantFan, c.wantValve}}}
		if got := f.take(); !reflect.DeepEqual(got, want) {
			t.Errorf("case %d: requests %v, want %v", i, got, want)
		}
	}
	if err := u.WriteCommand(ctx, Command{FanPct: math.NaN()}); !errors.Is(err, ErrBadValue) {
		t.Errorf("NaN fan: %v", err)
	}
	if got := f.take(); len(got) != 0 {
		t.Errorf("NaN command sent %v", got)
	}
	if err := u.SetMinFanPct(120); !errors.Is(err, ErrBadValue) {
		t.Errorf("SetMinFanPct(120) = %v", err)
	}
}

func TestWriteCommandVFD(t *testing.T) {
	f := vfdFake(7)
	u := mustUnit(t, f, 7, "vfd-fan")
	ctx := context.Background()
	for _, c := range []struct {
		min, fan float64
		want     []uint16
	}{
		{0, 55, []uint16{1, 11000}},
		{0, 0, []uint16{0, 0}}, // stop
		{0, 120, []uint16{1, 20000}},
		{25, 0, []uint16{1, 5000}}, // the floor keeps it running
	} {
		_ = u.SetMinFanPct(c.min)
		if err := u.WriteCommand(ctx, Command{Owner: 5, Epoch: 5, Heartbeat: 5, FanPct: c.fan, ValvePct: 80}); err != nil {
			t.Fatal(err)
		}
		want := []req{{Op: "wm", Addr: 0, Count: 2, Values: c.want}}
		if got := f.take(); !reflect.DeepEqual(got, want) {
			t.Errorf("fan %v min %v: requests %v, want %v", c.fan, c.min, got, want)
		}
	}
	if _, err := u.ReadOwner(ctx); !errors.Is(err, ErrNoPoint) {
		t.Errorf("ReadOwner on a drive: %v", err)
	}
}

func TestReadOwner(t *testing.T) {
	f := crahFake(3)
	f.holding[10], f.holding[11], f.holding[12] = 4, 17, 900
	u := mustUnit(t, f, 3, "crah-generic")
	o, err := u.ReadOwner(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if o != (Owner{Node: 4, Epoch: 17, Heartbeat: 900}) {
		t.Errorf("owner %+v", o)
	}
	if got := f.take(); !reflect.DeepEqual(got, []req{{Op: "rh", Addr: 10, Count: 3}}) {
		t.Errorf("requests %v", got)
	}
}

func TestConfigureCRAH(t *testing.T) {
	f := crahFake(3)
	u := mustUnit(t, f, 3, "crah-generic")
	ctx := context.Background()
	err := u.Configure(ctx, Settings{RemoteEnable: true, BMSTimeout: 10 * time.Second, FallbackFanPct: 100, MinFanPct: 30, LocalSupplyC: 18, Fencing: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []req{
		{Op: "wm", Addr: 15, Count: 1, Values: []uint16{1}},
		{Op: "wm", Addr: 0, Count: 5, Values: []uint16{1, 10, 1000, 180, 300}}, // remote enable last
	}
	if got := f.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	if u.MinFanPct() != 30 {
		t.Errorf("min fan %v", u.MinFanPct())
	}

	// Zero settings leave the unit's values and learn the minimum from the unit.
	f.holding[4] = 250
	if err := u.Configure(ctx, Settings{}); err != nil {
		t.Fatal(err)
	}
	want = []req{
		{Op: "wm", Addr: 15, Count: 1, Values: []uint16{0}},
		{Op: "wm", Addr: 0, Count: 1, Values: []uint16{0}},
		{Op: "rh", Addr: 4, Count: 1},
	}
	if got := f.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	if u.MinFanPct() != 25 {
		t.Errorf("min fan learnt %v, want 25", u.MinFanPct())
	}

	// Bad settings change nothing.
	for _, s := range []Settings{
		{FallbackFanPct: 20, MinFanPct: 30},
		{LocalSupplyC: 90},
		{LocalSupplyC: math.NaN()},
		{FallbackFanPct: 150},
		{BMSTimeout: -time.Second},
		{BMSTimeout: 100000 * time.Second},
	} {
		err := u.Configure(ctx, s)
		if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "unit 3") {
			t.Errorf("Configure(%+v) = %v, want ErrBadValue naming the unit", s, err)
		}
		if got := f.take(); len(got) != 0 {
			t.Errorf("Configure(%+v) sent %v", s, got)
		}
	}
	// Rounding: 2.4 s is 2 s; 0.2 s is at least 1 s, never "never time out".
	_ = u.Configure(ctx, Settings{BMSTimeout: 200 * time.Millisecond, MinFanPct: 30})
	if got := f.take(); len(got) != 3 || got[2].Addr != 0 || !reflect.DeepEqual(got[2].Values, []uint16{0, 1}) {
		t.Errorf("0.2 s timeout wrote %v, want 1 s in holding 1 (with remote enable, last)", got)
	}
}

func TestConfigureVFD(t *testing.T) {
	f := vfdFake(7)
	u := mustUnit(t, f, 7, "vfd-fan")
	ctx := context.Background()
	if err := u.Configure(ctx, Settings{RemoteEnable: true, BMSTimeout: 10 * time.Second, FallbackFanPct: 100, MinFanPct: 20}); err != nil {
		t.Fatal(err)
	}
	want := []req{{Op: "wm", Addr: 6, Count: 3, Values: []uint16{100, 2, 20000}}}
	if got := f.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	if u.MinFanPct() != 20 {
		t.Errorf("min fan %v", u.MinFanPct())
	}
	if err := u.Configure(ctx, Settings{Fencing: true}); !errors.Is(err, ErrNoPoint) {
		t.Errorf("fencing on a drive: %v", err)
	}
	if got := f.take(); len(got) != 0 {
		t.Errorf("refused Configure sent %v", got)
	}
}

func TestConnErrorsAreWrapped(t *testing.T) {
	f := crahFake(3)
	boom := errors.New("modbus: timeout")
	f.err = boom
	u := mustUnit(t, f, 3, "crah-generic")
	ctx := context.Background()
	_, err := u.ReadState(ctx)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "unit 3") || !strings.Contains(err.Error(), "return air temperature") || !strings.Contains(err.Error(), "input 0..9") {
		t.Errorf("ReadState: %v", err)
	}
	err = u.WriteCommand(ctx, Command{FanPct: 50})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "holding 10..14") || !strings.Contains(err.Error(), "owner node id") {
		t.Errorf("WriteCommand: %v", err)
	}
	err = u.Configure(ctx, Settings{RemoteEnable: true})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "configure") {
		t.Errorf("Configure: %v", err)
	}
	// A short reply is an error, not a panic.
	f.err = nil
	short := &shortConn{fakeConn: f}
	u = mustUnit(t, short, 3, "crah-generic")
	if _, err := u.ReadState(ctx); !errors.Is(err, ErrShortReply) {
		t.Errorf("short reply: %v", err)
	}
}

type shortConn struct{ *fakeConn }

func (s *shortConn) ReadInput(ctx context.Context, unit byte, addr, count uint16) ([]uint16, error) {
	w, err := s.fakeConn.ReadInput(ctx, unit, addr, count)
	return w[:len(w)-1], err
}

func TestInvalidProfileUnit(t *testing.T) {
	p, _ := Builtin("crah-generic")
	p.Points[0].Role = ""
	u := NewUnit(newFake(1), 1, p)
	if _, err := u.ReadState(context.Background()); !errors.Is(err, ErrInvalidProfile) {
		t.Errorf("ReadState with invalid profile: %v", err)
	}
	if err := NewUnit(newFake(1), 1, nil).WriteCommand(context.Background(), Command{}); !errors.Is(err, ErrInvalidProfile) {
		t.Errorf("nil profile: %v", err)
	}
}

// A register the unit reports as not available (0x7FFF, or 0x8000 as int16) or outside the
// valid range reads NaN, never 3276.7 %: the engine refuses a NaN read-back.
func TestReadStateNotAvailableIsNaN(t *testing.T) {
	for _, c := range []struct {
		name       string
		reg, value uint16
		get        func(State) float64
	}{
		{"fan feedback 0x7FFF", 2, 0x7fff, func(s State) float64 { return s.FanPct }},
		{"valve feedback 0x7FFF", 3, 0x7fff, func(s State) float64 { return s.ValvePct }},
		{"fan feedback 100.1 %", 2, 1001, func(s State) float64 { return s.FanPct }},
		{"return 0x7FFF", 0, 0x7fff, func(s State) float64 { return s.ReturnC }},
		{"supply 0x8000", 1, 0x8000, func(s State) float64 { return s.SupplyC }},
		{"supply 85.0 C", 1, 850, func(s State) float64 { return s.SupplyC }},
		{"fan power NaN", 6, 0x7fc0, func(s State) float64 { return s.FanKW }},
	} {
		f := crahFake(3)
		u := mustUnit(t, f, 3, "crah-generic")
		f.input[c.reg] = c.value
		s, err := u.ReadState(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if v := c.get(s); !math.IsNaN(v) {
			t.Errorf("%s: read %v, want NaN (not available)", c.name, v)
		}
		if c.reg != 2 && s.FanPct != 55.5 {
			t.Errorf("%s: the other points suffer: fan %v", c.name, s.FanPct)
		}
	}
	f := vfdFake(7)
	u := mustUnit(t, f, 7, "vfd-fan")
	f.holding[3] = 0x7fff
	if s, _ := u.ReadState(context.Background()); !math.IsNaN(s.FanPct) {
		t.Errorf("drive actual speed 0x7FFF read %v", s.FanPct)
	}
	// The edges of the ranges are real values.
	f2 := crahFake(3)
	u2 := mustUnit(t, f2, 3, "crah-generic")
	f2.input[2], f2.input[1] = 1000, uint16(0xfe70) // 100.0 %, -40.0 C
	if s, _ := u2.ReadState(context.Background()); s.FanPct != 100 || s.SupplyC != -40 {
		t.Errorf("edges: fan %v supply %v", s.FanPct, s.SupplyC)
	}
}

// ReadCommand reads back the command block a unit holds: what a 2N board rewrites, unchanged
// but for its own owner block, when it takes over.
func TestReadCommandBack(t *testing.T) {
	f := crahFake(3)
	u := mustUnit(t, f, 3, "crah-generic")
	ctx := context.Background()
	if err := u.WriteCommand(ctx, Command{Owner: 2, Epoch: 9, Heartbeat: 41, FanPct: 55.5, ValvePct: 40}); err != nil {
		t.Fatal(err)
	}
	f.take()
	c, err := u.ReadCommand(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Owner != 2 || c.Epoch != 9 || c.Heartbeat != 41 || math.Abs(c.FanPct-55.5) > 1e-9 || math.Abs(c.ValvePct-40) > 1e-9 {
		t.Fatalf("read back %+v", c)
	}
	if got := f.take(); len(got) != 1 || got[0].Addr != 10 || got[0].Count != 5 {
		t.Fatalf("one read of the block: %v", got)
	}
}
