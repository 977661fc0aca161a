package pair

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// simUnit is a unit's owner block and what it accepted, in a two-board simulation.
type simUnit struct {
	owner, epoch, hb uint16
	fenceEpoch       uint16 // the highest epoch written (fencing on: lower ones are refused)
	lastOwner        uint16
	lastAt           time.Time
	prevOwner        uint16    // the owner before lastOwner
	changedAt        time.Time // when lastOwner took over
}

type simBoard struct {
	log      *[]string
	now      *time.Time
	m        *Machine
	node     uint16
	pausedTo time.Time
	hb       uint16
	nextBeat time.Time
	nextRead time.Time
	// heardSent is when the peer sent the newest heartbeat this board has received: the echo
	// its own next heartbeat carries (the peer link's ack of a sequence number).
	heardSent time.Time
	sentAt    map[int]time.Time // our heartbeats by number, for the peer's echo
	sent      int
}

// TestPairNeverTwoWriters runs two machines against shared units for simulated hours, with the
// peer link cut and healed, heartbeats lost, and one board paused (SIGSTOP) now and then, and
// checks the pair's promise: no unit accepts writes from two owners within one BMS timeout, and
// (fencing off) no unit accepts an epoch lower than one it already accepted.
func TestPairNeverTwoWriters(t *testing.T) {
	seeds := uint64(12)
	switch {
	case testing.Short(): // the ARM runs under qemu: the host runs cover the seeds
		seeds = 1
	case raceEnabled:
		seeds = 3
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		for _, fencing := range []bool{false, true} {
			runPairSim(t, seed, fencing)
		}
	}
}

