package modbus

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// A write refused by the gate never reaches the unit; reads are not gated; the gate is asked when
// the line is free for the request, not when it was queued.
func TestWriteGate(t *testing.T) {
	srv, banks := newSim(1)
	var allow atomic.Bool
	var asked atomic.Int64
	b := dialTCP(t, serveTCP(t, srv), Options{Timeout: 2 * time.Second, WriteGate: func(now time.Time) error {
		asked.Add(1)
		if now.IsZero() {
			return errors.New("no time")
		}
		if !allow.Load() {
			return errors.New("not the active board")
		}
		return nil
	}})
	ctx := context.Background()
	before := banks[0].Holding(10, 5)
	err := b.WriteMultiple(ctx, 1, 10, []uint16{9, 9, 9, 9, 9})
	if !errors.Is(err, ErrWriteGated) {
		t.Fatalf("gated write: %v", err)
	}
	if got := banks[0].Holding(10, 5); !slices.Equal(got, before) {
		t.Fatalf("a gated write reached the unit: %v", got)
	}
	if c := b.Counters(1); c.Gated != 1 || c.Requests != 0 {
		t.Fatalf("counters after a gated write: %+v", c)
	}
	if _, err := b.ReadHolding(ctx, 1, 10, 5); err != nil {
		t.Fatalf("a read was gated: %v", err)
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("gate asked %d times for one write and one read", n)
	}
	allow.Store(true)
	if err := b.WriteSingle(ctx, 1, 15, 1); err != nil {
		t.Fatal(err)
	}
	if got := banks[0].Holding(15, 1); got[0] != 1 {
		t.Fatalf("an allowed write did not arrive: %v", got)
	}
	// The permission is asked when the line is free for the write: a read holds the line (the
	// unit answers it 300 ms late), the write waits behind it, and the permission goes meanwhile.
	srv.SetFault(1, modbussim.Fault{Delay: 300 * time.Millisecond})
	seen := srv.Stats(1).Requests
	hold := make(chan struct{})
	go func() {
		defer close(hold)
		_, _ = b.ReadInput(ctx, 1, 0, 1)
	}()
	for srv.Stats(1).Requests == seen {
		runtime.Gosched() // until the read is on the line
	}
	done := make(chan error, 1)
	go func() { done <- b.WriteSingle(ctx, 1, 15, 2) }()
	allow.Store(false)
	<-hold
	if err := <-done; !errors.Is(err, ErrWriteGated) {
		t.Fatalf("a write queued while allowed and served after the permission went: %v", err)
	}
	if got := banks[0].Holding(15, 1); got[0] != 1 {
		t.Fatalf("the late write reached the unit: %v", got)
	}
}
