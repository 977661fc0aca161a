//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/peer/linkproxy"
	"github.com/coldaisle/coldaisle/drivers/twin"
)

// The 2N pair with real processes: the twin (in this process, so the tests reach its faults and
// its units), two `coldaisle run --identity` processes, and a linkproxy.Path on each direction
// of the one peer-link path (A's peer address is the proxy to B and the other way round), so a
// test can cut, flap or listen to the link. Board A (node 1, priority 100) is the one that
// becomes active when both start together; B is node 2.
//
// Everything a test waits on is a condition: a role record in a board's log, a field of its
// /api/status, a line of the twin's write log. On failure every board's log and the twin's story
// go to t.Log.

const (
	nodeA = 1
	nodeB = 2
	// pairSpeed: plant seconds per wall second. The units' BMS timers run on plant time; the
	// twin's site raises every bms_timeout to 3 s of wall time (15 s plant), above the pair's
	// takeover budget (0.8 s at the default timings).
	pairSpeed = 5
)

// pairScenario is the demo room with its two CRAHs only (the drive goes) and no timeline: the
// pair tests are about owners and steps, not about the room's story.
func pairScenario(t testing.TB) *plant.Scenario {
	t.Helper()
	sc, err := plant.LoadScenario("demo")
	if err != nil {
		t.Fatal(err)
	}
	keep := []string{"crah-1", "crah-2"}
	var units []plant.Unit
	for _, u := range sc.Units {
		if slices.Contains(keep, u.Name) {
			units = append(units, u)
		}
	}
	sc.Units = units
	for i := range sc.Zones {
		sc.Zones[i].Units = slices.DeleteFunc(slices.Clone(sc.Zones[i].Units), func(n string) bool { return !slices.Contains(keep, n) })
	}
	sc.Events = nil
	sc.Duration = 24 * 3600
	return sc
}

type rigOptions struct {
	Fencing bool // crah-1 has fencing on (crah-2 never)
	// NetnsA runs board A in a network namespace of its own, reaching the units through one
	// veth pair (the field) and board B through another (the peer link), so a test can cut
	// A's field alone (fieldCutA) the way a pulled cable does: reads and writes both gone.
	// Needs root and iproute2; the test is skipped without them.
	NetnsA bool
}

// soak: COLDAISLE_SOAK=1 (make soak) runs the long versions.
func soak() bool { return os.Getenv("COLDAISLE_SOAK") == "1" }

// pairRig is one run of the pair.
type pairRig struct {
	t      testing.TB
	bin    string
	dir    string
	ctx    context.Context
	cancel context.CancelFunc
	tw     *twin.Twin
	cfg    *site.Config
	site   string
	wlog   *writeLog
	story  *lineBuf
	links  [2]*linkproxy.Path // [0] carries A -> B, [1] B -> A
	boards [2]*pairProc
	ns     *netnsA // nil: both boards on loopback
	fb     *fallbackWatch
	wg     sync.WaitGroup

	lastKill time.Time // the last kill of a board (killActive spaces them)
	quiet    bool      // logf keeps the lines for a failure instead of t.Log (benchmarks)
}

// logf is t.Logf, or with quiet a line kept for the failure dump (a benchmark's log is cut at
// ten lines: its summary must be the one it shows).
func (r *pairRig) logf(format string, a ...any) {
	r.t.Helper()
	if r.quiet {
		r.story.add("test: " + fmt.Sprintf(format, a...))
		return
	}
	r.t.Logf(format, a...)
}

// startPair starts the twin, the link proxies and both boards, and waits until one board is
// active, the other standby, and the active's commands are accepted on every unit.
func startPair(t testing.TB, o rigOptions) *pairRig {
	t.Helper()
	if testing.Short() {
		t.Skip("runs two controllers and the twin")
	}
	r := newPairRig(t, o)
	r.boards[0].start()
	r.boards[1].start()
	r.waitSettled(20 * time.Second)
	return r
}