func runPairSim(t *testing.T, seed uint64, fencing bool) {
	rng := rand.New(rand.NewPCG(seed, 7))
	cfg := Config{Heartbeat: 100 * time.Millisecond, PeerTimeout: 350 * time.Millisecond, WitnessInterval: 250 * time.Millisecond}
	const bms = 10 * time.Second
	boards := make([]*simBoard, 2)
	var history []string
	now := time.Unix(1_000_000, 0)
	for i, node := range []uint16{1, 2} {
		c := cfg
		c.NodeID, c.Priority = node, 100
		m, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		boards[i] = &simBoard{m: m, node: node, log: &history, now: &now}
	}
	units := []*simUnit{{}, {}, {}}
	end := now.Add(time.Hour)
	calm := end.Add(-10 * time.Second) // the last 10 s: the link healed, nobody paused
	cut := false
	var takeovers int
	const step = 10 * time.Millisecond
	type inflight struct {
		to     int
		at     time.Time
		sentAt time.Time
		echo   time.Time // the send time of the receiver's heartbeat the sender last heard
		msg    PeerState
	}
	var link []inflight
	for ; now.Before(end); now = now.Add(step) {
		// Faults: cut or heal the link, pause a board for up to 5 s.
		if !now.Before(calm) {
			cut = false
		} else if rng.Float64() < 0.0005 {
			cut = !cut
			history = append(history, fmt.Sprintf("%v link cut %v", now.Format("15:04:05.00"), cut))
		}
		if now.Before(calm.Add(-5*time.Second)) && rng.Float64() < 0.0002 {
			b := boards[rng.IntN(2)]
			b.pausedTo = now.Add(time.Duration(rng.IntN(5000)) * time.Millisecond)
			history = append(history, fmt.Sprintf("%v node %d paused to %v", now.Format("15:04:05.00"), b.node, b.pausedTo.Format("15:04:05.00")))
		}
		// Deliver heartbeats due.
		keep := link[:0]
		for _, f := range link {
			if f.at.After(now) {
				keep = append(keep, f)
				continue
			}
			if b := boards[f.to]; !b.pausedTo.After(now) {
				if f.sentAt.After(b.heardSent) {
					b.heardSent = f.sentAt
				}
				b.do(t, b.m.Step(PeerHeard{At: now, State: f.msg, Fresh: f.echo}))
			}
		}
		link = keep
		for i, b := range boards {
			if b.pausedTo.After(now) {
				continue
			}
			b.do(t, b.m.Tick(now))
			if !now.Before(b.nextBeat) {
				b.nextBeat = now.Add(cfg.Heartbeat)
				st := b.m.Status()
				if !cut && rng.Float64() > 0.1 { // 10 % loss
					link = append(link, inflight{to: 1 - i, at: now.Add(time.Duration(rng.IntN(30)) * time.Millisecond),
						sentAt: now, echo: boards[1-i].echoOf(b.heardSent),
						msg: PeerState{NodeID: b.node, Role: st.Role, Epoch: st.Epoch, Priority: 100, FieldOK: true, Yield: st.Yielding}})
				}
			}
			if !now.Before(b.nextRead) { // the witness read, then the period's writes
				b.nextRead = now.Add(cfg.WitnessInterval / 2) // the keeper rewrites at half the interval
				var os []Owner
				for k, u := range units {
					os = append(os, Owner{Unit: string(rune('a' + k)), Reachable: true, Owner: u.owner, Epoch: u.epoch, Heartbeat: u.hb})
				}
				b.do(t, b.m.Step(Witnessed{At: now, Units: os}))
				b.do(t, b.m.Step(FieldHealth{At: now, Reachable: len(units), Total: len(units)}))
				if st := b.m.Status(); st.Role == Active && b.m.CanWrite(now) {
					b.hb++
					for k, u := range units {
						ep := b.m.Epoch()
						if fencing && ep < u.fenceEpoch {
							b.do(t, b.m.Step(Fenced{At: now, Unit: string(rune('a' + k)), Epoch: u.fenceEpoch}))
							break
						}
						// The pair's promise: once a newer epoch's write is accepted, no older one is:
						// the old writer stopped before (fencing off), or is refused (fencing on).
						if !fencing && ep < u.fenceEpoch {
							for _, h := range history[max(0, len(history)-40):] {
								t.Log(h)
							}
							t.Fatalf("seed %d: unit %d would accept epoch %d from node %d after epoch %d (two writers)", seed, k, ep, b.node, u.fenceEpoch)
						}
						if u.lastOwner != b.node {
							takeovers++
							u.prevOwner, u.changedAt = u.lastOwner, now
						}
						u.owner, u.epoch, u.hb, u.lastOwner, u.lastAt = b.node, ep, b.hb, b.node, now
						u.fenceEpoch = max(u.fenceEpoch, ep)
						b.do(t, b.m.Step(WriteAccepted{At: now, Epoch: ep}))
					}
				}
			}
		}
	}
	if takeovers < 2 {
		t.Fatalf("seed %d: only %d changes of owner in an hour of faults: the test exercised nothing", seed, takeovers)
	}
	// After the faults: exactly one active, and it writes.
	actives := 0
	for _, b := range boards {
		if b.m.Role() == Active && b.m.CanWrite(now.Add(-step)) {
			actives++
		}
	}
	if actives != 1 {
		t.Fatalf("seed %d: %d boards active and writing after 10 s without faults: %v / %v", seed, actives, boards[0].m.Status(), boards[1].m.Status())
	}
	t.Logf("seed %d fencing %v: %d changes of owner in an hour", seed, fencing, takeovers)
}

// echoOf is what the peer's echo of our heartbeat sent at t proves: t itself (zero: none).
func (b *simBoard) echoOf(t time.Time) time.Time { return t }

// do carries out a machine's effects: epochs are stored at once.
func (b *simBoard) do(t *testing.T, effs []Effect) {
	for _, e := range effs {
		*b.log = append(*b.log, fmt.Sprintf("%v node %d: %s", b.now.Format("15:04:05.00"), b.node, e))
		if e.Kind == PersistEpoch {
			b.do(t, b.m.Step(EpochStored{Epoch: e.Epoch}))
		}
	}
}
