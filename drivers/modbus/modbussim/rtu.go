package modbussim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/internal/frame"
)

// ServeRTU answers Modbus RTU requests on rw (a serial port or the master side of a pty) until
// ctx ends, as the slaves of a multi-drop line: it answers only the unit ids added to the
// server and ignores frames for other ids (and broadcasts). Frames are sized from their
// function code; a frame with a bad CRC is dropped and everything after it is discarded until
// the line has been silent (SetRTUSilence), which is how RTU regains framing. Frames with a
// function code the server cannot size end at silence and are answered 0x01 if addressed to
// one of its units.
//
// Reads that time out (serial ports with a read timeout, files with a deadline) and EIO (a pty
// whose other side is closed) are retried. When ctx ends, ServeRTU sets a read deadline on rw
// if it has SetReadDeadline, and returns ctx.Err() without waiting for a Read that cannot be
// interrupted; that Read returns when the caller closes rw.
func (s *Server) ServeRTU(ctx context.Context, rw io.ReadWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan []byte)
	readErr := make(chan error, 1)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		readErr <- readLoop(ctx, rw, chunks)
	}()
	dl, hasDeadline := rw.(interface{ SetReadDeadline(time.Time) error })
	defer func() {
		cancel()
		if hasDeadline {
			_ = dl.SetReadDeadline(time.Now())
			<-readerDone
		}
	}()

	silence := s.rtuSilence()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var buf []byte
	discarding := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			return err
		case c := <-chunks:
			timer.Reset(silence)
			if discarding {
				continue
			}
			buf = append(buf, c...)
			var err error
			buf, discarding, err = s.takeFrames(ctx, rw, buf)
			if err != nil {
				return err
			}
			if discarding {
				s.dropped.Add(1)
				buf = buf[:0]
			}
		case <-timer.C:
			// The line went quiet: whatever is held ends here.
			if len(buf) > 0 && !discarding {
				if frame.RTURequestLen(buf) == frame.Unknown && len(buf) >= 4 && frame.CheckCRC(buf) {
					if err := s.answerRTU(ctx, rw, buf); err != nil {
						return err
					}
				} else {
					s.dropped.Add(1)
				}
			}
			buf = buf[:0]
			discarding = false
		}
	}
}

// takeFrames answers every complete frame at the start of buf and returns what is left. bad
// reports a corrupt frame: the caller discards until silence.
func (s *Server) takeFrames(ctx context.Context, w io.Writer, buf []byte) (rest []byte, bad bool, err error) {
	for len(buf) > 0 {
		n := frame.RTURequestLen(buf)
		if n == frame.NeedMore || n == frame.Unknown {
			return buf, false, nil
		}
		if n > frame.MaxRTUFrame {
			return buf, true, nil
		}
		if len(buf) < n {
			return buf, false, nil
		}
		if !frame.CheckCRC(buf[:n]) {
			return buf, true, nil
		}
		if err := s.answerRTU(ctx, w, buf[:n]); err != nil {
			return nil, false, err
		}
		buf = append(buf[:0], buf[n:]...)
	}
	return buf, false, nil
}

// answerRTU answers one CRC-checked frame if it is addressed to one of the server's units.
func (s *Server) answerRTU(ctx context.Context, w io.Writer, adu []byte) error {
	unit := adu[0]
	pdu := append([]byte(nil), adu[1:len(adu)-2]...)
	r, known := s.process(unit, "rtu", pdu)
	if !known || r.pdu == nil {
		return nil
	}
	if !sleepCtx(ctx, r.delay) {
		return ctx.Err()
	}
	out := frame.AppendCRC(append([]byte{unit}, r.pdu...))
	if r.corrupt {
		out[len(out)-1] ^= 0xFF
	}
	if err := writeSplit(ctx, w, out, r.split); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, syscall.EIO) {
			return nil // the master side went away; the reply is lost as on a real line
		}
		return fmt.Errorf("modbussim: rtu write: %w", err)
	}
	return nil
}

// readLoop feeds chunks from rw until ctx ends or a read fails for good.
func readLoop(ctx context.Context, rw io.Reader, chunks chan<- []byte) error {
	for {
		b := make([]byte, 512)
		n, err := rw.Read(b)
		if n > 0 {
			select {
			case chunks <- b[:n]:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			continue
		}
		switch {
		case isTimeout(err):
			continue
		case errors.Is(err, syscall.EIO):
			// A pty reads EIO while nobody holds its other side open; wait for a client.
			if !sleepCtx(ctx, 5*time.Millisecond) {
				return ctx.Err()
			}
			continue
		}
		return fmt.Errorf("modbussim: rtu read: %w", err)
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	// serialport's timeout error, like net.Error, reports Timeout().
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
