package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/internal/frame"
	"github.com/coldaisle/coldaisle/drivers/serialport"
	gb "github.com/goburrow/modbus"
)

// Options tune a Bus. Zero fields take the defaults.
type Options struct {
	// Timeout is how long a unit has to answer one request (default 1 s).
	Timeout time.Duration
	// UnitTimeouts overrides Timeout for some unit ids (slow units, units behind gateways).
	UnitTimeouts map[byte]time.Duration
	// BreakerThreshold is the number of consecutive timeouts after which a unit is isolated
	// (default 3; negative disables the breaker).
	BreakerThreshold int
	// ProbeInterval is how long an isolated unit waits before one request is let through as a
	// probe (default 5 s); every failed probe doubles the wait up to ProbeMax (default 60 s).
	ProbeInterval, ProbeMax time.Duration
	// MaxGap is how many unrequested registers ReadBlocks may read to join two ranges into one
	// request (default 0: only touching or overlapping ranges are joined).
	MaxGap uint16
	// ResyncSilence is the quiet time that ends an RTU resynchronisation after an error
	// (default the larger of 3.5 characters and 20 ms).
	ResyncSilence time.Duration
	// QueueLen is the capacity of the request queue (default 64).
	QueueLen int
	// WriteGate, when set, is asked right before every write request (functions 5, 6, 15, 16,
	// 22, 23) goes on the wire, with the time read then: an error refuses the write (ErrWriteGated)
	// and nothing is sent. A request queued while writing was allowed is still refused if the
	// permission has gone by the time the line is free (the 2N pair's lease).
	WriteGate func(now time.Time) error
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.BreakerThreshold == 0 {
		o.BreakerThreshold = 3
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = 5 * time.Second
	}
	if o.ProbeMax <= 0 {
		o.ProbeMax = 60 * time.Second
	}
	o.ProbeMax = max(o.ProbeMax, o.ProbeInterval)
	if o.QueueLen <= 0 {
		o.QueueLen = 64
	}
	return o
}

// UnitCounters are the counters of one unit id.
type UnitCounters struct {
	Requests       uint64 // transactions attempted on the line
	Timeouts       uint64 // no complete reply in time
	Exceptions     uint64 // exception replies
	CRCErrors      uint64 // replies with a bad CRC (RTU)
	ProtocolErrors uint64 // replies that do not fit the request
	ConnectErrors  uint64 // requests that found no connection (TCP) or a failed line
	FastFails      uint64 // requests refused with ErrUnitIsolated without touching the line
	Probes         uint64 // requests let through to an isolated unit
	Isolations     uint64 // times the breaker opened
	Gated          uint64 // writes refused by Options.WriteGate without touching the line
	Isolated       bool   // the breaker is open now
}

// Stats are a snapshot of a bus's counters.
type Stats struct {
	Units map[byte]UnitCounters
	// Transactions is the sum of Requests over all units.
	Transactions uint64
	// Line counters: TCP connections opened and dropped after errors; RTU
	// resynchronisations and the bytes they discarded.
	Connects, Drops, Resyncs, DiscardedBytes uint64
}

// transport is a goburrow Transporter the bus goroutine drives.
type transport interface {
	gb.Transporter
	setDeadline(time.Time)
	packager(unit byte) gb.Packager
	interrupt() // safe from any goroutine
	close() error
}

type request struct {
	ctx    context.Context
	unit   byte
	fc     byte
	addr   uint16
	count  uint16
	values []uint16
	done   chan result
}

type result struct {
	regs []uint16
	err  error
}

// unitState is the breaker and client of one unit; owned by the bus goroutine.
type unitState struct {
	client    gb.Client
	consec    int
	open      bool
	backoff   time.Duration
	nextProbe time.Time
}

// Bus is one Modbus line (a serial port or a TCP endpoint) owned by one goroutine, which serves
// the requests of any number of callers and unit ids in arrival order. Its methods are safe for
// concurrent use.
type Bus struct {
	target  string
	tr      transport
	opts    Options
	lowUnit byte
	topUnit byte
	stats   lineStats

	queue  chan *request
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	counters map[byte]*UnitCounters
	timeouts map[byte]time.Duration
	noBridge map[[2]byte]bool // (unit, table) that rejected a bridged read with 0x02

	units map[byte]*unitState // owned by the bus goroutine
}

// Dial opens a bus on target ("tcp://host:port" or "rtu:///dev/ttyX?baud=19200&parity=E&stop=1")
// and starts its goroutine; Close stops it. A serial port is opened at once; a TCP connection
// is made by the first request and remade after any error.
func Dial(target string, opts Options) (*Bus, error) {
	return DialContext(context.Background(), target, opts)
}

