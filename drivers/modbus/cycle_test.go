package modbus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// The crah-generic register map, one range per field, as a profile-driven reader asks for it.
var (
	crahInputFields   = []Range{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 2}, {8, 2}}
	crahHoldingFields = []Range{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {10, 1}, {11, 1}, {12, 1}, {13, 1}, {14, 1}, {15, 1}}
)

// pollCycle is one control cycle for one unit: read the input map, read the holding map, write
// the command block 10..14 with function 16.
func pollCycle(ctx context.Context, b *Bus, unit byte, perField bool) error {
	if perField {
		for _, tr := range []struct {
			t Table
			r []Range
		}{{Input, crahInputFields}, {Holding, crahHoldingFields}} {
			for _, r := range tr.r {
				if _, err := b.Read(ctx, unit, tr.t, r.Addr, r.Count); err != nil {
					return err
				}
			}
		}
	} else {
		if _, err := b.ReadBlocks(ctx, unit, Input, crahInputFields); err != nil {
			return err
		}
		if _, err := b.ReadBlocks(ctx, unit, Holding, crahHoldingFields); err != nil {
			return err
		}
	}
	return b.WriteMultiple(ctx, unit, 10, []uint16{7, 1, 42, 650, 420})
}

// TestPollCycleTransactions measures the transactions per poll cycle of 4 crah-generic units
// against the minimum possible: one read per register table and one write per unit, 12.
func TestPollCycleTransactions(t *testing.T) {
	const units, cycles = 4, 10
	const minimum = 3 * units
	cases := []struct {
		name     string
		perField bool
		gap      uint16
		holes    bool // holding 5..9 answer 0x02, as the spec's unlisted addresses
		want     float64
	}{
		{"one request per field (no coalescing)", true, 0, true, 80},
		{"ReadBlocks MaxGap 0", false, 0, true, 16},
		{"ReadBlocks MaxGap 5, map with holes (bridging refused once per unit)", false, 5, true, 16.4},
		{"ReadBlocks MaxGap 5, map without holes", false, 5, false, 12},
	}
	for _, c := range cases {
		srv, _ := newSimHoles(units, c.holes)
		b := dialTCP(t, serveTCP(t, srv), Options{Timeout: 2 * time.Second, MaxGap: c.gap})
		for range cycles {
			for u := byte(1); u <= units; u++ {
				if err := pollCycle(context.Background(), b, u, c.perField); err != nil {
					t.Fatalf("%s: unit %d: %v", c.name, u, err)
				}
			}
		}
		var wire uint64
		for u := byte(1); u <= units; u++ {
			wire += srv.Requests(u)
		}
		perCycle := float64(b.Stats().Transactions) / cycles
		t.Logf("%-70s %5.1f transactions/cycle (server saw %.1f), minimum %d", c.name, perCycle, float64(wire)/cycles, minimum)
		if perCycle != c.want || float64(wire)/cycles != c.want {
			t.Errorf("%s: %.1f transactions/cycle (server %.1f), want %.1f", c.name, perCycle, float64(wire)/cycles, c.want)
		}
	}
}

// TestPollCycleDeadUnit: with one of the 4 units dead, after the breaker opens a cycle costs
// the 9 transactions of the live units plus an occasional probe, and no timeout.
func TestPollCycleDeadUnit(t *testing.T) {
	const units = 4
	srv, _ := newSimHoles(units, false)
	srv.SetFault(4, modbussim.Fault{NoAnswer: true})
	const timeout = 200 * time.Millisecond
	b := dialTCP(t, serveTCP(t, srv), Options{Timeout: timeout, MaxGap: 5, BreakerThreshold: 3, ProbeInterval: 500 * time.Millisecond})
	ctx := context.Background()
	run := func() (time.Duration, uint64) {
		before := b.Stats().Transactions
		start := time.Now()
		for u := byte(1); u <= units; u++ {
			err := pollCycle(ctx, b, u, false)
			if u < units && err != nil {
				t.Fatalf("live unit %d: %v", u, err)
			}
			if u == units && !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrUnitIsolated) {
				t.Fatalf("dead unit: %v", err)
			}
		}
		return time.Since(start), b.Stats().Transactions - before
	}
	for range 3 {
		run() // three timeouts open the breaker (ReadBlocks stops at the first)
	}
	took, n := run()
	t.Logf("4 units, unit 4 dead and isolated: %d transactions in %v per cycle (live units 9; a probe adds 1 every 0.5 s+)", n, took.Round(time.Microsecond))
	if n != 9 {
		t.Fatalf("isolated cycle made %d transactions, want 9", n)
	}
	if took >= timeout {
		t.Fatalf("isolated cycle took %v, want less than one %v timeout", took, timeout)
	}
}
