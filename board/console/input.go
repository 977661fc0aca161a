package console

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"time"
)

// Keys the input filter rewrites before x/term sees them.
const (
	keyCtrlC = 0x03
	// keyCancel stands for Ctrl-C: x/term ends ReadLine on a real Ctrl-C as if the line were closed;
	// on a console a stray Ctrl-C from a terminal program must clear the line, never log out, so the
	// filter turns it into a control byte x/term hands to the completion callback.
	keyCancel  = 0x07
	keyTab     = '\t'
	keyLiteral = 0x16 // Ctrl-V: the next key is taken literally ("?" in a value)
)

var (
	errIdle = errors.New("console: idle timeout")
)

type chunk struct {
	b   []byte
	err error
}

// crFilter makes CR, LF and CRLF all one Enter, across reads (a serial line may split CR from LF,
// and an extra empty line at the Password prompt would count as a failed login), drops NUL (sent
// after CR by some terminals) and rewrites Ctrl-C.
type crFilter struct{ lastCR bool }

func (f *crFilter) filter(in []byte) []byte {
	out := in[:0]
	for _, b := range in {
		if b == '\n' && f.lastCR {
			f.lastCR = false
			continue
		}
		f.lastCR = b == '\r'
		switch b {
		case 0:
			continue
		case keyCtrlC:
			b = keyCancel
		}
		out = append(out, b)
	}
	return out
}

// pump reads r until an error or ctx ends, sending filtered chunks. Read timeouts (a serial port
// with a read timeout) are not errors.
func pump(ctx context.Context, r io.Reader, out chan<- chunk) {
	var f crFilter
	for {
		buf := make([]byte, 256)
		n, err := r.Read(buf)
		if ctx.Err() != nil {
			return
		}
		if n > 0 {
			if b := f.filter(buf[:n]); len(b) > 0 {
				select {
				case out <- chunk{b: b}:
				case <-ctx.Done():
					return
				}
			}
		}
		if err != nil {
			if isTimeout(err) {
				continue
			}
			select {
			case out <- chunk{err: err}:
			case <-ctx.Done():
			}
			return
		}
	}
}

// isTimeout reports a read that only timed out: a deadline, an error with Timeout() true, or one
// that says so (a serial port's read timeout; the console must not end because nobody typed).
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	if errors.As(err, &t) {
		return t.Timeout()
	}
	return strings.Contains(strings.ToLower(err.Error()), "timeout")
}

// input is the session side of the pump: buffered bytes, a sticky end of stream, and the idle
// deadline measured from the last key.
type input struct {
	ctx     context.Context
	clk     Clock
	ch      <-chan chunk
	pending []byte
	err     error // end of the stream (sticky)
	idle    time.Duration
	last    time.Time
}

// Read serves the terminal. With an idle timeout set it fails with errIdle once no key came for
// that long; the deadline is an instant, so a fake clock that moved early still trips it.
func (in *input) Read(p []byte) (int, error) {
	if len(in.pending) > 0 {
		n := copy(p, in.pending)
		in.pending = in.pending[n:]
		return n, nil
	}
	if in.err != nil {
		return 0, in.err
	}
	var idleC <-chan time.Time
	if in.idle > 0 {
		t := in.clk.TimerAt(in.last.Add(in.idle))
		defer t.Stop()
		idleC = t.C()
	}
	select {
	case c := <-in.ch:
		if c.err != nil {
			in.err = c.err
			return 0, c.err
		}
		in.last = in.clk.Now()
		n := copy(p, c.b)
		in.pending = c.b[n:]
		return n, nil
	case <-idleC:
		return 0, errIdle
	case <-in.ctx.Done():
		return 0, in.ctx.Err()
	}
}

// key waits for a key press, the timer (nil: none) or the end of the session. It returns true for
// a key (or the end of the stream) and false when the timer fired.
func (in *input) key(timer <-chan time.Time) (bool, error) {
	if len(in.pending) > 0 {
		in.pending = nil
		return true, nil
	}
	if in.err != nil {
		return true, nil
	}
	select {
	case c := <-in.ch:
		if c.err != nil {
			in.err = c.err
		}
		in.last = in.clk.Now()
		return true, nil
	case <-timer:
		return false, nil
	case <-in.ctx.Done():
		return true, in.ctx.Err()
	}
}

// drain drops what was typed ahead (before a streaming command that stops on any key).
func (in *input) drain() {
	in.pending = nil
	for {
		select {
		case c := <-in.ch:
			if c.err != nil {
				in.err = c.err
				return
			}
		default:
			return
		}
	}
}
