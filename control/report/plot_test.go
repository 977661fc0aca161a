//go:build !noplot

package report

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A PNG of the synthetic run: right size, and each panel carries its own data colour.
func TestPlotPNG(t *testing.T) {
	r := synthRun(t)
	path := filepath.Join(t.TempDir(), "run.png")
	start := time.Now()
	if err := SavePNG(path, r, PlotOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("SavePNG 1200x1000, %d samples x %d inlets: %v", len(r.Samples), synthInlets, time.Since(start))
	if out := os.Getenv("COLDAISLE_PLOT_OUT"); out != "" {
		if err := SavePNG(out, r, PlotOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 1000 {
		t.Fatalf("size %v, want 1200x1000", b)
	}
	// panel bands: the headline takes ~53 px, the three panels share the rest
	h := img.Bounds().Dy()
	top := h * 6 / 100
	band := (h - top) / 3
	for i, c := range []struct {
		name string
		col  color.RGBA
	}{{"inlet panel: max inlet", colMax}, {"fan panel: crah-1", unitColors[0].(color.RGBA)}, {"energy panel: ours", colOurs}} {
		y0, y1 := top+i*band, top+(i+1)*band
		if n := countColor(img, image.Rect(0, y0, 1200-200, y1), c.col); n < 200 {
			t.Errorf("%s: %d pixels of %v in rows %d..%d", c.name, n, c.col, y0, y1)
		}
		if n := nonWhite(img, image.Rect(0, y0, 1200, y1)); n < 5000 {
			t.Errorf("%s: only %d non-white pixels", c.name, n)
		}
	}
	// the fan panel must not show the max-inlet red, the inlet panel not the energy blue
	if n := countColor(img, image.Rect(0, top+band+30, 1000, top+2*band-30), colMax); n > 20 {
		t.Errorf("max-inlet colour in the fan panel: %d pixels", n)
	}
}

func TestPlotErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePNG(&buf, &Run{}, PlotOptions{}); !errors.Is(err, ErrNoSamples) {
		t.Errorf("empty run: %v", err)
	}
	r := &Run{}
	r.Add(Sample{T: 0})
	for _, o := range []PlotOptions{{WidthPx: 10}, {HeightPx: 1 << 20}, {DPI: -3}, {MaxPoints: 2}} {
		if err := WritePNG(&buf, r, o); !errors.Is(err, ErrOption) {
			t.Errorf("WritePNG(%+v) = %v, want ErrOption", o, err)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("bad options wrote %d bytes", buf.Len())
	}
	if err := SavePNG(filepath.Join(t.TempDir(), "no", "such", "dir.png"), r, PlotOptions{}); err == nil {
		t.Error("SavePNG into a missing directory succeeded")
	}
}

// A tiny run (one sample, no inlets, no units) still draws: nothing panics on thin data.
func TestPlotDegenerate(t *testing.T) {
	r := &Run{}
	r.Add(Sample{T: 30, Events: []Event{{T: 30, Label: "only"}}})
	var buf bytes.Buffer
	if err := WritePNG(&buf, r, PlotOptions{WidthPx: 400, HeightPx: 400}); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&buf); err != nil {
		t.Fatal(err)
	}
}

func TestDecimateKeepsPeaks(t *testing.T) {
	n := 100000
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range xs {
		xs[i] = float64(i)
	}
	ys[54321] = 9
	ys[77777] = -4
	pts := decimate(xs, ys, 500)
	if len(pts) > 500 {
		t.Errorf("%d points", len(pts))
	}
	var hi, lo bool
	for i, p := range pts {
		hi = hi || (p.X == 54321 && p.Y == 9)
		lo = lo || (p.X == 77777 && p.Y == -4)
		if i > 0 && p.X <= pts[i-1].X {
			t.Fatalf("not in time order at %d", i)
		}
	}
	if !hi || !lo || pts[0].X != 0 || pts[len(pts)-1].X != float64(n-1) {
		t.Errorf("peaks or ends lost: hi %v lo %v", hi, lo)
	}
}

func countColor(img image.Image, r image.Rectangle, want color.RGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if absDiff(c.R, want.R) < 12 && absDiff(c.G, want.G) < 12 && absDiff(c.B, want.B) < 12 {
				n++
			}
		}
	}
	return n
}

func nonWhite(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if c.R < 240 || c.G < 240 || c.B < 240 {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// Absurd values neither panic nor fail: the plot clamps what it cannot show.
func TestPlotHostileValues(t *testing.T) {
	r := &Run{LimitC: 1e308}
	for i, v := range []float64{1e308, -1e308, math.Inf(1), math.NaN(), 5e307} {
		r.Add(Sample{T: float64(i) * 1e6, InletsC: []float64{v, -v}, FanKW: v, BaselineFanKW: -v, FanKWh: v, BaselineFanKWh: v,
			Units:  []Unit{{Name: "\x1b[2J", FanPct: v, SetpointC: -v}},
			Events: []Event{{T: float64(i) * 1e6, Label: strings.Repeat("x", 500)}}})
	}
	var buf bytes.Buffer
	if err := WritePNG(&buf, r, PlotOptions{WidthPx: 300, HeightPx: 300}); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&buf); err != nil {
		t.Fatal(err)
	}
}

// The inlet panel draws what the controller measured beside the true inlets, and the
// controller's own events are left to the summary: they do not add event lines to the plot.
func TestPlotMeasuredAndRoomEventsOnly(t *testing.T) {
	with, without := &Run{SetpointC: 25}, &Run{SetpointC: 25}
	for _, s := range controllerSamples() {
		if err := with.Add(s); err != nil {
			t.Fatal(err)
		}
		var room []Event
		for _, e := range s.Events {
			if !e.Controller {
				room = append(room, e)
			}
		}
		s.Events = room
		if err := without.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	var a, b bytes.Buffer
	if err := WritePNG(&a, with, PlotOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WritePNG(&b, without, PlotOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the controller's events changed the plot")
	}
	img, err := png.Decode(&a)
	if err != nil {
		t.Fatal(err)
	}
	h := img.Bounds().Dy()
	top := h * 6 / 100
	band := (h - top) / 3
	if n := countColor(img, image.Rect(0, top, 1200-200, top+band), colMeasured); n < 200 {
		t.Errorf("measured line: %d pixels of its colour in the inlet panel", n)
	}
}
