package modbussim

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/internal/frame"
)

// Exception codes a gateway answers with (Modbus application protocol v1.1b3, section 7).
const (
	ExGatewayPathUnavailable Exception = 0x0A
)

// Fault is the failure injected for one unit id. The zero Fault is a healthy unit.
type Fault struct {
	// NoAnswer: the unit never replies (a dead or disconnected unit); the Device is not called.
	NoAnswer bool
	// Busy: the unit replies exception 0x06 (slave device busy); the Device is not called.
	Busy bool
	// Delay: the reply leaves this long after the request arrived (a slow unit or gateway).
	Delay time.Duration
	// Split: the reply is written in two pieces, all but its last byte first and the last
	// byte Split later, as a frame reaches the master across a slow or buffered link.
	Split time.Duration
	// Corrupt: on RTU the reply's CRC is wrong (its last byte flipped), as line noise does.
	// TCP has no CRC; there Corrupt is ignored.
	Corrupt bool
}

// UnitStats counts what the server saw for one unit id.
type UnitStats struct {
	Requests   uint64 // well-formed requests addressed to the unit (answered or not)
	Exceptions uint64 // exception replies sent
}

// Server answers Modbus requests for the Devices added to it, over TCP (one listener acting as
// a gateway for every unit id, any number of connections) and on RTU lines. The zero value is
// not usable; call NewServer.
type Server struct {
	mu      sync.Mutex
	units   map[byte]Device
	faults  map[byte]Fault
	stats   map[byte]*UnitStats
	silence time.Duration

	// TCP connections and their faults (conns.go).
	conns    map[uint64]*tcpConn
	nextConn uint64
	rules    []connRule
	ownerReg int

	dropped atomic.Uint64 // RTU frames dropped (bad CRC, garbage, incomplete at silence)
}

// NewServer returns a server with no units.
func NewServer() *Server {
	return &Server{
		units:    map[byte]Device{},
		faults:   map[byte]Fault{},
		stats:    map[byte]*UnitStats{},
		silence:  5 * time.Millisecond,
		ownerReg: -1,
	}
}

// Add serves d as unit id unit, replacing any device already there.
func (s *Server) Add(unit byte, d Device) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.units[unit] = d
	if s.stats[unit] == nil {
		s.stats[unit] = &UnitStats{}
	}
}

// SetFault sets the failure injected for unit; the zero Fault heals it. It takes effect for
// requests that arrive after the call.
func (s *Server) SetFault(unit byte, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[unit] = f
}

// SetRTUSilence sets how long an RTU line must stay quiet before the server treats the bytes
// it holds as ended: a frame it cannot size is then decoded, a partial or corrupt one dropped.
// The default is 5 ms; d <= 0 is ignored.
func (s *Server) SetRTUSilence(d time.Duration) {
	if d <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silence = d
}

// Stats returns the counters for unit.
func (s *Server) Stats(unit byte) UnitStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.stats[unit]; st != nil {
		return *st
	}
	return UnitStats{}
}

// Requests returns the number of requests addressed to unit so far.
func (s *Server) Requests(unit byte) uint64 { return s.Stats(unit).Requests }

// DroppedFrames returns how many RTU frames were dropped for a bad CRC, garbage or a frame cut
// short by silence.
func (s *Server) DroppedFrames() uint64 { return s.dropped.Load() }

func (s *Server) rtuSilence() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.silence
}

// reply is the server's decision for one request.
type reply struct {
	pdu     []byte // nil: send nothing
	delay   time.Duration
	split   time.Duration
	corrupt bool
}

// process runs one request PDU for unit. known is false when no device has that unit id.
func (s *Server) process(unit byte, client string, pdu []byte) (r reply, known bool) {
	s.mu.Lock()
	d, ok := s.units[unit]
	f := s.faults[unit]
	st := s.stats[unit]
	if ok {
		st.Requests++
	}
	s.mu.Unlock()
	if !ok {
		return reply{}, false
	}
	r = reply{delay: f.Delay, split: f.Split, corrupt: f.Corrupt}
	switch {
	case f.NoAnswer:
		return reply{}, true
	case f.Busy:
		r.pdu = exceptionPDU(pdu[0], ExSlaveDeviceBusy)
	default:
		r.pdu = execute(d, client, pdu)
	}
	if r.pdu[0]&frame.ExceptionBit != 0 {
		s.mu.Lock()
		st.Exceptions++
		s.mu.Unlock()
	}
	return r, true
}

