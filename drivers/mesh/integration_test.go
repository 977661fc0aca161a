package mesh_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/mesh"
	"github.com/coldaisle/coldaisle/drivers/mesh/meshsim"
	"github.com/coldaisle/coldaisle/drivers/serialport"
	"github.com/coldaisle/coldaisle/drivers/serialport/socatpair"
)

func needSocat(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test with socat ptys; skipped in -short")
	}
	if !socatpair.Available() {
		t.Skip("socat not installed")
	}
}

// startGatewayOn opens path as the gateway's end and runs a Gateway there until the returned
// stop is called (or the test ends).
func startGatewayOn(t *testing.T, path string, opts meshsim.Options) (*meshsim.Gateway, func()) {
	t.Helper()
	port, err := serialport.Open(path, serialport.Config{Baud: 115200, ReadTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g := meshsim.NewGateway(port, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
			port.Close()
		})
	}
	t.Cleanup(stop)
	return g, stop
}

// ledger tracks what was reported and what arrived, per (sensor, nodeSeq).
type ledger struct {
	mu   sync.Mutex
	want map[string]float64
	got  map[string]int
	bad  []string
}

func newLedger() *ledger { return &ledger{want: map[string]float64{}, got: map[string]int{}} }

func (l *ledger) deliver(r mesh.Reading) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := fmt.Sprintf("%s#%d", r.Sensor, r.NodeSeq)
	l.got[k]++
	if w, ok := l.want[k]; !ok || w != r.Value || r.Kind != mesh.KindTemperature {
		l.bad = append(l.bad, fmt.Sprintf("%s: %+v (want value %v, reported %v)", k, r, w, ok))
	}
}

func (l *ledger) report(g *meshsim.Gateway, node, nodeSeq int) {
	m := mac
	m[7] = byte(node)
	recs := []mesh.Record{
		{Channel: 1, Kind: mesh.KindTemperature, Value: int16(2000 + node*100 + nodeSeq)},
		{Channel: 2, Kind: mesh.KindTemperature, Value: int16(-500 - nodeSeq)},
	}
	l.mu.Lock()
	for _, r := range recs {
		l.want[fmt.Sprintf("%s#%d", mesh.SensorID(m, r.Channel), nodeSeq)] = float64(r.Value) / 100
	}
	l.mu.Unlock()
	g.Report(m, uint8(nodeSeq), 2900, recs, time.Unix(1795000000+int64(nodeSeq), 0))
}

func (l *ledger) complete() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.want {
		if l.got[k] == 0 {
			return false
		}
	}
	return true
}

// check fails the test unless every reported reading arrived exactly once with its value.
func (l *ledger) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bad {
		t.Error("unexpected reading ", b)
	}
	for k := range l.want {
		if l.got[k] != 1 {
			t.Errorf("%s arrived %d times", k, l.got[k])
		}
	}
}

func badFrames(c map[string]uint64) uint64 {
	return c["bad_fcs"] + c["short_frame"] + c["bad_length"] + c["bad_escape"] + c["too_long"]
}

