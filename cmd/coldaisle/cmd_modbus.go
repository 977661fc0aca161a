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
	register("modbus", "probe a Modbus unit: read or write registers over TCP or RTU", runModbus)
}

const modbusUsage = `usage: coldaisle modbus read  --target T --addr A [--unit 1] [--table holding|input] [--count N]
                             [--type T] [--order O] [--scale S] [--json] [--timeout 1s]
       coldaisle modbus write --target T --addr A --value V [--value V ...] [--unit 1] [--multiple]
                             [--type T] [--order O] [--scale S] [--json] [--timeout 1s]

targets: tcp://HOST[:502]   rtu:///dev/ttyUSB0?baud=19200&parity=E&stop=1
--count is a number of values (a 32-bit type takes two registers each). Values are printed one
per line as raw*scale; written values are sent as value/scale. One 16-bit --value is written
with function 6, anything else with function 16 (--multiple forces 16).
exit codes: 0 ok, 2 usage, 3 Modbus exception, 4 timeout or no connection, 1 other errors`

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
}

func runModbus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, modbusUsage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	p := modbusProbe{action: args[0]}
	if p.action != "read" && p.action != "write" {
		fmt.Fprintf(stderr, "coldaisle modbus: unknown action %q (want read or write)\n\n%s\n", p.action, modbusUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("modbus "+p.action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, modbusUsage) }
	fs.StringVar(&p.target, "target", "", "tcp://HOST:PORT or rtu:///dev/ttyX?baud=19200&parity=E&stop=1")
	fs.UintVar(&p.unit, "unit", 1, "unit id (slave address)")
	fs.UintVar(&p.addr, "addr", math.MaxUint, "first register, 0-based PDU address (required)")
	fs.StringVar(&p.typ, "type", "uint16", "value type: uint16, int16, uint32, int32, float32")
	fs.StringVar(&p.order, "order", "ABCD", "word order of 32-bit values: ABCD, CDAB, BADC, DCBA")
	fs.Float64Var(&p.scale, "scale", 1, "engineering value = raw * scale")
	fs.BoolVar(&p.json, "json", false, "print one JSON object")
	fs.DurationVar(&p.timeout, "timeout", time.Second, "reply timeout")
	if p.action == "read" {
		fs.StringVar(&p.table, "table", "holding", "register table: holding or input")
		fs.UintVar(&p.count, "count", 1, "number of values to read")
	} else {
		p.table = "holding"
		fs.Func("value", "value to write (repeatable)", func(s string) error { p.values = append(p.values, s); return nil })
		fs.BoolVar(&p.multiple, "multiple", false, "write with function 16 even for one register")
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		return probeUsage(stderr, "unexpected argument %q (values are given with --value)", fs.Arg(0))
	}
	return p.run(ctx, stdout, stderr)
}

func probeUsage(stderr io.Writer, format string, a ...any) int {
	fmt.Fprintf(stderr, "coldaisle modbus: "+format+"\n", a...)
	return exitUsage
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
	var table modbus.Table
	switch p.table {
	case "holding":
		table = modbus.Holding
	case "input":
		table = modbus.Input
	default:
		return probeUsage(stderr, "--table %q is not holding or input", p.table)
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
	if p.timeout <= 0 {
		return probeUsage(stderr, "--timeout %v must be positive", p.timeout)
	}

	var regs []uint16
	fc := 0
	if p.action == "read" {
		limit := 125 / words
		if p.count < 1 || p.count > uint(limit) {
			return probeUsage(stderr, "--count %d out of range 1..%d for %s", p.count, limit, p.typ)
		}
		if p.addr+p.count*uint(words) > 65536 {
			return probeUsage(stderr, "--addr %d with --count %d runs past register 65535", p.addr, p.count)
		}
	} else {
		if len(p.values) == 0 {
			return probeUsage(stderr, "--value is required for write")
		}
		for i, s := range p.values {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return probeUsage(stderr, "--value %q is not a number", s)
			}
			r, err := modbus.EncodeValue(v/p.scale, p.typ, p.order)
			if err != nil {
				return probeUsage(stderr, "--value %q (value %d, scale %v): %v", s, i+1, p.scale, err)
			}
			regs = append(regs, r...)
		}
		if len(regs) > 123 {
			return probeUsage(stderr, "--value: %d registers to write, at most 123", len(regs))
		}
		if p.addr+uint(len(regs)) > 65536 {
			return probeUsage(stderr, "--addr %d with %d registers runs past register 65535", p.addr, len(regs))
		}
		fc = 16
		if len(regs) == 1 && !p.multiple {
			fc = 6
		}
	}

	bus, err := modbus.DialContext(ctx, p.target, modbus.Options{Timeout: p.timeout, BreakerThreshold: -1})
	if err != nil {
		return probeFailure(stderr, p, err)
	}
	defer bus.Close()
	unit, addr := byte(p.unit), uint16(p.addr)

	if p.action == "write" {
		if fc == 6 {
			err = bus.WriteSingle(ctx, unit, addr, regs[0])
		} else {
			err = bus.WriteMultiple(ctx, unit, addr, regs)
		}
		if err != nil {
			return probeFailure(stderr, p, err)
		}
		if p.json {
			return printJSON(stdout, stderr, map[string]any{
				"target": tgt.String(), "unit": p.unit, "table": p.table, "addr": p.addr, "type": p.typ,
				"order": p.order, "scale": p.scale, "function": fc, "registers": regs,
			})
		}
		fmt.Fprintf(stdout, "wrote %d register(s) at %d of unit %d (function %d)\n", len(regs), p.addr, p.unit, fc)
		return exitOK
	}

	regs, err = bus.Read(ctx, unit, table, addr, uint16(p.count*uint(words)))
	if err != nil {
		return probeFailure(stderr, p, err)
	}
	vals, err := modbus.DecodeValues(regs, p.typ, p.order)
	if err != nil {
		fmt.Fprintf(stderr, "coldaisle modbus: %v\n", err)
		return exitFailure
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
		fmt.Fprintf(stderr, "coldaisle modbus: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, string(b))
	return exitOK
}

// probeFailure prints err for a technician and maps it to the probe's exit code.
func probeFailure(stderr io.Writer, p *modbusProbe, err error) int {
	var ex modbus.ExceptionError
	switch {
	case errors.As(err, &ex):
		fmt.Fprintf(stderr, "coldaisle modbus: unit %d answered exception 0x%02x %s (function %d)\n", p.unit, ex.Code, ex.Name(), ex.Function)
		return exitModbusException
	case errors.Is(err, modbus.ErrTimeout):
		fmt.Fprintf(stderr, "coldaisle modbus: no answer from unit %d within %v: %v\n", p.unit, p.timeout, err)
		return exitModbusNoAnswer
	case errors.Is(err, modbus.ErrConnect), errors.Is(err, modbus.ErrUnitIsolated), errors.Is(err, modbus.ErrClosed):
		fmt.Fprintf(stderr, "coldaisle modbus: no connection to %s: %v\n", p.target, err)
		return exitModbusNoAnswer
	case errors.Is(err, modbus.ErrBadTarget), errors.Is(err, modbus.ErrBadRequest):
		fmt.Fprintf(stderr, "coldaisle modbus: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "coldaisle modbus: %v\n", err)
	return exitFailure
}
