package modbus

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/internal/frame"
	gb "github.com/goburrow/modbus"
)

// rtuPort is what the RTU transport needs from a serial line; serialport.Port has it.
type rtuPort interface {
	io.ReadWriter
	ResetInputBuffer() error
	SetReadTimeout(time.Duration) error
}

// rtuTransport is a goburrow Transporter for Modbus RTU on a serial line. Unlike the library's
// own it sizes the reply from the function code and byte count (an exception is 5 bytes however
// it arrives), checks the unit id, function, byte count and CRC itself, keeps the inter-frame
// silence before sending, and after any error reads and discards until the line is silent so
// the next transaction starts on a frame boundary.
type rtuTransport struct {
	port  rtuPort
	stats *lineStats

	charTime time.Duration // one character (11 bits) on the wire
	frameGap time.Duration // t3.5: silence required between frames
	silence  time.Duration // quiet time that ends a resynchronisation

	deadline time.Time // of the current transaction; set by the bus goroutine before Send
	lastIO   time.Time // when the line was last busy (our send or a byte received)
}

// rtuTiming returns the character time and the t3.5 inter-frame gap for a baud rate: 3.5
// characters of 11 bits, fixed at 1.75 ms above 19200 baud (Modbus over serial line v1.02,
// 2.5.1.1).
func rtuTiming(baud int) (char, gap time.Duration) {
	if baud <= 0 {
		baud = 19200
	}
	char = time.Duration(11 * float64(time.Second) / float64(baud))
	if baud > 19200 {
		return char, 1750 * time.Microsecond
	}
	return char, time.Duration(3.5 * float64(char))
}

func newRTUTransport(p rtuPort, baud int, silence time.Duration, stats *lineStats) *rtuTransport {
	char, gap := rtuTiming(baud)
	if silence <= 0 {
		// USB adapters deliver bytes in bursts up to ~16 ms apart; a shorter quiet time
		// would end a resynchronisation in the middle of a frame.
		silence = max(gap, 20*time.Millisecond)
	}
	return &rtuTransport{port: p, stats: stats, charTime: char, frameGap: gap, silence: silence}
}

func (t *rtuTransport) setDeadline(d time.Time) { t.deadline = d }

func (t *rtuTransport) packager(unit byte) gb.Packager {
	h := gb.NewRTUClientHandler("")
	h.SlaveId = unit
	return h
}

// Send implements gb.Transporter.
func (t *rtuTransport) Send(req []byte) ([]byte, error) {
	if len(req) < 4 {
		return nil, fmt.Errorf("%w: request of %d bytes", ErrProtocol, len(req))
	}
	if wait := t.frameGap - time.Since(t.lastIO); wait > 0 {
		time.Sleep(wait) // the protocol's own timing, not synchronisation
	}
	// Whatever is waiting now (a late reply, noise) belongs to no transaction of ours.
	if err := t.port.ResetInputBuffer(); err != nil {
		return nil, fmt.Errorf("%w: rtu flush: %w", ErrConnect, err)
	}
	if _, err := t.port.Write(req); err != nil {
		t.lastIO = time.Now()
		return nil, fmt.Errorf("%w: rtu write: %w", ErrConnect, err)
	}
	t.lastIO = time.Now()
	// The unit's timeout runs from the end of our transmission.
	deadline := t.deadline.Add(time.Duration(len(req)) * t.charTime)
	resp, err := t.receive(req, deadline)
	if err != nil {
		t.resync()
		return nil, err
	}
	return resp, nil
}

func (t *rtuTransport) receive(req []byte, deadline time.Time) ([]byte, error) {
	unit, fc := req[0], req[1]
	buf := make([]byte, 0, frame.MaxRTUFrame)
	need := 2
	for {
		for len(buf) < need {
			left := time.Until(deadline)
			if left <= 0 {
				return nil, timeoutError(fmt.Sprintf("unit %d: %d of %d reply bytes", unit, len(buf), need), nil)
			}
			if err := t.port.SetReadTimeout(max(left, time.Millisecond)); err != nil {
				return nil, fmt.Errorf("%w: rtu: %w", ErrConnect, err)
			}
			n, err := t.port.Read(buf[len(buf):need])
			buf = buf[:len(buf)+n]
			if n > 0 {
				t.lastIO = time.Now()
			}
			if err != nil && n == 0 {
				if isDeadline(err) {
					if time.Until(deadline) > 0 {
						continue
					}
					return nil, timeoutError(fmt.Sprintf("unit %d: %d of %d reply bytes", unit, len(buf), need), err)
				}
				return nil, fmt.Errorf("%w: rtu read: %w", ErrConnect, err)
			}
		}
		if buf[0] != unit {
			return nil, fmt.Errorf("%w: reply from unit %d to a request for unit %d", ErrProtocol, buf[0], unit)
		}
		n := frame.RTUResponseLen(fc, buf)
		switch {
		case n == frame.Unknown:
			return nil, fmt.Errorf("%w: function 0x%02x in reply to function %d", ErrProtocol, buf[1], fc)
		case n == frame.NeedMore:
			need = len(buf) + 1
			continue
		case n > frame.MaxRTUFrame:
			return nil, fmt.Errorf("%w: reply of %d bytes", ErrProtocol, n)
		}
		if buf[1] == fc && len(req) >= 6 {
			want := -1
			switch fc {
			case frame.FuncReadHolding, frame.FuncReadInput:
				want = 2 * int(binary.BigEndian.Uint16(req[4:]))
			case frame.FuncReadCoils, frame.FuncReadDiscrete:
				want = (int(binary.BigEndian.Uint16(req[4:])) + 7) / 8
			}
			if want >= 0 && int(buf[2]) != want {
				return nil, fmt.Errorf("%w: byte count %d in reply to a read of %d bytes", ErrProtocol, buf[2], want)
			}
		}
		if len(buf) >= n {
			break
		}
		need = n
	}
	if !frame.CheckCRC(buf) {
		return nil, fmt.Errorf("%w: unit %d reply % x", ErrCRC, unit, buf)
	}
	return buf, nil
}

// resync reads and discards until the line has been silent for t.silence (bounded, so a
// babbling line cannot hold the bus), then flushes: the next frame starts clean.
func (t *rtuTransport) resync() {
	t.stats.resyncs.Add(1)
	limit := time.Now().Add(max(25*t.silence, 500*time.Millisecond))
	var b [256]byte
	for time.Until(limit) > 0 {
		if err := t.port.SetReadTimeout(t.silence); err != nil {
			break
		}
		n, err := t.port.Read(b[:])
		t.stats.discarded.Add(uint64(n))
		if n > 0 {
			t.lastIO = time.Now()
			continue
		}
		if err != nil {
			break // silent (timeout) or the port failed; either way stop listening
		}
	}
	_ = t.port.ResetInputBuffer()
}

func (t *rtuTransport) interrupt() {}

func (t *rtuTransport) close() error {
	if c, ok := t.port.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
