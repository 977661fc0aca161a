package mesh

import (
	"errors"
	"fmt"
)

// Control bits (§3).
const (
	CtrlResponse = 0x01 // bit 0: this packet is a response
	CtrlAckReq   = 0x02 // bit 1: the sender wants an acknowledgement
)

// Packet types (§3).
const (
	TypeHello         = 1
	TypeHelloResponse = 2
	TypeManagerHello  = 3
	TypeNotification  = 20
	TypeSubscribe     = 22
)

// Notification types (§4).
const (
	NotifEvent  = 1
	NotifLog    = 2
	NotifData   = 4
	NotifIPData = 5
	NotifHealth = 6
)

// Protocol constants.
const (
	ProtocolVersion = 4          // hello version
	FilterData      = 0x00000010 // subscribe filter bit for data notifications
	SensorPort      = 0xF0B8     // notifData dstPort of the sensor payload
	RCOK            = 0x00       // response code OK
)

// Sentinel errors of packet parsing.
var (
	ErrShortPacket = errors.New("mesh: packet shorter than its 4-byte header")
	ErrBadLength   = errors.New("mesh: payload length byte does not match the packet")
	ErrTooLong     = errors.New("mesh: packet longer than 132 bytes")
)

// Packet is one unframed packet. Payload aliases the parsed buffer.
type Packet struct {
	Control byte
	Type    byte
	Seq     byte
	Payload []byte
}

// IsResponse reports control bit 0.
func (p Packet) IsResponse() bool { return p.Control&CtrlResponse != 0 }

// WantsAck reports control bit 1.
func (p Packet) WantsAck() bool { return p.Control&CtrlAckReq != 0 }

// ParsePacket splits b (as passed to Deframer.OnFrame) into a Packet without copying.
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < HeaderLen {
		return Packet{}, ErrShortPacket
	}
	if len(b) > MaxPacket {
		return Packet{}, ErrTooLong
	}
	if int(b[3]) != len(b)-HeaderLen {
		return Packet{}, fmt.Errorf("%w (says %d, has %d)", ErrBadLength, b[3], len(b)-HeaderLen)
	}
	return Packet{Control: b[0], Type: b[1], Seq: b[2], Payload: b[HeaderLen:]}, nil
}

// AppendPacket appends the raw packet bytes of p (no framing). A payload longer than
// MaxPayload is truncated so the result is always a well-formed packet.
func AppendPacket(dst []byte, p Packet) []byte {
	pl := p.Payload
	if len(pl) > MaxPayload {
		pl = pl[:MaxPayload]
	}
	dst = append(dst, p.Control, p.Type, p.Seq, byte(len(pl)))
	return append(dst, pl...)
}

// AppendPacketFrame appends p framed for the wire. It builds the packet in a stack buffer, so
// it does not allocate beyond growing dst.
func AppendPacketFrame(dst []byte, p Packet) []byte {
	var scratch [MaxPacket]byte
	return AppendFrame(dst, AppendPacket(scratch[:0], p))
}
