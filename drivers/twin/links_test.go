package twin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

func TestPlaceLink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "mesh")
	if err := os.Symlink("/nonexistent/stale", link); err != nil {
		t.Fatal(err)
	}
	unlink, err := placeLink(link, "/dev/null")
	if err != nil {
		t.Fatalf("replacing a stale symlink: %v", err)
	}
	if l, _ := os.Readlink(link); l != "/dev/null" {
		t.Fatalf("link -> %q", l)
	}
	// While it is held, a second one on the same path is refused and changes nothing.
	if _, err := placeLink(link, "/dev/zero"); !errors.Is(err, ErrLink) || !strings.Contains(err.Error(), "in use by another twin (pid "+strconv.Itoa(os.Getpid())+")") {
		t.Fatalf("second placeLink = %v, want ErrLink naming the owner", err)
	}
	if l, _ := os.Readlink(link); l != "/dev/null" {
		t.Fatalf("the refused second placeLink changed the link to %q", l)
	}
	unlink()
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Fatal("unlink left our link")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files left after unlink: %v", entries)
	}

	// A link that is no longer the one we made (replaced by someone else) is not removed.
	unlink, err = placeLink(link, "/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/null", link); err != nil { // same target, another link
		t.Fatal(err)
	}
	unlink()
	if _, err := os.Lstat(link); err != nil {
		t.Fatal("unlink removed a link it did not make")
	}
	os.Remove(link)

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := placeLink(file, "/dev/null"); !errors.Is(err, ErrLink) {
		t.Fatalf("placeLink over a regular file = %v, want ErrLink", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "x" {
		t.Fatal("regular file was touched")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary or lock files left: %v", entries)
	}
}

// A second twin on the gateway link of a running one is refused with ErrLink; the first one's
// link stays as it was, and goes when the first one stops. Then the path is free again.
func TestSecondTwinOnSameLinkRefused(t *testing.T) {
	needLong(t)
	dir := t.TempDir()
	gw := filepath.Join(dir, "mesh")
	first := newTwin(t, Options{Scenario: scenario(t, "small-room"), GatewayLink: gw})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- first.Run(ctx) }()
	if err := first.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := os.Readlink(gw)
	if err != nil {
		t.Fatal(err)
	}
	second := newTwin(t, Options{Scenario: scenario(t, "small-room"), GatewayLink: gw})
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second) // a second twin that runs is the bug
	defer scancel()
	err = second.Run(sctx)
	if !errors.Is(err, ErrLink) || !strings.Contains(err.Error(), "in use by another twin") {
		t.Fatalf("second twin Run = %v, want ErrLink: in use", err)
	}
	t.Logf("second twin: %v", err)
	if after, err := os.Readlink(gw); err != nil || after != before {
		t.Fatalf("first twin's link after the second's attempt: %q %v, want %q", after, err, before)
	}
	if werr := second.WaitReady(context.Background()); strings.Count(werr.Error(), "twin:") != 1 {
		t.Errorf("WaitReady = %q: the prefix twice", werr)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("first Run = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
	startTwin(t, Options{Scenario: scenario(t, "small-room"), GatewayLink: gw})
}
