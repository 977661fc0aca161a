package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus"
)

// Exit codes of the modbus probe beyond the shared ones.
const (
	exitModbusException = 3 // the unit answered with a Modbus exception
	exitModbusNoAnswer  = 4 // timeout, or no connection to the target
)

func init() {
	register("modbus", "probe a Modbus unit: read or write coils and registers over TCP or RTU", runModbus)
}

const modbusAbout = `Reads or writes one unit's coils, discrete inputs, input or holding registers, like mbpoll:
  read  --table coil      function 1     write --table coil     function 5 (one value), 15
  read  --table discrete  function 2     write --table holding  function 6 (one register), 16
  read  --table input     function 4     (--multiple forces 15 or 16 for one value)
  read  --table holding   function 3
targets: tcp://HOST[:502]   rtu:///dev/ttyUSB0?baud=19200&parity=E&stop=1
--count is a number of values (a 32-bit type takes two registers each; a bit is one coil or
input). Registers print one value per line as raw*scale and are written as value/scale; bits
print and are written as 1 or 0 (on/off, true/false are taken too).
exit codes: 0 ok, 2 usage, 3 Modbus exception, 4 timeout or no connection, 1 other errors`

var modbusSynopsis = []string{
	"read  --target T --addr A [--table holding|input|coil|discrete] [--count N] [--unit 1] [flags]",
	"write --target T --addr A --value V [--value V ...] [--table holding|coil] [--multiple] [flags]",
}

type modbusProbe struct {
	action   string
	target   string
	unit     uint
	table    string
	addr     uint
	count    uint
	typ      string
	order    string
	scale    float64
	json     bool
	timeout  time.Duration
	values   []string
	multiple bool
	set      map[string]bool // flags given on the command line
}

// modbusTables maps the names --table takes onto the four Modbus tables.
var modbusTables = map[string]string{
	"holding": "holding", "h": "holding", "holding-registers": "holding",
	"input": "input", "i": "input", "input-registers": "input",
	"coil": "coil", "coils": "coil", "c": "coil",
	"discrete": "discrete", "discrete-input": "discrete", "discrete-inputs": "discrete", "d": "discrete",
}

func (p *modbusProbe) bits() bool { return p.table == "coil" || p.table == "discrete" }

func runModbus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	top := newFlags("modbus", stdout, stderr, modbusAbout, modbusSynopsis...)
	switch {
	case len(args) == 0:
		return top.usageErr("missing the action: read or write")
	case args[0] == "-h" || args[0] == "--help" || args[0] == "-help":
		top.help(stdout)
		fmt.Fprintln(stdout, "\nrun 'coldaisle modbus read -h' or 'coldaisle modbus write -h' for their flags")
		return exitOK
	case args[0] != "read" && args[0] != "write":
		return top.usageErr("unknown action %q (want read or write)", args[0])
	}
	p := modbusProbe{action: args[0]}
	syn := modbusSynopsis[0][len("read  "):]
	if p.action == "write" {
		syn = modbusSynopsis[1][len("write "):]
	}
	fs := newFlags("modbus "+p.action, stdout, stderr, modbusAbout, syn)
	fs.StringVar(&p.target, "target", "", "`URL` of the line: tcp://HOST:PORT or rtu:///dev/ttyX?baud=19200&parity=E&stop=1 (required)")
	fs.UintVar(&p.unit, "unit", 1, "unit `ID` (slave address): 1..247 on RTU, 0..255 on TCP")
	fs.UintVar(&p.addr, "addr", math.MaxUint, "first coil or register, 0-based PDU `ADDRESS` (required)")
	fs.StringVar(&p.typ, "type", "uint16", "register value type: uint16, int16, uint32, int32, float32")
	fs.StringVar(&p.order, "order", "ABCD", "word order of 32-bit values: ABCD, CDAB, BADC, DCBA")
	fs.Float64Var(&p.scale, "scale", 1, "engineering value = raw * scale (registers)")
	fs.BoolVar(&p.json, "json", false, "print one JSON object")
	fs.DurationVar(&p.timeout, "timeout", time.Second, "reply timeout, 1ms..1m")
	if p.action == "read" {
		fs.StringVar(&p.table, "table", "holding", "`TABLE` to read: holding, input, coil or discrete")
		fs.UintVar(&p.count, "count", 1, "number of values to read: registers' values 1..125, bits 1..2000")
		return p.parseAndRun(ctx, fs, args[1:], stdout, stderr)
	}
	fs.StringVar(&p.table, "table", "holding", "`TABLE` to write: holding or coil")
	fs.Func("value", "`VALUE` to write (repeatable): a number, or for coils 1/0, on/off", func(s string) error { p.values = append(p.values, s); return nil })
	fs.BoolVar(&p.multiple, "multiple", false, "write with function 16 (or 15 for coils) even for one value")
	return p.parseAndRun(ctx, fs, args[1:], stdout, stderr)
}

func (p *modbusProbe) parseAndRun(ctx context.Context, fs *cmdFlags, args []string, stdout, stderr io.Writer) int {
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return probeUsage(stderr, "unexpected argument %q (values are given with --value)", fs.Arg(0))
	}
	p.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { p.set[f.Name] = true })
	return p.run(ctx, stdout, stderr)
}

