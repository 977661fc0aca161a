package modbus

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestDecodeEncodeKnownVectors(t *testing.T) {
	// 123.456 as float32 is 0x42F6E979; -123456 as int32 is 0xFFFE1DC0.
	cases := []struct {
		typ, order string
		regs       []uint16
		val        float64
	}{
		{"float32", "ABCD", []uint16{0x42F6, 0xE979}, float64(float32(123.456))},
		{"float32", "CDAB", []uint16{0xE979, 0x42F6}, float64(float32(123.456))},
		{"float32", "BADC", []uint16{0xF642, 0x79E9}, float64(float32(123.456))},
		{"float32", "DCBA", []uint16{0x79E9, 0xF642}, float64(float32(123.456))},
		{"int32", "ABCD", []uint16{0xFFFE, 0x1DC0}, -123456},
		{"int32", "CDAB", []uint16{0x1DC0, 0xFFFE}, -123456},
		{"int32", "BADC", []uint16{0xFEFF, 0xC01D}, -123456},
		{"int32", "DCBA", []uint16{0xC01D, 0xFEFF}, -123456},
		{"uint32", "ABCD", []uint16{0x0001, 0x0000}, 65536},
		{"uint32", "CDAB", []uint16{0x0000, 0x0001}, 65536},
		{"uint32", "ABCD", []uint16{0xFFFF, 0xFFFF}, 4294967295},
		{"int16", "ABCD", []uint16{0xFF38}, -200},
		{"int16", "CDAB", []uint16{0xFF38}, -200},
		{"int16", "BADC", []uint16{0x38FF}, -200},
		{"int16", "DCBA", []uint16{0x38FF}, -200},
		{"uint16", "", []uint16{0xFF38}, 65336},
		{"uint16", "badc", []uint16{0x0100}, 1},
	}
	for _, c := range cases {
		got, err := DecodeValues(c.regs, c.typ, c.order)
		if err != nil || len(got) != 1 || got[0] != c.val {
			t.Errorf("DecodeValues(%04x, %s, %s) = %v, %v; want %v", c.regs, c.typ, c.order, got, err, c.val)
		}
		regs, err := EncodeValue(c.val, c.typ, c.order)
		if err != nil || !slices.Equal(regs, c.regs) {
			t.Errorf("EncodeValue(%v, %s, %s) = %04x, %v; want %04x", c.val, c.typ, c.order, regs, err, c.regs)
		}
	}
}

func TestDecodeSeveralValues(t *testing.T) {
	got, err := DecodeValues([]uint16{0, 1, 0, 2}, "uint32", "ABCD")
	if err != nil || !slices.Equal(got, []float64{1, 2}) {
		t.Fatalf("got %v, %v", got, err)
	}
	regs, err := EncodeValues([]float64{1, 2}, "uint32", "CDAB")
	if err != nil || !slices.Equal(regs, []uint16{1, 0, 2, 0}) {
		t.Fatalf("EncodeValues = %v, %v", regs, err)
	}
}

func TestCodecErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"odd register count", second(DecodeValues([]uint16{1, 2, 3}, "float32", "ABCD")), "3 registers"},
		{"unknown type", second(DecodeValues([]uint16{1}, "int8", "ABCD")), `unknown value type "int8"`},
		{"unknown order", second(DecodeValues([]uint16{1, 2}, "int32", "ACBD")), `unknown word order "ACBD"`},
		{"uint16 overflow", second(EncodeValue(65536, "uint16", "")), "out of range for uint16"},
		{"uint16 negative", second(EncodeValue(-1, "uint16", "")), "out of range for uint16"},
		{"int16 overflow", second(EncodeValue(32768, "int16", "")), "out of range for int16"},
		{"int32 overflow", second(EncodeValue(1<<31, "int32", "")), "out of range for int32"},
		{"uint32 overflow", second(EncodeValue(1<<32, "uint32", "")), "out of range for uint32"},
		{"float32 overflow", second(EncodeValue(1e39, "float32", "")), "out of range for float32"},
		{"NaN", second(EncodeValue(math.NaN(), "float32", "")), "not a finite number"},
		{"Inf", second(EncodeValue(math.Inf(1), "int16", "")), "not a finite number"},
		{"second value bad", second(EncodeValues([]float64{1, -5}, "uint16", "")), "value 2"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, c.err, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestEncodeRounds(t *testing.T) {
	// 21.5 °C at scale 0.1 arrives as 214.99999999999997.
	regs, err := EncodeValue(21.5/0.1, "int16", "ABCD")
	if err != nil || regs[0] != 215 {
		t.Fatalf("EncodeValue(21.5/0.1) = %v, %v; want 215", regs, err)
	}
	regs, _ = EncodeValue(-0.6, "int16", "ABCD")
	if int16(regs[0]) != -1 {
		t.Fatalf("-0.6 encodes as %d, want -1", int16(regs[0]))
	}
}

// FuzzCodecRoundTrip: decoding what was encoded gives the value back (exactly for integers,
// to float32 precision for floats) in every order; nothing panics.
func FuzzCodecRoundTrip(f *testing.F) {
	f.Add(123.456, uint8(4), uint8(1))
	f.Add(-32768.0, uint8(0), uint8(3))
	f.Fuzz(func(t *testing.T, v float64, ti, oi uint8) {
		typ := []string{"int16", "uint16", "int32", "uint32", "float32"}[ti%5]
		order := []string{"ABCD", "CDAB", "BADC", "DCBA"}[oi%4]
		regs, err := EncodeValue(v, typ, order)
		if err != nil {
			return
		}
		got, err := DecodeValues(regs, typ, order)
		if err != nil || len(got) != 1 {
			t.Fatalf("decode of %v: %v %v", regs, got, err)
		}
		want := math.Round(v)
		if typ == "float32" {
			want = float64(float32(v))
		}
		if got[0] != want && !(math.IsNaN(got[0]) && math.IsNaN(want)) {
			t.Fatalf("%s %s: %v -> %04x -> %v", typ, order, v, regs, got[0])
		}
	})
}
