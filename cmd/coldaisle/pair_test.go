//go:build linux

package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// takeover is what one kill -9 of the active measured.
type takeover struct {
	Killed, Took *pairProc
	KillAt       time.Time
	First        time.Duration // kill to the new active's first accepted write
	StepPct      float64       // largest command change at the handover, % of range
	StepWhy      string
}

// killActive kills the active with SIGKILL, waits for the standby's first accepted write, and
// restarts the killed process, which must come back standby. It returns what it measured.
func (r *pairRig) killActive(t testing.TB) takeover {
	t.Helper()
	active, standby := r.waitSettled(20 * time.Second)
	// check-writes --pair counts an owner back on a unit within one BMS timeout of its previous
	// write, with another owner's write in between, as a dual writer: kills closer together than
	// that (A -> B -> A within 3 s) would be judged so however clean each handover.
	if wait := time.Until(r.lastKill.Add(r.bmsTimeoutWall() + 300*time.Millisecond)); wait > 0 {
		time.Sleep(wait)
	}
	tk := takeover{Killed: active, Took: standby}
	tk.KillAt = active.kill(syscall.SIGKILL)
	r.lastKill = tk.KillAt
	ev := standby.waitRole("active", tk.KillAt, 10*time.Second)
	var first logEntry
	r.waitFor(10*time.Second, fmt.Sprintf("board %s's first accepted write after the kill", standby.name), func() bool {
		var ok bool
		first, ok = r.wlog.firstAccepted(standby.node, tk.KillAt)
		return ok
	})
	tk.First = first.Wall.Sub(tk.KillAt)
	t.Logf("kill -9 of %s at %s: %s active (epoch %d) after %v, first accepted write after %v",
		active.name, tk.KillAt.Format("15:04:05.000"), standby.name, ev.Epoch, ev.At.Sub(tk.KillAt).Round(time.Millisecond), tk.First.Round(time.Millisecond))
	// The new owner's first write on every unit.
	r.waitFor(10*time.Second, "the new active's writes on every unit", func() bool {
		n := map[int]bool{}
		for _, e := range r.wlog.since(tk.KillAt) {
			if e.Accepted && e.Writer != nil && *e.Writer == standby.node {
				n[e.Unit] = true
			}
		}
		return len(n) == len(r.crahIDs())
	})
	tk.StepPct, tk.StepWhy = r.wlog.handoverStep(active.node, standby.node, tk.KillAt)

	// systemd restarts it: it must come back standby, never active (it would be a second writer).
	restart := time.Now()
	active.start()
	back := active.waitRole("standby", restart, 10*time.Second)
	for _, e := range active.rolesSince(restart) {
		if e.Role == "active" {
			t.Fatalf("the restarted board %s came back active: %s", active.name, e.Msg)
		}
	}
	t.Logf("restarted %s: standby after %v", active.name, back.At.Sub(restart).Round(time.Millisecond))
	return tk
}

// kill -9 of the active, three times (A, B, A): the standby takes over each time, no unit falls
// back, the command does not step at the handover, the write log is clean, and the killed one
// restarted comes back standby.
func TestPairKillActive(t *testing.T) {
	r := startPair(t, rigOptions{Fencing: true})
	for i := range 3 {
		tk := r.killActive(t)
		if tk.StepPct > 1 {
			t.Errorf("run %d: the command stepped %.2f %% at the handover (want <= 1 %%): %s", i, tk.StepPct, tk.StepWhy)
		}
		if tk.Killed.node == tk.Took.node {
			t.Fatalf("run %d: the same board", i)
		}
	}
	r.waitSettled(20 * time.Second)
	r.requireNoFallback()
	rep := r.requireClean()
	if len(rep.Overall) < 3 {
		t.Errorf("check-writes --pair saw %d handovers over all units, want >= 3", len(rep.Overall))
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