func newPairRig(t testing.TB, o rigOptions) *pairRig {
	t.Helper()
	bin := testBinary(t)
	dir := t.TempDir()
	var ns *netnsA
	if o.NetnsA {
		ns = newNetnsA(t) // before the twin: its cleanup runs after everything that uses it
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &pairRig{t: t, bin: bin, dir: dir, ctx: ctx, cancel: cancel, story: &lineBuf{}, ns: ns}
	modbusListen, linkHost := "127.0.0.1:0", "127.0.0.1"
	if ns != nil {
		modbusListen, linkHost = ns.fieldRoot+":0", ns.peerRoot
	}
	wl, err := newWriteLog(filepath.Join(dir, "writes.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	r.wlog = wl
	tw, err := twin.New(twin.Options{Scenario: pairScenario(t), Speed: pairSpeed, Seed: 3,
		GatewayLinks: []string{filepath.Join(dir, "gw-a"), filepath.Join(dir, "gw-b")},
		ModbusListen: modbusListen, WriteLog: wl, ReportInterval: 5 * time.Second,
		Logf: func(f string, a ...any) { r.story.add(fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	r.tw = tw
	twinDone := make(chan error, 1)
	go func() { twinDone <- tw.Run(ctx) }()
	t.Cleanup(func() {
		// Last registered, first run: the boards stop (killed), then the twin, then the logs go
		// to t.Log if the test failed.
		for _, b := range r.boards {
			if b != nil {
				b.kill(syscall.SIGKILL)
			}
		}
		cancel()
		<-twinDone
		r.wg.Wait()
		wl.close()
		if t.Failed() {
			r.dump()
		}
	})
	if err := tw.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	r.fb = watchFallbacks(ctx, &r.wg, tw, []byte{1, 2})

	cfg := tw.SiteConfigFor(0)
	cfg.Control.Checkpoint = site.D(time.Second)
	cfg.HTTP.Listen = ":0" // every address: the tests reach a board in a namespace too
	for i := range cfg.Units {
		if cfg.Units[i].Name == "crah-1" {
			cfg.Units[i].Fencing = o.Fencing
		}
	}
	r.cfg = cfg
	r.site = filepath.Join(dir, "site.toml")
	writeConfig(t, r.site, cfg)

	key := []byte("pair key for the process tests: 0123456789abcdef")
	listen := freeAddrs(t, linkHost, 2)
	apiHost := [2]string{"127.0.0.1", "127.0.0.1"}
	if ns != nil {
		// A listens in its namespace, on its end of the peer veth (the namespace is empty: any
		// port is free there).
		_, port, _ := net.SplitHostPort(listen[0])
		listen[0] = net.JoinHostPort(ns.peerNS, port)
		apiHost[0] = ns.peerNS
	}
	for i := range r.links {
		target := listen[1-i]
		p, err := linkproxy.NewPath(linkHost+":0", target, uint64(i+1), linkproxy.Faults{})
		if err != nil {
			t.Fatal(err)
		}
		r.links[i] = p
		r.wg.Add(1)
		go func() { defer r.wg.Done(); p.Run(ctx) }()
	}
	for i, name := range []string{"a", "b"} {
		bdir := filepath.Join(dir, name)
		if err := os.MkdirAll(bdir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bdir, "pair.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		node, peerNode, prio := nodeA, nodeB, 100
		if i == 1 {
			node, peerNode, prio = nodeB, nodeA, 50
		}
		id := fmt.Sprintf("node_id = %d\npeer_node_id = %d\npriority = %d\nlisten = [%q]\npeers = [%q]\nkey_file = \"pair.key\"\ngateway = %q\n",
			node, peerNode, prio, listen[i], r.links[i].Addr(), tw.GatewayPathOf(i))
		idPath := filepath.Join(bdir, "identity.toml")
		if err := os.WriteFile(idPath, []byte(id), 0o644); err != nil {
			t.Fatal(err)
		}
		r.boards[i] = &pairProc{rig: r, name: strings.ToUpper(name), node: node, listen: listen[i], apiHost: apiHost[i],
			args: []string{"run", "--config", r.site, "--db", filepath.Join(bdir, "state.db"), "--identity", idPath, "--log-level", "debug"}}
		if i == 0 && ns != nil {
			r.boards[i].wrap = []string{"ip", "netns", "exec", ns.name}
		}
	}
	return r
}

// waitSettled waits for exactly one active and one standby, then for the active's commands to
// be accepted on every unit after the standby took its role, a few control periods over (the
// standby is warm: it has the active's loop state).
func (r *pairRig) waitSettled(timeout time.Duration) (active, standby *pairProc) {
	r.t.Helper()
	r.waitFor(timeout, "one active and one standby", func() bool {
		active, standby = r.roles()
		return active != nil && standby != nil
	})
	since := standby.lastRole().At
	units := r.crahIDs()
	r.waitFor(timeout, fmt.Sprintf("board %s's commands accepted on every unit, 5 periods after %s became standby", active.name, standby.name), func() bool {
		n := map[int]int{}
		for _, e := range r.wlog.since(since) {
			if e.Accepted && e.Writer != nil && *e.Writer == active.node && e.Fan != nil {
				n[e.Unit]++
			}
		}
		for _, u := range units {
			if n[u] < 5 {
				return false
			}
		}
		return true
	})
	// The standby is warm once the active's loop state has been streamed to it after at least a
	// control period; the write-log condition above spans several.
	return active, standby
}

// roles returns the board whose current role is active and the one that is standby (nil when
// none is); both must be alive.
func (r *pairRig) roles() (active, standby *pairProc) {
	for _, b := range r.boards {
		if !b.alive() {
			continue
		}
		switch b.lastRole().Role {
		case "active":
			if active != nil {
				return nil, nil
			}
			active = b
		case "standby":
			standby = b
		}
	}
	return active, standby
}

func (r *pairRig) other(b *pairProc) *pairProc {
	if b == r.boards[0] {
		return r.boards[1]
	}
	return r.boards[0]
}

func (r *pairRig) crahIDs() []int {
	var out []int
	for _, u := range r.cfg.Units {
		out = append(out, u.UnitID)
	}
	return out
}

// bmsTimeoutWall is the shortest unit BMS timeout in wall time.
func (r *pairRig) bmsTimeoutWall() time.Duration {
	d := time.Duration(math.MaxInt64)
	for _, u := range r.cfg.Units {
		d = min(d, u.BMSTimeout.Duration)
	}
	return d / pairSpeed
}

// waitFor polls cond every 10 ms until it holds or timeout passes (then the test fails).
func (r *pairRig) waitFor(timeout time.Duration, what string, cond func() bool) {
	r.t.Helper()
	if !pollUntil(timeout, cond) {
		r.t.Fatalf("waited %v for %s", timeout, what)
	}
}

func pollUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// cutLink cuts (or heals) the peer link both ways, silently: datagrams dropped, TCP streams
// blackholed.
func (r *pairRig) cutLink(on bool) {
	r.links[0].SetCut(on)
	r.links[1].SetCut(on)
}

// checkPair runs `coldaisle twin check-writes --pair --json` on the write log so far (the real
// command, as an operator would) and returns its report and exit code.
func (r *pairRig) checkPair() (twin.PairReport, int, string) {
	r.t.Helper()
	path := r.wlog.snapshot(r.t)
	var out, errb bytes.Buffer
	code := runTwin(context.Background(), []string{"check-writes", "--pair", "--json", path}, &out, &errb)
	var rep twin.PairReport
	if code == exitUsage || json.Unmarshal(out.Bytes(), &rep) != nil {
		r.t.Fatalf("check-writes --pair: exit %d: %s%s", code, out.String(), errb.String())
	}
	var text bytes.Buffer
	runTwin(context.Background(), []string{"check-writes", "--pair", path}, &text, &errb)
	return rep, code, text.String()
}

// requireClean fails the test for any dual writer or stale epoch in the write log.
func (r *pairRig) requireClean() twin.PairReport {
	r.t.Helper()
	rep, code, text := r.checkPair()
	if code != exitOK || len(rep.DualWriters) > 0 || len(rep.StaleEpochs) > 0 {
		r.t.Fatalf("check-writes --pair: exit %d:\n%s", code, text)
	}
	return rep
}

// requireNoFallback fails the test if a unit's BMS timer ran out (sampled, and from the write
// log's gaps).
func (r *pairRig) requireNoFallback() {
	r.t.Helper()
	if fb := r.fb.seen(); len(fb) > 0 {
		r.t.Fatalf("units fell back to local control: %v", fb)
	}
	if gaps := r.wlog.overTimeout(); len(gaps) > 0 {
		r.t.Fatalf("units without an accepted heartbeat for longer than their BMS timeout: %v", gaps)
	}
}

func (r *pairRig) dump() {
	for _, b := range r.boards {
		if b == nil {
			continue
		}
		r.t.Logf("=== board %s (node %d) log:\n%s", b.name, b.node, b.logText())
	}
	r.t.Logf("=== twin story:\n%s", r.story.String())
	rep, _, text := r.checkPair()
	_ = rep
	r.t.Logf("=== check-writes --pair:\n%s", text)
}

// pairProc is one `coldaisle run` process (restartable).
type pairProc struct {
	rig     *pairRig
	name    string
	node    int
	listen  string
	apiHost string
	args    []string
	wrap    []string // runs the binary through this (ip netns exec NAME)

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
	lines  []string
	events []roleEvent
	http   string
	gen    int // which start the roles and http belong to
}

type roleEvent struct {
	At    time.Time // the record's own time
	Role  string    // waiting, standby, active
	Epoch int
	Start int // which start of the process
	Msg   string
}

var (
	roleRe = regexp.MustCompile(`msg="pair: role (waiting|standby|active)(?: epoch (\d+))?([^"]*)"`)
	timeRe = regexp.MustCompile(`^time=(\S+)`)
	httpRe = regexp.MustCompile(`operations server on http://\S*:(\d+)/`)
)

func (b *pairProc) start() {
	t := b.rig.t
	t.Helper()
	argv := append(append(slices.Clone(b.wrap), b.rig.bin), b.args...)
	cmd := exec.Command(argv[0], argv[1:]...) // ip netns exec execs the binary: the pid is the board's
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.starts++
	gen := b.starts
	b.cmd, b.exited, b.http, b.gen = cmd, make(chan struct{}), "", gen
	exited := b.exited
	b.lines = append(b.lines, fmt.Sprintf("--- start %d (pid %d) at %s", gen, cmd.Process.Pid, time.Now().Format(time.RFC3339Nano)))
	b.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			b.take(gen, sc.Text())
		}
		err := cmd.Wait()
		b.mu.Lock()
		b.lines = append(b.lines, fmt.Sprintf("--- start %d exited: %v", gen, err))
		b.mu.Unlock()
		close(exited)
	}()
}

func (b *pairProc) take(gen int, line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, line)
	if m := httpRe.FindStringSubmatch(line); m != nil && gen == b.gen {
		b.http = net.JoinHostPort(b.apiHost, m[1])
	}
	m := roleRe.FindStringSubmatch(line)
	if m == nil {
		return
	}
	ev := roleEvent{At: time.Now(), Role: m[1], Start: gen, Msg: line}
	if tm := timeRe.FindStringSubmatch(line); tm != nil {
		if at, err := time.Parse(time.RFC3339Nano, tm[1]); err == nil {
			ev.At = at
		}
	}
	if m[2] != "" {
		ev.Epoch, _ = strconv.Atoi(m[2])
	}
	b.events = append(b.events, ev)
}

// kill sends sig to the process (SIGKILL: and waits for it to be gone). It returns the time
// the signal was sent.
func (b *pairProc) kill(sig syscall.Signal) time.Time {
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return time.Time{}
	}
	at := time.Now()
	cmd.Process.Signal(sig)
	if sig == syscall.SIGKILL {
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			b.rig.t.Errorf("board %s: not gone 10 s after SIGKILL", b.name)
		}
	}
	return at
}

func (b *pairProc) alive() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.exited == nil {
		return false
	}
	select {
	case <-b.exited:
		return false
	default:
		return true
	}
}

// lastRole is the current start's latest role record (Role "" before the first).
func (b *pairProc) lastRole() roleEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.events) - 1; i >= 0; i-- {
		if b.events[i].Start == b.gen {
			return b.events[i]
		}
	}
	return roleEvent{Start: b.gen}
}