// DialContext is Dial with a context that also ends the bus: when ctx ends the bus closes.
func DialContext(ctx context.Context, target string, opts Options) (*Bus, error) {
	t, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	b := &Bus{target: t.String(), opts: opts}
	switch t.Kind {
	case "tcp":
		b.tr = newTCPTransport(t.Addr, &b.stats)
		b.lowUnit, b.topUnit = 0, 255
	default:
		p, err := serialport.Open(t.Addr, t.Serial)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConnect, err)
		}
		b.tr = newRTUTransport(p, t.Serial.Baud, opts.ResyncSilence, &b.stats)
		b.lowUnit, b.topUnit = 1, 247 // 0 is broadcast, 248..255 reserved on serial lines
	}
	b.start(ctx)
	return b, nil
}

// newBus starts a bus on an already built transport (tests).
func newBus(ctx context.Context, name string, tr transport, lo, hi byte, opts Options) *Bus {
	b := &Bus{target: name, tr: tr, opts: opts.withDefaults(), lowUnit: lo, topUnit: hi}
	b.start(ctx)
	return b
}

func (b *Bus) start(ctx context.Context) {
	b.queue = make(chan *request, b.opts.QueueLen)
	b.ctx, b.cancel = context.WithCancel(ctx)
	b.done = make(chan struct{})
	b.counters = map[byte]*UnitCounters{}
	b.timeouts = map[byte]time.Duration{}
	for u, d := range b.opts.UnitTimeouts {
		b.timeouts[u] = d
	}
	b.noBridge = map[[2]byte]bool{}
	b.units = map[byte]*unitState{}
	context.AfterFunc(b.ctx, b.tr.interrupt)
	go b.loop()
}

// Target returns the bus's target in canonical form.
func (b *Bus) Target() string { return b.target }

// Close stops the bus goroutine, fails queued requests with ErrClosed and closes the line.
// A transaction in progress on a serial line finishes first (at most one timeout).
func (b *Bus) Close() error {
	b.cancel()
	<-b.done
	return nil
}

// Abort fails the request in progress at once and, on TCP, resets the connection so that
// nothing this bus sent and the unit has not received yet can arrive later (a 2N board that
// stops being active). The next request reconnects. Safe from any goroutine.
func (b *Bus) Abort() { b.tr.interrupt() }

// Run blocks until ctx ends or the bus is closed, then closes it. It returns ctx.Err(), or
// ErrClosed if the bus was closed first.
func (b *Bus) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		b.Close()
		return ctx.Err()
	case <-b.done:
		return ErrClosed
	}
}

// SetUnitTimeout sets the reply timeout of one unit; d <= 0 restores the bus default.
func (b *Bus) SetUnitTimeout(unit byte, d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d <= 0 {
		delete(b.timeouts, unit)
		return
	}
	b.timeouts[unit] = d
}

// Stats returns a snapshot of the counters.
func (b *Bus) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Stats{Units: make(map[byte]UnitCounters, len(b.counters))}
	for u, c := range b.counters {
		s.Units[u] = *c
		s.Transactions += c.Requests
	}
	s.Connects = b.stats.connects.Load()
	s.Drops = b.stats.drops.Load()
	s.Resyncs = b.stats.resyncs.Load()
	s.DiscardedBytes = b.stats.discarded.Load()
	return s
}

// Counters returns the counters of one unit.
func (b *Bus) Counters(unit byte) UnitCounters {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.counters[unit]; c != nil {
		return *c
	}
	return UnitCounters{}
}

// ReadHolding reads count (1..125) holding registers from addr (function 3).
func (b *Bus) ReadHolding(ctx context.Context, unit byte, addr, count uint16) ([]uint16, error) {
	return b.do(ctx, &request{unit: unit, fc: frame.FuncReadHolding, addr: addr, count: count})
}

// ReadInput reads count (1..125) input registers from addr (function 4).
func (b *Bus) ReadInput(ctx context.Context, unit byte, addr, count uint16) ([]uint16, error) {
	return b.do(ctx, &request{unit: unit, fc: frame.FuncReadInput, addr: addr, count: count})
}

// WriteMultiple writes 1..123 holding registers from addr in one request (function 16), so the
// unit applies them together.
func (b *Bus) WriteMultiple(ctx context.Context, unit byte, addr uint16, values []uint16) error {
	_, err := b.do(ctx, &request{unit: unit, fc: frame.FuncWriteMultiple, addr: addr, count: uint16(min(len(values), 0xFFFF)), values: append([]uint16(nil), values...)})
	return err
}

