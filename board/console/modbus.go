package console

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/coldaisle/coldaisle/control/site"
)

// modbusRead is `modbus read`: the flags of `coldaisle modbus read` (--unit --table --addr --count
// --type --order --scale, --target), with the line of a named unit as the default target. The
// four tables: holding and input registers (functions 3, 4), coils and discrete inputs (1, 2):
//
//	modbus read crah-1 --table input --addr 0 --count 2 --type int16 --scale 0.1
//	modbus read --target bms --unit 3 --addr 10 --count 5
//	modbus read crah-1 --table coil --addr 0 --count 16
type modbusRead struct {
	req   ModbusRequest
	what  string // "crah-1 (id 1 on line bms, tcp://127.0.0.1:5020)"
	typ   string
	order string
	scale float64
	count int // values
}

var modbusFlags = []choice{
	{word: "--unit", help: "a unit of the site, or a Modbus unit id 1..247 with --target"},
	{word: "--target", help: "a line of the site, or tcp://host:port or rtu:///dev/ttyX?baud=..."},
	{word: "--table", help: "holding (default), input, coil or discrete"},
	{word: "--addr", help: "first register or bit, 0-based wire address (default 0)"},
	{word: "--count", help: "number of values (default 1; bits: up to 2000)"},
	{word: "--type", help: "uint16 (default), int16, uint32, int32, float32"},
	{word: "--order", help: "word/byte order of 32-bit values: ABCD (default), CDAB, BADC, DCBA"},
	{word: "--scale", help: "multiply each value by this (e.g. 0.1)"},
}

var (
	modbusTypes  = []string{"uint16", "int16", "uint32", "int32", "float32"}
	modbusOrders = []string{"ABCD", "CDAB", "BADC", "DCBA"}
	modbusTables = []string{"holding", "input", "coil", "discrete"}
)

func typeWidth(t string) int {
	if strings.HasSuffix(t, "32") {
		return 2
	}
	return 1
}

func names(list []string) string { return strings.Join(list, ", ") }