// rolesSince lists the role records after t.
func (b *pairProc) rolesSince(t time.Time) []roleEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []roleEvent
	for _, e := range b.events {
		if e.At.After(t) {
			out = append(out, e)
		}
	}
	return out
}

// waitRole waits for a role record of role ("standby", or alternatives "standby|waiting")
// after t and returns it.
func (b *pairProc) waitRole(role string, after time.Time, timeout time.Duration) roleEvent {
	b.rig.t.Helper()
	var got roleEvent
	roles := strings.Split(role, "|")
	b.rig.waitFor(timeout, fmt.Sprintf("board %s to log role %s", b.name, role), func() bool {
		for _, e := range b.rolesSince(after) {
			if slices.Contains(roles, e.Role) {
				got = e
				return true
			}
		}
		return false
	})
	return got
}

func (b *pairProc) logText() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// logged reports whether a line of the log (any start) contains s.
func (b *pairProc) logged(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// apiStatus is the part of /api/status the pair tests read.
type apiStatus struct {
	Role  string `json:"role"`
	Epoch int    `json:"epoch"`
	Pair  *struct {
		NodeID   int               `json:"node_id"`
		Role     string            `json:"role"`
		Epoch    int               `json:"epoch"`
		PeerRole string            `json:"peer_role"`
		Heard    bool              `json:"peer_heard"`
		Counters map[string]uint64 `json:"counters"`
		Alarms   []string          `json:"alarms"`
	} `json:"pair"`
	Alarms []struct {
		Key  string `json:"key"`
		Text string `json:"text"`
	} `json:"alarms"`
}

// status reads the board's /api/status (an error before its HTTP server is up).
func (b *pairProc) status() (apiStatus, error) {
	b.mu.Lock()
	addr := b.http
	b.mu.Unlock()
	var st apiStatus
	if addr == "" {
		return st, fmt.Errorf("board %s: no operations server yet", b.name)
	}
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/api/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("board %s: /api/status: %s", b.name, resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	if err == nil && st.Pair == nil {
		err = fmt.Errorf("board %s: /api/status has no pair", b.name)
	}
	return st, err
}

// get reads path from the board's operations server.
func (b *pairProc) get(t testing.TB, path string) string {
	t.Helper()
	b.mu.Lock()
	addr := b.http
	b.mu.Unlock()
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("board %s: %s: %v", b.name, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("board %s: %s: %s %v", b.name, path, resp.Status, err)
	}
	return string(data)
}

// writeLog is the twin's write log: a file for check-writes, and the entries parsed as they
// come for the tests' conditions.
type writeLog struct {
	path string
	mu   sync.Mutex
	f    *os.File
	part []byte
	ents []logEntry
}

type logEntry struct {
	ahusim.Entry
	Wall time.Time
}

func (e logEntry) String() string {
	w, ep := "?", "-"
	if e.Writer != nil {
		w = strconv.Itoa(*e.Writer)
	}
	if e.WriterEpoch != nil {
		ep = strconv.Itoa(*e.WriterEpoch)
	}
	verdict := "accepted"
	if !e.Accepted {
		verdict = "refused (" + e.Reason + ")"
	}
	return fmt.Sprintf("unit %d: writer %s epoch %s, registers %d.. %v, %s at %s (the unit's owner %d epoch %d after it)",
		e.Unit, w, ep, e.Addr, e.Values, verdict, e.TWall, e.Owner, e.Epoch)
}

func newWriteLog(path string) (*writeLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &writeLog{path: path, f: f}, nil
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.f.Write(p); err != nil {
		return 0, err
	}
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		var e logEntry
		if json.Unmarshal(w.part[:i], &e.Entry) == nil {
			e.Wall, _ = time.Parse(time.RFC3339Nano, e.TWall)
			w.ents = append(w.ents, e)
		}
		w.part = w.part[i+1:]
	}
	return len(p), nil
}

func (w *writeLog) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.f.Close()
}

