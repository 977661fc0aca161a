package peer

import (
	"encoding/binary"
	"errors"
)

// WindowBits is how far behind the highest sequence number a message may arrive and still be
// accepted once (reordering between paths, or between UDP and TCP).
const WindowBits = 256

// Window is a sliding replay window over the sequence numbers of one sender boot: a number is
// accepted once, if it is above the highest seen, or at most WindowBits-1 below it and not seen
// yet. Everything else (seen before, or older than the window) is refused. The zero Window has
// seen nothing. It is a value with no pointers, so a caller may copy it, persist it
// (MarshalBinary) or not.
type Window struct {
	High uint64                  // highest seq accepted (0: none)
	Bits [WindowBits / 64]uint64 // bit i set: High-i was accepted
}

// Verdicts of Window.Check.
type Verdict uint8

const (
	Fresh Verdict = iota // above High: new, in order
	Late                 // below High, inside the window, not seen: new, out of order
	Seen                 // accepted before
	Old                  // below the window: cannot tell, refused
)

// Check says what seq would be, without recording it.
func (w *Window) Check(seq uint64) Verdict {
	switch {
	case seq == 0:
		return Old
	case seq > w.High:
		return Fresh
	case w.High-seq >= WindowBits:
		return Old
	}
	d := w.High - seq
	if w.Bits[d/64]&(1<<(d%64)) != 0 {
		return Seen
	}
	return Late
}

// Accept records seq if Check says Fresh or Late, and returns the verdict.
func (w *Window) Accept(seq uint64) Verdict {
	v := w.Check(seq)
	switch v {
	case Fresh:
		w.shift(seq - w.High)
		w.High = seq
		w.Bits[0] |= 1
	case Late:
		d := w.High - seq
		w.Bits[d/64] |= 1 << (d % 64)
	}
	return v
}

// shift moves the bitmap n places towards "older".
func (w *Window) shift(n uint64) {
	if n >= WindowBits {
		w.Bits = [WindowBits / 64]uint64{}
		return
	}
	words, bits := int(n/64), n%64
	for i := len(w.Bits) - 1; i >= 0; i-- {
		var v uint64
		if j := i - words; j >= 0 {
			v = w.Bits[j] << bits
			if bits > 0 && j-1 >= 0 {
				v |= w.Bits[j-1] >> (64 - bits)
			}
		}
		w.Bits[i] = v
	}
}

const windowLen = 8 + WindowBits/8

// MarshalBinary writes the window in 40 bytes (big-endian High, then the bitmap words).
func (w Window) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, windowLen)
	b = binary.BigEndian.AppendUint64(b, w.High)
	for _, x := range w.Bits {
		b = binary.BigEndian.AppendUint64(b, x)
	}
	return b, nil
}

// UnmarshalBinary reads what MarshalBinary wrote.
func (w *Window) UnmarshalBinary(b []byte) error {
	if len(b) != windowLen {
		return errors.New("peer: replay window state must be 40 bytes")
	}
	w.High = binary.BigEndian.Uint64(b)
	for i := range w.Bits {
		w.Bits[i] = binary.BigEndian.Uint64(b[8+8*i:])
	}
	return nil
}