func exceptionPDU(fc byte, code Exception) []byte {
	return []byte{fc | frame.ExceptionBit, byte(code)}
}

// execute decodes one request PDU (function code first), checks it against the protocol
// limits, calls the device and encodes the response PDU.
func execute(d Device, client string, pdu []byte) []byte {
	fc, data := pdu[0], pdu[1:]
	switch fc {
	case frame.FuncReadHolding, frame.FuncReadInput:
		if len(data) != 4 {
			return exceptionPDU(fc, ExIllegalValue)
		}
		addr, count := binary.BigEndian.Uint16(data), binary.BigEndian.Uint16(data[2:])
		if count < 1 || count > frame.MaxReadCount {
			return exceptionPDU(fc, ExIllegalValue)
		}
		if int(addr)+int(count) > 0x10000 {
			return exceptionPDU(fc, ExIllegalAddress)
		}
		var regs []uint16
		var err error
		if fc == frame.FuncReadHolding {
			regs, err = d.ReadHoldingRegisters(addr, count)
		} else {
			regs, err = d.ReadInputRegisters(addr, count)
		}
		if err != nil {
			return exceptionPDU(fc, exceptionOf(err))
		}
		if len(regs) != int(count) {
			return exceptionPDU(fc, ExSlaveDeviceFailure)
		}
		out := make([]byte, 2, 2+2*len(regs))
		out[0], out[1] = fc, byte(2*len(regs))
		for _, v := range regs {
			out = binary.BigEndian.AppendUint16(out, v)
		}
		return out
	case frame.FuncWriteSingle:
		if len(data) != 4 {
			return exceptionPDU(fc, ExIllegalValue)
		}
		addr, v := binary.BigEndian.Uint16(data), binary.BigEndian.Uint16(data[2:])
		if err := d.WriteHoldingRegisters(client, fc, addr, []uint16{v}); err != nil {
			return exceptionPDU(fc, exceptionOf(err))
		}
		return append([]byte{fc}, data...)
	case frame.FuncWriteMultiple:
		if len(data) < 5 {
			return exceptionPDU(fc, ExIllegalValue)
		}
		addr, count, bc := binary.BigEndian.Uint16(data), binary.BigEndian.Uint16(data[2:]), int(data[4])
		if count < 1 || count > frame.MaxWriteCount || bc != 2*int(count) || len(data) != 5+bc {
			return exceptionPDU(fc, ExIllegalValue)
		}
		if int(addr)+int(count) > 0x10000 {
			return exceptionPDU(fc, ExIllegalAddress)
		}
		vals := make([]uint16, count)
		for i := range vals {
			vals[i] = binary.BigEndian.Uint16(data[5+2*i:])
		}
		if err := d.WriteHoldingRegisters(client, fc, addr, vals); err != nil {
			return exceptionPDU(fc, exceptionOf(err))
		}
		return append([]byte{fc}, data[:4]...)
	}
	return exceptionPDU(fc, ExIllegalFunction)
}

func exceptionOf(err error) Exception {
	var e Exception
	if errors.As(err, &e) && e != 0 {
		return e
	}
	return ExSlaveDeviceFailure
}

// sleepCtx waits d or until ctx ends; it reports whether the full wait elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// writeSplit writes b, in two pieces when split > 0.
func writeSplit(ctx context.Context, w interface{ Write([]byte) (int, error) }, b []byte, split time.Duration) error {
	if split <= 0 || len(b) < 2 {
		_, err := w.Write(b)
		return err
	}
	if _, err := w.Write(b[:len(b)-1]); err != nil {
		return err
	}
	if !sleepCtx(ctx, split) {
		return ctx.Err()
	}
	_, err := w.Write(b[len(b)-1:])
	return err
}
