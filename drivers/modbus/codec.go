package modbus

import (
	"fmt"
	"math"
	"strings"
)

// Value types understood by DecodeValues and EncodeValue.
const (
	TypeInt16   = "int16"
	TypeUint16  = "uint16"
	TypeInt32   = "int32"
	TypeUint32  = "uint32"
	TypeFloat32 = "float32"
)

// TypeWords returns how many 16-bit registers one value of typ occupies (1 or 2).
func TypeWords(typ string) (int, error) {
	switch strings.ToLower(typ) {
	case TypeInt16, TypeUint16:
		return 1, nil
	case TypeInt32, TypeUint32, TypeFloat32:
		return 2, nil
	}
	return 0, fmt.Errorf("modbus: unknown value type %q (want int16, uint16, int32, uint32 or float32)", typ)
}

// byteOrder turns an order string into, for each wire byte (first register's high byte first),
// the index of the value byte it carries (0 = most significant). "" means ABCD.
func byteOrder(order string) ([4]int, error) {
	var idx [4]int
	o := strings.ToUpper(order)
	if o == "" {
		o = "ABCD"
	}
	switch o {
	case "ABCD", "CDAB", "BADC", "DCBA":
	default:
		return idx, fmt.Errorf("modbus: unknown word order %q (want ABCD, CDAB, BADC or DCBA)", order)
	}
	for i := range 4 {
		idx[i] = int(o[i] - 'A')
	}
	return idx, nil
}

// DecodeValues decodes registers into values of typ. order gives where the value's bytes A (most
// significant) to D travel on the wire: ABCD is big-endian with the high word first, CDAB has
// the low word first, BADC swaps the bytes inside each word, DCBA is fully little-endian. For
// 16-bit types BADC and DCBA mean the two bytes of the register are swapped; ABCD and CDAB
// leave it alone. len(regs) must be a multiple of the type's word count. No scale is applied.
func DecodeValues(regs []uint16, typ, order string) ([]float64, error) {
	words, err := TypeWords(typ)
	if err != nil {
		return nil, err
	}
	idx, err := byteOrder(order)
	if err != nil {
		return nil, err
	}
	if len(regs)%words != 0 {
		return nil, fmt.Errorf("modbus: %d registers do not hold whole %s values (%d registers each)", len(regs), typ, words)
	}
	out := make([]float64, 0, len(regs)/words)
	for i := 0; i < len(regs); i += words {
		if words == 1 {
			r := regs[i]
			if idx[0] > idx[1] {
				r = r<<8 | r>>8
			}
			if strings.ToLower(typ) == TypeInt16 {
				out = append(out, float64(int16(r)))
			} else {
				out = append(out, float64(r))
			}
			continue
		}
		wire := [4]byte{byte(regs[i] >> 8), byte(regs[i]), byte(regs[i+1] >> 8), byte(regs[i+1])}
		var val [4]byte
		for w, v := range idx {
			val[v] = wire[w]
		}
		u := uint32(val[0])<<24 | uint32(val[1])<<16 | uint32(val[2])<<8 | uint32(val[3])
		switch strings.ToLower(typ) {
		case TypeInt32:
			out = append(out, float64(int32(u)))
		case TypeUint32:
			out = append(out, float64(u))
		default:
			out = append(out, float64(math.Float32frombits(u)))
		}
	}
	return out, nil
}

var intRange = map[string][2]float64{
	TypeInt16:  {math.MinInt16, math.MaxInt16},
	TypeUint16: {0, math.MaxUint16},
	TypeInt32:  {math.MinInt32, math.MaxInt32},
	TypeUint32: {0, math.MaxUint32},
}

// EncodeValue encodes one value of typ into its registers in the given word order (see
// DecodeValues). Integers are rounded to the nearest whole number; a value outside the type's
// range, or not finite, is an error.
func EncodeValue(v float64, typ, order string) ([]uint16, error) {
	words, err := TypeWords(typ)
	if err != nil {
		return nil, err
	}
	idx, err := byteOrder(order)
	if err != nil {
		return nil, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("modbus: value %v is not a finite number", v)
	}
	var u uint32
	t := strings.ToLower(typ)
	if t == TypeFloat32 {
		if math.Abs(v) > math.MaxFloat32 {
			return nil, fmt.Errorf("modbus: value %v out of range for float32", v)
		}
		u = math.Float32bits(float32(v))
	} else {
		r := math.Round(v)
		lo, hi := intRange[t][0], intRange[t][1]
		if r < lo || r > hi {
			return nil, fmt.Errorf("modbus: value %v out of range for %s (%v..%v)", v, t, lo, hi)
		}
		if r < 0 {
			u = uint32(int32(r))
		} else {
			u = uint32(r)
		}
	}
	if words == 1 {
		r := uint16(u)
		if idx[0] > idx[1] {
			r = r<<8 | r>>8
		}
		return []uint16{r}, nil
	}
	val := [4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}
	var wire [4]byte
	for w, vi := range idx {
		wire[w] = val[vi]
	}
	return []uint16{uint16(wire[0])<<8 | uint16(wire[1]), uint16(wire[2])<<8 | uint16(wire[3])}, nil
}

// EncodeValues encodes several values of typ back to back.
func EncodeValues(vs []float64, typ, order string) ([]uint16, error) {
	var out []uint16
	for i, v := range vs {
		regs, err := EncodeValue(v, typ, order)
		if err != nil {
			return nil, fmt.Errorf("value %d: %w", i+1, err)
		}
		out = append(out, regs...)
	}
	return out, nil
}