// snapshot is the path of the log as written so far (synced).
func (w *writeLog) snapshot(t testing.TB) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.f.Sync()
	return w.path
}

// since lists the entries written after t (wall).
func (w *writeLog) since(t time.Time) []logEntry {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, _ := slices.BinarySearchFunc(w.ents, t, func(e logEntry, t time.Time) int {
		if e.Wall.After(t) {
			return 1
		}
		return -1
	})
	return slices.Clone(w.ents[i:])
}

func (w *writeLog) all() []logEntry { return w.since(time.Time{}) }

// firstAccepted is the first accepted write by node after t.
func (w *writeLog) firstAccepted(node int, after time.Time) (logEntry, bool) {
	for _, e := range w.since(after) {
		if e.Accepted && e.Writer != nil && *e.Writer == node {
			return e, true
		}
	}
	return logEntry{}, false
}

// overTimeout lists every unit gap between accepted heartbeat-carrying writes (remote control on)
// longer than the unit's BMS timeout in plant time: there the unit fell back.
func (w *writeLog) overTimeout() []string {
	last := map[int]logEntry{}
	var out []string
	for _, e := range w.all() {
		if !e.Accepted || e.Heartbeat == nil {
			continue
		}
		if p, ok := last[e.Unit]; ok && p.Remote && p.BMSTimeout > 0 && e.TPlant-p.TPlant > p.BMSTimeout {
			out = append(out, fmt.Sprintf("unit %d: %.1f s plant (%s .. %s) > %g s", e.Unit, e.TPlant-p.TPlant, p.TWall, e.TWall, p.BMSTimeout))
		}
		last[e.Unit] = e
	}
	return out
}

