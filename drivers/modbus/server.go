package modbus

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/internal/frame"
)

// Image is what a Server serves: count registers of table from addr. It is called once per
// request, from the connection's goroutine, so several calls may run at once; the registers of
// one call must come from one consistent state. An error that is (errors.As) an ExceptionError
// is answered with its code (ExIllegalDataAddress for addresses outside the image); any other
// error, or a slice of the wrong length, is answered with ExServerDeviceFailure.
type Image interface {
	Registers(table Table, addr, count uint16) ([]uint16, error)
}

// ServerOptions bound a Server. Zero values take the defaults.
type ServerOptions struct {
	// UnitID is the server's unit id, 1..247 (default 1). Requests for 0 and 255 are answered
	// too: on TCP both mean "the device at this address".
	UnitID byte
	// MaxConns is the most connections served at once (default 8); more are accepted and
	// closed at once, so a BMS that leaks connections cannot lock the others out for long.
	MaxConns int
	// IdleTimeout closes a connection that sends no complete request for this long (default
	// 60 s).
	IdleTimeout time.Duration
	// WriteTimeout bounds the write of one reply (default 5 s): a client that stops reading
	// does not hold its goroutine.
	WriteTimeout time.Duration
}

// ServerStats are a Server's counters since it was made.
type ServerStats struct {
	Accepted   uint64 // connections served
	Refused    uint64 // connections closed at once: MaxConns were open
	Requests   uint64 // requests answered with data
	Exceptions uint64 // requests answered with an exception
	OtherUnit  uint64 // requests for another unit id, not answered
	Malformed  uint64 // connections closed for a malformed MBAP header
	IdleClosed uint64 // connections closed by IdleTimeout
}

// Server is a read-only Modbus TCP server: functions 3 and 4 read the Image, every other
// function (writes included) is refused with exception 0x01 illegal function.
type Server struct {
	img  Image
	opts ServerOptions

	accepted, refused, requests, exceptions, otherUnit, malformed, idle atomic.Uint64
}

// NewServer makes a server of img. It fails on a unit id outside 1..247 or a negative bound.
func NewServer(img Image, o ServerOptions) (*Server, error) {
	if img == nil {
		return nil, errors.New("modbus: server: no image")
	}
	if o.UnitID == 0 {
		o.UnitID = 1
	}
	if o.UnitID > 247 {
		return nil, fmt.Errorf("modbus: server: unit id %d outside 1..247", o.UnitID)
	}
	if o.MaxConns < 0 || o.IdleTimeout < 0 || o.WriteTimeout < 0 {
		return nil, errors.New("modbus: server: negative max conns or timeout")
	}
	if o.MaxConns == 0 {
		o.MaxConns = 8
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 5 * time.Second
	}
	return &Server{img: img, opts: o}, nil
}

// Stats returns the server's counters.
func (s *Server) Stats() ServerStats {
	return ServerStats{
		Accepted: s.accepted.Load(), Refused: s.refused.Load(), Requests: s.requests.Load(),
		Exceptions: s.exceptions.Load(), OtherUnit: s.otherUnit.Load(), Malformed: s.malformed.Load(),
		IdleClosed: s.idle.Load(),
	}
}

// Serve accepts connections on ln until ctx ends, then closes ln and every connection, waits for
// their goroutines and returns ctx.Err(). An accept error other than a closed listener is
// retried after a pause (up to 1 s; running out of file descriptors passes); a closed listener
// ends Serve with an error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	wg.Add(1)
	go func() { // the one owner of shutdown: unblocks Accept and every connection's Read
		defer wg.Done()
		<-ctx.Done()
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	var err error
	pause := 5 * time.Millisecond
	for {
		c, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(aerr, net.ErrClosed) {
				err = fmt.Errorf("modbus: server: accept: %w", aerr)
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
			pause = min(2*pause, time.Second)
			continue
		}
		pause = 5 * time.Millisecond
		mu.Lock()
		full := len(conns) >= s.opts.MaxConns || ctx.Err() != nil
		if !full {
			conns[c] = struct{}{}
		}
		mu.Unlock()
		if full {
			s.refused.Add(1)
			c.Close()
			continue
		}
		s.accepted.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveStream(c)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		}()
	}
	cancel()
	wg.Wait()
	if err != nil {
		return err
	}
	return ctx.Err()
}

