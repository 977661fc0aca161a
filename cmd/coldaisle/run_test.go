package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/twin"
	"github.com/coldaisle/coldaisle/storage"
)

// startTwin runs the small room on real links for a controller process to drive.
func startTwin(t *testing.T, ctx context.Context, dir string) *site.Config {
	t.Helper()
	sc, err := plant.LoadScenario("small-room")
	if err != nil {
		t.Fatal(err)
	}
	tw, err := twin.New(twin.Options{Scenario: sc, Speed: 5, GatewayLink: filepath.Join(dir, "gw"), ModbusListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tw.Run(ctx) }()
	t.Cleanup(func() { <-done })
	if err := tw.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := tw.SiteConfig()
	cfg.Control.Checkpoint = site.D(time.Second)
	return cfg
}

func writeConfig(t testing.TB, path string, cfg *site.Config) {
	t.Helper()
	data, err := site.Encode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

var firstCmdRe = regexp.MustCompile(`first command written ([0-9.]+[µm]?s) after start`)

// TestRunSIGTERMAndColdRestart starts `coldaisle run` against the twin, stops it with SIGTERM
// (exit 0, state checkpointed), restarts it from the database alone, and measures the time from
// process start to the first command written.
func TestRunSIGTERMAndColdRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary against the twin")
	}
	bin := testBinary(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := startTwin(t, ctx, dir)
	cfgPath, dbPath := filepath.Join(dir, "site.toml"), filepath.Join(dir, "state.db")
	writeConfig(t, cfgPath, cfg)

	var firsts []string
	for i, args := range [][]string{
		{"run", "--config", cfgPath, "--db", dbPath},
		{"run", "--db", dbPath}, // cold restart: configuration and state from the database
	} {
		cmd := exec.Command(bin, args...)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		var log []string
		deadline := time.After(20 * time.Second)
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("run %d exited early:\n%s", i, strings.Join(log, "\n"))
				}
				log = append(log, l)
				if m := firstCmdRe.FindStringSubmatch(l); m != nil {
					firsts = append(firsts, m[1])
					break wait
				}
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("run %d wrote no command in 20 s:\n%s", i, strings.Join(log, "\n"))
			}
		}
		if i == 1 && !strings.Contains(strings.Join(log, "\n"), "resumed from checkpoint") {
			t.Errorf("cold restart did not resume from the checkpoint:\n%s", strings.Join(log, "\n"))
		}
		sent := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		for range lines {
		}
		err := cmd.Wait()
		if err != nil {
			t.Fatalf("run %d after SIGTERM: %v", i, err)
		}
		if d := time.Since(sent); d > 5*time.Second { // the target is 2 s; assert a generous bound
			t.Errorf("run %d took %v to stop after SIGTERM", i, d)
		}
		t.Logf("run %d: first command %s after start; stopped %v after SIGTERM", i, firsts[i], time.Since(sent).Round(time.Millisecond))
	}
}

// TestRunSurvivesSIGKILL kills the controller with SIGKILL at random moments, a hundred times,
// while it imports configurations and checkpoints its state. After every kill the database must
// open, pass its check, hold the last configuration whose commit the controller reported, and
// hold a restorable state whose checkpoint sequence never went back.
func TestRunSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes")
	}
	kills := 100
	if v := os.Getenv("COLDAISLE_CRASH_KILLS"); v != "" {
		fmt.Sscan(v, &kills)
	}
	bin := testBinary(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := startTwin(t, ctx, dir)
	cfgPath, dbPath := filepath.Join(dir, "site.toml"), filepath.Join(dir, "state.db")
	rng := rand.New(rand.NewPCG(7, 11))
	importedRe := regexp.MustCompile(`imported as version (\d+)`)
	lastVersion, lastName, lastSeq := 0, "", uint64(0)
	midCommit := 0
	var firsts []time.Duration
	for i := 0; i < kills; i++ {
		args := []string{"run", "--db", dbPath}
		name := ""
		if i%3 == 0 { // every third start commits a new configuration
			name = fmt.Sprintf("crash-%03d", i)
			cfg.Site = name
			writeConfig(t, cfgPath, cfg)
			args = append(args, "--config", cfgPath, "--import")
		}
		cmd := exec.Command(bin, args...)
		var out strings.Builder
		cmd.Stderr = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The random moment of the kill is the point; one start in four is killed within its
		// first 20 ms, where the import and the first checkpoint commit.
		wait := time.Duration(rng.IntN(600)) * time.Millisecond
		if i%4 == 1 {
			wait = time.Duration(rng.IntN(20000)) * time.Microsecond
		}
		time.Sleep(wait)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		log := out.String()
		if m := importedRe.FindStringSubmatch(log); m != nil {
			fmt.Sscan(m[1], &lastVersion)
			lastName = name
		} else if name != "" {
			midCommit++
		}
		if m := firstCmdRe.FindStringSubmatch(log); m != nil {
			if d, err := time.ParseDuration(m[1]); err == nil {
				firsts = append(firsts, d)
			}
		}

		db, err := storage.Open(dbPath, &storage.Options{Timeout: 2 * time.Second})
		if err != nil {
			if i == 0 && strings.Contains(err.Error(), "not found") {
				continue
			}
			t.Fatalf("kill %d: open: %v\n%s", i, err, log)
		}
		if err := db.Check(); err != nil {
			t.Fatalf("kill %d: check: %v", i, err)
		}
		cv, err := db.Config()
		if lastVersion > 0 {
			if err != nil {
				t.Fatalf("kill %d: config: %v", i, err)
			}
			// The reported commit is there; a later one that was not reported may be too.
			if cv.Version < lastVersion {
				t.Fatalf("kill %d: config version %d, but version %d was reported committed", i, cv.Version, lastVersion)
			}
			if cv.Version == lastVersion && !strings.Contains(string(cv.Data), lastName) {
				t.Fatalf("kill %d: config v%d does not hold %q", i, cv.Version, lastName)
			}
			if _, err := site.Parse(cv.Data, "stored"); err != nil {
				t.Fatalf("kill %d: stored config does not parse: %v", i, err)
			}
		}
		cp, err := db.LoadCheckpoint()
		db.Close()
		if err != nil {
			t.Fatalf("kill %d: checkpoint: %v", i, err)
		}
		if cp.Seq < lastSeq {
			t.Fatalf("kill %d: checkpoint went back from %d to %d", i, lastSeq, cp.Seq)
		}
		lastSeq = cp.Seq
	}
	sort.Slice(firsts, func(a, b int) bool { return firsts[a] < firsts[b] })
	med := time.Duration(0)
	if len(firsts) > 0 {
		med = firsts[len(firsts)/2]
	}
	t.Logf("%d kills: %d mid-import, last config v%d, checkpoint seq %d, first command median %v over %d starts", kills, midCommit, lastVersion, lastSeq, med, len(firsts))
	if lastSeq == 0 || lastVersion == 0 {
		t.Fatalf("the controller never got to commit (config v%d, checkpoint %d)", lastVersion, lastSeq)
	}
}