// WriteSingle writes one holding register (function 6).
func (b *Bus) WriteSingle(ctx context.Context, unit byte, addr, value uint16) error {
	_, err := b.do(ctx, &request{unit: unit, fc: frame.FuncWriteSingle, addr: addr, count: 1, values: []uint16{value}})
	return err
}

// ReadCoils reads count (1..2000) coils from addr (function 1).
func (b *Bus) ReadCoils(ctx context.Context, unit byte, addr, count uint16) ([]bool, error) {
	bits, err := b.do(ctx, &request{unit: unit, fc: frame.FuncReadCoils, addr: addr, count: count})
	return toBools(bits), err
}

// ReadDiscreteInputs reads count (1..2000) discrete inputs from addr (function 2).
func (b *Bus) ReadDiscreteInputs(ctx context.Context, unit byte, addr, count uint16) ([]bool, error) {
	bits, err := b.do(ctx, &request{unit: unit, fc: frame.FuncReadDiscrete, addr: addr, count: count})
	return toBools(bits), err
}

// WriteCoil sets one coil on or off (function 5).
func (b *Bus) WriteCoil(ctx context.Context, unit byte, addr uint16, on bool) error {
	_, err := b.do(ctx, &request{unit: unit, fc: frame.FuncWriteCoil, addr: addr, count: 1, values: fromBools([]bool{on})})
	return err
}

// WriteCoils writes 1..1968 coils from addr in one request (function 15).
func (b *Bus) WriteCoils(ctx context.Context, unit byte, addr uint16, values []bool) error {
	_, err := b.do(ctx, &request{unit: unit, fc: frame.FuncWriteCoils, addr: addr, count: uint16(min(len(values), 0xFFFF)), values: fromBools(values)})
	return err
}

// Bits travel through the bus goroutine as 0/1 words, like registers.
func toBools(bits []uint16) []bool {
	if bits == nil {
		return nil
	}
	out := make([]bool, len(bits))
	for i, v := range bits {
		out[i] = v != 0
	}
	return out
}

func fromBools(bs []bool) []uint16 {
	out := make([]uint16, len(bs))
	for i, v := range bs {
		if v {
			out[i] = 1
		}
	}
	return out
}

// Read reads count registers of table (ReadHolding or ReadInput).
func (b *Bus) Read(ctx context.Context, unit byte, table Table, addr, count uint16) ([]uint16, error) {
	if table == Input {
		return b.ReadInput(ctx, unit, addr, count)
	}
	return b.ReadHolding(ctx, unit, addr, count)
}

// ReadBlocks reads several ranges of one table of one unit with as few requests as Plan allows
// (bridging gaps up to Options.MaxGap) and returns each range's registers, in the order given.
// If a bridged read is refused with exception 0x02 the unit is remembered as one that rejects
// unmapped addresses and the ranges are read again without bridging. It stops at the first
// error.
func (b *Bus) ReadBlocks(ctx context.Context, unit byte, table Table, ranges []Range) ([][]uint16, error) {
	if table != Holding && table != Input {
		return nil, fmt.Errorf("%w: unknown table %d", ErrBadRequest, table)
	}
	gap := b.opts.MaxGap
	key := [2]byte{unit, byte(table)}
	b.mu.Lock()
	if b.noBridge[key] {
		gap = 0
	}
	b.mu.Unlock()
	blocks, err := Plan(ranges, gap)
	if err != nil {
		return nil, err
	}
	replies := make([][]uint16, len(blocks))
	for i, blk := range blocks {
		regs, err := b.Read(ctx, unit, table, blk.Addr, blk.Count)
		if err != nil {
			var ex ExceptionError
			if gap > 0 && errors.As(err, &ex) && ex.Code == ExIllegalDataAddress && bridges(blk, ranges) {
				b.mu.Lock()
				b.noBridge[key] = true
				b.mu.Unlock()
				return b.ReadBlocks(ctx, unit, table, ranges)
			}
			return nil, fmt.Errorf("modbus: read %s %d+%d of unit %d: %w", table, blk.Addr, blk.Count, unit, err)
		}
		replies[i] = regs
	}
	return split(ranges, blocks, replies), nil
}

// bridges reports whether blk reads registers none of its ranges asked for.
func bridges(blk Block, ranges []Range) bool {
	covered := make([]bool, blk.Count)
	for _, ri := range blk.Ranges {
		r := ranges[ri]
		for a := max(int(r.Addr), int(blk.Addr)); a < min(r.end(), int(blk.Addr)+int(blk.Count)); a++ {
			covered[a-int(blk.Addr)] = true
		}
	}
	for _, c := range covered {
		if !c {
			return true
		}
	}
	return false
}

