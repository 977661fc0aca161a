package meshsim

import (
	"time"

	"github.com/coldaisle/coldaisle/drivers/mesh"
)

// EncodeFrame returns p framed for the wire (flags, escaping, FCS).
func EncodeFrame(p mesh.Packet) []byte {
	return mesh.AppendPacketFrame(make([]byte, 0, mesh.MaxWire), p)
}

// DataPayload returns a notifData packet payload (notifType 4 first) carrying a sensor
// payload v1 for dstPort 0xF0B8. recs is not checked, so it can also build malformed payloads.
func DataPayload(mac [8]byte, nodeSeq uint8, batteryMV uint16, recs []mesh.Record, t time.Time) []byte {
	secs, usecs := mesh.UTC(t)
	return mesh.AppendDataNotification(nil, mesh.DataNotification{
		UTCSecs: secs, UTCUsecs: usecs, MAC: mac,
		SrcPort: mesh.SensorPort, DstPort: mesh.SensorPort,
		Data: mesh.AppendPayload(nil, nodeSeq, batteryMV, recs),
	})
}

// DataPacket returns a data notification packet with gateway seqNo seq, asking for an ack
// when ackReq.
func DataPacket(seq uint8, ackReq bool, mac [8]byte, nodeSeq uint8, batteryMV uint16, recs []mesh.Record, t time.Time) mesh.Packet {
	p := mesh.Packet{Type: mesh.TypeNotification, Seq: seq, Payload: DataPayload(mac, nodeSeq, batteryMV, recs, t)}
	if ackReq {
		p.Control = mesh.CtrlAckReq
	}
	return p
}

// DataFrame is EncodeFrame(DataPacket(...)).
func DataFrame(seq uint8, ackReq bool, mac [8]byte, nodeSeq uint8, batteryMV uint16, recs []mesh.Record, t time.Time) []byte {
	return EncodeFrame(DataPacket(seq, ackReq, mac, nodeSeq, batteryMV, recs, t))
}

// HelloResponseFrame is the gateway's answer to a hello with cliSeqNo, announcing mgrSeqNo.
func HelloResponseFrame(helloSeq, mgrSeqNo, cliSeqNo uint8) []byte {
	return EncodeFrame(mesh.Packet{Control: mesh.CtrlResponse, Type: mesh.TypeHelloResponse, Seq: helloSeq,
		Payload: []byte{mesh.RCOK, mesh.ProtocolVersion, mgrSeqNo, cliSeqNo, 0}})
}

// ManagerHelloFrame is a manager_hello with gateway seqNo seq.
func ManagerHelloFrame(seq uint8) []byte {
	return EncodeFrame(mesh.Packet{Type: mesh.TypeManagerHello, Seq: seq, Payload: []byte{mesh.ProtocolVersion, 0}})
}

// AckFrame acknowledges (RC_OK) a packet of type typ and seqNo seq.
func AckFrame(typ, seq uint8) []byte {
	return EncodeFrame(mesh.Packet{Control: mesh.CtrlResponse, Type: typ, Seq: seq, Payload: []byte{mesh.RCOK}})
}
