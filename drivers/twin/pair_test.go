package twin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/mesh"
	"github.com/coldaisle/coldaisle/drivers/mesh/meshsim"
	"github.com/coldaisle/coldaisle/drivers/modbus"
	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// Two gateways on two ptys, read by two mesh clients at once: each client gets every sensor's
// readings, the same values; loss on one gateway and a reboot of it leave the other alone.
func TestTwinTwoGatewaysTwoClients(t *testing.T) {
	needLong(t)
	sc := scenario(t, "small-room")
	dir := t.TempDir()
	links := []string{filepath.Join(dir, "gw-a"), filepath.Join(dir, "gw-b")}
	tw := startTwin(t, Options{Scenario: sc, Seed: 5, Speed: 60, GatewayLinks: links})
	if tw.GatewayCount() != 2 || tw.GatewayPathOf(0) != links[0] || tw.GatewayPathOf(1) != links[1] || tw.GatewayPath() != links[0] {
		t.Fatalf("gateways %d: %q %q", tw.GatewayCount(), tw.GatewayPathOf(0), tw.GatewayPathOf(1))
	}
	if cfg := tw.SiteConfigFor(1); cfg.Mesh.Port != links[1] {
		t.Fatalf("board 2's site configuration: mesh.port %q", cfg.Mesh.Port)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	logs := make([]*readingLog, 2)
	clients := make([]*mesh.Client, 2)
	for i, l := range links {
		open := func() (io.ReadWriteCloser, error) {
			return serialport.Open(l, serialport.Config{Baud: 115200, ReadTimeout: 100 * time.Millisecond})
		}
		logs[i] = &readingLog{sensors: map[string]mesh.Reading{}}
		clients[i] = mesh.NewClient(open, mesh.Options{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = clients[i].Run(ctx, logs[i].deliver)
		}()
	}
	every := func(i int) func() bool {
		return func() bool {
			logs[i].mu.Lock()
			defer logs[i].mu.Unlock()
			return len(logs[i].sensors) == len(sc.Sensors)
		}
	}
	waitFor(t, 20*time.Second, "every sensor on gateway A", every(0))
	waitFor(t, 20*time.Second, "every sensor on gateway B", every(1))
	// The same report reaches both: a sensor's reading with the same time stamp has the same
	// value on both links.
	same := 0
	waitFor(t, 20*time.Second, "a reading seen alike on both links", func() bool {
		for _, s := range sc.Sensors {
			a, _ := logs[0].last(s.ID)
			b, _ := logs[1].last(s.ID)
			if a.Time.Equal(b.Time) {
				if a.Value != b.Value {
					t.Fatalf("sensor %s at %v: %v on A, %v on B", s.ID, a.Time, a.Value, b.Value)
				}
				same++
			}
		}
		return same > 0
	})
	for i := range 2 {
		if st := tw.GatewayStatsOf(i); !st.Subscribed || st.Notifications == 0 {
			t.Fatalf("gateway %d stats %+v", i, st)
		}
		if rs := tw.ReportStatsOf(i); rs.Sent == 0 || rs.Readings < uint64(len(sc.Sensors)) {
			t.Fatalf("gateway %d report stats %+v", i, rs)
		}
	}

	// Impairments and a reboot on gateway B only.
	lostA := tw.GatewayStatsOf(0).FramesLost
	tw.SetGatewayImpairments(1, meshsim.Impairments{Loss: 0.4})
	from := logs[1].n.Load()
	waitFor(t, 20*time.Second, "readings on B under loss", func() bool {
		return logs[1].n.Load() > from+uint64(2*len(sc.Sensors)) && tw.GatewayStatsOf(1).FramesLost > 0
	})
	if got := tw.GatewayStatsOf(0).FramesLost; got != lostA {
		t.Fatalf("gateway A lost %d frames under B's impairment", got-lostA)
	}
	tw.SetGatewayImpairments(1, meshsim.Impairments{})
	if !tw.RebootGatewayOf(1, 60*time.Second) {
		t.Fatal("RebootGatewayOf(1) = false")
	}
	waitFor(t, 10*time.Second, "gateway B back", func() bool { return tw.GatewayStatsOf(1).Reboots == 1 && tw.gws[1].active.Load() })
	from = logs[1].n.Load()
	waitFor(t, 20*time.Second, "readings on B after its reboot", func() bool { return logs[1].n.Load() > from+uint64(len(sc.Sensors)) })
	if tw.GatewayStatsOf(0).Reboots != 0 || clients[0].Counters()["sessions_up"] != 1 {
		t.Fatalf("gateway A: %d reboots, client A sessions %d", tw.GatewayStatsOf(0).Reboots, clients[0].Counters()["sessions_up"])
	}
	if clients[1].Counters()["sessions_up"] < 2 {
		t.Fatalf("client B sessions %d after its gateway's reboot", clients[1].Counters()["sessions_up"])
	}
}

// lockedBuffer is a write log shared by the twin's units and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// board is one controller of the pair: its own Modbus TCP client (its own connection).
type board struct {
	t     *testing.T
	bus   *modbus.Bus
	owner uint16
	epoch uint16
	hb    uint16
}

func newBoard(t *testing.T, addr string, owner, epoch uint16) *board {
	t.Helper()
	bus, err := modbus.Dial("tcp://"+addr, modbus.Options{Timeout: 300 * time.Millisecond, BreakerThreshold: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	return &board{t: t, bus: bus, owner: owner, epoch: epoch}
}

// block writes the command block (owner, epoch, heartbeat, fan, valve) to unit.
func (b *board) block(unit byte, fan uint16) error {
	b.hb++
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return b.bus.WriteMultiple(ctx, unit, ahusim.CRAHOwner, []uint16{b.owner, b.epoch, b.hb, fan, 500})
}

func (b *board) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatalf("board %d: %v", b.owner, err)
	}
}

func exceptionCode(err error) byte {
	var e modbus.ExceptionError
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// Two boards on the twin's Modbus TCP server, each its own connection: cutting board 1's leaves
// board 2 working; board 2 takes over with a higher epoch; board 1, healed, is fenced on the
// fencing unit (0x04, logged) and wins a dual write on the unit without fencing. The write log
// says who wrote what, and the pair check finds the handover, the refusals, the dual writer and
// the stale epoch.
func TestTwinPairCutFencingAndWriteLog(t *testing.T) {
	needLong(t)
	wlog := &lockedBuffer{}
	tw := startTwin(t, Options{Scenario: scenario(t, "demo"), Seed: 1, Speed: 10, WriteLog: wlog})
	const fenced, open byte = 1, 2
	a, b := newBoard(t, tw.ModbusAddr(), 1, 1), newBoard(t, tw.ModbusAddr(), 2, 2)
	ctx := context.Background()
	for _, u := range []byte{fenced, open} {
		a.must(a.bus.WriteSingle(ctx, u, ahusim.CRAHRemoteEnable, 1))
	}
	a.must(a.bus.WriteSingle(ctx, fenced, ahusim.CRAHFencing, 1))
	a.must(a.block(fenced, 600))
	a.must(a.block(open, 600))
	if _, err := b.bus.ReadInput(ctx, fenced, 0, 10); err != nil {
		t.Fatalf("board 2 read: %v", err)
	}
	conns := tw.Faults().Conns()
	owners := map[int]bool{}
	for _, c := range conns {
		owners[int(c.Owner)] = true
	}
	// (accept order need not be dial order)
	if len(conns) != 2 || !owners[1] || !owners[-1] {
		t.Fatalf("connections %+v", conns)
	}

	// Cut board 1: its connection is reset, its next writes fail and never reach a unit;
	// board 2 keeps reading and writing.
	if n := tw.Faults().Cut(MatchOwner(1)); n != 1 {
		t.Fatalf("Cut reset %d connections, want 1", n)
	}
	for range 3 {
		if err := a.block(fenced, 610); err == nil || !errors.Is(err, modbus.ErrConnect) && !errors.Is(err, modbus.ErrTimeout) {
			t.Fatalf("board 1 write while cut: %v, want a connection error", err)
		}
	}
	if _, err := b.bus.ReadInput(ctx, fenced, 0, 10); err != nil {
		t.Fatalf("board 2 read while board 1 is cut: %v", err)
	}
	// Board 2 sees board 1's heartbeats stop and takes over a few plant seconds later.
	cutAt := tw.PlantTime()
	waitFor(t, 10*time.Second, "3 plant seconds", func() bool { return tw.PlantTime() >= cutAt+3*time.Second })
	b.must(b.block(fenced, 700))
	b.must(b.block(open, 700))
	if v, _ := tw.Unit(fenced).(*ahusim.CRAH).Holding(ahusim.CRAHOwner); v != 2 {
		t.Fatalf("fenced unit's owner %d, want 2", v)
	}
	if got := tw.Faults().Active(); len(got) != 1 || got[0] != "cut owner 1" {
		t.Fatalf("active faults %q", got)
	}

	// Healed, board 1 comes back with its old epoch: refused 0x04 on the fencing unit, accepted
	// on the other while board 2 still writes it.
	tw.Faults().Heal(MatchOwner(1))
	err := a.block(fenced, 620)
	if exceptionCode(err) != 0x04 {
		t.Fatalf("stale epoch on the fencing unit: %v, want exception 0x04", err)
	}
	a.must(a.block(open, 620))
	b.must(b.block(open, 700))
	if v, _ := tw.Unit(fenced).(*ahusim.CRAH).Holding(ahusim.CRAHFanCmd); v != 700 {
		t.Fatalf("fenced unit's fan command %d, want board 2's 700", v)
	}

	// The write log: who, which epoch, accepted or refused and why.
	var fencedEntry *ahusim.Entry
	for _, l := range strings.Split(strings.TrimSpace(wlog.String()), "\n") {
		var e ahusim.Entry
		if err := jsonUnmarshal(l, &e); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if e.TWall == "" {
			t.Fatalf("no wall time: %s", l)
		}
		if !e.Accepted && e.Refusal == "fenced" {
			fencedEntry = &e
		}
	}
	if e := fencedEntry; e == nil || e.Unit != int(fenced) || e.Writer == nil || *e.Writer != 1 || e.WriterEpoch == nil || *e.WriterEpoch != 1 ||
		e.Owner != 2 || e.Epoch != 2 || e.Exception != 4 || e.Fan == nil || *e.Fan != 62 {
		t.Fatalf("fenced write in the log: %+v\n%s", e, wlog.String())
	}

	rep, err := CheckPairLog(strings.NewReader(wlog.String()))
	if err != nil {
		t.Fatal(err)
	}
	// Both held the open unit: board 1's write came between board 2's, and board 2's between
	// board 1's (a 2 s write period in the field: both inside one BMS timeout).
	if rep.OK() || len(rep.DualWriters) != 2 || rep.DualWriters[0].Unit != int(open) || rep.DualWriters[0].Owner != 1 || rep.DualWriters[0].Other != 2 ||
		rep.DualWriters[1].Unit != int(open) || rep.DualWriters[1].Owner != 2 {
		t.Fatalf("dual writers %v", rep.DualWriters)
	}
	// Writes lost to the cut never reached a unit; the remote and fencing enables, sent before
	// board 1 named itself on its connection, have no writer.
	if rep.Writes != 10 || rep.Refused != 1 || rep.Unattributed != 3 {
		t.Fatalf("%d writes, %d refused, %d unattributed", rep.Writes, rep.Refused, rep.Unattributed)
	}
	if len(rep.StaleEpochs) != 1 || rep.StaleEpochs[0].Unit != int(open) || rep.StaleEpochs[0].Write.Owner != 1 || rep.StaleEpochs[0].Above.Epoch != 2 {
		t.Fatalf("stale epochs %v", rep.StaleEpochs)
	}
	var fencedHandover bool
	for _, h := range rep.Handovers {
		if h.Unit == int(fenced) && h.From == 1 && h.To == 2 && h.Gap >= 3 && h.Gap < 10 && h.WallGap != nil && *h.WallGap > 0.2 {
			fencedHandover = true
		}
	}
	if !fencedHandover || len(rep.Overall) == 0 || rep.Overall[0].From != 1 || rep.Overall[0].To != 2 {
		t.Fatalf("handovers %v overall %v", rep.Handovers, rep.Overall)
	}
	if len(rep.Refusals) != 1 || rep.Refusals[0].Owner != 1 || rep.Refusals[0].ByClass["fenced"] != 1 {
		t.Fatalf("refusals %v", rep.Refusals)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
