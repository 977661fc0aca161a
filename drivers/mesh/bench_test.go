package mesh

import (
	"testing"
	"time"
)

// frame10 is an acknowledged data notification with 10 records on the wire.
func frame10() []byte {
	rs := make([]Record, 10)
	for i := range rs {
		rs[i] = Record{Channel: uint8(i + 1), Kind: Kind(1 + i%3), Value: int16(2000 + 37*i)}
	}
	rs[4].Value = ProbeFault
	p := Packet{Control: CtrlAckReq, Type: TypeNotification, Seq: 0x7E, // needs escaping
		Payload: notifPayload(workedMAC, SensorPort, AppendPayload(nil, 0x7D, 3012, rs), time.Unix(1795000000, 250000000))}
	return AppendPacketFrame(nil, p)
}

// decodePipeline is deframe + packet parse + payload decode, as BenchmarkDecodeFrame10Records measures.
type decodePipeline struct {
	d   *Deframer
	dec *Decoder
	sum float64
	n   int
}

func newDecodePipeline() *decodePipeline {
	pl := &decodePipeline{dec: NewDecoder(nil)}
	deliver := func(r Reading) { pl.sum += r.Value; pl.n++ }
	pl.d = NewDeframer(func(b []byte) {
		p, err := ParsePacket(b)
		if err != nil || p.Type != TypeNotification {
			return
		}
		pl.dec.Notification(p.Payload, deliver)
	}, nil)
	return pl
}

func BenchmarkDecodeFrame10Records(b *testing.B) {
	wire := frame10()
	pl := newDecodePipeline()
	pl.d.Feed(wire) // warm the sensor id cache
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		pl.d.Feed(wire)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	if pl.n != 10*(b.N+1) {
		b.Fatalf("%d readings for %d frames", pl.n, b.N+1)
	}
}

// BenchmarkSessionFrame10Records adds the session (duplicate rule, ack encoding) to the pipeline.
func BenchmarkSessionFrame10Records(b *testing.B) {
	n := 0
	s := NewSession(SessionConfig{}, nil, func(Reading) { n++ })
	now := time.Now()
	s.Start(now)
	s.Step(AppendPacket(nil, Packet{Control: CtrlResponse, Type: TypeHelloResponse, Payload: []byte{0, 4, 0, 0xFF, 0}}), now)
	s.Step(AppendPacket(nil, Packet{Control: CtrlResponse, Type: TypeSubscribe, Seq: 0, Payload: []byte{0}}), now)
	// Alternate two seqNos so no frame is a duplicate.
	d := NewDeframer(func(f []byte) { s.Step(f, now) }, nil)
	frames := [][]byte{frame10WithSeq(1), frame10WithSeq(2)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Feed(frames[i&1])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	if n < 10*b.N {
		b.Fatalf("%d readings for %d frames", n, b.N)
	}
}

func frame10WithSeq(seq uint8) []byte {
	rs := make([]Record, 10)
	for i := range rs {
		rs[i] = Record{Channel: uint8(i + 1), Kind: KindTemperature, Value: int16(2000 + i)}
	}
	return AppendPacketFrame(nil, Packet{Control: CtrlAckReq, Type: TypeNotification, Seq: seq,
		Payload: notifPayload(workedMAC, SensorPort, AppendPayload(nil, seq, 3012, rs), time.Unix(1795000000, 0))})
}

// TestSteadyStateDoesNotAllocate holds the benchmark's 0 allocs/op as a test.
func TestSteadyStateDoesNotAllocate(t *testing.T) {
	wire := frame10()
	pl := newDecodePipeline()
	pl.d.Feed(wire)
	if a := testing.AllocsPerRun(200, func() { pl.d.Feed(wire) }); a != 0 {
		t.Errorf("deframe+decode: %v allocs per frame, want 0", a)
	}

	s := NewSession(SessionConfig{}, nil, func(Reading) {})
	now := time.Now()
	s.Start(now)
	s.Step(AppendPacket(nil, Packet{Control: CtrlResponse, Type: TypeHelloResponse, Payload: []byte{0, 4, 0, 0xFF, 0}}), now)
	s.Step(AppendPacket(nil, Packet{Control: CtrlResponse, Type: TypeSubscribe, Seq: 0, Payload: []byte{0}}), now)
	d := NewDeframer(func(f []byte) { s.Step(f, now) }, nil)
	frames := [][]byte{frame10WithSeq(1), frame10WithSeq(2)}
	d.Feed(frames[0])
	i := 1
	if a := testing.AllocsPerRun(200, func() { d.Feed(frames[i&1]); i++ }); a != 0 {
		t.Errorf("session step: %v allocs per frame, want 0", a)
	}
}
