package modbus

import (
	"fmt"
	"sort"

	"github.com/coldaisle/coldaisle/drivers/modbus/internal/frame"
)

// Table selects the register table of a read.
type Table uint8

// Register tables.
const (
	Holding Table = iota // holding registers, function 3
	Input                // input registers, function 4
)

func (t Table) String() string {
	switch t {
	case Holding:
		return "holding"
	case Input:
		return "input"
	}
	return fmt.Sprintf("table(%d)", uint8(t))
}

// Range is a run of registers the caller wants: a field of a register map.
type Range struct {
	Addr, Count uint16
}

func (r Range) end() int { return int(r.Addr) + int(r.Count) } // one past the last register

// Block is one read request of a plan: registers Addr..Addr+Count-1 and the indexes (into the
// ranges given to Plan) of the ranges it serves.
type Block struct {
	Addr, Count uint16
	Ranges      []int
}

// Plan merges ranges into as few reads as possible: ranges that overlap, touch, or are at most
// maxGap registers apart share one read of at most 125 registers. A range is never split across
// reads (so a 32-bit value cannot tear between two requests) unless it is longer than 125
// registers or overlaps another range and their union is. Bridging gaps reads registers nobody asked for; units that reject unmapped
// addresses with exception 0x02 need maxGap 0 (ReadBlocks falls back to that by itself).
func Plan(ranges []Range, maxGap uint16) ([]Block, error) {
	idx := make([]int, len(ranges))
	for i, r := range ranges {
		if r.Count == 0 {
			return nil, fmt.Errorf("%w: range %d has count 0", ErrBadRequest, i)
		}
		if r.end() > 0x10000 {
			return nil, fmt.Errorf("%w: range %d (%d+%d) runs past register 65535", ErrBadRequest, i, r.Addr, r.Count)
		}
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ranges[idx[a]].Addr < ranges[idx[b]].Addr })
	var out []Block
	// cover appends blocks of at most 125 registers for [from, to).
	cover := func(from, to int) {
		for ; from < to; from += frame.MaxReadCount {
			out = append(out, Block{Addr: uint16(from), Count: uint16(min(to-from, frame.MaxReadCount))})
		}
	}
	curEnd := -1 // end of the last block; it is still open for merging
	for _, i := range idx {
		r := ranges[i]
		if len(out) > 0 && int(r.Addr)-curEnd <= int(maxGap) {
			last := &out[len(out)-1]
			if end := max(curEnd, r.end()); end-int(last.Addr) <= frame.MaxReadCount {
				last.Count = uint16(end - int(last.Addr))
				curEnd = end
				continue
			}
			if int(r.Addr) < curEnd {
				// Overlaps a block it cannot join (the union is over 125): only the rest needs reading.
				cover(curEnd, r.end())
				curEnd = r.end()
				continue
			}
		}
		cover(int(r.Addr), r.end())
		curEnd = r.end()
	}
	// Each block serves the ranges it overlaps.
	for bi := range out {
		b := &out[bi]
		for _, i := range idx {
			if r := ranges[i]; int(r.Addr) < int(b.Addr)+int(b.Count) && r.end() > int(b.Addr) {
				b.Ranges = append(b.Ranges, i)
			}
		}
	}
	return out, nil
}

// split copies the registers of each requested range out of the block replies.
func split(ranges []Range, blocks []Block, replies [][]uint16) [][]uint16 {
	out := make([][]uint16, len(ranges))
	for i, r := range ranges {
		out[i] = make([]uint16, r.Count)
	}
	for bi, b := range blocks {
		for _, ri := range b.Ranges {
			r := ranges[ri]
			// Overlap of the range and this block.
			lo, hi := max(int(r.Addr), int(b.Addr)), min(r.end(), int(b.Addr)+int(b.Count))
			for a := lo; a < hi; a++ {
				out[ri][a-int(r.Addr)] = replies[bi][a-int(b.Addr)]
			}
		}
	}
	return out
}