func (b *Bus) check(r *request) error {
	if r.unit < b.lowUnit || r.unit > b.topUnit {
		return fmt.Errorf("%w: unit id %d not in %d..%d", ErrBadRequest, r.unit, b.lowUnit, b.topUnit)
	}
	limit, what := frame.MaxReadCount, "registers"
	switch r.fc {
	case frame.FuncWriteMultiple:
		limit = frame.MaxWriteCount
	case frame.FuncReadCoils, frame.FuncReadDiscrete:
		limit, what = frame.MaxReadBits, "bits"
	case frame.FuncWriteCoils:
		limit, what = frame.MaxWriteBits, "coils"
	case frame.FuncWriteCoil:
		what = "coils"
	}
	if r.fc == frame.FuncWriteMultiple || r.fc == frame.FuncWriteCoils {
		if len(r.values) == 0 || len(r.values) > limit {
			return fmt.Errorf("%w: %d values to write, want 1..%d", ErrBadRequest, len(r.values), limit)
		}
	}
	if r.count < 1 || int(r.count) > limit {
		return fmt.Errorf("%w: count %d not in 1..%d", ErrBadRequest, r.count, limit)
	}
	if int(r.addr)+int(r.count) > 0x10000 {
		return fmt.Errorf("%w: %s %d+%d run past 65535", ErrBadRequest, what, r.addr, r.count)
	}
	return nil
}

func (b *Bus) do(ctx context.Context, r *request) ([]uint16, error) {
	if err := b.check(r); err != nil {
		return nil, err
	}
	r.ctx = ctx
	r.done = make(chan result, 1)
	select {
	case <-b.done:
		return nil, ErrClosed
	default:
	}
	select {
	case b.queue <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.done:
		return nil, ErrClosed
	}
	select {
	case res := <-r.done:
		return res.regs, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.done:
		select {
		case res := <-r.done:
			return res.regs, res.err
		default:
			return nil, ErrClosed
		}
	}
}

func (b *Bus) loop() {
	defer close(b.done)
	defer b.tr.close()
	for {
		select {
		case <-b.ctx.Done():
			return
		case r := <-b.queue:
			r.done <- b.serve(r)
		}
	}
}

func (b *Bus) unit(id byte) *unitState {
	u := b.units[id]
	if u == nil {
		u = &unitState{client: gb.NewClient2(b.tr.packager(id), b.tr)}
		b.units[id] = u
	}
	return u
}

func (b *Bus) count(unit byte, f func(*UnitCounters)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.counters[unit]
	if c == nil {
		c = &UnitCounters{}
		b.counters[unit] = c
	}
	f(c)
}

// serve runs one request on the line; only the bus goroutine calls it.
func (b *Bus) serve(r *request) result {
	if err := r.ctx.Err(); err != nil {
		return result{err: err} // the caller has gone; do not spend line time on it
	}
	if b.ctx.Err() != nil {
		return result{err: ErrClosed}
	}
	u := b.unit(r.unit)
	now := time.Now()
	probe := false
	if u.open {
		if wait := u.nextProbe.Sub(now); wait > 0 {
			b.count(r.unit, func(c *UnitCounters) { c.FastFails++ })
			return result{err: fmt.Errorf("%w: unit %d after %d consecutive timeouts; next probe in %v", ErrUnitIsolated, r.unit, u.consec, wait.Round(time.Millisecond))}
		}
		probe = true
	}
	b.mu.Lock()
	timeout, ok := b.timeouts[r.unit]
	b.mu.Unlock()
	if !ok {
		timeout = b.opts.Timeout
	}
	deadline := now.Add(timeout)
	full := true // the unit had its whole timeout (not cut short by the caller's deadline)
	if d, ok := r.ctx.Deadline(); ok && d.Before(deadline) {
		deadline, full = d, false
	}
	b.tr.setDeadline(deadline)
	if b.opts.WriteGate != nil && isWrite(r.fc) {
		if gerr := b.opts.WriteGate(time.Now()); gerr != nil {
			b.count(r.unit, func(c *UnitCounters) { c.Gated++ })
			return result{err: fmt.Errorf("%w: %v", ErrWriteGated, gerr)}
		}
	}
	regs, err := b.exec(u.client, r)
	err = convertError(r.fc, err)

	timedOut := errors.Is(err, ErrTimeout)
	answered := err == nil || errors.As(err, new(ExceptionError))
	b.count(r.unit, func(c *UnitCounters) {
		c.Requests++
		if probe {
			c.Probes++
		}
		switch {
		case timedOut:
			c.Timeouts++
		case errors.Is(err, ErrCRC):
			c.CRCErrors++
		case errors.Is(err, ErrProtocol):
			c.ProtocolErrors++
		case errors.Is(err, ErrConnect):
			c.ConnectErrors++
		case err != nil && answered:
			c.Exceptions++
		}
	})
	switch {
	case answered:
		u.consec = 0
		if u.open {
			u.open, u.backoff = false, 0
			b.count(r.unit, func(c *UnitCounters) { c.Isolated = false })
		}
	case timedOut && full:
		u.consec++
		switch {
		case probe:
			u.backoff = min(2*u.backoff, b.opts.ProbeMax)
			u.nextProbe = time.Now().Add(u.backoff)
		case b.opts.BreakerThreshold > 0 && u.consec >= b.opts.BreakerThreshold:
			u.open, u.backoff = true, b.opts.ProbeInterval
			u.nextProbe = time.Now().Add(u.backoff)
			b.count(r.unit, func(c *UnitCounters) { c.Isolations++; c.Isolated = true })
		}
	}
	return result{regs: regs, err: err}
}

