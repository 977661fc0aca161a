package storage

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashConfig is the deterministic content of configuration version v, of varying size so that
// some versions span several pages.
func crashConfig(v int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# configuration version %d\n[site]\nname = \"room-%d\"\n", v, v)
	for i := range (v * 7919) % 12000 / 40 {
		fmt.Fprintf(&b, "k%05d = %d\n", i, v*i)
	}
	return b.Bytes()
}

// crashChild loops committing configurations, checkpoints, events and epoch bumps, and reports
// each on fd 3 only after the call returned (so a reported commit is a durable one).
func crashChild(path string) {
	report := os.NewFile(3, "report")
	fail := func(format string, args ...any) {
		fmt.Fprintf(report, "error "+format+"\n", args...)
		os.Exit(1)
	}
	db, err := Open(path, &Options{Timeout: 5 * time.Second, EventLimit: 200})
	if err != nil {
		fail("open: %v", err)
	}
	v := 0
	if cv, err := db.Config(); err == nil {
		v = cv.Version
	}
	cp, err := db.LoadCheckpoint()
	if err != nil {
		fail("load checkpoint: %v", err)
	}
	seq := cp.Seq
	epoch, err := db.Epoch()
	if err != nil {
		fail("epoch: %v", err)
	}
	fmt.Fprintf(report, "ready %d %d %d\n", v, seq, epoch)
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	for {
		switch r := rng.IntN(100); {
		case r < 50:
			loops, counters := sampleState(16, int(seq+1))
			got, err := db.SaveCheckpoint(Checkpoint{Loops: loops, Counters: counters})
			if err != nil || got != seq+1 {
				fail("checkpoint = %d, %v; want %d", got, err, seq+1)
			}
			seq = got
			fmt.Fprintf(report, "S %d\n", seq)
		case r < 85:
			got, err := db.SaveConfig(crashConfig(v+1), "crash", "")
			if err != nil || got != v+1 {
				fail("config = %d, %v; want %d", got, err, v+1)
			}
			v = got
			fmt.Fprintf(report, "C %d\n", v)
		case r < 95:
			if _, err := db.AppendEvent(Event{Kind: KindAlarm, Text: "crash test"}); err != nil {
				fail("event: %v", err)
			}
		default:
			e, err := db.BumpEpoch()
			if err != nil || e != epoch+1 {
				fail("epoch = %d, %v; want %d", e, err, epoch+1)
			}
			epoch = e
			fmt.Fprintf(report, "P %d\n", epoch)
		}
	}
}

// TestCrash kills a committing process with SIGKILL at random moments, at least 100 times. After
// every kill the database must open, pass Check, hold every configuration the child reported
// intact, and hold a checkpoint no older than the last one reported.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a helper process 100 times")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	// Start from a schema-1 file, so early kills land inside the migration too.
	writeV1(t, path, v1Data{config: crashConfig(1), who: "crash", epoch: 5, loops: map[string]loopState1{"crah-01": {Integrator: 1, Mode: "auto"}}})

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var vr, sr, er uint64 // lower bounds: last durable value reported or observed
	er = 5
	kills, midRun := 0, 0
	deadline := time.Now().Add(50 * time.Second)
	for kills < 100 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d kills in the time budget", kills)
		}
		c := startChild(t, "crash", path)
		if rng.IntN(8) == 0 {
			// Kill at a random moment from the start: during start-up, Open or a migration.
			time.Sleep(time.Duration(rng.IntN(30_000)) * time.Microsecond) // the random kill point is the stimulus
		} else {
			line, err := c.readLine(20 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			vr, sr, er = checkReady(t, line, vr, sr, er)
			time.Sleep(time.Duration(rng.IntN(25_000)) * time.Microsecond)
			midRun++
		}
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.cmd.Wait()
		<-c.done
		kills++
		close(c.lines)
		for line := range c.lines {
			f := strings.Fields(line)
			n := func(i int) uint64 {
				x, err := strconv.ParseUint(f[i], 10, 64)
				if err != nil {
					t.Fatalf("child line %q", line)
				}
				return x
			}
			switch f[0] {
			case "error":
				t.Fatalf("kill %d: child: %s", kills, line)
			case "ready":
				// What the child found at its start is durable: the bounds below count from it
				// (a first kill can land between a commit and its report line).
				vr, sr, er = checkReady(t, line, vr, sr, er)
			case "C":
				vr = n(1)
			case "S":
				sr = n(1)
			case "P":
				er = n(1)
			}
		}

		db, err := Open(path, &Options{Timeout: 5 * time.Second, EventLimit: 200})
		if err != nil {
			t.Fatalf("kill %d: Open: %v", kills, err)
		}
		if err := db.Check(); err != nil {
			t.Fatalf("kill %d: Check: %v", kills, err)
		}
		cv, err := db.Config()
		if err != nil {
			t.Fatalf("kill %d: Config: %v", kills, err)
		}
		v := uint64(cv.Version)
		if v < vr || v > vr+1 {
			t.Fatalf("kill %d: configuration version %d, child reported %d", kills, v, vr)
		}
		if !bytes.Equal(cv.Data, crashConfig(cv.Version)) {
			t.Fatalf("kill %d: configuration version %d is not intact", kills, v)
		}
		if vr > 0 {
			rv, err := db.ConfigVersionN(int(vr))
			if err != nil || !bytes.Equal(rv.Data, crashConfig(int(vr))) {
				t.Fatalf("kill %d: reported configuration %d: %v", kills, vr, err)
			}
		}
		cp, err := db.LoadCheckpoint()
		if err != nil {
			t.Fatalf("kill %d: LoadCheckpoint: %v", kills, err)
		}
		if cp.Seq < sr || cp.Seq > sr+1 {
			t.Fatalf("kill %d: checkpoint %d, child reported %d: more than one checkpoint old", kills, cp.Seq, sr)
		}
		if cp.Seq > 0 {
			loops, counters := sampleState(16, int(cp.Seq))
			if !maps.EqualFunc(cp.Loops, loops, LoopState.equal) || !maps.Equal(cp.Counters, counters) {
				t.Fatalf("kill %d: checkpoint %d content does not match its sequence (torn state)", kills, cp.Seq)
			}
		}
		e, err := db.Epoch()
		if err != nil || e < er || e > er+1 {
			t.Fatalf("kill %d: epoch %d, %v; child reported %d", kills, e, err, er)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		vr, sr, er = v, cp.Seq, e
	}
	fi, _ := os.Stat(path)
	t.Logf("%d kills (%d after the child was committing); final: configuration %d, checkpoint %d, epoch %d, file %d bytes",
		kills, midRun, vr, sr, er, fi.Size())
}

// checkReady checks that a child started from at least the state known to be durable.
func checkReady(t *testing.T, line string, vr, sr, er uint64) (uint64, uint64, uint64) {
	t.Helper()
	var v, s, e uint64
	if _, err := fmt.Sscanf(line, "ready %d %d %d", &v, &s, &e); err != nil {
		t.Fatalf("child: %s", line)
	}
	if v < vr || s < sr || e < er {
		t.Fatalf("child started from configuration %d, checkpoint %d, epoch %d; durable before: %d, %d, %d", v, s, e, vr, sr, er)
	}
	return v, s, e
}
