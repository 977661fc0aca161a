package mesh

// Framing constants of the spec (§2, §3).
const (
	Flag       = 0x7E // starts and ends a frame
	Escape     = 0x7D // the next byte is XORed with EscapeXOR
	EscapeXOR  = 0x20
	HeaderLen  = 4                      // control, packetType, seqNo, payloadLen
	MaxPayload = 128                    // largest payload
	MaxPacket  = HeaderLen + MaxPayload // largest packet
	maxFrame   = MaxPacket + 2          // packet + FCS, unescaped
	minFrame   = HeaderLen + 2          // header + FCS
	MaxWire    = 2 + 2*maxFrame         // worst-case escaped frame with both flags
)

// AppendFrame appends packet framed for the wire: flag, escaped packet and FCS (low byte
// first), flag. It does not check the packet; AppendPacket builds a well-formed one.
func AppendFrame(dst, packet []byte) []byte {
	fcs := FCS16(packet)
	dst = append(dst, Flag)
	for _, b := range packet {
		dst = appendEscaped(dst, b)
	}
	dst = appendEscaped(dst, byte(fcs))
	dst = appendEscaped(dst, byte(fcs>>8))
	return append(dst, Flag)
}

func appendEscaped(dst []byte, b byte) []byte {
	if b == Flag || b == Escape {
		return append(dst, Escape, b^EscapeXOR)
	}
	return append(dst, b)
}

type deframeState uint8

const (
	stHunt    deframeState = iota // before the first flag, or after a too-long frame
	stFrame                       // inside a frame
	stEscaped                     // inside a frame, after 0x7D
)

// Deframer splits a byte stream into packets. It resynchronises on every flag, so garbage,
// truncated frames and a gateway that rebooted mid-frame cost at most the frames they touch.
// It reuses one internal buffer: the slice passed to OnFrame is valid only during the call.
// Feed does not allocate. A Deframer is not safe for concurrent use.
type Deframer struct {
	// OnFrame receives each packet (header + payload, FCS checked and removed, length byte
	// checked) in arrival order.
	OnFrame func(packet []byte)
	// OnDrop is told why a frame was discarded (CountBadFCS, CountTooLong, ...). May be nil.
	OnDrop func(reason Counter)

	buf   [maxFrame]byte
	n     int
	state deframeState
	// hunting is true while bytes before the first flag are being skipped; the run is counted once.
	noSyncCounted bool
}

// NewDeframer returns a Deframer that starts hunting for a flag.
func NewDeframer(onFrame func(packet []byte), onDrop func(reason Counter)) *Deframer {
	return &Deframer{OnFrame: onFrame, OnDrop: onDrop}
}

// Reset forgets any partial frame and hunts for the next flag (for example after the port
// was reopened).
func (d *Deframer) Reset() {
	d.state = stHunt
	d.n = 0
	d.noSyncCounted = false
}

func (d *Deframer) drop(r Counter) {
	if d.OnDrop != nil {
		d.OnDrop(r)
	}
}

// Feed consumes p. It may call OnFrame and OnDrop any number of times.
func (d *Deframer) Feed(p []byte) {
	for i := 0; i < len(p); i++ {
		if d.state == stFrame {
			// Fast path: copy the run of ordinary bytes up to the next flag or escape.
			n := d.n
			for i < len(p) && n < len(d.buf) {
				b := p[i]
				if b == Flag || b == Escape {
					break
				}
				d.buf[n] = b
				n++
				i++
			}
			d.n = n
			if i == len(p) {
				return
			}
		}
		b := p[i]
		switch d.state {
		case stHunt:
			if b == Flag {
				d.state, d.n = stFrame, 0
				d.noSyncCounted = false
			} else if !d.noSyncCounted {
				d.noSyncCounted = true
				d.drop(CountNoSync)
			}
		case stFrame:
			switch b {
			case Flag:
				d.end()
			case Escape:
				d.state = stEscaped
			default:
				d.put(b) // only reached when the buffer is full
			}
		case stEscaped:
			if b == Flag {
				// RFC 1662 abort: the frame is void; this flag opens the next one.
				d.drop(CountBadEscape)
				d.state, d.n = stFrame, 0
				continue
			}
			d.state = stFrame
			d.put(b ^ EscapeXOR)
		}
	}
}

func (d *Deframer) put(b byte) {
	if d.n == len(d.buf) {
		d.drop(CountTooLong)
		d.state, d.n = stHunt, 0
		d.noSyncCounted = true // the rest of this frame is part of the same drop
		return
	}
	d.buf[d.n] = b
	d.n++
}

// end closes the frame at a flag; the flag also opens the next frame.
func (d *Deframer) end() {
	n := d.n
	d.n = 0
	switch {
	case n == 0:
		return // back-to-back flags
	case n < minFrame:
		d.drop(CountShortFrame)
	case fcsRegister(fcsInit, d.buf[:n]) != fcsGood:
		d.drop(CountBadFCS)
	case int(d.buf[3]) != n-2-HeaderLen:
		d.drop(CountBadLength)
	default:
		if d.OnFrame != nil {
			d.OnFrame(d.buf[:n-2])
		}
	}
}
