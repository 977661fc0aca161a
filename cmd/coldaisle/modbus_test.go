package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
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
		{"usage: bad table", []string{"read", "--target", target, "--addr", "1", "--table", "coils"}, 2, "", "--table", nil},
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