func parseModbusRead(cfg *site.Config, words []string) (modbusRead, error) {
	bad := func(format string, args ...any) (modbusRead, error) {
		return modbusRead{}, &userError{"modbus read: " + fmt.Sprintf(format, args...)}
	}
	fs := flag.NewFlagSet("modbus read", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	unit := fs.String("unit", "", "")
	target := fs.String("target", "", "")
	table := fs.String("table", "holding", "")
	addr := fs.String("addr", "0", "")
	count := fs.String("count", "1", "")
	typ := fs.String("type", "uint16", "")
	order := fs.String("order", "ABCD", "")
	scale := fs.String("scale", "1", "")
	var named string
	if len(words) > 0 && !strings.HasPrefix(words[0], "-") {
		named, words = words[0], words[1:]
	}
	if err := fs.Parse(words); err != nil {
		return bad("%v (flags: --unit --target --table --addr --count --type --order --scale)", err)
	}
	if fs.NArg() > 0 {
		return bad("unexpected %q (flags come as --name value)", fs.Arg(0))
	}
	if named != "" && *unit != "" {
		return bad("give the unit once: as the first word or with --unit")
	}
	if named == "" {
		named = *unit
	}
	var r modbusRead
	unitNames := make([]string, len(cfg.Units))
	for i, u := range cfg.Units {
		unitNames[i] = u.Name
	}
	lineNames := make([]string, len(cfg.Lines))
	for i, l := range cfg.Lines {
		lineNames[i] = l.Name
	}
	switch u := cfg.Unit(named); {
	case named == "":
		return bad("missing the unit: a unit name (units: %s) or --target LINE --unit ID", listOr(unitNames))
	case u != nil:
		r.req.Unit = byte(u.UnitID)
		if l := cfg.Line(u.Line); l != nil {
			r.req.Target = l.Target
			r.what = fmt.Sprintf("%s (id %d on line %s, %s)", u.Name, u.UnitID, l.Name, l.Target)
		}
	default:
		id, err := strconv.Atoi(named)
		if err != nil || id < 1 || id > 247 {
			return bad("%q is neither a unit (units: %s) nor a unit id 1..247", named, listOr(unitNames))
		}
		r.req.Unit = byte(id)
	}
	if *target != "" {
		if l := cfg.Line(*target); l != nil {
			r.req.Target = l.Target
			r.what = fmt.Sprintf("id %d on line %s (%s)", r.req.Unit, l.Name, l.Target)
		} else if strings.HasPrefix(*target, "tcp://") || strings.HasPrefix(*target, "rtu://") {
			r.req.Target = *target
			r.what = fmt.Sprintf("id %d on %s", r.req.Unit, *target)
		} else {
			return bad("--target %q is neither a line (lines: %s) nor a tcp:// or rtu:// URL", *target, listOr(lineNames))
		}
	}
	if r.req.Target == "" {
		return bad("unit id %d needs --target LINE|URL (lines: %s)", r.req.Unit, listOr(lineNames))
	}
	switch strings.ToLower(*table) {
	case "holding", "h":
		r.req.Table = "holding"
	case "input", "i":
		r.req.Table = "input"
	case "coil", "coils", "c":
		r.req.Table = "coil"
	case "discrete", "discrete-input", "discrete-inputs", "d":
		r.req.Table = "discrete"
	default:
		return bad("--table %q is not one of %s", *table, names(modbusTables))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if r.bits() {
		for _, f := range []string{"type", "order", "scale"} {
			if given[f] {
				return bad("--%s is for registers; --table %s has bits", f, r.req.Table)
			}
		}
	}
	a, err := strconv.ParseUint(*addr, 0, 16)
	if err != nil {
		return bad("--addr %q is not a register address 0..65535", *addr)
	}
	r.req.Addr = uint16(a)
	r.typ = strings.ToLower(*typ)
	if indexOf(modbusTypes, r.typ) < 0 {
		return bad("--type %q is not one of %s", *typ, names(modbusTypes))
	}
	r.order = strings.ToUpper(*order)
	if indexOf(modbusOrders, r.order) < 0 {
		return bad("--order %q is not one of %s", *order, names(modbusOrders))
	}
	w := typeWidth(r.typ)
	c, err := strconv.Atoi(*count)
	switch {
	case r.bits():
		w = 1
		if err != nil || c < 1 || c > 2000 {
			return bad("--count %q is not a number of bits 1..2000", *count)
		}
	case err != nil || c < 1 || c*w > 125:
		return bad("--count %q is not a number of values 1..%d (%d registers each, 125 at most)", *count, 125/w, w)
	}
	if int(a)+c*w > 65536 {
		return bad("--addr %d --count %d runs past register 65535", a, c)
	}
	r.count = c
	r.req.Count = uint16(c * w)
	r.scale, err = strconv.ParseFloat(*scale, 64)
	if err != nil || math.IsNaN(r.scale) || math.IsInf(r.scale, 0) || r.scale == 0 {
		return bad("--scale %q is not a non-zero number", *scale)
	}
	if r.what == "" {
		r.what = fmt.Sprintf("id %d on %s", r.req.Unit, r.req.Target)
	}
	return r, nil
}

func listOr(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// decodeValue turns the registers of one value into a number, honouring type and word/byte order.
func decodeValue(regs []uint16, typ, order string) float64 {
	var raw [4]byte
	for i, r := range regs {
		binary.BigEndian.PutUint16(raw[2*i:], r)
	}
	b := raw[:2*len(regs)]
	var x [4]byte
	switch {
	case len(b) == 2 && (order == "BADC" || order == "DCBA"):
		x[0], x[1] = b[1], b[0]
	case len(b) == 2:
		x[0], x[1] = b[0], b[1]
	case order == "CDAB":
		x = [4]byte{b[2], b[3], b[0], b[1]}
	case order == "BADC":
		x = [4]byte{b[1], b[0], b[3], b[2]}
	case order == "DCBA":
		x = [4]byte{b[3], b[2], b[1], b[0]}
	default:
		x = [4]byte{b[0], b[1], b[2], b[3]}
	}
	switch typ {
	case "int16":
		return float64(int16(binary.BigEndian.Uint16(x[:])))
	case "uint32":
		return float64(binary.BigEndian.Uint32(x[:]))
	case "int32":
		return float64(int32(binary.BigEndian.Uint32(x[:])))
	case "float32":
		return float64(math.Float32frombits(binary.BigEndian.Uint32(x[:])))
	}
	return float64(binary.BigEndian.Uint16(x[:]))
}

func (r modbusRead) bits() bool { return r.req.Table == "coil" || r.req.Table == "discrete" }

// render prints the registers read, one value a line; bits as 1 (on) or 0 (off).
func (r modbusRead) render(regs []uint16) string {
	if r.bits() {
		var rows [][]string
		for i := 0; i < r.count && i < len(regs); i++ {
			v, state := "0", "off"
			if regs[i] != 0 {
				v, state = "1", "on"
			}
			rows = append(rows, []string{strconv.Itoa(int(r.req.Addr) + i), v, state})
		}
		what := map[string]string{"coil": "coils", "discrete": "discrete inputs"}[r.req.Table]
		head := clip(r.what, 79) + "\n" + fmt.Sprintf("%s %d..%d\n", what, r.req.Addr, int(r.req.Addr)+int(r.req.Count)-1)
		return head + renderTable([]column{
			{title: "addr", width: 5, right: true}, {title: "bit", width: 3, right: true}, {title: "state", width: 5},
		}, rows)
	}
	w := typeWidth(r.typ)
	var rows [][]string
	for i := 0; i < r.count && (i+1)*w <= len(regs); i++ {
		vr := regs[i*w : (i+1)*w]
		var hex []string
		for _, x := range vr {
			hex = append(hex, fmt.Sprintf("0x%04x", x))
		}
		v := decodeValue(vr, r.typ, r.order) * r.scale
		rows = append(rows, []string{strconv.Itoa(int(r.req.Addr) + i*w), strings.Join(hex, " "),
			strconv.FormatFloat(v, 'g', 8, 64)})
	}
	head := clip(r.what, 79) + "\n" + fmt.Sprintf("%s registers %d..%d as %s %s x%g\n", r.req.Table, r.req.Addr,
		int(r.req.Addr)+int(r.req.Count)-1, r.typ, r.order, r.scale)
	return head + renderTable([]column{
		{title: "addr", width: 5, right: true}, {title: "registers", width: 13}, {title: "value", width: 20, right: true},
	}, rows)
}

// completeModbus completes the words after `modbus read`.
func completeModbus(s *session, _ []string, words []string) []choice {
	last := words[len(words)-1]
	prev := ""
	if len(words) > 1 {
		prev = words[len(words)-2]
	}
	var out []choice
	add := func(list []string, help string) {
		for _, w := range list {
			if strings.HasPrefix(w, last) {
				out = append(out, choice{word: w, help: help})
			}
		}
	}
	switch strings.TrimLeft(prev, "-") {
	case "unit":
		for _, u := range s.running.Units {
			add([]string{u.Name}, fmt.Sprintf("id %d on line %s", u.UnitID, u.Line))
		}
		return append(out, choice{word: "<id>", help: "a Modbus unit id 1..247 (with --target)"})
	case "target":
		for _, l := range s.running.Lines {
			add([]string{l.Name}, l.Target)
		}
		return append(out, choice{word: "<url>", help: "tcp://host:port or rtu:///dev/ttyX?baud=19200"})
	case "table":
		add(modbusTables, "")
		return out
	case "type":
		add(modbusTypes, "")
		return out
	case "order":
		add(modbusOrders, "")
		return out
	case "addr", "count", "scale":
		return []choice{{word: "<number>", help: "a number"}}
	}
	if len(words) == 1 {
		for _, u := range s.running.Units {
			add([]string{u.Name}, fmt.Sprintf("the unit's id %d on its line %s", u.UnitID, u.Line))
		}
	}
	for _, f := range modbusFlags {
		if strings.HasPrefix(f.word, last) || strings.HasPrefix(strings.TrimLeft(f.word, "-"), strings.TrimLeft(last, "-")) && strings.HasPrefix(last, "-") {
			out = append(out, f)
		}
	}
	if last == "" && len(words) > 1 {
		out = append(out, choice{word: "<cr>", help: "read"})
	}
	return out
}
