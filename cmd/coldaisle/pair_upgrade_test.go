package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/drivers/twin"
)

// upgBinaryNext builds the binary as the next release of the peer protocol would speak it
// (version 2, compat 1, a longer header): the second build of the rolling-upgrade test.
func upgBinaryNext(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "coldaisle-next")
	cmd := exec.Command("go", "build", "-ldflags", "-X github.com/coldaisle/coldaisle/drivers/peer.nextRelease=1", "-o", p, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build (next release): %v\n%s", err, out)
	}
	return p
}

// upgProc is one `coldaisle run` process whose log lines are kept and can be waited on.
type upgProc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  []string
	more chan struct{} // closed and replaced on every line
	done chan struct{}
}

func upgStart(t *testing.T, name, bin string, args ...string) *upgProc {
	t.Helper()
	p := &upgProc{name: name, cmd: exec.Command(bin, args...), more: make(chan struct{}), done: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			close(p.more)
			p.more = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		p.cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", p.name, p.text())
		}
	})
	return p
}

func (p *upgProc) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// await waits for a log line matching re that came after line from (an index into the log)
// and returns the index after it.
func (p *upgProc) await(t *testing.T, from int, re *regexp.Regexp, within time.Duration) int {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i := from; i < len(p.log); i++ {
			if re.MatchString(p.log[i]) {
				p.mu.Unlock()
				return i + 1
			}
		}
		more := p.more
		p.mu.Unlock()
		select {
		case <-more:
		case <-p.done:
			t.Fatalf("%s exited before %q", p.name, re)
		case <-deadline.C:
			t.Fatalf("%s: no %q within %v", p.name, re, within)
		}
	}
}

func (p *upgProc) lines() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.log)
}

// stop sends SIGTERM and waits for a clean exit.
func (p *upgProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("%s after SIGTERM: %v\n%s", p.name, err, p.text())
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b.Bytes()...)
}

func upgPorts(t *testing.T, n int) []string {
	var out []string
	for len(out) < n {
		l, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := l.LocalAddr().String()
		l.Close()
		if tl, err := net.Listen("tcp", a); err == nil {
			tl.Close()
			out = append(out, a)
		}
	}
	return out
}

// upgWrites counts the accepted writes of owner in a twin write log.
func upgWrites(log []byte, owner int) int {
	return bytes.Count(log, []byte(fmt.Sprintf(`"owner":%d,"epoch"`, owner))) // every accepted or refused block of owner
}