func probeUsage(stderr io.Writer, format string, a ...any) int {
	fmt.Fprintf(stderr, "coldaisle modbus: "+format+"\n", a...)
	return exitUsage
}

// parseBit reads a coil value.
func parseBit(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "on", "true":
		return true, true
	case "0", "off", "false":
		return false, true
	}
	return false, false
}

func (p *modbusProbe) run(ctx context.Context, stdout, stderr io.Writer) int {
	// Check every flag before touching the line: bad input changes nothing.
	if p.target == "" {
		return probeUsage(stderr, "--target is required (tcp://HOST:PORT or rtu:///dev/ttyX)")
	}
	tgt, err := modbus.ParseTarget(p.target)
	if err != nil {
		return probeUsage(stderr, "--target: %v", err)
	}
	lo, hi := uint(0), uint(255)
	if tgt.Kind == "rtu" {
		lo, hi = 1, 247
	}
	if p.unit < lo || p.unit > hi {
		return probeUsage(stderr, "--unit %d out of range %d..%d for %s", p.unit, lo, hi, tgt.Kind)
	}
	if p.addr == math.MaxUint {
		return probeUsage(stderr, "--addr is required")
	}
	if p.addr > 65535 {
		return probeUsage(stderr, "--addr %d out of range 0..65535", p.addr)
	}
	table, ok := modbusTables[strings.ToLower(p.table)]
	if !ok {
		return probeUsage(stderr, "--table %q is not holding, input, coil or discrete", p.table)
	}
	p.table = table
	if p.action == "write" && (table == "input" || table == "discrete") {
		return probeUsage(stderr, "--table %s is read-only: write holding registers or coils", table)
	}
	if p.bits() {
		for _, f := range []string{"type", "order", "scale"} {
			if p.set[f] {
				return probeUsage(stderr, "--%s is for registers; --table %s has bits", f, table)
			}
		}
	}
	words, err := modbus.TypeWords(p.typ)
	if err != nil {
		return probeUsage(stderr, "--type: %v", err)
	}
	p.typ = strings.ToLower(p.typ)
	p.order = strings.ToUpper(p.order)
	if _, err := modbus.DecodeValues(make([]uint16, words), p.typ, p.order); err != nil {
		return probeUsage(stderr, "--order: %v", err)
	}
	if p.scale == 0 || math.IsNaN(p.scale) || math.IsInf(p.scale, 0) {
		return probeUsage(stderr, "--scale %v must be a finite non-zero number", p.scale)
	}
	if p.timeout < time.Millisecond || p.timeout > time.Minute {
		return probeUsage(stderr, "--timeout %v is outside 1ms..1m", p.timeout)
	}

	var regs []uint16 // registers to write, or bits as 0/1
	fc := 0
	if p.action == "read" {
		limit, what := uint(125/words), p.typ+" values"
		if p.bits() {
			limit, words, what = 2000, 1, "bits"
		}
		if p.count < 1 || p.count > limit {
			return probeUsage(stderr, "--count %d out of range 1..%d for %s", p.count, limit, what)
		}
		if p.addr+p.count*uint(words) > 65536 {
			return probeUsage(stderr, "--addr %d with --count %d runs past address 65535", p.addr, p.count)
		}
	} else {
		if len(p.values) == 0 {
			return probeUsage(stderr, "--value is required for write")
		}
		for i, s := range p.values {
			if p.bits() {
				b, ok := parseBit(s)
				if !ok {
					return probeUsage(stderr, "--value %q is not a coil value (1/0, on/off, true/false)", s)
				}
				regs = append(regs, map[bool]uint16{false: 0, true: 1}[b])
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return probeUsage(stderr, "--value %q is not a finite number", s)
			}
			r, err := modbus.EncodeValue(v/p.scale, p.typ, p.order)
			if err != nil {
				return probeUsage(stderr, "--value %q (value %d, scale %v): %v", s, i+1, p.scale, err)
			}
			regs = append(regs, r...)
		}
		limit, what := 123, "registers"
		if p.bits() {
			limit, what = 1968, "coils"
		}
		if len(regs) > limit {
			return probeUsage(stderr, "--value: %d %s to write, at most %d", len(regs), what, limit)
		}
		if p.addr+uint(len(regs)) > 65536 {
			return probeUsage(stderr, "--addr %d with %d %s runs past address 65535", p.addr, len(regs), what)
		}
		single := len(regs) == 1 && !p.multiple
		switch {
		case p.bits() && single:
			fc = 5
		case p.bits():
			fc = 15
		case single:
			fc = 6
		default:
			fc = 16
		}
	}

	bus, err := modbus.DialContext(ctx, p.target, modbus.Options{Timeout: p.timeout, BreakerThreshold: -1})
	if err != nil {
		return probeFailure(stderr, p, err)
	}
	defer bus.Close()
	unit, addr := byte(p.unit), uint16(p.addr)

	if p.action == "write" {
		switch fc {
		case 5:
			err = bus.WriteCoil(ctx, unit, addr, regs[0] != 0)
		case 15:
			bs := make([]bool, len(regs))
			for i, v := range regs {
				bs[i] = v != 0
			}
			err = bus.WriteCoils(ctx, unit, addr, bs)
		case 6:
			err = bus.WriteSingle(ctx, unit, addr, regs[0])
		default:
			err = bus.WriteMultiple(ctx, unit, addr, regs)
		}
		if err != nil {
			return probeFailure(stderr, p, err)
		}
		what := "register(s)"
		if p.bits() {
			what = "coil(s)"
		}
		if p.json {
			obj := map[string]any{"target": tgt.String(), "unit": p.unit, "table": p.table, "addr": p.addr, "function": fc}
			if p.bits() {
				obj["bits"] = regs
			} else {
				obj["type"], obj["order"], obj["scale"], obj["registers"] = p.typ, p.order, p.scale, regs
			}
			return printJSON(stdout, stderr, obj)
		}
		fmt.Fprintf(stdout, "wrote %d %s at %d of unit %d (function %d)\n", len(regs), what, p.addr, p.unit, fc)
		return exitOK
	}

	if p.bits() {
		var bs []bool
		if p.table == "coil" {
			bs, err = bus.ReadCoils(ctx, unit, addr, uint16(p.count))
		} else {
			bs, err = bus.ReadDiscreteInputs(ctx, unit, addr, uint16(p.count))
		}
		if err != nil {
			return probeFailure(stderr, p, err)
		}
		bits := make([]int, len(bs))
		for i, b := range bs {
			if b {
				bits[i] = 1
			}
		}
		if p.json {
			return printJSON(stdout, stderr, map[string]any{
				"target": tgt.String(), "unit": p.unit, "table": p.table, "addr": p.addr, "bits": bits, "values": bits,
			})
		}
		for _, b := range bits {
			fmt.Fprintln(stdout, b)
		}
		return exitOK
	}

	regs, err = bus.Read(ctx, unit, map[string]modbus.Table{"holding": modbus.Holding, "input": modbus.Input}[p.table], addr, uint16(p.count*uint(words)))
	if err != nil {
		return probeFailure(stderr, p, err)
	}
	vals, err := modbus.DecodeValues(regs, p.typ, p.order)
	if err != nil {
		return fail(stderr, "modbus", err)
	}
	texts := make([]string, len(vals))
	for i, v := range vals {
		texts[i] = formatValue(v, p.typ, p.scale)
	}
	if p.json {
		nums := make([]json.RawMessage, len(texts))
		for i, s := range texts {
			nums[i] = json.RawMessage(s)
		}
		return printJSON(stdout, stderr, map[string]any{
			"target": tgt.String(), "unit": p.unit, "table": p.table, "addr": p.addr, "type": p.typ,
			"order": p.order, "scale": p.scale, "registers": regs, "values": nums,
		})
	}
	for _, s := range texts {
		fmt.Fprintln(stdout, s)
	}
	return exitOK
}

