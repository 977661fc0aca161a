//go:build linux

package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/peer"
	"github.com/coldaisle/coldaisle/drivers/twin"
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
	r.logf("kill -9 of %s at %s: %s active (epoch %d) after %v, first accepted write after %v",
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
	r.logf("restarted %s: standby after %v", active.name, back.At.Sub(restart).Round(time.Millisecond))
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

// SIGSTOP of the active for 5 s (a frozen process or VM), then SIGCONT, with fencing off and
// on: the standby takes over; no command of the old active is accepted after the new one's
// first write (its lease ran out while it was stopped, and a fencing unit refuses it anyway);
// the old one steps down.
func TestPairStopActive(t *testing.T) {
	for _, fencing := range []bool{false, true} {
		t.Run(fmt.Sprintf("fencing=%v", fencing), func(t *testing.T) {
			r := startPair(t, rigOptions{Fencing: fencing})
			active, standby := r.waitSettled(20 * time.Second)
			stop := active.kill(syscall.SIGSTOP)
			standby.waitRole("active", stop, 10*time.Second)
			var first logEntry
			r.waitFor(10*time.Second, "the new active's first accepted write", func() bool {
				var ok bool
				first, ok = r.wlog.firstAccepted(standby.node, stop)
				return ok
			})
			if d := time.Until(stop.Add(5 * time.Second)); d > 0 {
				time.Sleep(d) // the pause is the test: 5 s frozen
			}
			cont := active.kill(syscall.SIGCONT)
			down := active.waitRole("standby", cont, 10*time.Second)
			t.Logf("%s stopped at %s, %s's first write %v later; %s continued and stepped down after %v: %s",
				active.name, stop.Format("15:04:05.000"), standby.name, first.Wall.Sub(stop).Round(time.Millisecond),
				active.name, down.At.Sub(cont).Round(time.Millisecond), down.Msg)
			// Two seconds more (several witness intervals): whatever the old one still does shows
			// in the log and the roles.
			time.Sleep(2 * time.Second)
			refused, accepted := 0, 0
			for _, e := range r.wlog.since(first.Wall) {
				if e.Writer == nil || *e.Writer != active.node {
					continue
				}
				if e.Accepted {
					if accepted == 0 {
						t.Errorf("the old active's write accepted after the new one's first (%s): %+v", first.TWall, e)
					}
					accepted++
				} else {
					refused++
				}
			}
			if accepted > 0 {
				t.Errorf("%d writes of the old active accepted after the new one's first", accepted)
			}
			for _, e := range active.rolesSince(cont) {
				if e.Role == "active" {
					t.Errorf("the resumed board %s took over again: %s", active.name, e.Msg)
				}
			}
			for _, e := range standby.rolesSince(first.Wall) {
				t.Errorf("the new active %s lost its role to the resumed board: %s", standby.name, e.Msg)
			}
			rep := r.requireClean()
			r.requireNoFallback()
			t.Logf("old active's writes refused after the takeover: %d; refusals by owner %+v", refused, rep.Refusals)
		})
	}
}

// The peer link cut both ways (10 s here, 60 s in soak) while both boards reach the units: the
// standby sees the units still written and stays out, both raise an alarm, a single owner
// writes at every moment, and after the heal there is exactly one active at once.
func TestPairLinkCut(t *testing.T) {
	cut := 10 * time.Second
	if soak() {
		cut = 60 * time.Second
	}
	r := startPair(t, rigOptions{Fencing: true})
	active, standby := r.waitSettled(20 * time.Second)
	at := time.Now()
	r.cutLink(true)
	for _, b := range []*pairProc{active, standby} {
		r.waitFor(5*time.Second, fmt.Sprintf("board %s's alarm for the silent peer", b.name), func() bool {
			st, err := b.status()
			return err == nil && len(st.Pair.Alarms) > 0
		})
		st, _ := b.status()
		t.Logf("board %s (%s) alarms during the cut: %q", b.name, st.Pair.Role, st.Pair.Alarms)
	}
	if d := time.Until(at.Add(cut)); d > 0 {
		time.Sleep(d) // the cut's length is the test
	}
	if !active.alive() || !standby.alive() {
		t.Fatal("a board died during the cut")
	}
	for _, b := range []*pairProc{active, standby} {
		if ev := b.rolesSince(at); len(ev) > 0 {
			t.Errorf("board %s changed role during the cut: %v", b.name, ev[0].Msg)
		}
	}
	heal := time.Now()
	r.cutLink(false)
	// Exactly one active: the roles never changed, so the test is that they still do not and
	// that the peers hear each other again (peer_heard, alarms cleared).
	var took time.Duration
	r.waitFor(10*time.Second, "both boards hearing each other again, alarms cleared", func() bool {
		for _, b := range []*pairProc{active, standby} {
			st, err := b.status()
			if err != nil || len(st.Pair.Alarms) > 0 || st.Pair.PeerRole == "" {
				return false
			}
		}
		took = time.Since(heal)
		return true
	})
	a, s := r.roles()
	if a != active || s != standby {
		t.Fatalf("after the heal: active %v, standby %v", a, s)
	}
	t.Logf("cut %v; after the heal: one active (%s), alarms cleared within %v", cut, active.name, took.Round(time.Millisecond))
	for _, e := range r.wlog.since(at) {
		if e.Accepted && e.Writer != nil && *e.Writer != active.node {
			t.Fatalf("a second owner wrote during the cut: %+v", e)
		}
	}
	r.requireClean()
	r.requireNoFallback()
}

// The active's field cut while the peer link holds: board A (active) runs in a network
// namespace whose field link goes down (reads and writes gone, as a pulled cable); it reaches no
// unit, the standby does, and the standby takes over.
func TestPairFieldCut(t *testing.T) {
	r := startPair(t, rigOptions{NetnsA: true})
	active, standby := r.waitSettled(20 * time.Second)
	if active != r.boards[0] {
		t.Fatalf("board %s active at the start; want A (priority 100)", active.name)
	}
	at := time.Now()
	r.fieldCutA(true)
	took := standby.waitRole("active", at, 15*time.Second)
	var first logEntry
	r.waitFor(10*time.Second, "the new active's first accepted write", func() bool {
		var ok bool
		first, ok = r.wlog.firstAccepted(standby.node, at)
		return ok
	})
	down := active.waitRole("standby|waiting", at, 10*time.Second)
	t.Logf("field of %s cut: %s active after %v, first write after %v (%s); %s: %s", active.name, standby.name,
		took.At.Sub(at).Round(time.Millisecond), first.Wall.Sub(at).Round(time.Millisecond), took.Msg, active.name, down.Msg)
	heal := time.Now()
	r.fieldCutA(false)
	// Back on the field, A stays standby: it does not take the units back.
	time.Sleep(2 * time.Second)
	for _, e := range active.rolesSince(heal) {
		if e.Role == "active" {
			t.Errorf("board %s took over again after its field came back: %s", active.name, e.Msg)
		}
	}
	r.requireClean()
	r.requireNoFallback()
}

// The twin's per-connection cut of the active's owner (its writes are reset; a reconnection is
// still answered for reads until it writes its block): the active cannot write but still reads
// every owner block. The standby must end up in control before the units fall back.
func TestPairFieldWritesCut(t *testing.T) {
	r := startPair(t, rigOptions{})
	active, standby := r.waitSettled(20 * time.Second)
	at := time.Now()
	n := r.tw.Faults().Cut(twin.MatchOwner(active.node))
	t.Logf("cut owner %d (%d connections)", active.node, n)
	took := standby.waitRole("active", at, 2*r.bmsTimeoutWall())
	first, _ := r.wlog.firstAccepted(standby.node, at)
	t.Logf("%s active after %v, first write after %v: %s", standby.name, took.At.Sub(at).Round(time.Millisecond), first.Wall.Sub(at).Round(time.Millisecond), took.Msg)
	r.tw.Faults().HealAll()
	r.requireClean()
	r.requireNoFallback()
}

// Spoofed (wrong key), replayed (real frames captured on the link, sent again) and malformed
// packets from a third party to both boards' listen addresses, over UDP and TCP: dropped and
// counted by reason, and no role changes.
func TestPairHostilePackets(t *testing.T) {
	r := startPair(t, rigOptions{})
	r.waitSettled(20 * time.Second)
	before := map[string]map[string]uint64{}
	for _, b := range r.boards {
		st, err := b.status()
		if err != nil {
			t.Fatal(err)
		}
		before[b.name] = st.Pair.Counters
	}
	at := time.Now()
	wrong, err := peer.NewCodec([]byte("not the pair's key, but 32 bytes or more of it"))
	if err != nil {
		t.Fatal(err)
	}
	// Captured real frames: what each proxy forwarded (each went to the board on the far side).
	captured := [2][][]byte{r.links[1].History(), r.links[0].History()} // to A, to B
	rng := rand.New(rand.NewPCG(5, 9))
	for round := range 20 {
		for i, b := range r.boards {
			other := r.boards[1-i]
			var frames [][]byte
			// Spoofed: the peer's node id, active with a huge epoch, under the wrong key.
			m := peer.Message{Header: peer.Header{Type: peer.TypeHeartbeat, Role: peer.RoleActive, NodeID: uint16(other.node),
				BootID: rng.Uint64() | 1, Seq: uint64(round + 1), Epoch: 60000, Software: "spoof"},
				Heartbeat: peer.Heartbeat{Priority: 1000, Flags: peer.HBInControl | peer.HBUnitsOK, IntervalMS: 100}}
			f, err := wrong.Seal(nil, &m)
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, f)
			// A real frame with one bit flipped.
			if c := captured[i]; len(c) > 0 {
				g := slices.Clone(c[rng.IntN(len(c))])
				g[rng.IntN(len(g))] ^= 1 << rng.IntN(8)
				frames = append(frames, g)
			}
			// Malformed: noise, a truncated real frame, the magic alone.
			noise := make([]byte, 1+rng.IntN(300))
			for j := range noise {
				noise[j] = byte(rng.Uint32())
			}
			frames = append(frames, noise, []byte{0xCA, 0x1E})
			if c := captured[i]; len(c) > 0 {
				frames = append(frames, c[0][:len(c[0])/2])
			}
			// Replayed: every captured frame, byte for byte.
			frames = append(frames, captured[i]...)
			sendUDP(t, b.listen, frames)
		}
	}
	// And by TCP: noise, then a replayed frame, on the bulk port.
	for i, b := range r.boards {
		if c, err := net.Dial("tcp", b.listen); err == nil {
			c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
			if len(captured[i]) > 0 {
				c.Write(captured[i][0])
			}
			c.Close()
		}
	}
	for _, b := range r.boards {
		r.waitFor(5*time.Second, fmt.Sprintf("board %s counting the drops", b.name), func() bool {
			st, err := b.status()
			if err != nil {
				return false
			}
			c, was := st.Pair.Counters, before[b.name]
			return c["bad_mac"] > was["bad_mac"] && c["malformed"] > was["malformed"] && c["replay"]+c["too_old"] > was["replay"]+was["too_old"]
		})
		st, _ := b.status()
		c, was := st.Pair.Counters, before[b.name]
		t.Logf("board %s drops since the attack: bad_mac +%d, malformed +%d, replay +%d, too_old +%d, late +%d", b.name,
			c["bad_mac"]-was["bad_mac"], c["malformed"]-was["malformed"], c["replay"]-was["replay"], c["too_old"]-was["too_old"], c["late"]-was["late"])
	}
	// The metrics say the same.
	for _, b := range r.boards {
		body := b.get(t, "/metrics")
		if !regexp.MustCompile(`coldaisle_pair_link_messages_total\{counter="bad_mac"\} [1-9]`).MatchString(body) {
			t.Errorf("board %s: /metrics has no bad_mac drops:\n%s", b.name, grepLines(body, "pair_link"))
		}
	}
	// A few heartbeats more: a role change would have come by now.
	time.Sleep(time.Second)
	for _, b := range r.boards {
		if ev := b.rolesSince(at); len(ev) > 0 {
			t.Errorf("board %s changed role under the hostile packets: %s", b.name, ev[0].Msg)
		}
	}
	r.requireClean()
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func sendUDP(t *testing.T, to string, frames [][]byte) {
	t.Helper()
	c, err := net.Dial("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, f := range frames {
		c.Write(f) // a refused datagram is fine: the board may drop anything
	}
}

// A flapping peer link (cut and healed in cycles of 100 ms to 5 s, ~15 s here, 5 min in soak)
// while both boards are healthy and reach the units: no role changes at all, one owner.
func TestPairFlappingLink(t *testing.T) {
	run := 15 * time.Second
	if soak() {
		run = 5 * time.Minute
	}
	r := startPair(t, rigOptions{Fencing: true})
	active, _ := r.waitSettled(20 * time.Second)
	at := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	flaps := 0
	// Each phase, cut or healed, lasts 100 ms to 5 s, log-uniform: as many short flaps as
	// long ones (a cut above peer_timeout is a real loss of the peer, which must not move a role
	// while the witness shows the active writing).
	phase := func() time.Duration {
		return time.Duration(100 * math.Pow(50, rng.Float64()) * float64(time.Millisecond))
	}
	for time.Since(at) < run {
		r.cutLink(true)
		time.Sleep(phase())
		r.cutLink(false)
		flaps++
		time.Sleep(phase())
	}
	r.waitFor(10*time.Second, "both boards hearing each other", func() bool {
		for _, b := range r.boards {
			if st, err := b.status(); err != nil || len(st.Pair.Alarms) > 0 {
				return false
			}
		}
		return true
	})
	changes := 0
	for _, b := range r.boards {
		for _, e := range b.rolesSince(at) {
			changes++
			t.Errorf("board %s changed role on the flapping link: %s", b.name, e.Msg)
		}
	}
	t.Logf("%d flaps over %v: %d role changes; %s active throughout", flaps, time.Since(at).Round(time.Second), changes, active.name)
	for _, e := range r.wlog.since(at) {
		if e.Accepted && e.Writer != nil && *e.Writer != active.node {
			t.Fatalf("a second owner wrote on the flapping link: %+v", e)
		}
	}
	r.requireClean()
	r.requireNoFallback()
}

// Both boards killed: every unit falls back to its fallback fan within its BMS timeout.
func TestPairBothKilled(t *testing.T) {
	r := startPair(t, rigOptions{})
	r.waitSettled(20 * time.Second)
	var at time.Time
	for _, b := range r.boards {
		at = b.kill(syscall.SIGKILL)
	}
	timeout := r.bmsTimeoutWall()
	for _, id := range r.crahIDs() {
		var fellAt time.Time
		r.waitFor(timeout+3*time.Second, fmt.Sprintf("unit %d's fallback", id), func() bool {
			fellAt = r.fb.since(byte(id))
			return !fellAt.IsZero()
		})
		e := r.tw.Unit(byte(id)).Effective()
		want := r.cfg.Units[slices.IndexFunc(r.cfg.Units, func(u site.Unit) bool { return u.UnitID == id })].FallbackFanPct
		last := lastAccepted(r.wlog, id)
		t.Logf("unit %d: fell back %v after the kills, %v after its last accepted write (BMS timeout %v wall); fan %.0f %% (fallback %.0f %%)",
			id, fellAt.Sub(at).Round(time.Millisecond), fellAt.Sub(last.Wall).Round(time.Millisecond), timeout, 100*e.LocalFan, want)
		if !e.Fallback || math.Abs(100*e.LocalFan-want) > 0.5 {
			t.Errorf("unit %d: %+v, want fallback at %.0f %%", id, e, want)
		}
		if d := fellAt.Sub(last.Wall); d > timeout+time.Second {
			t.Errorf("unit %d fell back %v after its last write, BMS timeout %v", id, d, timeout)
		}
	}
	r.requireClean()
}

func lastAccepted(w *writeLog, unit int) logEntry {
	var last logEntry
	for _, e := range w.all() {
		if e.Unit == unit && e.Accepted && e.Heartbeat != nil {
			last = e
		}
	}
	return last
}
