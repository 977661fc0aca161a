package appliance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/identity"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/pair"
	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
)

const pairTOML = `site = "pair-room"
node_id = 7

[control]
period = "200ms"

[[line]]
name = "bms"
target = "tcp://%s"
timeout = "80ms"

[[unit]]
name = "crah-1"
line = "bms"
unit_id = 1
fan_rate_pct_s = 100
valve_rate_pct_s = 100

[[unit]]
name = "crah-2"
line = "bms"
unit_id = 2
fan_rate_pct_s = 100
valve_rate_pct_s = 100

[[zone]]
name = "z1"
units = ["crah-1", "crah-2"]
sensors = ["00-17-0d-00-00-38-0a-1f/1", "00-17-0d-00-00-38-0a-1f/2"]
`

// freeUDP returns n loopback addresses free for UDP and TCP now.
func freeUDP(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		l, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.LocalAddr().String()
		l.Close()
		if tl, err := net.Listen("tcp", addr); err == nil {
			tl.Close()
			out = append(out, addr)
		}
	}
	return out
}

type pairBoard struct {
	a      *App
	cancel context.CancelFunc
	done   chan error
	dir    string
	o      Options
	once   sync.Once
}

func (b *pairBoard) role() pair.Role {
	b.a.pn.mu.Lock()
	defer b.a.pn.mu.Unlock()
	return b.a.pn.m.Role()
}

func (b *pairBoard) stop(t *testing.T) {
	b.once.Do(func() { b.halt(t) })
}

func (b *pairBoard) halt(t *testing.T) {
	b.cancel()
	select {
	case err := <-b.done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		buf := make([]byte, 1<<20)
		t.Errorf("serve did not return 10 s after cancel; goroutines:\n%s", buf[:runtime.Stack(buf, true)])
	}
}

