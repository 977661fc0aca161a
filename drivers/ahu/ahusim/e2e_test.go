package ahusim_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/ahu"
	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/internal/peertest"
	"github.com/coldaisle/coldaisle/drivers/modbus"
	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// plantClock is plant time kept in an atomic, as the doc asks of a twin.
type plantClock struct{ ns atomic.Int64 }

func (c *plantClock) now() time.Duration      { return time.Duration(c.ns.Load()) }
func (c *plantClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// directConn is an ahu.Conn calling the Devices in process, without a network: the profile
// against the simulation, with nothing in between.
type directConn map[byte]modbussim.Device

func (d directConn) ReadHolding(_ context.Context, unit byte, addr, count uint16) ([]uint16, error) {
	return d[unit].ReadHoldingRegisters(addr, count)
}
func (d directConn) ReadInput(_ context.Context, unit byte, addr, count uint16) ([]uint16, error) {
	return d[unit].ReadInputRegisters(addr, count)
}
func (d directConn) WriteMultiple(_ context.Context, unit byte, addr uint16, values []uint16) error {
	return d[unit].WriteHoldingRegisters("direct", 16, addr, values)
}
func (d directConn) WriteSingle(_ context.Context, unit byte, addr, value uint16) error {
	return d[unit].WriteHoldingRegisters("direct", 6, addr, []uint16{value})
}

func builtin(t *testing.T, name string) *ahu.Profile {
	t.Helper()
	p, err := ahu.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var site = ahu.Settings{RemoteEnable: true, BMSTimeout: 10 * time.Second, FallbackFanPct: 100, MinFanPct: 30, LocalSupplyC: 18, Fencing: true}

// TestProfilesMatchSimulation drives every built-in profile against its simulated unit in
// process: every point the profile reads or writes must exist in the simulation with the same
// meaning.
func TestProfilesMatchSimulation(t *testing.T) {
	clk := &plantClock{}
	crah := ahusim.NewCRAH(1, ahusim.Options{Clock: clk.now})
	vfd := ahusim.NewVFD(2, ahusim.Options{Clock: clk.now})
	conn := directConn{1: crah, 2: vfd}
	ctx := context.Background()

	u := ahu.NewUnit(conn, 1, builtin(t, "crah-generic"))
	if err := u.Configure(ctx, site); err != nil {
		t.Fatal(err)
	}
	if err := u.WriteCommand(ctx, ahu.Command{Owner: 1, Epoch: 1, Heartbeat: 1, FanPct: 20, ValvePct: 35}); err != nil {
		t.Fatal(err)
	}
	if e := crah.Effective(); !e.Remote || e.Fan != 0.3 || e.Valve != 0.35 || e.LocalSupplySP != 18 {
		t.Errorf("crah effective %+v (fan 20 %% raised to the 30 %% minimum)", e)
	}
	crah.SetFeedback(ahusim.Feedback{ReturnC: 27.3, SupplyC: 17.9, FanFrac: 0.3, ValveFrac: 0.35, FanKW: 2.5, CoolKW: 60.25})
	st, err := u.ReadState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := ahu.State{ReturnC: 27.3, SupplyC: 17.9, FanPct: 30, ValvePct: 35, Running: true, Remote: true, FanKW: 2.5, CoolingKW: 60.25, StatusWord: 0x11}
	if !near(st, want) {
		t.Errorf("crah state %+v, want %+v", st, want)
	}
	o, err := u.ReadOwner(ctx)
	if err != nil || o != (ahu.Owner{Node: 1, Epoch: 1, Heartbeat: 1}) {
		t.Errorf("owner %+v, %v", o, err)
	}

	v := ahu.NewUnit(conn, 2, builtin(t, "vfd-fan"))
	if err := v.Configure(ctx, ahu.Settings{BMSTimeout: 5 * time.Second, FallbackFanPct: 90, MinFanPct: 25}); err != nil {
		t.Fatal(err)
	}
	if err := v.WriteCommand(ctx, ahu.Command{FanPct: 55}); err != nil {
		t.Fatal(err)
	}
	if e := vfd.Effective(); !e.Remote || e.Fan != 0.55 {
		t.Errorf("vfd effective %+v", e)
	}
	vfd.SetFeedback(ahusim.Feedback{FanFrac: 0.55, FanKW: 4.5})
	st, err = v.ReadState(ctx)
	if err != nil || st.FanPct != 55 || st.FanKW != 4.5 || !st.Running || st.Fallback || !st.Remote {
		t.Errorf("vfd state %+v, %v", st, err)
	}
	clk.advance(5 * time.Second)
	st, _ = v.ReadState(ctx)
	if e := vfd.Effective(); !st.Fallback || st.Remote || e.LocalFan != 0.9 {
		t.Errorf("vfd comm loss: state %+v effective %+v", st, e)
	}
}

func near(a, b ahu.State) bool {
	f := func(x, y float64) bool { return math.Abs(x-y) < 1e-6 }
	return f(a.ReturnC, b.ReturnC) && f(a.SupplyC, b.SupplyC) && f(a.FanPct, b.FanPct) && f(a.ValvePct, b.ValvePct) &&
		f(a.FanKW, b.FanKW) && f(a.CoolingKW, b.CoolingKW) && a.Running == b.Running && a.Alarm == b.Alarm &&
		a.Fallback == b.Fallback && a.FanFault == b.FanFault && a.Remote == b.Remote && a.AlarmCode == b.AlarmCode &&
		a.StatusWord == b.StatusWord
}

// TestEndToEndTCP runs ahu.Unit over a real modbus.Bus over TCP loopback to a modbussim.Server
// holding simulated units: read state, write command, fallback after the BMS timeout, fencing
// between two controllers, injected faults, and the write log checked afterwards.
func TestEndToEndTCP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clk := &plantClock{}
	var logBuf peertest.Buffer
	wlog := ahusim.NewLog(&logBuf)
	crah := ahusim.NewCRAH(1, ahusim.Options{Clock: clk.now, Log: wlog})
	vfd := ahusim.NewVFD(2, ahusim.Options{Clock: clk.now, Log: wlog})
	srv := modbussim.NewServer()
	srv.Add(1, crah)
	srv.Add(2, vfd)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stopSrv := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.ServeTCP(srvCtx, ln) }()
	defer func() {
		stopSrv()
		if err := <-served; !errors.Is(err, context.Canceled) {
			t.Errorf("ServeTCP: %v", err)
		}
	}()
	target := "tcp://" + ln.Addr().String()
	opts := modbus.Options{Timeout: 3 * time.Second, BreakerThreshold: -1}
	busA, err := modbus.DialContext(ctx, target, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer busA.Close()
	busB, err := modbus.DialContext(ctx, target, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer busB.Close()

	a := ahu.NewUnit(busA, 1, builtin(t, "crah-generic"))
	b := ahu.NewUnit(busB, 1, builtin(t, "crah-generic"))
	if err := a.Configure(ctx, site); err != nil {
		t.Fatal(err)
	}
	hb := uint16(0)
	cmd := func(u *ahu.Unit, owner, epoch uint16, fan float64) error {
		hb++
		return u.WriteCommand(ctx, ahu.Command{Owner: owner, Epoch: epoch, Heartbeat: hb, FanPct: fan, ValvePct: 40})
	}
	if err := cmd(a, 1, 1, 55); err != nil {
		t.Fatal(err)
	}
	if e := crah.Effective(); !e.Remote || e.Fan != 0.55 || e.Valve != 0.4 {
		t.Fatalf("after the first command: %+v", e)
	}
	crah.SetFeedback(ahusim.Feedback{ReturnC: 26.5, SupplyC: 18.2, FanFrac: 0.55, ValveFrac: 0.4, FanKW: 3.5, CoolKW: 48})
	st, err := a.ReadState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !near(st, ahu.State{ReturnC: 26.5, SupplyC: 18.2, FanPct: 55, ValvePct: 40, Running: true, Remote: true, FanKW: 3.5, CoolingKW: 48, StatusWord: 0x11}) {
		t.Errorf("state over TCP %+v", st)
	}

	// Reads do not feed the BMS timer: 10 plant seconds of reads only and the unit falls back.
	clk.advance(5 * time.Second)
	if _, err := a.ReadState(ctx); err != nil {
		t.Fatal(err)
	}
	clk.advance(5 * time.Second)
	st, err = a.ReadState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Fallback || !st.Remote {
		t.Errorf("after 10 s without heartbeat: %+v, want fallback with remote enabled", st)
	}
	if e := crah.Effective(); e.Remote || e.LocalFan != 1 {
		t.Errorf("fallback effective %+v", e)
	}
	if err := cmd(a, 1, 1, 60); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.ReadState(ctx); st.Fallback {
		t.Error("still in fallback after a heartbeat")
	}

	// Fencing: controller B takes over with epoch 2; A's epoch-1 writes are refused with 0x04.
	clk.advance(10 * time.Second)
	if err := cmd(b, 2, 2, 70); err != nil {
		t.Fatal(err)
	}
	err = cmd(a, 1, 1, 30)
	var ex modbus.ExceptionError
	if !errors.As(err, &ex) || ex.Code != modbus.ExServerDeviceFailure || !strings.Contains(err.Error(), "unit 1") {
		t.Fatalf("stale controller: %v, want exception 0x04 naming the unit", err)
	}
	if o, err := a.ReadOwner(ctx); err != nil || o.Node != 2 || o.Epoch != 2 {
		t.Errorf("owner after takeover %+v, %v", o, err)
	}
	if e := crah.Effective(); e.Fan != 0.7 {
		t.Errorf("fan %v after the refused write, want B's 70 %%", e.Fan)
	}
	// Range: a raw out-of-range write is answered 0x03.
	err = busB.WriteSingle(ctx, 1, ahusim.CRAHFanCmd, 1001)
	if !errors.As(err, &ex) || ex.Code != modbus.ExIllegalDataValue {
		t.Errorf("fan 1001: %v", err)
	}
	_, err = busB.ReadHolding(ctx, 1, 5, 1)
	if !errors.As(err, &ex) || ex.Code != modbus.ExIllegalDataAddress {
		t.Errorf("read holding 5: %v", err)
	}

	// Busy injected by the server reaches the controller as an error naming the points.
	srv.SetFault(1, modbussim.Fault{Busy: true})
	_, err = b.ReadState(ctx)
	if !errors.As(err, &ex) || ex.Code != modbus.ExServerDeviceBusy || !strings.Contains(err.Error(), "input 0..9") {
		t.Errorf("busy: %v", err)
	}
	srv.SetFault(1, modbussim.Fault{})

	// The drive on the same gateway.
	d := ahu.NewUnit(busB, 2, builtin(t, "vfd-fan"))
	if err := d.Configure(ctx, ahu.Settings{BMSTimeout: 10 * time.Second, FallbackFanPct: 100, MinFanPct: 20}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteCommand(ctx, ahu.Command{FanPct: 10}); err != nil {
		t.Fatal(err)
	}
	if e := vfd.Effective(); e.Fan != 0.2 {
		t.Errorf("drive fan %v, want the 20 %% floor", e.Fan)
	}

	// The log: heartbeats at 0 and 10 s (a gap of exactly the timeout, not longer), B's takeover
	// at 20 s exactly one timeout after A's last accepted write, A's stale write refused: clean.
	if err := wlog.Err(); err != nil {
		t.Fatal(err)
	}
	vs, err := ahusim.CheckWrites(bytes.NewReader(logBuf.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Logf("violation: %v", v)
	}
	var gaps, owners int
	for _, v := range vs {
		switch v.Kind {
		case ahusim.ViolationHeartbeatGap:
			gaps++
		case ahusim.ViolationTwoOwners:
			owners++
		}
	}
	if gaps != 0 || owners != 0 {
		t.Errorf("violations %v", vs)
	}
	// A comes back 1 s later after fencing is switched off: two owners within one timeout.
	if err := b.Configure(ctx, ahu.Settings{RemoteEnable: true}); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Second)
	if err := cmd(a, 1, 1, 30); err != nil {
		t.Fatal(err)
	}
	vs, _ = ahusim.CheckWrites(bytes.NewReader(logBuf.Bytes()), nil)
	if len(vs) != 1 || vs[0].Kind != ahusim.ViolationTwoOwners || vs[0].Owners != [2]int{2, 1} || vs[0].At-vs[0].From != 1 {
		t.Errorf("after A's return: %v", vs)
	}
}

// BenchmarkCycleTCP measures one control cycle of one CRAH over TCP loopback: ReadState (one
// read of 10 input registers) plus WriteCommand (one write of 5 holding registers).
func BenchmarkCycleTCP(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := &plantClock{}
	srv := modbussim.NewServer()
	srv.Add(1, ahusim.NewCRAH(1, ahusim.Options{Clock: clk.now, RemoteEnabled: true}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTCP(ctx, ln) }()
	defer func() { cancel(); <-served }()
	bus, err := modbus.DialContext(ctx, "tcp://"+ln.Addr().String(), modbus.Options{Timeout: 3 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()
	p, _ := ahu.Builtin("crah-generic")
	u := ahu.NewUnit(bus, 1, p)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := u.ReadState(ctx); err != nil {
			b.Fatal(err)
		}
		if err := u.WriteCommand(ctx, ahu.Command{Owner: 1, Epoch: 1, Heartbeat: uint16(i), FanPct: 50, ValvePct: 50}); err != nil {
			b.Fatal(err)
		}
	}
}
