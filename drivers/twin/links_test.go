package twin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// startTwin runs a twin with real links until the test ends; the cleanup checks that Run
// stopped with the context and removed its symlinks.
func startTwin(t *testing.T, o Options) *Twin {
	t.Helper()
	tw := newTwin(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- tw.Run(ctx) }()
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	if err := tw.WaitReady(rctx); err != nil {
		cancel()
		t.Fatalf("WaitReady: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) && !(o.StopAtEnd && err == nil) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not stop within 10 s of cancel")
		}
		for _, l := range []string{o.GatewayLink, o.RTULink} {
			if l == "" {
				continue
			}
			if _, err := os.Lstat(l); !os.IsNotExist(err) {
				t.Errorf("symlink %s left behind (%v)", l, err)
			}
		}
	})
	return tw
}

func needLong(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("real ptys, sockets and timing")
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Run sets up the links, paces the plant at Speed, and a stale symlink is replaced.
func TestRunLinksAndPacing(t *testing.T) {
	needLong(t)
	dir := t.TempDir()
	gw, rtu := filepath.Join(dir, "mesh"), filepath.Join(dir, "rtu")
	if err := os.Symlink("/nonexistent", gw); err != nil {
		t.Fatal(err)
	}
	var lines []string
	linesc := make(chan string, 64)
	tw := startTwin(t, Options{Scenario: scenario(t, "small-room"), Seed: 1, Speed: 120, GatewayLink: gw, RTULink: rtu,
		Status: func(l string) {
			select {
			case linesc <- l:
			default:
			}
		}})
	for _, l := range []string{gw, rtu} {
		target, err := os.Readlink(l)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if fi, err := os.Stat(target); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("%s -> %s is not a character device (%v)", l, target, err)
		}
	}
	if tw.GatewayPath() != gw || tw.RTUPath() != rtu || tw.ModbusAddr() == "" {
		t.Fatalf("paths %q %q %q", tw.GatewayPath(), tw.RTUPath(), tw.ModbusAddr())
	}
	t0, p0 := time.Now(), tw.PlantTime()
	timeout := time.After(10 * time.Second)
	for len(lines) < 2 {
		select {
		case l := <-linesc:
			lines = append(lines, l)
		case <-timeout:
			t.Fatalf("status lines: %q", lines)
		}
	}
	wall, plantD := time.Since(t0), tw.PlantTime()-p0
	rate := plantD.Seconds() / wall.Seconds()
	t.Logf("x120: %v plant in %v wall = x%.0f; %q", plantD, wall, rate, lines[1])
	if rate < 60 || rate > 180 {
		t.Errorf("pacing x%.0f, want about x120", rate)
	}
}

// A link that cannot be set up fails Run (and WaitReady) with ErrLink; nothing is left behind.
func TestRunLinkFailure(t *testing.T) {
	needLong(t)
	dir := t.TempDir()
	file, gw := filepath.Join(dir, "not-a-link"), filepath.Join(dir, "mesh")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	tw := newTwin(t, Options{Scenario: scenario(t, "small-room"), GatewayLink: gw, RTULink: file})
	err := tw.Run(context.Background())
	if !errors.Is(err, ErrLink) {
		t.Fatalf("Run = %v, want ErrLink", err)
	}
	if werr := tw.WaitReady(context.Background()); !errors.Is(werr, ErrStopped) || !errors.Is(werr, ErrLink) {
		t.Fatalf("WaitReady = %v", werr)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Fatal("the file in the way was changed")
	}
	if _, err := os.Lstat(gw); !os.IsNotExist(err) {
		t.Fatal("gateway symlink left behind after a failed start")
	}
	if err := tw.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
	bad := newTwin(t, Options{Scenario: scenario(t, "small-room"), ModbusListen: "256.0.0.1:99999"})
	if err := bad.Run(context.Background()); !errors.Is(err, ErrLink) {
		t.Fatalf("Run with a bad listen address = %v, want ErrLink", err)
	}
}