func startPairBoard(t *testing.T, dir, site string, node uint16, listen, peers string) *pairBoard {
	t.Helper()
	key := []byte("a shared key of forty bytes, not a placeholder")
	if err := os.WriteFile(filepath.Join(dir, "pair.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf("node_id = %d\nlisten = [%q]\npeers = [%q]\nkey_file = \"pair.key\"\n", node, listen, peers)
	id, err := identity.Parse([]byte(src), filepath.Join(dir, "id.toml"), dir)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{ConfigPath: writeSite(t, dir, site), DBPath: filepath.Join(dir, "state.db"), NoBoard: true, Logf: quiet,
		Version: "v-test", Identity: id, HTTPListen: "off"}
	return runPairBoard(t, o, dir)
}

func runPairBoard(t *testing.T, o Options, dir string) *pairBoard {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := Open(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	b := &pairBoard{a: a, cancel: cancel, done: make(chan error, 1), dir: dir, o: o}
	go func() { b.done <- a.Serve(ctx) }()
	return b
}

// feedBoth reports the same inlets to every app, as two gateways on one mesh would: 30 C minus
// 0.1 K per % of crah's fan command, every 100 ms, until the test ends.
func feedBoth(t *testing.T, crah *ahusim.CRAH, apps func() []*App) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for seq := uint8(0); ; seq++ {
			v := 30 - 0.01*float64(holding(crah, ahusim.CRAHFanCmd))
			now := time.Now()
			for _, a := range apps() {
				for i, id := range []string{sensor1, sensor2} {
					a.eng.Observe(engine.Reading{Sensor: id, Value: v + 0.05*float64(i), Time: now, Seq: seq, Arrival: now})
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// Two boards in one process against simulated CRAHs: exactly one becomes active and writes its
// node id as the owner; the standby is warm; when the active stops, the standby takes over with
// a higher epoch of its own parity (a clean stop hands over at once), without a step in any fan
// command, and the units never fall back. The process-level proofs (kill -9, SIGSTOP, cuts) are in cmd/coldaisle.
func TestPairTakeoverInProcess(t *testing.T) {
	addr, units := simulator(t, 1, 2)
	site := fmt.Sprintf(pairTOML, addr)
	ports := freeUDP(t, 2)
	var mu sync.Mutex
	var boards []*pairBoard
	feedBoth(t, units[1], func() []*App {
		mu.Lock()
		defer mu.Unlock()
		var out []*App
		for _, b := range boards {
			out = append(out, b.a)
		}
		return out
	})
	a := startPairBoard(t, t.TempDir(), site, 1, ports[0], ports[1])
	b := startPairBoard(t, t.TempDir(), site, 2, ports[1], ports[0])
	mu.Lock()
	boards = []*pairBoard{a, b}
	mu.Unlock()
	defer a.stop(t)
	defer b.stop(t)

	waitFor(t, 10*time.Second, "one active and one standby", func() bool {
		ra, rb := a.role(), b.role()
		return (ra == pair.Active && rb == pair.Standby) || (rb == pair.Active && ra == pair.Standby)
	})
	active, standby := a, b
	if b.role() == pair.Active {
		active, standby = b, a
	}
	node := active.a.pn.id.NodeID
	waitFor(t, 10*time.Second, "the active's owner id on both units", func() bool {
		return holding(units[1], 10) == node && holding(units[2], 10) == node
	})
	waitFor(t, 10*time.Second, "the standby warm with the active's loop state", func() bool { return standby.a.pn.warm() })
	if standby.a.pn.isActive() {
		t.Fatal("the standby writes")
	}

	// Stop the active; sample the fan commands until the other board owns both units.
	before := [2]uint16{holding(units[1], 13), holding(units[2], 13)}
	epoch := holding(units[1], 11)
	active.stop(t)
	other := standby.a.pn.id.NodeID
	var steps [2]int
	fellBack := false
	last := before
	waitFor(t, 10*time.Second, "the standby owning both units", func() bool {
		for i, u := range []*ahusim.CRAH{units[1], units[2]} {
			c := holding(u, 13)
			steps[i] = max(steps[i], int(c)-int(last[i]), int(last[i])-int(c))
			last[i] = c
			fellBack = fellBack || u.Effective().Fallback
		}
		return holding(units[1], 10) == other && holding(units[2], 10) == other
	})
	if e := holding(units[1], 11); e <= epoch || e&1 != other&1 {
		t.Fatalf("new epoch %d after %d: want higher, with node %d's parity", e, epoch, other)
	}
	for i, s := range steps {
		// 0.1 % per count: a step above 10 counts is more than 1 % of the range.
		if s > 10 {
			t.Errorf("crah-%d: the fan command stepped by %.1f %% at the takeover", i+1, float64(s)/10)
		}
	}
	if fellBack {
		t.Error("a unit fell back to local control during the takeover")
	}
	// The stopped board restarts: it comes back standby, never a second writer.
	again := runPairBoard(t, active.o, active.dir)
	mu.Lock()
	boards = []*pairBoard{again, standby}
	mu.Unlock()
	defer again.stop(t)
	waitFor(t, 10*time.Second, "the restarted board standby", func() bool { return again.role() == pair.Standby })
	if holding(units[1], 10) != other {
		t.Fatal("the restarted board took the units")
	}
}

// startPair starts two boards on simulated CRAHs and returns (active, standby) once the pair
// has settled, with readings fed to the active's own gateway path only: the standby hears them
// forwarded over the peer link.
func startPair(t *testing.T) (active, standby *pairBoard, units map[byte]*ahusim.CRAH) {
	t.Helper()
	addr, units := simulator(t, 1, 2)
	site := fmt.Sprintf(pairTOML, addr)
	ports := freeUDP(t, 2)
	a := startPairBoard(t, t.TempDir(), site, 1, ports[0], ports[1])
	b := startPairBoard(t, t.TempDir(), site, 2, ports[1], ports[0])
	t.Cleanup(func() { a.stop(t); b.stop(t) })
	waitFor(t, 10*time.Second, "one active and one standby", func() bool {
		ra, rb := a.role(), b.role()
		return (ra == pair.Active && rb == pair.Standby) || (rb == pair.Active && ra == pair.Standby)
	})
	active, standby = a, b
	if b.role() == pair.Active {
		active, standby = b, a
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for seq := uint8(0); ; seq++ {
			now := time.Now()
			for i, id := range []string{sensor1, sensor2} {
				active.a.observe(engine.Reading{Sensor: id, Value: 24 + 0.05*float64(i), Time: now, Seq: seq, Arrival: now})
			}
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return active, standby, units
}

// The standby is warm from the streams: the readings of the active's gateway (its own is
// silent), and every commit on the active, stored on the standby within a second. A commit on
// the standby is refused and says where the active is.
func TestPairStreamsReadingsAndCommits(t *testing.T) {
	active, standby, _ := startPair(t)
	waitFor(t, 5*time.Second, "forwarded readings on the standby", func() bool { return standby.a.eng.Observed() >= 10 })

	ctx := context.Background()
	cfg, _, err := active.a.backend().RunningConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Zones[0].SetpointC = 23.5
	start := time.Now()
	v, err := active.a.backend().CommitConfig(ctx, cfg, consoleCommit("pair test"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the commit stored on the standby", func() bool {
		c, _ := standby.a.runningConfig()
		return c.Zones[0].SetpointC == 23.5
	})
	t.Logf("commit v%d on the active stored on the standby after %v", v.N, time.Since(start).Round(time.Millisecond))
	_, sv, _ := standby.a.backend().RunningConfig(ctx)
	if !strings.Contains(sv.Comment, "from the active") {
		t.Errorf("the standby's version says %q", sv.Comment)
	}
	_, err = standby.a.backend().CommitConfig(ctx, cfg, consoleCommit("on the standby"))
	if !errors.Is(err, ErrStandby) || !strings.Contains(err.Error(), "node") {
		t.Fatalf("commit on the standby: %v", err)
	}
}

func consoleCommit(comment string) console.CommitInfo {
	return console.CommitInfo{User: "tech", Time: time.Now(), Comment: comment}
}

// The console's pair commands on a running pair: show pair on both boards, a switchover asked
// of the standby refused, asked of the active carried out (the roles swap, bumpless), and a hold
// standby on the new active handing back.
func TestPairConsoleBackend(t *testing.T) {
	active, standby, units := startPair(t)
	ctx := context.Background()
	var cb console.Pair = active.a.backend()
	waitFor(t, 5*time.Second, "the active's view of both units and the peer", func() bool {
		st, err := cb.PairStatus(ctx)
		return err == nil && len(st.Witness) == 2 && st.Peer.Heard && st.Peer.ConfigMatch
	})
	st, _ := cb.PairStatus(ctx)
	if st.Role != "active" || st.Peer.Role != "standby" || st.Lease <= 0 || len(st.Paths) != 1 || !st.Paths[0].Heard || st.Counters["sent"] == 0 {
		t.Fatalf("active's status: %+v", st)
	}
	if err := standby.a.backend().RequestSwitchover(ctx); err == nil || !strings.Contains(err.Error(), "not active") {
		t.Fatalf("switchover asked of the standby: %v", err)
	}
	if err := cb.RequestSwitchover(ctx); err != nil {
		t.Fatalf("switchover: %v", err)
	}
	waitFor(t, 5*time.Second, "the roles swapped", func() bool { return standby.role() == pair.Active && active.role() == pair.Standby })
	waitFor(t, 5*time.Second, "the new active's owner on the units", func() bool {
		return holding(units[1], 10) == standby.a.pn.id.NodeID && holding(units[2], 10) == standby.a.pn.id.NodeID
	})
	if err := standby.a.backend().SetPairHold(ctx, "standby"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !(active.role() == pair.Active && standby.role() == pair.Standby) {
		if time.Now().After(deadline) {
			a, _ := active.a.backend().PairStatus(ctx)
			b, _ := standby.a.backend().PairStatus(ctx)
			t.Fatalf("not handed back:\n%+v\n%+v", a, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := standby.a.backend().SetPairHold(ctx, "sideways"); err == nil {
		t.Fatal("a bad hold word was taken")
	}
	alone := startRig(t, nil)
	if _, err := alone.b.PairStatus(ctx); !errors.Is(err, console.ErrNoPair) {
		t.Fatalf("a board alone: %v", err)
	}
}
