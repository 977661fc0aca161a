package modbussim

import "sync"

// Bank is a plain register bank implementing Device: input and holding registers from address
// 0, every mapped holding register writable. Addresses past the end or unmapped with Unmap are
// answered with exception 0x02. It is meant for tests and probes; simulated air handlers with
// behaviour live in drivers/ahu/ahusim.
type Bank struct {
	mu       sync.Mutex
	input    []uint16
	holding  []uint16
	unmapped [2]map[uint16]bool // [0] input, [1] holding
	writes   int
}

// NewBank returns a bank with nInput input and nHolding holding registers, all zero.
func NewBank(nInput, nHolding int) *Bank {
	return &Bank{
		input:    make([]uint16, nInput),
		holding:  make([]uint16, nHolding),
		unmapped: [2]map[uint16]bool{{}, {}},
	}
}

// SetInput sets input registers from addr on; values past the end are ignored.
func (b *Bank) SetInput(addr uint16, values ...uint16) {
	b.mu.Lock()
	defer b.mu.Unlock()
	set(b.input, addr, values)
}

// SetHolding sets holding registers from addr on; values past the end are ignored.
func (b *Bank) SetHolding(addr uint16, values ...uint16) {
	b.mu.Lock()
	defer b.mu.Unlock()
	set(b.holding, addr, values)
}

// Holding returns a copy of count holding registers from addr (zeros past the end).
func (b *Bank) Holding(addr, count uint16) []uint16 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]uint16, count)
	for i := range out {
		if a := int(addr) + i; a < len(b.holding) {
			out[i] = b.holding[a]
		}
	}
	return out
}

// Writes returns how many write requests the bank accepted.
func (b *Bank) Writes() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writes
}

// Unmap makes count registers from addr answer exception 0x02, as the gaps in a vendor's
// register map do. holding selects the table.
func (b *Bank) Unmap(holding bool, addr, count uint16) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := 0
	if holding {
		t = 1
	}
	for i := range int(count) {
		b.unmapped[t][addr+uint16(i)] = true
	}
}

func set(regs []uint16, addr uint16, values []uint16) {
	for i, v := range values {
		if a := int(addr) + i; a < len(regs) {
			regs[a] = v
		}
	}
}

func (b *Bank) check(t int, regs []uint16, addr, count uint16) error {
	if int(addr)+int(count) > len(regs) {
		return ExIllegalAddress
	}
	for i := range count {
		if b.unmapped[t][addr+i] {
			return ExIllegalAddress
		}
	}
	return nil
}

// ReadInputRegisters implements Device.
func (b *Bank) ReadInputRegisters(addr, count uint16) ([]uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(0, b.input, addr, count); err != nil {
		return nil, err
	}
	return append([]uint16(nil), b.input[addr:int(addr)+int(count)]...), nil
}

// ReadHoldingRegisters implements Device.
func (b *Bank) ReadHoldingRegisters(addr, count uint16) ([]uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(1, b.holding, addr, count); err != nil {
		return nil, err
	}
	return append([]uint16(nil), b.holding[addr:int(addr)+int(count)]...), nil
}

// WriteHoldingRegisters implements Device; the write is applied whole or not at all.
func (b *Bank) WriteHoldingRegisters(_ string, _ byte, addr uint16, values []uint16) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(1, b.holding, addr, uint16(len(values))); err != nil {
		return err
	}
	copy(b.holding[addr:], values)
	b.writes++
	return nil
}