func TestIntegrationSocatSessionImpairmentsReboot(t *testing.T) {
	needSocat(t)
	pair, err := socatpair.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pair.Close() })
	g, _ := startGatewayOn(t, pair.B, meshsim.Options{Seed: 42, RetryInterval: 200 * time.Millisecond, ManagerHelloInterval: 200 * time.Millisecond})

	c := mesh.NewClient(func() (io.ReadWriteCloser, error) {
		return serialport.Open(pair.A, serialport.Config{Baud: 115200})
	}, mesh.Options{Logf: t.Logf})
	l := newLedger()
	stop := runClient(t, c, l.deliver)
	waitFor(t, "session up", c.Up)

	// 1. A clean line.
	for i := range 10 {
		l.report(g, i%3, i)
	}
	waitFor(t, "clean readings", l.complete)
	if cnt := c.Counters(); cnt["duplicate"] != 0 || badFrames(cnt) != 0 || cnt["acks_sent"] != 10 {
		t.Fatalf("clean phase counters %v", cnt)
	}

	// 2. A bad line: loss, duplicates, reordering, noise, bit flips, delay; plus exact garbage.
	g.WriteRaw([]byte{0x7e, 0x01, 0x02, 0x7e})                               // short frame
	g.WriteRaw([]byte{0x7e, 0x00, 0x14, 0x10, 0x01, 0x04, 0xde, 0xad, 0x7e}) // bad FCS
	g.WriteRaw(append([]byte{0x7e}, make([]byte, 200)...))                   // too long
	g.SetImpairments(meshsim.Impairments{Loss: 0.1, Duplicate: 0.3, Reorder: 0.3, Noise: 0.2, BitFlip: 0.1, Delay: 2 * time.Millisecond})
	for i := 10; i < 50; i++ {
		l.report(g, i%3, i)
	}
	waitFor(t, "readings through the bad line", l.complete)
	g.SetImpairments(meshsim.Impairments{})
	cnt := c.Counters()
	gs := g.Stats()
	t.Logf("after impairments: client %v; gateway %+v", cnt, gs)
	if cnt["duplicate"] == 0 || gs.Duplicated == 0 {
		t.Errorf("no duplicates suppressed: client %d, gateway sent %d", cnt["duplicate"], gs.Duplicated)
	}
	if badFrames(cnt) < 3 || cnt["too_long"] != 1 {
		t.Errorf("bad frames not counted: %v", cnt)
	}
	if gs.FramesLost > 0 && gs.Retransmits == 0 {
		t.Errorf("lost frames but no retransmissions: %+v", gs)
	}

	// 3. The gateway reboots mid-stream (cutting a frame) and asks for a new session; reports
	// made meanwhile arrive in the new session.
	waitFor(t, "gateway idle", func() bool { return g.Stats().Queued == 0 })
	sessionsBefore := cnt["sessions_up"]
	g.Reboot()
	for i := 50; i < 60; i++ {
		l.report(g, i%3, i)
	}
	waitFor(t, "readings after reboot", l.complete)
	waitFor(t, "gateway idle", func() bool { return g.Stats().Queued == 0 })
	cnt = c.Counters()
	if cnt["manager_hello"] == 0 || cnt["sessions_up"] <= sessionsBefore || g.Stats().Reboots != 1 {
		t.Errorf("reboot not seen: %v", cnt)
	}
	l.check(t)
	if err := stop(); err != context.Canceled {
		t.Fatalf("Run: %v", err)
	}
	if cnt := c.Counters(); cnt["readings"] != 120 {
		t.Errorf("readings counter %d, want 120", cnt["readings"])
	}
}

func TestIntegrationSocatPortVanishesAndReturns(t *testing.T) {
	needSocat(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "ctrl"), filepath.Join(dir, "gw")
	pair, err := socatpair.StartLinks(context.Background(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	g, stopGW := startGatewayOn(t, b, meshsim.Options{ManagerHelloInterval: 100 * time.Millisecond})
	c := mesh.NewClient(func() (io.ReadWriteCloser, error) {
		return serialport.Open(a, serialport.Config{})
	}, mesh.Options{ReopenMin: 20 * time.Millisecond, ReopenMax: 100 * time.Millisecond})
	l := newLedger()
	stop := runClient(t, c, l.deliver)
	l.report(g, 1, 1)
	waitFor(t, "first reading", l.complete)

	// The line disappears (adapter unplugged): links gone, reads fail, opens fail.
	stopGW()
	pair.Close()
	waitFor(t, "port error and failed reopen", func() bool {
		cnt := c.Counters()
		return cnt["port_errors"] >= 1 && cnt["open_failures"] >= 1
	})
	// It comes back on the same path.
	pair2, err := socatpair.StartLinks(context.Background(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pair2.Close() })
	g2, _ := startGatewayOn(t, b, meshsim.Options{ManagerHelloInterval: 100 * time.Millisecond})
	l.report(g2, 1, 2)
	waitFor(t, "reading after the port returned", l.complete)
	l.check(t)
	stop()
	if cnt := c.Counters(); cnt["port_opens"] < 2 || cnt["sessions_up"] < 2 {
		t.Errorf("counters %v", cnt)
	}
}
