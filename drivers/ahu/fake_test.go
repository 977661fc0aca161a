package ahu

import (
	"context"
	"fmt"
	"sync"
)

// req is one request seen by fakeConn.
type req struct {
	Op     string // "ri", "rh", "wm", "ws"
	Addr   uint16
	Count  uint16
	Values []uint16
}

func (r req) String() string { return fmt.Sprintf("%s %d/%d %v", r.Op, r.Addr, r.Count, r.Values) }

// fakeConn is a register bank that records every request. Reads of addresses missing from the
// maps fail, like a unit answering exception 0x02.
type fakeConn struct {
	mu      sync.Mutex
	unit    byte
	input   map[uint16]uint16
	holding map[uint16]uint16
	reqs    []req
	err     error // returned by every request when set
}

func newFake(unit byte) *fakeConn {
	return &fakeConn{unit: unit, input: map[uint16]uint16{}, holding: map[uint16]uint16{}}
}

var errIllegalAddress = fmt.Errorf("fake: exception 0x02 illegal data address")

func (f *fakeConn) read(m map[uint16]uint16, op string, unit byte, addr, count uint16) ([]uint16, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req{Op: op, Addr: addr, Count: count})
	if f.err != nil {
		return nil, f.err
	}
	if unit != f.unit {
		return nil, fmt.Errorf("fake: wrong unit %d", unit)
	}
	out := make([]uint16, count)
	for i := range out {
		v, ok := m[addr+uint16(i)]
		if !ok {
			return nil, errIllegalAddress
		}
		out[i] = v
	}
	return out, nil
}

func (f *fakeConn) ReadHolding(_ context.Context, unit byte, addr, count uint16) ([]uint16, error) {
	return f.read(f.holding, "rh", unit, addr, count)
}

func (f *fakeConn) ReadInput(_ context.Context, unit byte, addr, count uint16) ([]uint16, error) {
	return f.read(f.input, "ri", unit, addr, count)
}

func (f *fakeConn) WriteMultiple(_ context.Context, unit byte, addr uint16, values []uint16) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req{Op: "wm", Addr: addr, Count: uint16(len(values)), Values: append([]uint16(nil), values...)})
	if f.err != nil {
		return f.err
	}
	for i, v := range values {
		f.holding[addr+uint16(i)] = v
	}
	return nil
}

func (f *fakeConn) WriteSingle(_ context.Context, unit byte, addr, value uint16) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req{Op: "ws", Addr: addr, Count: 1, Values: []uint16{value}})
	if f.err != nil {
		return f.err
	}
	f.holding[addr] = value
	return nil
}

func (f *fakeConn) take() []req {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}
