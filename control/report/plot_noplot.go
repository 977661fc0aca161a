//go:build noplot

package report

import "io"

// WritePNG is not available in this build; see ErrNoPlot.
func WritePNG(w io.Writer, r *Run, opt PlotOptions) error { return ErrNoPlot }

// SavePNG is not available in this build; see ErrNoPlot.
func SavePNG(path string, r *Run, opt PlotOptions) error { return ErrNoPlot }
