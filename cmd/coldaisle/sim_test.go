package main

import (
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimHeadless runs `coldaisle sim` (what `make run` runs) for a few simulated minutes and
// checks the summary, the exit code and the plot.
func TestSimHeadless(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := testBinary(t)
	plot := filepath.Join(t.TempDir(), "run.png")
	cmd := exec.Command(bin, "sim", "--headless", "--duration", "6m", "--speed", "60", "--plot", plot)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sim: %v\n%s", err, out)
	}
	for _, want := range []string{"coldaisle sim: demo: summary", "fan energy", "saving", "first command written", "plot: " + plot} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "\x1b[") {
		t.Error("headless output has escape codes")
	}
	f, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 600 {
		t.Fatalf("plot: %v %v", err, img)
	}
}

func TestSimBadFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := testBinary(t)
	for _, args := range [][]string{{"sim", "--speed", "0"}, {"sim", "extra"}, {"sim", "--scenario", "no-such-room"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil {
			t.Errorf("%v succeeded:\n%s", args, out)
		}
	}
}
