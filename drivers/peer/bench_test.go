package peer

import "testing"

func benchHeartbeat(b *testing.B) (*Codec, Message, []byte) {
	c := testCodec(b)
	m := Message{Header: sampleHeader(TypeHeartbeat), Heartbeat: Heartbeat{Priority: 100, IntervalMS: 200}}
	f, err := c.Seal(nil, &m)
	if err != nil {
		b.Fatal(err)
	}
	return c, m, f
}

// BenchmarkSealHeartbeat: encode and MAC one heartbeat into a reused buffer.
func BenchmarkSealHeartbeat(b *testing.B) {
	c, m, _ := benchHeartbeat(b)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = c.Seal(buf[:0], &m)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkOpenHeartbeat: verify the MAC and decode one heartbeat.
func BenchmarkOpenHeartbeat(b *testing.B) {
	c, _, f := benchHeartbeat(b)
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		if err := c.Open(f, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenBadMAC: the cost of refusing a forged heartbeat (a flood's price).
func BenchmarkOpenBadMAC(b *testing.B) {
	c, _, f := benchHeartbeat(b)
	f[len(f)-1] ^= 1
	var m Message
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Open(f, &m); err == nil {
			b.Fatal("accepted")
		}
	}
}

// BenchmarkWindowAccept: the replay window on an in-order stream.
func BenchmarkWindowAccept(b *testing.B) {
	var w Window
	var s uint64
	for b.Loop() {
		s++
		w.Accept(s)
	}
}