// isWrite reports whether fc writes to the unit.
func isWrite(fc byte) bool {
	switch fc {
	case 5, 6, 15, 16, 22, 23:
		return true
	}
	return false
}

func (b *Bus) exec(c gb.Client, r *request) ([]uint16, error) {
	switch r.fc {
	case frame.FuncReadHolding, frame.FuncReadInput:
		var raw []byte
		var err error
		if r.fc == frame.FuncReadHolding {
			raw, err = c.ReadHoldingRegisters(r.addr, r.count)
		} else {
			raw, err = c.ReadInputRegisters(r.addr, r.count)
		}
		if err != nil {
			return nil, err
		}
		if len(raw) != 2*int(r.count) {
			return nil, fmt.Errorf("%w: %d bytes for %d registers", ErrProtocol, len(raw), r.count)
		}
		regs := make([]uint16, r.count)
		for i := range regs {
			regs[i] = binary.BigEndian.Uint16(raw[2*i:])
		}
		return regs, nil
	case frame.FuncReadCoils, frame.FuncReadDiscrete:
		var raw []byte
		var err error
		if r.fc == frame.FuncReadCoils {
			raw, err = c.ReadCoils(r.addr, r.count)
		} else {
			raw, err = c.ReadDiscreteInputs(r.addr, r.count)
		}
		if err != nil {
			return nil, err
		}
		if len(raw) != (int(r.count)+7)/8 {
			return nil, fmt.Errorf("%w: %d bytes for %d bits", ErrProtocol, len(raw), r.count)
		}
		bits := make([]uint16, r.count)
		for i := range bits {
			bits[i] = uint16(raw[i/8]>>(i%8)) & 1 // first bit in the low bit of the first byte
		}
		return bits, nil
	case frame.FuncWriteCoil:
		v := uint16(0x0000)
		if r.values[0] != 0 {
			v = 0xFF00
		}
		_, err := c.WriteSingleCoil(r.addr, v)
		return nil, err
	case frame.FuncWriteCoils:
		raw := make([]byte, (len(r.values)+7)/8)
		for i, v := range r.values {
			if v != 0 {
				raw[i/8] |= 1 << (i % 8)
			}
		}
		_, err := c.WriteMultipleCoils(r.addr, uint16(len(r.values)), raw)
		return nil, err
	case frame.FuncWriteSingle:
		_, err := c.WriteSingleRegister(r.addr, r.values[0])
		return nil, err
	case frame.FuncWriteMultiple:
		raw := make([]byte, 0, 2*len(r.values))
		for _, v := range r.values {
			raw = binary.BigEndian.AppendUint16(raw, v)
		}
		_, err := c.WriteMultipleRegisters(r.addr, uint16(len(r.values)), raw)
		return nil, err
	}
	return nil, fmt.Errorf("%w: function %d", ErrBadRequest, r.fc)
}

// convertError maps what the goburrow client returns onto this package's errors.
func convertError(fc byte, err error) error {
	if err == nil {
		return nil
	}
	var me *gb.ModbusError
	if errors.As(err, &me) {
		return ExceptionError{Function: fc, Code: me.ExceptionCode}
	}
	for _, s := range []error{ErrTimeout, ErrConnect, ErrCRC, ErrProtocol, ErrBadRequest} {
		if errors.Is(err, s) {
			return err
		}
	}
	if isDeadline(err) {
		return timeoutError("no reply", err)
	}
	// The rest come from the library's own checks of a reply (echoed address, byte count).
	return fmt.Errorf("%w: %w", ErrProtocol, err)
}
