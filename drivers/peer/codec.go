package peer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// Protocol versions. Version is what this build speaks and writes into every message; a
// message is readable by this build when its compat field is at most Version, and it is
// accepted only when its version is at least MinVersion (the oldest release this one still
// pairs with).
const (
	Version    = 1
	MinVersion = 1
)

// Sizes on the wire.
const (
	PrefixLen    = 16  // the frozen part of the header: the same offsets in every version
	HeaderLen    = 120 // the v1 header; newer versions may send more (hdr_len)
	MACLen       = sha256.Size
	MaxHeader    = 1024    // a longer hdr_len is malformed
	MaxFrame     = 4 << 20 // the largest frame accepted at all (TCP bulk)
	MinKeyLen    = 32      // pre-shared key bytes
	SoftwareLen  = 32      // software version field, ASCII, NUL padded
	HeartbeatLen = 24      // v1 heartbeat body
	AckLen       = 18      // v1 ack body
	minFrame     = HeaderLen + MACLen
)

var magic = [2]byte{0xCA, 0x1E}

// Errors of Open (and of ReadFrame), each matched with errors.Is. None of them depends on the
// key except ErrBadMAC; a message is authenticated before any of its fields past the frozen
// prefix is believed.
var (
	ErrMalformed    = errors.New("peer: malformed message")
	ErrBadMAC       = errors.New("peer: message authentication failed")
	ErrWrongVersion = errors.New("peer: incompatible protocol version")
	ErrUnknownType  = errors.New("peer: unknown message type")
	ErrKey          = errors.New("peer: key shorter than 32 bytes")
)

// Type is a message type.
type Type uint8

// Message types. New types may be added without raising compat: a receiver that does not know
// one drops it (counted unknown_type).
const (
	TypeHeartbeat Type = 1 // binary, fixed: liveness and the sender's standing
	TypeReadings  Type = 2 // opaque payload: sensor readings (JSON in practice)
	TypeLoopState Type = 3 // opaque payload: per-loop state every control period
	TypeConfig    Type = 4 // opaque payload: a committed configuration (bulk: TCP when large)
	TypeAck       Type = 5 // binary, fixed: "I have your message seq N (of type T)"
)

