package modbus

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// crahBank is a register bank shaped like the crah-generic profile: 10 input registers, holding
// 0..4 and 10..15 mapped, 5..9 answering exception 0x02 like the spec's unlisted addresses.
func crahBank(unit byte, holes bool) *modbussim.Bank {
	b := modbussim.NewBank(10, 16)
	b.SetInput(0, 215+uint16(unit), 180, 1000, 500, 0x11, 0)
	b.SetHolding(0, 1, 10, 1000, 180, 300)
	if holes {
		b.Unmap(true, 5, 5)
	}
	return b
}

func newSim(units int) (*modbussim.Server, []*modbussim.Bank) { return newSimHoles(units, true) }

func newSimHoles(units int, holes bool) (*modbussim.Server, []*modbussim.Bank) {
	srv := modbussim.NewServer()
	var banks []*modbussim.Bank
	for u := 1; u <= units; u++ {
		b := crahBank(byte(u), holes)
		srv.Add(byte(u), b)
		banks = append(banks, b)
	}
	return srv, banks
}

func dialTCP(t *testing.T, addr string, opts Options) *Bus {
	t.Helper()
	b, err := Dial("tcp://"+addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestBusTCPReadWrite(t *testing.T) {
	srv, banks := newSim(2)
	b := dialTCP(t, serveTCP(t, srv), Options{Timeout: 2 * time.Second})
	ctx := context.Background()

	in, err := b.ReadInput(ctx, 2, 0, 4)
	if err != nil || !slices.Equal(in, []uint16{217, 180, 1000, 500}) {
		t.Fatalf("ReadInput = %v, %v", in, err)
	}
	if err := b.WriteMultiple(ctx, 1, 10, []uint16{7, 3, 1, 650, 420}); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteSingle(ctx, 1, 15, 1); err != nil {
		t.Fatal(err)
	}
	h, err := b.ReadHolding(ctx, 1, 10, 6)
	if err != nil || !slices.Equal(h, []uint16{7, 3, 1, 650, 420, 1}) {
		t.Fatalf("ReadHolding after writes = %v, %v", h, err)
	}
	if got := banks[1].Holding(10, 6); !slices.Equal(got, []uint16{0, 0, 0, 0, 0, 0}) {
		t.Fatalf("unit 2 was written: %v", got)
	}

	_, err = b.ReadHolding(ctx, 1, 5, 1)
	var ex ExceptionError
	if !errors.As(err, &ex) || ex != (ExceptionError{Function: 3, Code: 2}) {
		t.Fatalf("read of an unmapped register = %v, want ExceptionError{3, 2}", err)
	}
	srv.SetFault(2, modbussim.Fault{Busy: true})
	if err := b.WriteSingle(ctx, 2, 13, 1); !errors.As(err, &ex) || ex.Code != 6 || ex.Function != 6 {
		t.Fatalf("busy unit: %v", err)
	}

	before := srv.Requests(1)
	for _, bad := range []func() error{
		func() error { _, err := b.ReadHolding(ctx, 1, 0, 0); return err },
		func() error { _, err := b.ReadInput(ctx, 1, 0, 126); return err },
		func() error { _, err := b.ReadInput(ctx, 1, 65535, 2); return err },
		func() error { return b.WriteMultiple(ctx, 1, 0, make([]uint16, 124)) },
		func() error { return b.WriteMultiple(ctx, 1, 0, nil) },
	} {
		if err := bad(); !errors.Is(err, ErrBadRequest) {
			t.Errorf("out-of-limits request: %v, want ErrBadRequest", err)
		}
	}
	if srv.Requests(1) != before {
		t.Error("an out-of-limits request reached the line")
	}
	c := b.Counters(1)
	if c.Requests != 4 || c.Exceptions != 1 || c.Timeouts != 0 {
		t.Errorf("unit 1 counters %+v", c)
	}
}

// TestBusBreaker: a dead unit among live ones is isolated after BreakerThreshold timeouts, then
// fails fast, costs one timeout per probe interval (doubling), never delays the live units by
// more than those timeouts, and is taken back when a probe succeeds.
func TestBusBreaker(t *testing.T) {
	srv, _ := newSim(4)
	const timeout = 100 * time.Millisecond
	b := dialTCP(t, serveTCP(t, srv), Options{Timeout: timeout, BreakerThreshold: 3, ProbeInterval: 400 * time.Millisecond, ProbeMax: 800 * time.Millisecond})
	ctx := context.Background()
	srv.SetFault(3, modbussim.Fault{NoAnswer: true})

	cycle := func() (dead error, took time.Duration) {
		start := time.Now()
		for u := byte(1); u <= 4; u++ {
			_, err := b.ReadInput(ctx, u, 0, 10)
			if u == 3 {
				dead = err
				continue
			}
			if err != nil {
				t.Fatalf("live unit %d: %v", u, err)
			}
		}
		return dead, time.Since(start)
	}
	const period = 20 * time.Millisecond // the poll period of this test's "controller"
	for i := range 3 {
		if err, _ := cycle(); !errors.Is(err, ErrTimeout) {
			t.Fatalf("cycle %d: dead unit returned %v, want ErrTimeout", i, err)
		}
	}
	if c := b.Counters(3); !c.Isolated || c.Isolations != 1 || c.Timeouts != 3 {
		t.Fatalf("after 3 timeouts: %+v, want isolated", c)
	}
	err, took := cycle()
	if !errors.Is(err, ErrUnitIsolated) {
		t.Fatalf("isolated unit returned %v, want ErrUnitIsolated", err)
	}
	if took >= timeout {
		t.Fatalf("a cycle with the dead unit isolated took %v, want well under its %v timeout", took, timeout)
	}

	// Run cycles for 1.5 s: probes at ~0.4 s and then 0.8 s later, so 1..2 extra timeouts.
	start := time.Now()
	cycles := 0
	for time.Since(start) < 1500*time.Millisecond {
		cycle()
		cycles++
		time.Sleep(period)
	}
	c := b.Counters(3)
	extra := c.Timeouts - 3
	t.Logf("%d cycles in 1.5 s with unit 3 dead: %d probe timeouts, %d fast fails", cycles, extra, c.FastFails)
	if extra < 1 || extra > 3 || c.Probes != extra {
		t.Fatalf("probe timeouts %d (probes %d) in 1.5 s, want 1..3", extra, c.Probes)
	}

	srv.SetFault(3, modbussim.Fault{})
	deadline := time.Now().Add(5 * time.Second)
	for {
		err, _ := cycle()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unit 3 not taken back after it healed: %v", err)
		}
		time.Sleep(period)
	}
	if c := b.Counters(3); c.Isolated {
		t.Fatalf("unit 3 still isolated: %+v", c)
	}
}

func TestBusUnitTimeoutAndContext(t *testing.T) {
	srv, _ := newSim(2)
	b := dialTCP(t, serveTCP(t, srv), Options{Timeout: 100 * time.Millisecond, UnitTimeouts: map[byte]time.Duration{2: 600 * time.Millisecond}, BreakerThreshold: -1})
	srv.SetFault(1, modbussim.Fault{Delay: 300 * time.Millisecond})
	srv.SetFault(2, modbussim.Fault{Delay: 300 * time.Millisecond})
	ctx := context.Background()
	if _, err := b.ReadInput(ctx, 1, 0, 1); !errors.Is(err, ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("unit 1 (100 ms timeout, 300 ms delay): %v, want ErrTimeout wrapping os.ErrDeadlineExceeded", err)
	}
	if _, err := b.ReadInput(ctx, 2, 0, 1); err != nil {
		t.Fatalf("unit 2 (600 ms timeout, 300 ms delay): %v", err)
	}
	// A caller's deadline shorter than the unit timeout wins, and is not held against the unit.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.ReadInput(cctx, 2, 0, 1)
	if err == nil || time.Since(start) > 250*time.Millisecond {
		t.Fatalf("caller deadline 50 ms: %v after %v", err, time.Since(start))
	}
	// The breaker is disabled: ten timeouts do not isolate unit 1.
	for range 3 {
		b.ReadInput(ctx, 1, 0, 1)
	}
	if c := b.Counters(1); c.Isolated || c.Timeouts != 4 {
		t.Fatalf("unit 1 with breaker disabled: %+v", c)
	}
}

func TestBusCloseAndRun(t *testing.T) {
	srv, _ := newSim(1)
	addr := serveTCP(t, srv)
	b, err := Dial("tcp://"+addr, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetFault(1, modbussim.Fault{Delay: time.Hour})
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); _, err := b.ReadInput(context.Background(), 1, 0, 1); errs <- err }()
	}
	waitUntil(t, func() bool { return srv.Requests(1) >= 1 }, "the first request to reach the server")
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- b.Run(ctx) }()
	start := time.Now()
	cancel()
	if err := <-runDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	wg.Wait()
	close(errs)
	if time.Since(start) > 2*time.Second {
		t.Fatalf("closing took %v with a request in flight", time.Since(start))
	}
	for err := range errs {
		if err == nil {
			t.Fatal("a request succeeded against a unit that never answers")
		}
	}
	if _, err := b.ReadInput(context.Background(), 1, 0, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestBusConnectErrors(t *testing.T) {
	// A port nobody listens on.
	srv, _ := newSim(1)
	addr := serveTCP(t, srv)
	b := dialTCP(t, "127.0.0.1:1", Options{Timeout: 500 * time.Millisecond})
	if _, err := b.ReadInput(context.Background(), 1, 0, 1); !errors.Is(err, ErrConnect) {
		t.Fatalf("refused: %v, want ErrConnect", err)
	}
	if _, err := Dial("tcp:/"+addr, Options{}); !errors.Is(err, ErrBadTarget) {
		t.Fatalf("bad target: %v", err)
	}
	if _, err := Dial("rtu:///dev/does-not-exist?parity=N", Options{}); !errors.Is(err, ErrConnect) {
		t.Fatalf("missing serial device: %v, want ErrConnect", err)
	}
}

func TestReadBlocksBridgeFallback(t *testing.T) {
	srv, _ := newSim(1)
	b := dialTCP(t, serveTCP(t, srv), Options{Timeout: 2 * time.Second, MaxGap: 5})
	ranges := []Range{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {10, 3}, {13, 2}, {15, 1}}
	want := [][]uint16{{1}, {10}, {1000}, {180}, {300}, {0, 0, 0}, {0, 0}, {0}}
	for i, wantReqs := range []uint64{3, 2} { // bridged read refused, then 2 reads; then 2 reads
		before := srv.Requests(1)
		got, err := b.ReadBlocks(context.Background(), 1, Holding, ranges)
		if err != nil || !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("pass %d: %v, %v", i, got, err)
		}
		if n := srv.Requests(1) - before; n != wantReqs {
			t.Fatalf("pass %d: %d requests, want %d", i, n, wantReqs)
		}
	}
}

func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkBusTCP measures one read of 10 registers through the bus over loopback TCP.
func BenchmarkBusTCP(b *testing.B) {
	srv, _ := newSimHoles(1, false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.ServeTCP(ctx, ln)
	bus, err := Dial("tcp://"+ln.Addr().String(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()
	for b.Loop() {
		if _, err := bus.ReadInput(ctx, 1, 0, 10); err != nil {
			b.Fatal(err)
		}
	}
}
