package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// fcBank records the function code of every write it accepts.
type fcBank struct {
	*modbussim.Bank
	mu  sync.Mutex
	fcs []byte
}

func (b *fcBank) WriteHoldingRegisters(client string, fc byte, addr uint16, values []uint16) error {
	err := b.Bank.WriteHoldingRegisters(client, fc, addr, values)
	if err == nil {
		b.mu.Lock()
		b.fcs = append(b.fcs, fc)
		b.mu.Unlock()
	}
	return err
}

func (b *fcBank) lastFC() byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.fcs) == 0 {
		return 0
	}
	return b.fcs[len(b.fcs)-1]
}

// TestModbusProbe runs the built probe against an in-process modbussim TCP gateway and checks
// every exit code and the output formats.
func TestModbusProbe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testBinary(t)

	srv := modbussim.NewServer()
	bank := &fcBank{Bank: modbussim.NewBank(10, 16)}
	// input: 21.5 C (int16 0.1), -3.0 C, 1234.5 kW as float32 CDAB at 8..9
	bank.SetInput(0, 215, 0xFFE2)
	bank.SetInput(8, 0x5000, 0x449A) // 1234.5 = 0x449A5000
	bank.SetHolding(13, 650, 420)
	srv.Add(1, bank)
	srv.Add(2, modbussim.NewBank(1, 1))
	srv.SetFault(2, modbussim.Fault{NoAnswer: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeTCP(ctx, ln) }()
	defer func() { cancel(); <-done }()
	target := "tcp://" + ln.Addr().String()

	// A port with nothing listening.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadTarget := "tcp://" + dead.Addr().String()
	dead.Close()

	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, append([]string{"modbus"}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}

	cases := []struct {
		name       string
		args       []string
		code       int
		stdout     string // exact, when not empty
		stderrHas  string
		afterCheck func(t *testing.T)
	}{
		{"read holding", []string{"read", "--target", target, "--addr", "13", "--count", "2"}, 0, "650\n420\n", "", nil},
		{"read scaled int16", []string{"read", "--target", target, "--table", "input", "--addr", "0", "--count", "2", "--type", "int16", "--scale", "0.1"}, 0, "21.5\n-3.0\n", "", nil},
		{"read float32 CDAB", []string{"read", "--target", target, "--table", "input", "--addr", "8", "--type", "float32", "--order", "CDAB"}, 0, "1234.5\n", "", nil},
		{"write single (function 6)", []string{"write", "--target", target, "--addr", "13", "--value", "55.5", "--scale", "0.1"}, 0, "", "", func(t *testing.T) {
			if got := bank.Holding(13, 1)[0]; got != 555 || bank.lastFC() != 6 {
				t.Fatalf("holding 13 = %d via function %d, want 555 via 6", got, bank.lastFC())
			}
		}},
		{"write repeated (function 16)", []string{"write", "--target", target, "--addr", "10", "--value", "7", "--value", "1", "--value", "42"}, 0, "", "", func(t *testing.T) {
			if got := bank.Holding(10, 3); got[0] != 7 || got[1] != 1 || got[2] != 42 || bank.lastFC() != 16 {
				t.Fatalf("holding 10..12 = %v via function %d", got, bank.lastFC())
			}
		}},
		{"write float32 (function 16)", []string{"write", "--target", target, "--addr", "4", "--value", "-2.5", "--type", "float32", "--order", "DCBA"}, 0, "", "", func(t *testing.T) {
			// -2.5 = 0xC0200000, DCBA on the wire: 00 00 20 C0
			if got := bank.Holding(4, 2); got[0] != 0x0000 || got[1] != 0x20C0 || bank.lastFC() != 16 {
				t.Fatalf("holding 4..5 = %04x via function %d", got, bank.lastFC())
			}
		}},
		{"usage: no target", []string{"read", "--addr", "1"}, 2, "", "--target", nil},
		{"usage: bad target", []string{"read", "--target", "modbus://x", "--addr", "1"}, 2, "", "--target", nil},
		{"usage: no addr", []string{"read", "--target", target}, 2, "", "--addr", nil},
		{"usage: addr out of range", []string{"read", "--target", target, "--addr", "70000"}, 2, "", "--addr", nil},
		{"usage: bad table", []string{"read", "--target", target, "--addr", "1", "--table", "registers"}, 2, "", "--table", nil},
		{"usage: write a read-only table", []string{"write", "--target", target, "--addr", "1", "--table", "input", "--value", "1"}, 2, "", "read-only", nil},
		{"usage: coil value", []string{"write", "--target", target, "--addr", "1", "--table", "coil", "--value", "2"}, 2, "", "not a coil value", nil},
		{"usage: type for bits", []string{"read", "--target", target, "--addr", "1", "--table", "coil", "--type", "int16"}, 2, "", "--type is for registers", nil},
		{"usage: too many bits", []string{"read", "--target", target, "--addr", "0", "--table", "discrete", "--count", "2001"}, 2, "", "1..2000", nil},
		{"usage: nan value", []string{"write", "--target", target, "--addr", "1", "--value", "NaN"}, 2, "", "not a finite number", nil},
		{"usage: zero timeout", []string{"read", "--target", target, "--addr", "1", "--timeout", "0s"}, 2, "", "--timeout", nil},
		{"usage: bad type", []string{"read", "--target", target, "--addr", "1", "--type", "int8"}, 2, "", "--type", nil},
		{"usage: bad order", []string{"read", "--target", target, "--addr", "1", "--type", "int32", "--order", "ACBD"}, 2, "", "--order", nil},
		{"usage: count too big", []string{"read", "--target", target, "--addr", "0", "--count", "63", "--type", "float32"}, 2, "", "--count", nil},
		{"usage: unit 0 on rtu", []string{"read", "--target", "rtu:///dev/ttyUSB9", "--unit", "0", "--addr", "0"}, 2, "", "--unit", nil},
		{"usage: write without value", []string{"write", "--target", target, "--addr", "1"}, 2, "", "--value", nil},
		{"usage: value out of range", []string{"write", "--target", target, "--addr", "1", "--value", "-1"}, 2, "", "--value", nil},
		{"usage: value not a number", []string{"write", "--target", target, "--addr", "1", "--value", "fast"}, 2, "", "--value", nil},
		{"usage: zero scale", []string{"read", "--target", target, "--addr", "1", "--scale", "0"}, 2, "", "--scale", nil},
		{"usage: unknown flag", []string{"read", "--target", target, "--addr", "1", "--bogus"}, 2, "", "bogus", nil},
		{"usage: unknown action", []string{"poll", "--target", target}, 2, "", "unknown action", nil},
		{"exception", []string{"read", "--target", target, "--addr", "14", "--count", "4"}, 3, "", "exception 0x02 illegal data address", nil},
		{"timeout", []string{"read", "--target", target, "--unit", "2", "--addr", "0", "--timeout", "200ms"}, 4, "", "no answer from unit 2", nil},
		{"no connection", []string{"read", "--target", deadTarget, "--addr", "0"}, 4, "", "no connection", nil},
		{"no serial device", []string{"read", "--target", "rtu:///dev/coldaisle-no-such-tty?parity=N", "--addr", "0"}, 4, "", "no connection", nil},
	}
	before := srv.Requests(1)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			out, errOut, code := run(c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, errOut)
			}
			if c.stdout != "" && out != c.stdout {
				t.Fatalf("stdout %q, want %q", out, c.stdout)
			}
			if c.stderrHas != "" && !strings.Contains(errOut, c.stderrHas) {
				t.Fatalf("stderr %q does not mention %q", errOut, c.stderrHas)
			}
			if c.code == 4 && time.Since(start) > 10*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
			if c.afterCheck != nil {
				c.afterCheck(t)
			}
		})
	}
	// 6 good runs + 1 exception reached unit 1; usage errors never touched the line.
	if n := srv.Requests(1) - before; n != 7 {
		t.Errorf("unit 1 saw %d requests, want 7 (usage errors must not reach the line)", n)
	}

	out, errOut, code := run("read", "--target", target, "--table", "input", "--addr", "0", "--count", "2", "--type", "int16", "--scale", "0.1", "--json")
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	var obj struct {
		Unit      int       `json:"unit"`
		Table     string    `json:"table"`
		Registers []uint16  `json:"registers"`
		Values    []float64 `json:"values"`
	}
	if err := json.Unmarshal([]byte(out), &obj); err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if obj.Unit != 1 || obj.Table != "input" || len(obj.Values) != 2 || obj.Values[0] != 21.5 || obj.Values[1] != -3 || obj.Registers[1] != 0xFFE2 {
		t.Fatalf("--json object %+v", obj)
	}
}