func (t Type) String() string {
	switch t {
	case TypeHeartbeat:
		return "heartbeat"
	case TypeReadings:
		return "readings"
	case TypeLoopState:
		return "loop_state"
	case TypeConfig:
		return "config"
	case TypeAck:
		return "ack"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

func (t Type) known() bool { return t >= TypeHeartbeat && t <= TypeAck }

// Role is the sender's role as the pair state machine names it. Values a newer release adds
// are decoded as they are (Role(n)); a receiver must treat a role it does not know as one that
// may be writing to the units (never two writers).
type Role uint8

// Roles on the wire.
const (
	RoleNone     Role = 0 // not decided yet
	RoleStarting Role = 1 // up, not yet warm
	RoleStandby  Role = 2 // warm, not writing
	RoleActive   Role = 3 // writing to the units
	RoleFaulted  Role = 4 // cannot control (no units, no sensors): must not be chosen active
)

func (r Role) String() string {
	switch r {
	case RoleNone:
		return "none"
	case RoleStarting:
		return "starting"
	case RoleStandby:
		return "standby"
	case RoleActive:
		return "active"
	case RoleFaulted:
		return "faulted"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Header is what every message carries. Encode fills Version and Compat; a Link fills NodeID,
// BootID, PeerBoot, Seq and Path itself.
type Header struct {
	Version       uint8  // sender's protocol version
	Compat        uint8  // the lowest receiver version that can read this message
	Type          Type   //
	Role          Role   //
	Path          uint8  // index of the path this copy was sent on
	NodeID        uint16 // sender, 1..65535
	BootID        uint64 // sender's boot (random per start, never 0)
	PeerBoot      uint64 // the receiver's boot id as the sender last heard it (0: none yet)
	Seq           uint64 // per sender boot: 1, 2, 3, ... per message, the same on every path
	Epoch         uint64 // the failover epoch the sender knows
	ConfigVersion uint64 // the configuration version it runs
	ConfigHash    [32]byte
	Software      string // release, printable ASCII, at most 32 bytes
}

// Heartbeat is the binary, fixed body of TypeHeartbeat.
type Heartbeat struct {
	Priority   uint16 // the identity's priority
	Flags      uint16 // HB* bits
	IntervalMS uint32 // the sender's heartbeat period: silence is judged against it
	UptimeMS   uint64 // since the sender's boot, monotonic
	AckSeq     uint64 // the highest seq the sender has accepted from the receiver
}

// Heartbeat flags. Unknown bits are kept and ignored.
const (
	HBInControl uint16 = 1 << 0 // writing to the units this period
	HBSensorsOK uint16 = 1 << 1 // hears the mesh gateway
	HBUnitsOK   uint16 = 1 << 2 // reaches the units' Modbus
	HBWarm      uint16 = 1 << 3 // has the active's loop state and configuration
	HBYield     uint16 = 1 << 4 // hands over: the receiver may take over at once
	HBHoldStby  uint16 = 1 << 5 // held standby by an operator (never takes over)
	HBHoldAct   uint16 = 1 << 6 // held active by an operator
)

// Ack is the binary, fixed body of TypeAck.
type Ack struct {
	Of     Type   // type of the acknowledged message
	Status uint8  // 0 accepted; other values refuse (the sender logs them)
	Seq    uint64 // seq of the acknowledged message (of the receiver's current boot)
	Value  uint64 // type-dependent: the configuration version stored, for TypeConfig
}

// Message is one decoded message. Heartbeat, Ack or Payload holds the body, by Header.Type.
type Message struct {
	Header    Header
	Heartbeat Heartbeat
	Ack       Ack
	Payload   []byte // Readings, LoopState, Config: opaque to this package
}

// Codec seals and opens messages under one pre-shared key. It is safe for concurrent use.
type Codec struct {
	pool sync.Pool
}

// NewCodec returns a Codec for key (at least MinKeyLen bytes). The key is copied.
func NewCodec(key []byte) (*Codec, error) {
	if len(key) < MinKeyLen {
		return nil, ErrKey
	}
	k := append([]byte(nil), key...)
	c := &Codec{}
	c.pool.New = func() any { return hmac.New(sha256.New, k) }
	return c, nil
}

func (c *Codec) mac(dst, data []byte) []byte {
	h := c.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(data)
	dst = h.Sum(dst)
	c.pool.Put(h)
	return dst
}

// bodyLen is the v1 body length of a message, or an error for what cannot be sent.
func bodyLen(m *Message) (int, error) {
	switch m.Header.Type {
	case TypeHeartbeat:
		return HeartbeatLen, nil
	case TypeAck:
		return AckLen, nil
	case TypeReadings, TypeLoopState, TypeConfig:
		if len(m.Payload) > MaxFrame-minFrame-4 {
			return 0, fmt.Errorf("peer: %s payload of %d bytes is over the %d byte frame limit", m.Header.Type, len(m.Payload), MaxFrame)
		}
		return 4 + len(m.Payload), nil
	}
	return 0, fmt.Errorf("%w: %d", ErrUnknownType, m.Header.Type)
}

// Seal appends the authenticated frame of m to dst. Version and Compat are set to this build's.
// It refuses what a receiver would refuse (node 0, boot 0, seq 0, a bad software string).
func (c *Codec) Seal(dst []byte, m *Message) ([]byte, error) {
	h := &m.Header
	if h.NodeID == 0 || h.BootID == 0 || h.Seq == 0 {
		return dst, errors.New("peer: node id, boot id and seq must be non-zero")
	}
	if err := checkSoftware([]byte(h.Software)); err != nil {
		return dst, err
	}
	n, err := bodyLen(m)
	if err != nil {
		return dst, err
	}
	start := len(dst)
	ver, compat, ext := Speaks()
	var hb [HeaderLen]byte
	hb[0], hb[1] = magic[0], magic[1]
	hb[2] = ver
	hb[3] = compat
	hb[4] = byte(h.Type)
	hb[5] = byte(h.Role)
	hb[6] = h.Path
	hb[7] = 0
	binary.BigEndian.PutUint16(hb[8:], h.NodeID)
	binary.BigEndian.PutUint16(hb[10:], uint16(HeaderLen+ext))
	binary.BigEndian.PutUint32(hb[12:], uint32(n))
	binary.BigEndian.PutUint64(hb[16:], h.BootID)
	binary.BigEndian.PutUint64(hb[24:], h.PeerBoot)
	binary.BigEndian.PutUint64(hb[32:], h.Seq)
	binary.BigEndian.PutUint64(hb[40:], h.Epoch)
	binary.BigEndian.PutUint64(hb[48:], h.ConfigVersion)
	copy(hb[56:88], h.ConfigHash[:])
	copy(hb[88:120], h.Software)
	dst = append(dst, hb[:]...)
	dst = append(dst, make([]byte, ext)...)
	switch h.Type {
	case TypeHeartbeat:
		b := &m.Heartbeat
		dst = binary.BigEndian.AppendUint16(dst, b.Priority)
		dst = binary.BigEndian.AppendUint16(dst, b.Flags)
		dst = binary.BigEndian.AppendUint32(dst, b.IntervalMS)
		dst = binary.BigEndian.AppendUint64(dst, b.UptimeMS)
		dst = binary.BigEndian.AppendUint64(dst, b.AckSeq)
	case TypeAck:
		a := &m.Ack
		dst = append(dst, byte(a.Of), a.Status)
		dst = binary.BigEndian.AppendUint64(dst, a.Seq)
		dst = binary.BigEndian.AppendUint64(dst, a.Value)
	default:
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.Payload)))
		dst = append(dst, m.Payload...)
	}
	return c.mac(dst, dst[start:]), nil
}

// FrameLen reads the frozen prefix of a frame and returns the whole frame's length. It checks
// the magic and the lengths' bounds only: nothing here is authenticated yet.
func FrameLen(prefix []byte) (int, error) {
	if len(prefix) < PrefixLen {
		return 0, fmt.Errorf("%w: %d bytes, shorter than the %d byte prefix", ErrMalformed, len(prefix), PrefixLen)
	}
	if prefix[0] != magic[0] || prefix[1] != magic[1] {
		return 0, fmt.Errorf("%w: bad magic %#02x%02x", ErrMalformed, prefix[0], prefix[1])
	}
	hl := int(binary.BigEndian.Uint16(prefix[10:]))
	bl := uint64(binary.BigEndian.Uint32(prefix[12:]))
	if hl < HeaderLen || hl > MaxHeader {
		return 0, fmt.Errorf("%w: header length %d outside %d..%d", ErrMalformed, hl, HeaderLen, MaxHeader)
	}
	total := uint64(hl) + bl + MACLen
	if total > MaxFrame {
		return 0, fmt.Errorf("%w: frame of %d bytes over the %d byte limit", ErrMalformed, total, MaxFrame)
	}
	return int(total), nil
}

// Open authenticates one frame and decodes it into m. The frame must be exactly one message
// (a datagram, or what ReadFrame returned). m.Payload aliases frame.
//
// Order: the lengths, then the MAC (constant time), then the version, then the fields; so
// only an authentic message is ever counted as of the wrong version or type.
func (c *Codec) Open(frame []byte, m *Message) error {
	total, err := FrameLen(frame)
	if err != nil {
		return err
	}
	if total != len(frame) {
		return fmt.Errorf("%w: %d bytes, the header says %d", ErrMalformed, len(frame), total)
	}
	var sum [MACLen]byte
	body := frame[:total-MACLen]
	if !hmac.Equal(c.mac(sum[:0], body), frame[total-MACLen:]) {
		return ErrBadMAC
	}
	ver, compat := frame[2], frame[3]
	if compat > Version || ver < MinVersion || compat > ver {
		return fmt.Errorf("%w: version %d (readable from %d), this build speaks %d (pairs from %d)", ErrWrongVersion, ver, compat, Version, MinVersion)
	}
	hl := int(binary.BigEndian.Uint16(frame[10:]))
	h := &m.Header
	*m = Message{}
	h.Version, h.Compat = ver, compat
	h.Type = Type(frame[4])
	h.Role = Role(frame[5])
	h.Path = frame[6]
	h.NodeID = binary.BigEndian.Uint16(frame[8:])
	h.BootID = binary.BigEndian.Uint64(frame[16:])
	h.PeerBoot = binary.BigEndian.Uint64(frame[24:])
	h.Seq = binary.BigEndian.Uint64(frame[32:])
	h.Epoch = binary.BigEndian.Uint64(frame[40:])
	h.ConfigVersion = binary.BigEndian.Uint64(frame[48:])
	copy(h.ConfigHash[:], frame[56:88])
	sw := frame[88:120]
	for len(sw) > 0 && sw[len(sw)-1] == 0 {
		sw = sw[:len(sw)-1]
	}
	if err := checkSoftware(sw); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	h.Software = string(sw)
	if h.NodeID == 0 || h.BootID == 0 || h.Seq == 0 {
		return fmt.Errorf("%w: zero node id, boot id or seq", ErrMalformed)
	}
	b := body[hl:] // the body; fields a newer version appended past the ones known are ignored
	switch h.Type {
	case TypeHeartbeat:
		if len(b) < HeartbeatLen {
			return fmt.Errorf("%w: heartbeat body of %d bytes, want at least %d", ErrMalformed, len(b), HeartbeatLen)
		}
		m.Heartbeat = Heartbeat{
			Priority:   binary.BigEndian.Uint16(b[0:]),
			Flags:      binary.BigEndian.Uint16(b[2:]),
			IntervalMS: binary.BigEndian.Uint32(b[4:]),
			UptimeMS:   binary.BigEndian.Uint64(b[8:]),
			AckSeq:     binary.BigEndian.Uint64(b[16:]),
		}
	case TypeAck:
		if len(b) < AckLen {
			return fmt.Errorf("%w: ack body of %d bytes, want at least %d", ErrMalformed, len(b), AckLen)
		}
		m.Ack = Ack{Of: Type(b[0]), Status: b[1], Seq: binary.BigEndian.Uint64(b[2:]), Value: binary.BigEndian.Uint64(b[10:])}
	case TypeReadings, TypeLoopState, TypeConfig:
		if len(b) < 4 {
			return fmt.Errorf("%w: %s body of %d bytes, no payload length", ErrMalformed, h.Type, len(b))
		}
		n := uint64(binary.BigEndian.Uint32(b))
		if n > uint64(len(b)-4) {
			return fmt.Errorf("%w: %s payload of %d bytes in a %d byte body", ErrMalformed, h.Type, n, len(b))
		}
		m.Payload = b[4 : 4+n : 4+n]
	default:
		return fmt.Errorf("%w: %d", ErrUnknownType, uint8(h.Type))
	}
	return nil
}

// ReadFrame reads one frame from a stream (TCP): the prefix, then the rest as the prefix says,
// never more than max bytes (at most MaxFrame). The frame is not authenticated: Open it.
func ReadFrame(r io.Reader, max int) ([]byte, error) {
	var p [PrefixLen]byte
	if _, err := io.ReadFull(r, p[:]); err != nil {
		return nil, err
	}
	n, err := FrameLen(p[:])
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("%w: frame of %d bytes over the %d byte limit", ErrMalformed, n, max)
	}
	if n < minFrame {
		return nil, fmt.Errorf("%w: frame of %d bytes, shorter than %d", ErrMalformed, n, minFrame)
	}
	buf := make([]byte, n)
	copy(buf, p[:])
	if _, err := io.ReadFull(r, buf[PrefixLen:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

func checkSoftware(s []byte) error {
	if len(s) > SoftwareLen {
		return fmt.Errorf("peer: software version of %d bytes, at most %d", len(s), SoftwareLen)
	}
	for _, c := range s {
		if c < 0x21 || c > 0x7e {
			return fmt.Errorf("peer: software version has byte %#02x: printable ASCII only, no spaces", c)
		}
	}
	return nil
}
