package engine

import (
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/site"
)

// footprintConfig: 16 units along two walls, 20 zones of 50 sensors, each zone served by 3 units
// (overlapping): 1,000 sensors.
func footprintConfig(t testing.TB) *site.Config {
	c := &site.Config{Site: "big", Lines: []site.Line{{Name: "bms", Target: "tcp://127.0.0.1:5020"}}}
	for i := 0; i < 16; i++ {
		c.Units = append(c.Units, site.Unit{Name: fmt.Sprintf("crah-%d", i+1), Line: "bms", UnitID: i + 1})
	}
	n := 0
	for z := 0; z < 20; z++ {
		zn := site.Zone{Name: fmt.Sprintf("row-%d", z+1), Influence: map[string]float64{}}
		for k := 0; k < 3; k++ {
			u := fmt.Sprintf("crah-%d", (z*16/20+k)%16+1)
			if _, dup := zn.Influence[u]; !dup {
				zn.Units = append(zn.Units, u)
				zn.Influence[u] = []float64{0.5, 0.3, 0.2}[k]
			}
		}
		for k := 0; k < 50; k++ {
			n++
			zn.Sensors = append(zn.Sensors, sid(n, 1))
		}
		c.Zones = append(c.Zones, zn)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// simulateHour drives the engine through one simulated hour at the real rate: every sensor reports
// every 30 s (staggered), every unit is read and ticked every 2 s.
func simulateHour(e *Engine, cfg *site.Config, start time.Time) {
	var ids []string
	for _, z := range cfg.Zones {
		ids = append(ids, z.Sensors...)
	}
	const per = 2 * time.Second
	seq := make([]uint8, len(ids))
	for k := 0; k < int(time.Hour/per); k++ {
		now := start.Add(time.Duration(k+1) * per)
		// 2 s of reports: a fifteenth of the sensors
		for i := k % 15; i < len(ids); i += 15 {
			seq[i]++
			v := 24 + 0.5*math.Sin(float64(k)/50+float64(i)) + 0.01*float64(seq[i]%7)
			e.Observe(Reading{Sensor: ids[i], Value: v, Time: now, Arrival: now, Seq: seq[i]})
		}
		for _, u := range cfg.Units {
			e.UpdateUnit(u.Name, UnitState{FanPct: 50, ValvePct: 40, SupplyC: 18, ReturnC: 30, Running: true, Remote: true}, nil, now)
		}
		e.Tick(now)
		e.Events()
	}
}

// TestFootprint measures CPU per simulated hour and the heap in use for 1,000 sensors and 16 units
// (targets: < 5 % of one core, < 30 MB resident). Only generous bounds are asserted.
func TestFootprint(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("footprint measurement skipped in -short and under -race (the numbers would mean nothing)")
	}
	cfg := footprintConfig(t)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	simulateHour(e, cfg, t0) // warm up: every sensor known, allocator warm
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	simulateHour(e, cfg, t0.Add(time.Hour))
	cpu := time.Since(start)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	share := cpu.Seconds() / 3600 * 100
	t.Logf("1,000 sensors, 16 units, 20 zones: %v CPU per simulated hour (%.3f %% of one core); heap in use %.1f MB after GC (sys %.1f MB); %.0f MB allocated per hour",
		cpu.Round(time.Millisecond), share, float64(after.HeapInuse)/1e6, float64(after.Sys)/1e6, float64(after.TotalAlloc-before.TotalAlloc)/1e6)
	if share > 5 {
		t.Errorf("%.2f %% of one core, target < 5 %%", share)
	}
	if after.HeapInuse > 30<<20 {
		t.Errorf("heap in use %d bytes, target < 30 MB", after.HeapInuse)
	}
}

// BenchmarkTick is one control period of the footprint site (steady state).
func BenchmarkTick(b *testing.B) {
	cfg := footprintConfig(b)
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	simulateHour(e, cfg, t0)
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(2 * time.Second)
		e.Tick(now)
	}
}