// handoverStep is the largest command change (% of range, fan or valve) on any unit between
// from's last accepted write before to's first accepted write after at, and that write.
func (w *writeLog) handoverStep(from, to int, after time.Time) (float64, string) {
	worst, why := 0.0, ""
	lastFrom := map[int]logEntry{}
	seen := map[int]bool{}
	for _, e := range w.all() {
		if !e.Accepted || e.Writer == nil || e.Fan == nil {
			continue
		}
		switch {
		case *e.Writer == from && !seen[e.Unit]:
			lastFrom[e.Unit] = e
		case *e.Writer == to && e.Wall.After(after) && !seen[e.Unit]:
			seen[e.Unit] = true
			p, ok := lastFrom[e.Unit]
			if !ok {
				continue
			}
			step := math.Abs(*e.Fan - *p.Fan)
			if e.Valve != nil && p.Valve != nil {
				step = max(step, math.Abs(*e.Valve-*p.Valve))
			}
			if step >= worst {
				worst = step
				why = fmt.Sprintf("unit %d: fan %.1f -> %.1f %%, valve %v -> %v (%s by %d, %s by %d)", e.Unit, *p.Fan, *e.Fan, fmtPct(p.Valve), fmtPct(e.Valve), p.TWall, from, e.TWall, to)
			}
		}
	}
	return worst, why
}

