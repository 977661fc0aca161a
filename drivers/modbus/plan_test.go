package modbus

import (
	"errors"
	"slices"
	"testing"
)

func TestPlan(t *testing.T) {
	// The crah-generic holding map, one range per field.
	crahHolding := []Range{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {10, 1}, {11, 1}, {12, 1}, {13, 1}, {14, 1}, {15, 1}}
	cases := []struct {
		name   string
		ranges []Range
		gap    uint16
		want   []Block
	}{
		{"touching fields join", crahHolding, 0, []Block{{0, 5, []int{0, 1, 2, 3, 4}}, {10, 6, []int{5, 6, 7, 8, 9, 10}}}},
		{"gap of 5 bridged", crahHolding, 5, []Block{{0, 16, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}}},
		{"gap of 5 not bridged with 4", crahHolding, 4, []Block{{0, 5, []int{0, 1, 2, 3, 4}}, {10, 6, []int{5, 6, 7, 8, 9, 10}}}},
		{"unsorted and overlapping", []Range{{8, 2}, {0, 4}, {2, 4}}, 0, []Block{{0, 6, []int{1, 2}}, {8, 2, []int{0}}}},
		{"125 limit keeps a float whole", []Range{{0, 124}, {124, 2}}, 0, []Block{{0, 124, []int{0}}, {124, 2, []int{1}}}},
		{"exactly 125", []Range{{0, 123}, {123, 2}}, 0, []Block{{0, 125, []int{0, 1}}}},
		{"long range split", []Range{{0, 300}, {300, 1}}, 0, []Block{{0, 125, []int{0}}, {125, 125, []int{0}}, {250, 51, []int{0, 1}}}},
		{"inside a long range", []Range{{0, 300}, {200, 120}}, 0, []Block{{0, 125, []int{0}}, {125, 125, []int{0, 1}}, {250, 70, []int{0, 1}}}},
		{"overlap too long to join", []Range{{0, 100}, {90, 100}}, 0, []Block{{0, 100, []int{0, 1}}, {100, 90, []int{1}}}},
	}
	for _, c := range cases {
		got, err := Plan(c.ranges, c.gap)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.EqualFunc(got, c.want, func(a, b Block) bool {
			return a.Addr == b.Addr && a.Count == b.Count && slices.Equal(a.Ranges, b.Ranges)
		}) {
			t.Errorf("%s: Plan = %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := Plan([]Range{{5, 0}}, 0); !errors.Is(err, ErrBadRequest) {
		t.Errorf("count 0: %v", err)
	}
	if _, err := Plan([]Range{{65535, 2}}, 0); !errors.Is(err, ErrBadRequest) {
		t.Errorf("past 65535: %v", err)
	}
}

// FuzzPlan: every requested register is read by a block that lists its range, blocks stay within
// 1..125 registers, a range of at most 125 registers that overlaps no other is never split, and
// split() returns the registers of each range from a synthetic register space.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{0, 1, 0, 1, 0, 10, 0, 6}, uint8(5))
	f.Add([]byte{0xff, 0xf0, 0x00, 0x10, 0, 0, 1, 0x2c}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, gap uint8) {
		var ranges []Range
		for i := 0; i+4 <= len(data) && len(ranges) < 16; i += 4 {
			r := Range{uint16(data[i])<<8 | uint16(data[i+1]), uint16(data[i+2]&0x01)<<8 | uint16(data[i+3])}
			if r.Count == 0 || r.end() > 0x10000 {
				continue
			}
			ranges = append(ranges, r)
		}
		blocks, err := Plan(ranges, uint16(gap))
		if err != nil {
			t.Fatal(err)
		}
		replies := make([][]uint16, len(blocks))
		for i, b := range blocks {
			if b.Count < 1 || b.Count > 125 || int(b.Addr)+int(b.Count) > 0x10000 {
				t.Fatalf("block %+v out of limits", b)
			}
			replies[i] = make([]uint16, b.Count)
			for j := range replies[i] {
				replies[i][j] = b.Addr + uint16(j) // register a holds a
			}
		}
		overlaps := func(ri int) bool {
			for j, o := range ranges {
				if j != ri && int(o.Addr) < ranges[ri].end() && o.end() > int(ranges[ri].Addr) {
					return true
				}
			}
			return false
		}
		for ri, r := range ranges {
			n := 0
			for _, b := range blocks {
				if slices.Contains(b.Ranges, ri) {
					n++
				}
			}
			if n == 0 || r.Count <= 125 && !overlaps(ri) && n != 1 {
				t.Fatalf("range %+v is in %d blocks: %+v", r, n, blocks)
			}
		}
		for ri, regs := range split(ranges, blocks, replies) {
			for j, v := range regs {
				if v != ranges[ri].Addr+uint16(j) {
					t.Fatalf("range %+v register %d = %d", ranges[ri], j, v)
				}
			}
		}
	})
}
