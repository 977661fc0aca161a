package mesh

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sentinel errors of notification and payload parsing.
var (
	ErrMalformedNotification = errors.New("mesh: malformed notification")
	ErrBadVersion            = errors.New("mesh: sensor payload version is not 1")
	ErrMalformedPayload      = errors.New("mesh: malformed sensor payload")
)

// dataHeaderLen is notifType(1) utcSecs(8) utcUsecs(4) mac(8) srcPort(2) dstPort(2).
const dataHeaderLen = 1 + 8 + 4 + 8 + 2 + 2

// maxUTCSecs bounds utcSecs to year 9999 so a garbage time cannot overflow time.Time.
const maxUTCSecs = 253402300799

// DataNotification is a notifData body (§4). Data aliases the parsed buffer.
type DataNotification struct {
	UTCSecs  uint64
	UTCUsecs uint32
	MAC      [8]byte
	SrcPort  uint16
	DstPort  uint16
	Data     []byte
}

// Time is the gateway's time of the notification, in UTC.
func (n DataNotification) Time() time.Time {
	return time.Unix(int64(n.UTCSecs), int64(n.UTCUsecs)*1000).UTC()
}

// ParseDataNotification parses a notification packet payload (starting with notifType=4).
func ParseDataNotification(payload []byte) (DataNotification, error) {
	if len(payload) < dataHeaderLen {
		return DataNotification{}, fmt.Errorf("%w: notifData needs %d bytes, has %d", ErrMalformedNotification, dataHeaderLen, len(payload))
	}
	if payload[0] != NotifData {
		return DataNotification{}, fmt.Errorf("%w: notifType %d is not notifData", ErrMalformedNotification, payload[0])
	}
	var n DataNotification
	n.UTCSecs = binary.BigEndian.Uint64(payload[1:])
	n.UTCUsecs = binary.BigEndian.Uint32(payload[9:])
	copy(n.MAC[:], payload[13:21])
	n.SrcPort = binary.BigEndian.Uint16(payload[21:])
	n.DstPort = binary.BigEndian.Uint16(payload[23:])
	n.Data = payload[dataHeaderLen:]
	if n.UTCSecs > maxUTCSecs {
		return DataNotification{}, fmt.Errorf("%w: utcSecs %d beyond year 9999", ErrMalformedNotification, n.UTCSecs)
	}
	if n.UTCUsecs >= 1000000 {
		return DataNotification{}, fmt.Errorf("%w: utcUsecs %d not below 1000000", ErrMalformedNotification, n.UTCUsecs)
	}
	return n, nil
}

// AppendDataNotification appends a notifData payload (notifType first) for n.
func AppendDataNotification(dst []byte, n DataNotification) []byte {
	dst = append(dst, NotifData)
	dst = binary.BigEndian.AppendUint64(dst, n.UTCSecs)
	dst = binary.BigEndian.AppendUint32(dst, n.UTCUsecs)
	dst = append(dst, n.MAC[:]...)
	dst = binary.BigEndian.AppendUint16(dst, n.SrcPort)
	dst = binary.BigEndian.AppendUint16(dst, n.DstPort)
	return append(dst, n.Data...)
}

// UTC splits t into the notification's utcSecs and utcUsecs.
func UTC(t time.Time) (secs uint64, usecs uint32) {
	return uint64(t.Unix()), uint32(t.Nanosecond() / 1000)
}

// Kind is what a record measures.
type Kind uint8

// Record kinds (§5).
const (
	KindTemperature Kind = 1 // 0.01 °C
	KindHumidity    Kind = 2 // 0.01 %RH
	KindPressure    Kind = 3 // 0.01 Pa differential
)

// String returns "temperature", "humidity", "pressure" or "kind(N)".
func (k Kind) String() string {
	switch k {
	case KindTemperature:
		return "temperature"
	case KindHumidity:
		return "humidity"
	case KindPressure:
		return "pressure"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Unit returns "C", "%RH", "Pa", or "" for an unknown kind.
func (k Kind) Unit() string {
	switch k {
	case KindTemperature:
		return "C"
	case KindHumidity:
		return "%RH"
	case KindPressure:
		return "Pa"
	}
	return ""
}

// Known reports whether k is one of the spec's kinds.
func (k Kind) Known() bool { return k >= KindTemperature && k <= KindPressure }

// ProbeFault is the raw value of a sensor that exists but has no valid reading.
const ProbeFault int16 = -32768

// Record is one channel of a sensor payload. Value is raw, in 0.01 units.
type Record struct {
	Channel uint8
	Kind    Kind
	Value   int16
}

// Payload limits (§5).
const (
	PayloadVersion    = 0x01
	payloadHeaderLen  = 4
	recordLen         = 4
	MaxRecords        = 16
	maxPayloadDataLen = payloadHeaderLen + recordLen*MaxRecords
)

// Payload is a parsed sensor payload v1; records are read in place with Record(i).
type Payload struct {
	NodeSeq   uint8
	BatteryMV uint16 // 0 = unknown
	recs      []byte
}

// Len is the number of records.
func (p Payload) Len() int { return len(p.recs) / recordLen }

// Record returns record i (0 <= i < Len()).
func (p Payload) Record(i int) Record {
	r := p.recs[i*recordLen : i*recordLen+recordLen]
	return Record{Channel: r[0], Kind: Kind(r[1]), Value: int16(binary.BigEndian.Uint16(r[2:]))}
}

// ParsePayload checks and parses a sensor payload v1 without copying.
func ParsePayload(data []byte) (Payload, error) {
	if len(data) < 1 {
		return Payload{}, fmt.Errorf("%w: empty", ErrMalformedPayload)
	}
	if data[0] != PayloadVersion {
		return Payload{}, fmt.Errorf("%w (got %d)", ErrBadVersion, data[0])
	}
	n := len(data) - payloadHeaderLen
	if n < recordLen || n > recordLen*MaxRecords || n%recordLen != 0 {
		return Payload{}, fmt.Errorf("%w: length %d is not 4+4n with n in 1..16", ErrMalformedPayload, len(data))
	}
	return Payload{NodeSeq: data[1], BatteryMV: binary.BigEndian.Uint16(data[2:]), recs: data[payloadHeaderLen:]}, nil
}

// AppendPayload appends a sensor payload v1. It does not enforce 1..16 records, so tests and
// simulators can also produce malformed payloads.
func AppendPayload(dst []byte, nodeSeq uint8, batteryMV uint16, recs []Record) []byte {
	dst = append(dst, PayloadVersion, nodeSeq)
	dst = binary.BigEndian.AppendUint16(dst, batteryMV)
	for _, r := range recs {
		dst = append(dst, r.Channel, byte(r.Kind))
		dst = binary.BigEndian.AppendUint16(dst, uint16(r.Value))
	}
	return dst
}