// deadliner is the part of net.Conn serveStream uses when its stream has it.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// serveStream answers the requests on rw in order until it ends, fails, idles out or sends a
// malformed MBAP header.
func (s *Server) serveStream(rw io.ReadWriter) {
	dl, _ := rw.(deadliner)
	br := bufio.NewReaderSize(rw, 7+frame.MaxPDU)
	var hdr [7]byte
	pdu := make([]byte, frame.MaxPDU)
	out := make([]byte, 0, 7+frame.MaxPDU)
	for {
		if dl != nil {
			// One deadline for the whole request, so a client that trickles bytes is cut
			// off as surely as a silent one.
			dl.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			s.countIdle(err)
			return
		}
		tid := binary.BigEndian.Uint16(hdr[0:])
		pid := binary.BigEndian.Uint16(hdr[2:])
		length := int(binary.BigEndian.Uint16(hdr[4:]))
		unit := hdr[6]
		// length counts the unit id and the PDU (1..253 bytes); checked before reading it,
		// so a bad header never makes the server wait for or buffer 64 KiB.
		if pid != 0 || length < 2 || length > 1+frame.MaxPDU {
			s.malformed.Add(1)
			return
		}
		p := pdu[:length-1]
		if _, err := io.ReadFull(br, p); err != nil {
			s.countIdle(err)
			return
		}
		if unit != s.opts.UnitID && unit != 0 && unit != 0xFF {
			// Like a device on a serial line: another unit's request gets no answer.
			s.otherUnit.Add(1)
			continue
		}
		out = out[:7]
		binary.BigEndian.PutUint16(out[0:], tid)
		binary.BigEndian.PutUint16(out[2:], 0)
		out[6] = unit
		out = s.answer(out, p)
		binary.BigEndian.PutUint16(out[4:], uint16(len(out)-6))
		if dl != nil {
			dl.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
		}
		if _, err := rw.Write(out); err != nil {
			return
		}
	}
}

func (s *Server) countIdle(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		s.idle.Add(1)
	}
}

// answer appends the reply PDU to the request PDU p (1..253 bytes) to out.
func (s *Server) answer(out, p []byte) []byte {
	fc := p[0]
	var table Table
	switch fc {
	case frame.FuncReadHolding:
		table = Holding
	case frame.FuncReadInput:
		table = Input
	default:
		// Writes included: the image is read-only, and 0x01 ("not an allowable action for
		// the server") is the refusal every master reports by name.
		return s.exception(out, fc, ExIllegalFunction)
	}
	if len(p) != 5 {
		return s.exception(out, fc, ExIllegalDataValue)
	}
	addr := binary.BigEndian.Uint16(p[1:])
	count := binary.BigEndian.Uint16(p[3:])
	if count == 0 || count > frame.MaxReadCount {
		return s.exception(out, fc, ExIllegalDataValue)
	}
	if int(addr)+int(count) > 0x10000 {
		return s.exception(out, fc, ExIllegalDataAddress)
	}
	regs, err := s.img.Registers(table, addr, count)
	if err != nil {
		var ex ExceptionError
		if errors.As(err, &ex) && ex.Code != 0 {
			return s.exception(out, fc, ex.Code)
		}
		return s.exception(out, fc, ExServerDeviceFailure)
	}
	if len(regs) != int(count) {
		return s.exception(out, fc, ExServerDeviceFailure)
	}
	s.requests.Add(1)
	out = append(out, fc, byte(2*count))
	for _, r := range regs {
		out = binary.BigEndian.AppendUint16(out, r)
	}
	return out
}

func (s *Server) exception(out []byte, fc, code byte) []byte {
	s.exceptions.Add(1)
	return append(out, fc|frame.ExceptionBit, code)
}