func fmtPct(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *v)
}

// fallbackWatch samples every unit's effective state and remembers when one was in BMS
// fallback (the input status bit 2).
type fallbackWatch struct {
	mu   sync.Mutex
	hits []string
	last map[byte]bool
	at   map[byte]time.Time // since when each unit has been in fallback (zero: not in it)
}

func watchFallbacks(ctx context.Context, wg *sync.WaitGroup, tw *twin.Twin, ids []byte) *fallbackWatch {
	w := &fallbackWatch{last: map[byte]bool{}, at: map[byte]time.Time{}}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			for _, id := range ids {
				u := tw.Unit(id)
				if u == nil {
					continue
				}
				fb := u.Effective().Fallback
				w.mu.Lock()
				if fb && !w.last[id] {
					w.hits = append(w.hits, fmt.Sprintf("unit %d at %s", id, time.Now().Format("15:04:05.000")))
					w.at[id] = time.Now()
				}
				if !fb {
					w.at[id] = time.Time{}
				}
				w.last[id] = fb
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *fallbackWatch) seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.hits)
}

// since is when unit id went into fallback (zero: it is not in fallback).
func (w *fallbackWatch) since(id byte) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.at[id]
}

// lineBuf collects lines from many goroutines.
type lineBuf struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineBuf) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, time.Now().Format("15:04:05.000 ")+s)
	l.mu.Unlock()
}

