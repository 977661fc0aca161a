package report

import "errors"

// PlotOptions sizes the PNG. Zero values take the defaults.
type PlotOptions struct {
	WidthPx, HeightPx int    // 0 means 1200 x 1000
	DPI               int    // 0 means 96 (font sizes are in points, so DPI scales the text)
	Title             string // "" means the Run's Title
	// MaxPoints bounds the points per drawn line: longer series are reduced to the minimum and
	// maximum of each bucket, so peaks survive. 0 means 2000.
	MaxPoints int
}

// ErrNoPlot is returned by WritePNG and SavePNG in a build without the plotter (-tags noplot, the
// board builds: gonum/plot and its fonts are half the binary and a board has no use for a PNG).
var ErrNoPlot = errors.New("report: this build has no plotter (built with -tags noplot)")
