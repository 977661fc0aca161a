package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/mesh"
	"github.com/coldaisle/coldaisle/drivers/mesh/meshsim"
	"github.com/coldaisle/coldaisle/drivers/serialport"
	"github.com/coldaisle/coldaisle/drivers/serialport/socatpair"
)

func TestMeshListenAgainstSimulatedGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs socat; skipped in -short")
	}
	if !socatpair.Available() {
		t.Skip("socat not installed")
	}
	bin := testBinary(t)
	pair, err := socatpair.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()

	gwPort, err := serialport.Open(pair.B, serialport.Config{ReadTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer gwPort.Close()
	g := meshsim.NewGateway(gwPort, meshsim.Options{Seed: 3, ManagerHelloInterval: 200 * time.Millisecond})
	gctx, gcancel := context.WithCancel(context.Background())
	gdone := make(chan error, 1)
	go func() { gdone <- g.Run(gctx) }()
	defer func() { gcancel(); <-gdone }()

	cmd := exec.Command(bin, "mesh", "listen", "--port", pair.A, "--baud", "115200")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill() // our child, by pid; only if the test failed before it exited
		}
	}()

	mac := [8]byte{0x00, 0x17, 0x0d, 0x00, 0x00, 0x38, 0x0a, 0x1f}
	tm := time.Unix(1795000000, 250000000)
	g.Report(mac, 7, 3012, []mesh.Record{
		{Channel: 1, Kind: mesh.KindTemperature, Value: 2245},
		{Channel: 3, Kind: mesh.KindHumidity, Value: 4120},
	}, tm)
	g.Report(mac, 8, 0, []mesh.Record{
		{Channel: 1, Kind: mesh.KindTemperature, Value: mesh.ProbeFault},
		{Channel: 4, Kind: mesh.KindPressure, Value: -250},
	}, tm.Add(time.Minute))
	g.WriteRaw([]byte{0x7e, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x7e}) // a frame with a bad FCS on the line

	want := []string{
		`{"sensor":"00-17-0d-00-00-38-0a-1f/1","kind":"temperature","value":22.45,"unit":"C","time":"2026-11-18T11:06:40.25Z","node_seq":7,"battery_mv":3012}`,
		`{"sensor":"00-17-0d-00-00-38-0a-1f/3","kind":"humidity","value":41.2,"unit":"%RH","time":"2026-11-18T11:06:40.25Z","node_seq":7,"battery_mv":3012}`,
		`{"sensor":"00-17-0d-00-00-38-0a-1f/1","kind":"temperature","fault":true,"unit":"C","time":"2026-11-18T11:07:40.25Z","node_seq":8}`,
		`{"sensor":"00-17-0d-00-00-38-0a-1f/4","kind":"pressure","value":-2.5,"unit":"Pa","time":"2026-11-18T11:07:40.25Z","node_seq":8}`,
	}
	timeout := time.After(20 * time.Second)
	for i, w := range want {
		select {
		case got, ok := <-lines:
			if !ok {
				t.Fatalf("stdout closed after %d lines; stderr:\n%s", i, stderr.String())
			}
			if got != w {
				t.Fatalf("line %d:\n got %s\nwant %s", i, got, w)
			}
		case <-timeout:
			t.Fatalf("only %d readings within 20s", i)
		}
	}
	// One more report after the corrupt frame: when it arrives, so has the garbage.
	g.Report(mac, 9, 0, []mesh.Record{{Channel: 2, Kind: mesh.KindTemperature, Value: 1}}, tm)
	select {
	case got := <-lines:
		if !strings.Contains(got, `"node_seq":9`) {
			t.Fatalf("last line %s", got)
		}
	case <-timeout:
		t.Fatal("last reading missing")
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10s of SIGINT")
	}
	errLines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	var counters map[string]uint64
	if err := json.Unmarshal([]byte(errLines[len(errLines)-1]), &counters); err != nil {
		t.Fatalf("last stderr line is not the counters JSON: %v\n%s", err, stderr.String())
	}
	if counters["readings"] != 5 || counters["acks_sent"] != 3 || counters["probe_faults"] != 1 ||
		counters["sessions_up"] < 1 || counters["bad_fcs"] < 1 {
		t.Fatalf("counters %v", counters)
	}
}

func TestMeshListenMissingPortAndUsage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short")
	}
	bin := testBinary(t)
	missing := filepath.Join(t.TempDir(), "ttyGone")
	cmd := exec.Command(bin, "mesh", "listen", "--port", missing)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("missing port: %v, want exit 1; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), missing) || !strings.Contains(string(out), "no such file") {
		t.Fatalf("error does not name the port: %s", out)
	}

	for _, args := range [][]string{{"mesh"}, {"mesh", "listen"}, {"mesh", "listen", "--port", missing, "extra"}, {"mesh", "listen", "--port", missing, "--baud", "0"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v: %v, want exit 2; output:\n%s", args, err, out)
		}
	}
}
