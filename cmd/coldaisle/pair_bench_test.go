//go:build linux

package main

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPairTakeover kills the active board with SIGKILL 20 times (COLDAISLE_PAIR_KILLS
// overrides), restarting it each time as systemd would, and reports from the twin's write log:
// the time from the kill to the new active's first accepted write (p50, p99, max), the largest
// command step at a handover (% of range), units that fell back, dual-writer moments and stale
// epochs accepted (check-writes --pair).
//
//	go test ./cmd/coldaisle -run '^$' -bench PairTakeover -benchtime 1x
func BenchmarkPairTakeover(b *testing.B) {
	kills := 20
	if v, err := strconv.Atoi(os.Getenv("COLDAISLE_PAIR_KILLS")); err == nil && v > 0 {
		kills = v
	}
	for range b.N {
		r := startPair(b, rigOptions{Fencing: true})
		r.quiet = true
		var firsts []time.Duration
		worst, why := 0.0, ""
		for range kills {
			tk := r.killActive(b)
			firsts = append(firsts, tk.First)
			if tk.StepPct >= worst {
				worst, why = tk.StepPct, tk.StepWhy
			}
		}
		r.waitSettled(20 * time.Second)
		rep, _, _ := r.checkPair()
		fallbacks := len(r.fb.seen()) + len(r.wlog.overTimeout())
		slices.Sort(firsts)
		pct := func(p float64) time.Duration { return firsts[min(len(firsts)-1, int(p*float64(len(firsts))))] }
		b.ReportMetric(float64(pct(0.5))/1e6, "p50-ms")
		b.ReportMetric(float64(pct(0.99))/1e6, "p99-ms")
		b.ReportMetric(float64(firsts[len(firsts)-1])/1e6, "max-ms")
		b.ReportMetric(worst, "step-%")
		b.ReportMetric(float64(fallbacks), "fallbacks")
		b.ReportMetric(float64(len(rep.DualWriters)), "dual-writers")
		b.ReportMetric(float64(len(rep.StaleEpochs)), "stale-accepted")
		b.ReportMetric(0, "ns/op")
		b.Logf("%d kills: kill to first accepted write p50 %v, p99 %v, max %v; largest step %.2f %% (%s); %d fallbacks, %d dual-writer moments, %d stale epochs accepted, %d handovers",
			kills, pct(0.5), pct(0.99), firsts[len(firsts)-1], worst, why, fallbacks, len(rep.DualWriters), len(rep.StaleEpochs), len(rep.Overall))
	}
}
