package peer

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to Open, both as they are and re-MACed under the key (so the
// fuzzer reaches the field decoding past the MAC). Open must never panic; whatever it accepts
// must seal again and open to the same message.
func FuzzOpen(f *testing.F) {
	c := testCodec(f)
	for _, typ := range []Type{TypeHeartbeat, TypeAck, TypeReadings, TypeConfig} {
		m := Message{Header: sampleHeader(typ), Payload: []byte("seed")}
		fr, _ := c.Seal(nil, &m)
		f.Add(fr[:len(fr)-MACLen])
	}
	f.Add([]byte{0xCA, 0x1E, 1, 1, 1, 0, 0, 0, 0, 1, 0, 120, 0, 0, 0, 24})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		_ = c.Open(data, &m)
		mac := hmac.New(sha256.New, testKey)
		mac.Write(data)
		fr := mac.Sum(append([]byte(nil), data...))
		if err := c.Open(fr, &m); err != nil {
			return
		}
		again, err := c.Seal(nil, &m)
		if err != nil {
			t.Fatalf("opened but cannot seal again: %v (%+v)", err, m.Header)
		}
		var m2 Message
		if err := c.Open(again, &m2); err != nil {
			t.Fatalf("resealed frame refused: %v", err)
		}
		m.Header.Version, m.Header.Compat = Version, MinVersion
		if m2.Header != m.Header || m2.Heartbeat != m.Heartbeat || m2.Ack != m.Ack || !bytes.Equal(m2.Payload, m.Payload) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, m2)
		}
		if _, err := ReadFrame(bytes.NewReader(fr), MaxFrame); err != nil {
			t.Fatalf("ReadFrame refuses what Open accepts: %v", err)
		}
	})
}
