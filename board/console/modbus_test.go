package console_test

import (
	"strings"
	"testing"
)

// The console reads all four tables: coils and discrete inputs as bits (1 on, 0 off), and bits
// refuse the register-only flags.
func TestModbusReadBits(t *testing.T) {
	h := loggedIn(t, setup{})
	out := h.Run("modbus read crah-1 --table coil --addr 1 --count 4", opPrompt)
	for _, want := range []string{
		"crah-1 (id 1 on line bms, tcp://127.0.0.1:5020)\ncoils 1..4",
		"   1    0  off", "   2    1  on", "   3    1  on", "   4    0  off",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("coil read lacks %q:\n%s", want, out)
		}
	}
	out = h.Run("modbus read --target bms --unit 1 --table d --count 5", opPrompt)
	if !strings.Contains(out, "discrete inputs 0..4") || !strings.Contains(out, "   1    1  on") || !strings.Contains(out, "   4    1  on") || !strings.Contains(out, "   3    0  off") {
		t.Errorf("discrete read:\n%s", out)
	}
	for cmd, want := range map[string]string{
		"modbus read crah-1 --table coil --type int16":       "--type is for registers",
		"modbus read crah-1 --table coil --count 2001":       "number of bits 1..2000",
		"modbus read crah-1 --table coils --scale 0.1":       "--scale is for registers",
		"modbus read crah-1 --table registers":               "is not one of holding, input, coil, discrete",
		"modbus read crah-1 --table coil --addr 8 --count 5": "exception 0x02",
	} {
		if out := h.Run(cmd, opPrompt); !strings.Contains(out, want) {
			t.Errorf("%s: %q lacks %q", cmd, out, want)
		}
	}
	h.Type("modbus read crah-1 --table co\t")
	h.WaitLine(opPrompt + "modbus read crah-1 --table coil ")
}