// TestModbusProbePymodbus proves the probe's four tables and eight functions against a Modbus
// server we did not write (pymodbus, drivers/modbus/testdata/pymodbus_server.py), and its writes
// with a master we did not write either (mbpoll reads them back).
func TestModbusProbePymodbus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, runs pymodbus and mbpoll")
	}
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import pymodbus.server.async_io").Run(); err != nil {
		t.Skipf("pymodbus not importable with %s: %v", python, err)
	}
	mbpoll, err := exec.LookPath("mbpoll")
	if err != nil {
		t.Skip("mbpoll not installed")
	}
	bin := testBinary(t)
	srv := exec.Command(python, filepath.Join("..", "..", "drivers", "modbus", "testdata", "pymodbus_server.py"), "--mode", "tcp")
	var srvErr bytes.Buffer
	srv.Stderr = &srvErr
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	var banner struct {
		Port   int `json:"port"`
		Values []struct {
			Table, Type, Order string
			Addr               int
			Value              float64
		} `json:"values"`
		Coils    []bool `json:"coils"`
		Discrete []bool `json:"discrete"`
	}
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 1<<16), 1<<20)
	if !lines.Scan() {
		t.Fatalf("pymodbus server ended before serving: %s", srvErr.String())
	}
	if err := json.Unmarshal(lines.Bytes(), &banner); err != nil || banner.Port == 0 || len(banner.Coils) != 100 {
		t.Fatalf("pymodbus banner %q: %v", lines.Bytes(), err)
	}
	go func() {
		for lines.Scan() { // keep its stdout drained
		}
	}()
	target := "tcp://127.0.0.1:" + strconv.Itoa(banner.Port)
	probe := func(args ...string) string {
		t.Helper()
		r := runBin(t, bin, append(append([]string{"modbus"}, args...), "--target", target)...)
		if r.code != 0 {
			t.Fatalf("modbus %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	bitLines := func(bs []bool) string {
		var b strings.Builder
		for _, v := range bs {
			b.WriteString(map[bool]string{false: "0\n", true: "1\n"}[v])
		}
		return b.String()
	}
	// Functions 1 and 2, at an offset and a count that is not a multiple of 8.
	if got := probe("read", "--table", "coil", "--addr", "5", "--count", "21"); got != bitLines(banner.Coils[5:26]) {
		t.Fatalf("read coils 5+21 (function 1):\n%s\nwant\n%s", got, bitLines(banner.Coils[5:26]))
	}
	if got := probe("read", "--table", "discrete", "--addr", "0", "--count", "100"); got != bitLines(banner.Discrete) {
		t.Fatalf("read discrete inputs (function 2):\n%s", got)
	}
	// Functions 3 and 4: every type in every word order, as pymodbus encoded it.
	for _, v := range banner.Values {
		got := probe("read", "--table", v.Table, "--addr", strconv.Itoa(v.Addr), "--type", v.Type, "--order", v.Order)
		want := strconv.FormatFloat(v.Value, 'f', 0, 64)
		if v.Type == "float32" {
			want = strconv.FormatFloat(float64(float32(v.Value)), 'g', -1, 32)
		}
		if strings.TrimSpace(got) != want {
			t.Errorf("read %s %d as %s %s: %q, want %s", v.Table, v.Addr, v.Type, v.Order, got, want)
		}
	}
	// Functions 5, 15, 6 and 16, each said in the output, and read back by mbpoll.
	for _, w := range []struct {
		args []string
		fc   string
	}{
		{[]string{"--table", "coil", "--addr", "50", "--value", "on"}, "function 5"},
		{[]string{"--table", "coil", "--addr", "51", "--value", "0"}, "function 5"}, // 51 % 3 == 0: was on
		{[]string{"--table", "coil", "--addr", "60", "--value", "1", "--value", "0", "--value", "1", "--value", "1", "--value", "0", "--value", "0", "--value", "1", "--value", "1", "--value", "1"}, "function 15"},
		{[]string{"--table", "coil", "--addr", "70", "--value", "1", "--multiple"}, "function 15"},
		{[]string{"--addr", "80", "--value", "4321"}, "function 6"},
		{[]string{"--addr", "81", "--value", "-2.5", "--type", "float32", "--order", "CDAB"}, "function 16"},
		{[]string{"--addr", "83", "--value", "7", "--value", "65535"}, "function 16"},
	} {
		if got := probe(append([]string{"write"}, w.args...)...); !strings.Contains(got, w.fc) {
			t.Fatalf("write %v: %q, want %s", w.args, got, w.fc)
		}
	}
	mb := func(table string, ref, count int) map[int]int {
		t.Helper()
		cmd := exec.Command(mbpoll, "-m", "tcp", "-p", strconv.Itoa(banner.Port), "-a", "1", "-0", "-1", "-t", table,
			"-r", strconv.Itoa(ref), "-c", strconv.Itoa(count), "127.0.0.1")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mbpoll -t %s -r %d -c %d: %v\n%s", table, ref, count, err, b)
		}
		m := map[int]int{}
		for _, g := range regexp.MustCompile(`(?m)^\[(\d+)\]:\s+(0x[0-9A-Fa-f]+|\d+)`).FindAllStringSubmatch(string(b), -1) {
			r, _ := strconv.Atoi(g[1])
			v, _ := strconv.ParseInt(g[2], 0, 64)
			m[r] = int(v)
		}
		if len(m) != count {
			t.Fatalf("mbpoll -t %s -r %d -c %d: %d values\n%s", table, ref, count, len(m), b)
		}
		return m
	}
	coils := mb("0", 50, 21)
	for ref, want := range map[int]int{50: 1, 51: 0, 52: 0, 60: 1, 61: 0, 62: 1, 63: 1, 64: 0, 65: 0, 66: 1, 67: 1, 68: 1, 69: 1, 70: 1} {
		if coils[ref] != want {
			t.Errorf("mbpoll: coil %d = %d, want %d (%v)", ref, coils[ref], want, coils)
		}
	}
	regs := mb("4:hex", 80, 5)
	for ref, want := range map[int]int{80: 4321, 81: 0x0000, 82: 0xC020, 83: 7, 84: 65535} {
		if regs[ref] != want {
			t.Errorf("mbpoll: holding %d = %#x, want %#x (%v)", ref, regs[ref], want, regs)
		}
	}
	// An exception from pymodbus: past the 100 coils.
	r := runBin(t, bin, "modbus", "read", "--table", "coil", "--addr", "99", "--count", "2", "--target", target)
	expect(t, r, 3, "", "exception 0x02 illegal data address (function 1)")
}
