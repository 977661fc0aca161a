//go:build !noplot

package report_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/coldaisle/coldaisle/control/report"
)

// The plot of a run: inlets, fan speeds and cumulative fan energy on one time axis. Builds with
// -tags noplot (the board binaries) return ErrNoPlot instead.
func ExampleSavePNG() {
	run := &report.Run{Title: "coldaisle sim: example", SetpointC: 25}
	for _, s := range exampleSamples() {
		if err := run.Add(s); err != nil {
			fmt.Println(err)
			return
		}
	}
	dir, err := os.MkdirTemp("", "report-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sim.png")
	if err := report.SavePNG(path, run, report.PlotOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("PNG:", bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")))
	// Output:
	// PNG: true
}