func (l *lineBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// freeAddrs returns n addresses on host free for UDP and TCP now.
func freeAddrs(t testing.TB, host string, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		l, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatal(err)
		}
		addr := l.LocalAddr().String()
		if tl, err := net.Listen("tcp", addr); err == nil {
			tl.Close()
			if !slices.Contains(out, addr) {
				out = append(out, addr)
			}
		}
		l.Close()
	}
	return out
}

// netnsA is board A's network namespace: a veth pair for the field (the twin listens on the
// root end) and one for the peer link (the proxies listen on the root end).
type netnsA struct {
	t                 testing.TB
	name              string
	fieldDev          string // the namespace's end of the field veth
	fieldRoot, peerNS string // addresses: the twin's, and A's on the peer link
	peerRoot          string // the root end of the peer veth: B and the proxies
}

var netnsSeq atomic.Int32

func newNetnsA(t testing.TB) *netnsA {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for ip netns (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip for a network namespace")
	}
	// Names and subnets unique per process and rig: tests of other packages may run at once.
	id := (os.Getpid()*7 + int(netnsSeq.Add(1))) % 250
	n := &netnsA{t: t, name: fmt.Sprintf("coldaisle-pair-%d-%d", os.Getpid(), id), fieldDev: fmt.Sprintf("caf%dn", id),
		fieldRoot: fmt.Sprintf("10.213.%d.1", id), peerRoot: fmt.Sprintf("10.214.%d.1", id), peerNS: fmt.Sprintf("10.214.%d.2", id)}
	fieldNS := fmt.Sprintf("10.213.%d.2", id)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.name).Run() }) // takes the veths with it
	for _, c := range [][]string{
		{"netns", "add", n.name},
		{"link", "add", fmt.Sprintf("caf%d", id), "type", "veth", "peer", "name", n.fieldDev},
		{"link", "add", fmt.Sprintf("cap%d", id), "type", "veth", "peer", "name", fmt.Sprintf("cap%dn", id)},
		{"link", "set", n.fieldDev, "netns", n.name},
		{"link", "set", fmt.Sprintf("cap%dn", id), "netns", n.name},
		{"addr", "add", n.fieldRoot + "/30", "dev", fmt.Sprintf("caf%d", id)},
		{"addr", "add", n.peerRoot + "/30", "dev", fmt.Sprintf("cap%d", id)},
		{"link", "set", fmt.Sprintf("caf%d", id), "up"},
		{"link", "set", fmt.Sprintf("cap%d", id), "up"},
		{"netns", "exec", n.name, "ip", "addr", "add", fieldNS + "/30", "dev", n.fieldDev},
		{"netns", "exec", n.name, "ip", "addr", "add", n.peerNS + "/30", "dev", fmt.Sprintf("cap%dn", id)},
		{"netns", "exec", n.name, "ip", "link", "set", n.fieldDev, "up"},
		{"netns", "exec", n.name, "ip", "link", "set", fmt.Sprintf("cap%dn", id), "up"},
		{"netns", "exec", n.name, "ip", "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			if len(c) > 1 && c[0] == "netns" && c[1] == "add" {
				t.Skipf("ip netns add: %v: %s", err, out)
			}
			t.Fatalf("ip %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	// The addresses take a moment to leave the tentative state.
	if !pollUntil(5*time.Second, func() bool {
		c, err := net.DialTimeout("udp", n.peerNS+":9", time.Second)
		if c != nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatal("the namespace's addresses never came up")
	}
	return n
}

// fieldCutA takes A's field link down (on) or up again, inside A's namespace: A reaches no unit,
// B and the peer link are untouched.
func (r *pairRig) fieldCutA(on bool) {
	r.t.Helper()
	state := "up"
	if on {
		state = "down"
	}
	if out, err := exec.Command("ip", "netns", "exec", r.ns.name, "ip", "link", "set", r.ns.fieldDev, state).CombinedOutput(); err != nil {
		r.t.Fatalf("field link %s: %v: %s", state, err, out)
	}
}