// upgAwaitWrites waits until owner has n more writes in the log than it had at the call.
func upgAwaitWrites(t *testing.T, w *lockedBuf, owner, n int) {
	t.Helper()
	base := upgWrites(w.bytes(), owner)
	deadline := time.Now().Add(20 * time.Second)
	for upgWrites(w.bytes(), owner) < base+n {
		if time.Now().After(deadline) {
			t.Fatalf("owner %d wrote fewer than %d blocks in 20 s", owner, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	upgActive  = regexp.MustCompile(`msg="pair: role active epoch`)
	upgStandby = regexp.MustCompile(`msg="pair: role standby`)
)

// TestPairRollingUpgrade runs the documented rolling upgrade with two builds of different peer
// protocol versions (this release, 1, and a build that speaks 2 with compat 1): upgrade the
// standby, let it come back standby, stop the active (a clean stop hands over), upgrade it. At
// every step exactly one board writes; the twin's write log has no dual writer and no stale
// epoch, and no unit falls back to its own control.
func TestPairRollingUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two controller processes")
	}
	v1, v2 := testBinary(t), upgBinaryNext(t)
	if out, err := exec.Command(v2, "version").Output(); err != nil || !strings.Contains(string(out), "peer protocol 2") {
		t.Fatalf("the next-release build: %s %v", out, err)
	}
	dir := t.TempDir()
	sc, err := plant.LoadScenario("small-room")
	if err != nil {
		t.Fatal(err)
	}
	wlog := &lockedBuf{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gws := []string{filepath.Join(dir, "gwA"), filepath.Join(dir, "gwB")}
	tw, err := twin.New(twin.Options{Scenario: sc, Speed: 1, GatewayLinks: gws, ModbusListen: "127.0.0.1:0", WriteLog: wlog})
	if err != nil {
		t.Fatal(err)
	}
	twDone := make(chan error, 1)
	go func() { twDone <- tw.Run(ctx) }()
	defer func() { cancel(); <-twDone }()
	if err := tw.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := tw.SiteConfig()
	sitePath := filepath.Join(dir, "site.toml")
	writeConfig(t, sitePath, cfg)
	if err := os.WriteFile(filepath.Join(dir, "pair.key"), []byte("rolling-upgrade test key, forty-odd bytes long"), 0o600); err != nil {
		t.Fatal(err)
	}
	ports := upgPorts(t, 2)
	ids := make([]string, 2)
	for i := range 2 {
		ids[i] = filepath.Join(dir, fmt.Sprintf("id%d.toml", i))
		src := fmt.Sprintf("node_id = %d\nlisten = [%q]\npeers = [%q]\nkey_file = \"pair.key\"\ngateway = %q\n", i+1, ports[i], ports[1-i], gws[i])
		if err := os.WriteFile(ids[i], []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := func(i int) []string {
		return []string{"run", "--config", sitePath, "--db", filepath.Join(dir, fmt.Sprintf("b%d.db", i)), "--identity", ids[i]}
	}
	procs := []*upgProc{upgStart(t, "board 1 (v1)", v1, args(0)...), upgStart(t, "board 2 (v1)", v1, args(1)...)}

	// Which one is active? Wait for both roles.
	act := -1
	deadline := time.Now().Add(15 * time.Second)
	for act < 0 && time.Now().Before(deadline) {
		for i, p := range procs {
			if upgActive.MatchString(p.text()) {
				act = i
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if act < 0 {
		t.Fatal("no board became active")
	}
	sb := 1 - act
	procs[sb].await(t, 0, upgStandby, 10*time.Second)
	upgAwaitWrites(t, wlog, act+1, 20) // a few control periods of the v1 pair

	// 1. Upgrade the standby; it comes back standby under the v1 active.
	procs[sb].stop(t)
	procs[sb] = upgStart(t, fmt.Sprintf("board %d (v2)", sb+1), v2, args(sb)...)
	procs[sb].await(t, 0, upgStandby, 10*time.Second)
	upgAwaitWrites(t, wlog, act+1, 20) // the v1 active goes on beside a v2 standby
	if upgActive.MatchString(procs[sb].text()) {
		t.Fatal("the upgraded standby took over from a live active")
	}
	// 2. Switch over: the v1 active stops cleanly and hands over; the v2 board takes over.
	from := procs[sb].lines()
	procs[act].stop(t)
	procs[sb].await(t, from, upgActive, 10*time.Second)
	// 3. Upgrade the other: back as a v2 standby.
	procs[act] = upgStart(t, fmt.Sprintf("board %d (v2)", act+1), v2, args(act)...)
	procs[act].await(t, 0, upgStandby, 10*time.Second)
	upgAwaitWrites(t, wlog, sb+1, 20) // the v2 pair runs
	if p := os.Getenv("COLDAISLE_UPGRADE_LOG"); p != "" {
		os.WriteFile(p, wlog.bytes(), 0o644)
	}
	rep, err := twin.CheckPairLog(bytes.NewReader(wlog.bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("write log: dual writers %+v, stale epochs %+v", rep.DualWriters, rep.StaleEpochs)
	}
	if len(rep.Handovers) == 0 {
		t.Fatal("the write log shows no handover")
	}
	for _, h := range rep.Handovers {
		if h.Timeout > 0 && h.Gap >= h.Timeout {
			t.Errorf("unit %d: handover gap %.3f s reached its BMS timeout", h.Unit, h.Gap)
		}
		t.Logf("handover unit %d: %d -> %d, gap %.3f s", h.Unit, h.From, h.To, h.Gap)
	}
	if os.Getenv("COLDAISLE_UPGRADE_LOG") != "" {
		for _, p := range procs {
			t.Logf("%s:\n%s", p.name, p.text())
		}
	}
	snap := tw.Snapshot()
	for _, u := range snap.Units {
		if u.Fallback {
			t.Errorf("unit %s fell back to local control", u.Name)
		}
	}
}
