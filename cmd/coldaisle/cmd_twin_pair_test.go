package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/modbus"
)

// pairLine is one hand-made write-log line: an accepted (or, with refusal, refused) command
// block of owner at plant time tp on unit.
func pairLine(tp float64, unit, owner, epoch int, refusal string) string {
	acc, extra := "true", ""
	if refusal != "" {
		acc, extra = "false", `,"exception":4,"refusal":"`+refusal+`"`
	}
	return fmt.Sprintf(`{"t_plant":%g,"t_wall":"2026-01-01T00:%02d:%02d.5Z","unit":%d,"kind":"crah","fc":16,"addr":10,"values":[%d,%d,1,500,500],`+
		`"owner":%d,"epoch":%d,"accepted":%s,"bms_timeout":10,"writer":%d,"writer_epoch":%d%s}`,
		tp, int(tp)/60, int(tp)%60, unit, owner, epoch, owner, epoch, acc, owner, epoch, extra)
}

func TestTwinCheckWritesPair(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	clean := write("clean.log",
		pairLine(0, 1, 1, 1, ""), pairLine(0.2, 2, 1, 1, ""), pairLine(2, 1, 1, 1, ""), pairLine(2.2, 2, 1, 1, ""),
		pairLine(6, 1, 2, 2, ""), pairLine(6.3, 2, 2, 2, ""), pairLine(8, 1, 2, 2, ""), pairLine(8.5, 2, 1, 1, "fenced"))
	dual := write("dual.log", pairLine(0, 1, 1, 1, ""), pairLine(2, 1, 2, 1, ""), pairLine(3, 1, 1, 1, ""))
	stale := write("stale.log", pairLine(0, 1, 1, 2, ""), pairLine(20, 1, 2, 3, ""), pairLine(40, 1, 1, 2, ""))
	for _, c := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"--pair", clean}, exitOK, []string{
			"pair: 8 writes (7 accepted, 1 refused, 0 accepted without a known writer), 2 units, owners 1, 2",
			"handover: unit 1: owner 1 -> 2: last of 1 at t=2.000 s (2026-01-01T00:00:02.5Z), first of 2 at t=6.000 s (2026-01-01T00:00:06.5Z), gap 4.000 s (wall 4.000 s), within the 10 s BMS timeout; lines 3, 5",
			"handover: unit 2: owner 1 -> 2:",
			"handover: all units: owner 1 -> 2: last of 1 at t=2.200 s",
			"refused: owner 1: 1 refused (fenced 1) on units 2",
			"ok: no dual writer, no stale epoch accepted; 1 handovers over all units"}},
		{[]string{"--pair", dual}, exitFailure, []string{
			"dual-writer: unit 1: owner 2 wrote at t=2.000 s",
			"between owner 1's writes at t=0.000 s",
			"FAIL: 1 dual-writer moments, 0 stale epochs accepted"}},
		{[]string{"--pair", stale}, exitFailure, []string{
			"stale-epoch: unit 1: owner 1's write with epoch 2 accepted at t=40.000 s",
			"handover: unit 1: owner 1 -> 2:", "over the 10 s BMS timeout: the unit fell back",
			"FAIL: 0 dual-writer moments, 1 stale epochs accepted"}},
		{[]string{"--pair", "--handover", clean}, exitUsage, nil},
		{[]string{"--json", clean}, exitUsage, nil},
		{[]string{"--pair", write("bad.log", `{"t_plant":1,"unit":1,"accepted":true,"writer":-3}`)}, exitUsage, nil},
		// The older modes still work on the pair's logs.
		{[]string{"--handover", clean}, exitOK, []string{"ok: 8 writes, 2 units"}},
	} {
		var out, errb bytes.Buffer
		code := runTwin(context.Background(), append([]string{"check-writes"}, c.args...), &out, &errb)
		if code != c.code {
			t.Errorf("check-writes %v: exit %d, want %d\nstdout %s\nstderr %s", c.args, code, c.code, out.String(), errb.String())
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("check-writes %v: stdout lacks %q:\n%s", c.args, w, out.String())
			}
		}
	}
	var out, errb bytes.Buffer
	if code := runTwin(context.Background(), []string{"check-writes", "--pair", "--json", stale}, &out, &errb); code != exitFailure {
		t.Fatalf("--json: exit %d: %s", code, errb.String())
	}
	var rep struct {
		StaleEpochs []struct {
			Unit  int `json:"unit"`
			Write struct {
				Epoch int `json:"epoch"`
			} `json:"write"`
		} `json:"stale_epochs"`
		Handovers []struct {
			Gap float64 `json:"gap"`
		} `json:"handovers"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.StaleEpochs) != 1 || rep.StaleEpochs[0].Write.Epoch != 2 || len(rep.Handovers) != 2 || rep.Handovers[0].Gap != 20 {
		t.Fatalf("--json: %v %+v\n%s", err, rep, out.String())
	}
}

// syncBuffer is stdout shared by the twin's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// `coldaisle twin` with two gateway links and two site configurations, two boards (Modbus
// clients) writing one unit, then check-writes --pair on the log the twin wrote: a clean
// handover, then the old board back while the new one writes: a dual writer, exit 1.
func TestTwinPairEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("real ptys and sockets")
	}
	dir := t.TempDir()
	wlog := filepath.Join(dir, "w.jsonl")
	cfgA, cfgB := filepath.Join(dir, "a.toml"), filepath.Join(dir, "b.toml")
	gwA, gwB := filepath.Join(dir, "gw-a"), filepath.Join(dir, "gw-b")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- runTwin(ctx, []string{"--scenario", "demo", "--speed", "10", "--modbus-listen", "127.0.0.1:0",
			"--gateway-link", gwA, "--gateway-link", gwB, "--site-config-out", cfgA, "--site-config-out", cfgB, "--write-log", wlog}, out, &errb)
	}()
	re := regexp.MustCompile(`modbus tcp://(127\.0\.0\.1:\d+)`)
	var addr string
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" || !strings.Contains(out.String(), cfgB) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("twin not ready:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for cfg, gw := range map[string]string{cfgA: gwA, cfgB: gwB} {
		c, err := site.Load(cfg)
		if err != nil || c.Mesh.Port != gw {
			t.Fatalf("%s: %v, mesh.port %q want %q", cfg, err, c.Mesh.Port, gw)
		}
	}
	dial := func() *modbus.Bus {
		b, err := modbus.Dial("tcp://"+addr, modbus.Options{Timeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	a, b := dial(), dial()
	hb := uint16(0)
	block := func(bus *modbus.Bus, owner, epoch uint16) {
		t.Helper()
		hb++
		if err := bus.WriteMultiple(context.Background(), 1, 10, []uint16{owner, epoch, hb, 600, 500}); err != nil {
			t.Fatalf("owner %d: %v", owner, err)
		}
	}
	block(a, 1, 1)
	block(a, 1, 1)
	time.Sleep(300 * time.Millisecond) // 3 plant seconds between the boards: the handover's gap
	block(b, 2, 2)
	block(b, 2, 2)
	block(a, 1, 1) // board 1 is back: no fencing on unit 1 by default, so accepted
	block(b, 2, 2)
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("twin exit %d: %s", code, errb.String())
	}
	var res bytes.Buffer
	code := runTwin(context.Background(), []string{"check-writes", "--pair", wlog}, &res, &errb)
	if code != exitFailure {
		t.Fatalf("check-writes --pair: exit %d, want %d\n%s%s", code, exitFailure, res.String(), errb.String())
	}
	for _, w := range []string{"pair: 6 writes (6 accepted, 0 refused", "handover: unit 1: owner 1 -> 2", "dual-writer: unit 1:", "stale-epoch: unit 1: owner 1's write with epoch 1"} {
		if !strings.Contains(res.String(), w) {
			t.Errorf("report lacks %q:\n%s", w, res.String())
		}
	}
	gap := regexp.MustCompile(`handover: unit 1: owner 1 -> 2: .* gap (\d+\.\d+) s \(wall (\d+\.\d+) s\)`).FindStringSubmatch(res.String())
	if gap == nil {
		t.Fatalf("no first handover gap:\n%s", res.String())
	}
	var plantGap, wallGap float64
	fmt.Sscan(gap[1], &plantGap)
	fmt.Sscan(gap[2], &wallGap)
	if wallGap < 0.3 || plantGap < 2 || plantGap > 10 {
		t.Fatalf("handover gap %v plant s, %v wall s; want >= 0.3 s wall, 2..10 plant s", plantGap, wallGap)
	}
	t.Logf("report:\n%s", res.String())
}
