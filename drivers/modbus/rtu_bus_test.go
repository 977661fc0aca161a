package modbus

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// TestBusRTU drives a multi-drop RTU line (modbussim on a real pty) through the faults a field
// line shows: exceptions, a corrupt reply, a split exception, a dead unit.
func TestBusRTU(t *testing.T) {
	if testing.Short() {
		t.Skip("real pty with timing")
	}
	srv, banks := newSimHoles(3, true)
	path := servePTY(t, srv)
	// Linux ptys refuse parity bits: 8N1.
	b, err := Dial("rtu://"+path+"?baud=19200&parity=N", Options{Timeout: 200 * time.Millisecond, BreakerThreshold: 2, ProbeInterval: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()

	for u := byte(1); u <= 3; u++ {
		in, err := b.ReadInput(ctx, u, 0, 10)
		if err != nil || in[0] != 215+uint16(u) {
			t.Fatalf("unit %d ReadInput = %v, %v", u, in, err)
		}
	}
	if err := b.WriteMultiple(ctx, 2, 10, []uint16{7, 1, 42, 650, 420}); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteSingle(ctx, 2, 15, 1); err != nil {
		t.Fatal(err)
	}
	if got := banks[1].Holding(10, 6); !slices.Equal(got, []uint16{7, 1, 42, 650, 420, 1}) {
		t.Fatalf("unit 2 holding 10..15 = %v", got)
	}
	var ex ExceptionError
	if _, err := b.ReadHolding(ctx, 1, 5, 2); !errors.As(err, &ex) || ex.Code != 2 {
		t.Fatalf("unmapped read: %v", err)
	}
	if _, err := b.ReadHolding(ctx, 0, 0, 1); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("broadcast unit 0 on RTU: %v, want ErrBadRequest", err)
	}

	// A split exception: sized correctly, and the next request is clean.
	srv.SetFault(1, modbussim.Fault{Split: 50 * time.Millisecond})
	if _, err := b.ReadHolding(ctx, 1, 7, 1); !errors.As(err, &ex) || ex.Code != 2 {
		t.Fatalf("split exception: %v", err)
	}
	srv.SetFault(1, modbussim.Fault{})
	if h, err := b.ReadHolding(ctx, 1, 0, 2); err != nil || !slices.Equal(h, []uint16{1, 10}) {
		t.Fatalf("after split exception: %v, %v", h, err)
	}

	// A reply with a bad CRC: ErrCRC, counted, resynchronised; neighbours unaffected.
	srv.SetFault(2, modbussim.Fault{Corrupt: true})
	if _, err := b.ReadInput(ctx, 2, 0, 10); !errors.Is(err, ErrCRC) {
		t.Fatalf("corrupt reply: %v, want ErrCRC", err)
	}
	srv.SetFault(2, modbussim.Fault{})
	if c := b.Counters(2); c.CRCErrors != 1 {
		t.Fatalf("unit 2 counters %+v, want 1 CRC error", c)
	}
	if s := b.Stats(); s.Resyncs < 1 {
		t.Fatalf("stats %+v, want a resync after the bad CRC", s)
	}
	for u := byte(1); u <= 2; u++ {
		if _, err := b.ReadInput(ctx, u, 0, 10); err != nil {
			t.Fatalf("unit %d after the CRC error: %v", u, err)
		}
	}

	// A dead unit: two timeouts, then isolated; the others keep answering.
	srv.SetFault(3, modbussim.Fault{NoAnswer: true})
	for range 2 {
		if _, err := b.ReadInput(ctx, 3, 0, 1); !errors.Is(err, ErrTimeout) {
			t.Fatalf("dead unit: %v, want ErrTimeout", err)
		}
	}
	start := time.Now()
	if _, err := b.ReadInput(ctx, 3, 0, 1); !errors.Is(err, ErrUnitIsolated) {
		t.Fatalf("dead unit after 2 timeouts: %v, want ErrUnitIsolated", err)
	}
	if el := time.Since(start); el > 100*time.Millisecond {
		t.Fatalf("isolated request took %v", el)
	}

	// Cycle time of the 2 live units on the line (3 transactions each).
	start = time.Now()
	const cycles = 20
	for range cycles {
		for u := byte(1); u <= 2; u++ {
			if err := pollCycle(ctx, b, u, false); err != nil {
				t.Fatalf("unit %d: %v", u, err)
			}
		}
	}
	t.Logf("RTU on a pty: %v per poll cycle of 2 units (8 transactions); counters %+v",
		(time.Since(start) / cycles).Round(time.Microsecond), b.Stats())
}

// TestBusConcurrentCallersRTU: many goroutines, several units, one RTU line. The bus goroutine
// serialises them; any interleaving on the wire would show up as CRC or protocol errors or
// wrong values.
func TestBusConcurrentCallersRTU(t *testing.T) {
	if testing.Short() {
		t.Skip("real pty with timing")
	}
	srv, _ := newSimHoles(4, false)
	b, err := Dial("rtu://"+servePTY(t, srv)+"?parity=N", Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const callers, each = 8, 25
	errs := make(chan error, callers)
	for i := range callers {
		go func() {
			for n := range each {
				unit := byte(1 + (i+n)%4)
				in, err := b.ReadInput(context.Background(), unit, 0, 10)
				if err == nil && in[0] != 215+uint16(unit) {
					err = errors.New("wrong value for unit")
				}
				if err == nil {
					err = b.WriteSingle(context.Background(), unit, 12, uint16(n))
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s := b.Stats()
	if s.Transactions != 2*callers*each || s.Resyncs != 0 {
		t.Fatalf("stats %+v, want %d clean transactions", s, 2*callers*each)
	}
}

// BenchmarkBusRTU measures one read of 10 registers on a pty line (no baud-rate delay: the
// figure is the software cost plus the t3.5 gap at 19200 baud).
func BenchmarkBusRTU(b *testing.B) {
	srv, _ := newSimHoles(1, false)
	pty, err := serialport.OpenPTY()
	if err != nil {
		b.Skip(err)
	}
	defer pty.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.ServeRTU(ctx, pty.Master)
	bus, err := Dial("rtu://"+pty.SlavePath+"?parity=N", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()
	b.ResetTimer()
	for b.Loop() {
		if _, err := bus.ReadInput(ctx, 1, 0, 10); err != nil {
			b.Fatal(err)
		}
	}
}
