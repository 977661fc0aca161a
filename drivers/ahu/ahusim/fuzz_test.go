package ahusim

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
)

// FuzzCRAHWrite: any write either applies or changes nothing, and never panics.
func FuzzCRAHWrite(f *testing.F) {
	f.Add(uint16(10), []byte{0, 1, 0, 1, 0, 1, 1, 0xf4, 1, 0x90})
	f.Add(uint16(0), []byte{0, 2})
	f.Add(uint16(65535), []byte{0, 0, 0, 0})
	f.Add(uint16(3), []byte{0xfe, 0x70})
	f.Add(uint16(4), []byte{0, 0})
	f.Fuzz(func(t *testing.T, addr uint16, raw []byte) {
		clk := &fakeClock{}
		var buf bytes.Buffer
		c := NewCRAH(1, Options{Clock: clk.now, Log: NewLog(&buf), RemoteEnabled: true})
		_ = c.WriteHoldingRegisters("f", 16, 15, []uint16{1})
		_ = c.WriteHoldingRegisters("f", 16, 10, []uint16{1, 100, 1, 500, 500})
		values := make([]uint16, len(raw)/2)
		for i := range values {
			values[i] = binary.BigEndian.Uint16(raw[2*i:])
		}
		before := c.hold
		err := c.WriteHoldingRegisters("f", 16, addr, values)
		if err != nil && c.hold != before {
			t.Fatalf("refused write %d %v changed %v to %v", addr, values, before, c.hold)
		}
		if err == nil {
			for i, v := range values {
				if c.hold[int(addr)+i] != v {
					t.Fatalf("accepted write not applied at %d", int(addr)+i)
				}
			}
		}
		e := c.Effective()
		min := float64(c.hold[CRAHMinFan]) / 1000
		if e.Fan < min || e.Fan < float64(c.hold[CRAHFanCmd])/1000 || e.Fan > 1 || e.LocalFan < min || e.LocalFan > 1 {
			t.Fatalf("effective %+v breaks the minimum fan %v", e, min)
		}
		if _, err := CheckWrites(&buf, nil); err != nil {
			t.Fatalf("own log does not check: %v", err)
		}
	})
}

// FuzzCheckWrites: any input gives violations or an error, never a panic.
func FuzzCheckWrites(f *testing.F) {
	f.Add([]byte(cleanLog))
	f.Add([]byte(`{"t_plant":1e308,"unit":-1,"addr":-5,"values":[1],"accepted":true,"bms_timeout":-3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		vs, err := CheckWrites(bytes.NewReader(data), nil)
		if err != nil && vs != nil {
			t.Fatal("violations with an error")
		}
		vs2, err2 := CheckWrites(bytes.NewReader(data), nil)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(vs, vs2) {
			t.Fatal("not deterministic")
		}
	})
}