// formatValue prints raw*scale with as many decimals as the scale has (0.1 -> one), so 215 at
// 0.1 prints 21.5, not 21.500000000000004; float32 values print at float32 precision.
func formatValue(raw float64, typ string, scale float64) string {
	v := raw * scale
	if typ == modbus.TypeFloat32 {
		return strconv.FormatFloat(float64(float32(v)), 'g', -1, 32)
	}
	decimals := 0
	if s := strconv.FormatFloat(math.Abs(scale), 'f', -1, 64); strings.Contains(s, ".") {
		decimals = len(s) - strings.Index(s, ".") - 1
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

func printJSON(stdout, stderr io.Writer, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return fail(stderr, "modbus", err)
	}
	fmt.Fprintln(stdout, string(b))
	return exitOK
}

// probeFailure prints err for a technician and maps it to the probe's exit code. The driver's
// errors say what happened ("modbus: no connection: ..."); they are printed once, not after a
// paraphrase of themselves.
func probeFailure(stderr io.Writer, p *modbusProbe, err error) int {
	var ex modbus.ExceptionError
	switch {
	case errors.As(err, &ex):
		fmt.Fprintf(stderr, "coldaisle modbus: unit %d answered exception 0x%02x %s (function %d)\n", p.unit, ex.Code, ex.Name(), ex.Function)
		return exitModbusException
	case errors.Is(err, modbus.ErrTimeout):
		fmt.Fprintf(stderr, "coldaisle modbus: no answer from unit %d within %v: %s\n", p.unit, p.timeout, strings.TrimPrefix(err.Error(), "modbus: "))
		return exitModbusNoAnswer
	case errors.Is(err, modbus.ErrConnect), errors.Is(err, modbus.ErrUnitIsolated), errors.Is(err, modbus.ErrClosed):
		fail(stderr, "modbus", err)
		return exitModbusNoAnswer
	case errors.Is(err, modbus.ErrBadTarget), errors.Is(err, modbus.ErrBadRequest):
		fail(stderr, "modbus", err)
		return exitUsage
	}
	return fail(stderr, "modbus", err)
}
