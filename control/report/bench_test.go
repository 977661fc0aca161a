//go:build !noplot

package report

import (
	"io"
	"testing"
	"time"
)

// One interactive frame (the per-sample cost when a redraw is due).
func BenchmarkLiveFrame(b *testing.B) {
	ss := synthSamples()
	l, _ := NewLive(io.Discard, LiveOptions{MaxFPS: 1e9})
	wall := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Update(ss[i%len(ss)], wall.Add(time.Duration(i)*time.Second))
	}
}

func BenchmarkSummarize(b *testing.B) {
	r := synthRun(b)
	for b.Loop() {
		Summarize(r)
	}
}

// The 1200x1000 PNG of the synthetic run (360 samples, 12 inlets, 3 units).
func BenchmarkWritePNG(b *testing.B) {
	r := synthRun(b)
	for b.Loop() {
		if err := WritePNG(io.Discard, r, PlotOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
