package modbus

import (
	"errors"
	"strings"
	"testing"

	"github.com/coldaisle/coldaisle/drivers/serialport"
)

func TestParseTarget(t *testing.T) {
	tcp, err := ParseTarget("tcp://10.0.0.5")
	if err != nil || tcp.Kind != "tcp" || tcp.Addr != "10.0.0.5:502" {
		t.Fatalf("tcp default port: %+v, %v", tcp, err)
	}
	rtu, err := ParseTarget("rtu:///dev/ttyUSB0?baud=9600&parity=N&stop=2")
	want := serialport.Config{Baud: 9600, DataBits: 8, Parity: 'N', StopBits: 2}
	if err != nil || rtu.Kind != "rtu" || rtu.Addr != "/dev/ttyUSB0" || rtu.Serial != want {
		t.Fatalf("rtu: %+v, %v", rtu, err)
	}
	def, _ := ParseTarget("rtu:///dev/ttyS1")
	if def.Serial.Baud != 19200 || def.Serial.Parity != 'E' || def.Serial.StopBits != 1 {
		t.Fatalf("rtu defaults: %+v", def.Serial)
	}
	for in, want := range map[string]string{
		"10.0.0.5:502":               "missing scheme",
		"udp://x:1":                  "unknown scheme",
		"tcp://":                     "missing host",
		"tcp://h:99999":              "not 1..65535",
		"rtu://dev/ttyUSB0":          "three slashes",
		"rtu:///dev/x?baud=fast":     "baud",
		"rtu:///dev/x?parity=M":      "parity",
		"rtu:///dev/x?stop=3":        "stop",
		"rtu:///dev/x?speed=9600":    `unknown option "speed"`,
		"tcp://h:502/path":           "no path",
		"rtu:///dev/x?baud=19200&x=": `unknown option "x"`,
	} {
		_, err := ParseTarget(in)
		if !errors.Is(err, ErrBadTarget) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTarget(%q) = %v, want ErrBadTarget mentioning %q", in, err, want)
		}
	}
}

func TestExceptionError(t *testing.T) {
	e := ExceptionError{Function: 3, Code: 2}
	if got := e.Error(); got != "modbus: exception 0x02 illegal data address (function 3)" {
		t.Fatalf("Error() = %q", got)
	}
	for code := byte(1); code <= 0x0B; code++ {
		if n := ExceptionName(code); n == "" || n == "unknown exception" {
			t.Errorf("code %#x has no name", code)
		}
	}
	if ExceptionName(0x0C) != "unknown exception" {
		t.Error("code 0x0c should be unknown")
	}
}

func TestRTUTiming(t *testing.T) {
	for _, c := range []struct {
		baud     int
		gapMicro int64
	}{{9600, 4010}, {19200, 2005}, {38400, 1750}, {115200, 1750}} {
		_, gap := rtuTiming(c.baud)
		if d := gap.Microseconds() - c.gapMicro; d < -2 || d > 2 {
			t.Errorf("baud %d: t3.5 = %v, want ~%dus", c.baud, gap, c.gapMicro)
		}
	}
}
