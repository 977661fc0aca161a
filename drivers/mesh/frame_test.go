package mesh

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// collector gathers what a Deframer produces.
type collector struct {
	frames [][]byte
	drops  map[Counter]int
}

func newCollector() (*collector, *Deframer) {
	c := &collector{drops: map[Counter]int{}}
	d := NewDeframer(func(p []byte) { c.frames = append(c.frames, append([]byte(nil), p...)) },
		func(r Counter) { c.drops[r]++ })
	return c, d
}

func (c *collector) nDrops() int {
	n := 0
	for r, v := range c.drops {
		if r != CountNoSync {
			n += v
		}
	}
	return n
}

func TestFCS16CheckValue(t *testing.T) {
	if got := FCS16([]byte("123456789")); got != 0x906E {
		t.Fatalf("FCS16(123456789) = %#04x, want 0x906e", got)
	}
	if got := FCS16(nil); got != 0x0000 {
		t.Fatalf("FCS16(empty) = %#04x, want 0x0000", got)
	}
}

// fcsBitwise is the textbook bit-at-a-time FCS-16, the reference for the table version.
func fcsBitwise(p []byte) uint16 {
	fcs := uint16(0xFFFF)
	for _, b := range p {
		fcs ^= uint16(b)
		for range 8 {
			if fcs&1 != 0 {
				fcs = fcs>>1 ^ 0x8408
			} else {
				fcs >>= 1
			}
		}
	}
	return ^fcs
}

func TestFCS16MatchesBitwiseReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 300 {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.UintN(256))
		}
		if got, want := FCS16(p), fcsBitwise(p); got != want {
			t.Fatalf("len %d: FCS16 %#04x, reference %#04x", n, got, want)
		}
	}
}

var workedMAC = [8]byte{0x00, 0x17, 0x0d, 0x00, 0x00, 0x38, 0x0a, 0x1f}

func TestWorkedFrameAckedData(t *testing.T) {
	wire := mustHex(t, "testdata/worked_data_ack.hex")
	c, d := newCollector()
	d.Feed(wire)
	if len(c.frames) != 1 || c.nDrops() != 0 {
		t.Fatalf("got %d frames, drops %v", len(c.frames), c.drops)
	}
	p, err := ParsePacket(c.frames[0])
	if err != nil {
		t.Fatal(err)
	}
	if p.Control != 0x02 || !p.WantsAck() || p.IsResponse() || p.Type != TypeNotification || p.Seq != 0x42 || len(p.Payload) != 0x29 {
		t.Fatalf("packet header %+v", p)
	}
	n, err := ParseDataNotification(p.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if n.MAC != workedMAC || n.SrcPort != 0xF0B8 || n.DstPort != 0xF0B8 || n.UTCSecs != 1795000000 || n.UTCUsecs != 250000 {
		t.Fatalf("notifData %+v", n)
	}
	var got []Reading
	if err := NewDecoder(nil).Notification(p.Payload, func(r Reading) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	tm := time.Date(2026, 11, 18, 11, 6, 40, 250000000, time.UTC)
	want := []Reading{
		{Sensor: "00-17-0d-00-00-38-0a-1f/1", Kind: KindTemperature, Value: 22.45, Time: tm, NodeSeq: 7, BatteryMV: 3012},
		{Sensor: "00-17-0d-00-00-38-0a-1f/2", Kind: KindTemperature, Value: 23.91, Time: tm, NodeSeq: 7, BatteryMV: 3012},
		{Sensor: "00-17-0d-00-00-38-0a-1f/3", Kind: KindHumidity, Value: 41.20, Time: tm, NodeSeq: 7, BatteryMV: 3012},
	}
	assertReadings(t, got, want)
	if got[0].Time.Unix() != 1795000000 || got[0].Time.Location() != time.UTC {
		t.Errorf("time %v", got[0].Time)
	}

	// Encoding the same packet gives the same bytes.
	if enc := AppendPacketFrame(nil, p); !bytes.Equal(enc, wire) {
		t.Fatalf("re-encoded\n% x\nwant\n% x", enc, wire)
	}
}

func assertReadings(t *testing.T, got, want []Reading) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d readings %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("reading %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestWorkedFrameHello(t *testing.T) {
	wire := mustHex(t, "testdata/worked_hello.hex")
	c, d := newCollector()
	d.Feed(wire)
	if len(c.frames) != 1 {
		t.Fatalf("frames %d drops %v", len(c.frames), c.drops)
	}
	p, _ := ParsePacket(c.frames[0])
	if p.Control != 0 || p.Type != TypeHello || p.Seq != 0 || !bytes.Equal(p.Payload, []byte{4, 0xff, 0}) {
		t.Fatalf("hello %+v", p)
	}
	// The session's very first output is exactly this frame.
	if out := NewSession(SessionConfig{}, nil, nil).Start(time.Now()); !bytes.Equal(out, wire) {
		t.Fatalf("Session.Start sent\n% x\nwant\n% x", out, wire)
	}
}

func TestWorkedFrameEscapedFault(t *testing.T) {
	wire := mustHex(t, "testdata/worked_data_fault.hex")
	c, d := newCollector()
	d.Feed(wire)
	if len(c.frames) != 1 {
		t.Fatalf("frames %d drops %v", len(c.frames), c.drops)
	}
	p, _ := ParsePacket(c.frames[0])
	if p.Control != 0 || p.WantsAck() || p.Seq != 0x7D || p.Type != TypeNotification {
		t.Fatalf("packet %+v", p)
	}
	var got []Reading
	cnt := new(Counters)
	if err := NewDecoder(cnt).Notification(p.Payload, func(r Reading) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	want := []Reading{{Sensor: "00-17-0d-00-00-38-0a-1f/1", Kind: KindTemperature, Fault: true,
		Time: time.Unix(1795000000, 0).UTC(), NodeSeq: 0x7E, BatteryMV: 3000}}
	assertReadings(t, got, want)
	if cnt.Get(CountProbeFaults) != 1 || cnt.Get(CountReadings) != 1 {
		t.Errorf("counters %v", cnt.Snapshot())
	}
	if enc := AppendPacketFrame(nil, p); !bytes.Equal(enc, wire) {
		t.Fatalf("re-encoded\n% x\nwant\n% x", enc, wire)
	}
}

func TestFrameRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var want [][]byte
	for range 500 {
		pl := make([]byte, rng.IntN(MaxPayload+1))
		for i := range pl {
			// Bias towards the bytes that need escaping.
			switch rng.IntN(4) {
			case 0:
				pl[i] = Flag
			case 1:
				pl[i] = Escape
			default:
				pl[i] = byte(rng.UintN(256))
			}
		}
		p := Packet{Control: byte(rng.UintN(4)), Type: byte(rng.UintN(256)), Seq: byte(rng.UintN(256)), Payload: pl}
		raw := AppendPacket(nil, p)
		want = append(want, raw)
		stream = AppendPacketFrame(stream, p)
	}
	// Any chunking gives the same frames.
	for _, chunk := range []int{1, 2, 3, 7, 64, len(stream)} {
		c, d := newCollector()
		for i := 0; i < len(stream); i += chunk {
			d.Feed(stream[i:min(i+chunk, len(stream))])
		}
		if len(c.frames) != len(want) || c.nDrops() != 0 {
			t.Fatalf("chunk %d: %d frames (want %d), drops %v", chunk, len(c.frames), len(want), c.drops)
		}
		for i := range want {
			if !bytes.Equal(c.frames[i], want[i]) {
				t.Fatalf("chunk %d frame %d differs", chunk, i)
			}
		}
	}
}

func TestDeframerEverySingleBitErrorIsDropped(t *testing.T) {
	wire := mustHex(t, "testdata/worked_data_ack.hex")
	good := mustHex(t, "testdata/worked_hello.hex")
	for i := 1; i < len(wire)-1; i++ {
		for bit := range 8 {
			bad := append([]byte(nil), wire...)
			bad[i] ^= 1 << bit
			c, d := newCollector()
			d.Feed(bad)
			d.Feed(good)
			if len(c.frames) != 1 || !bytes.Equal(c.frames[0], []byte{0, 1, 0, 3, 4, 0xff, 0}) {
				t.Fatalf("byte %d bit %d: frames %x drops %v", i, bit, c.frames, c.drops)
			}
			if c.nDrops() == 0 {
				t.Fatalf("byte %d bit %d: corrupt frame not counted", i, bit)
			}
		}
	}
}

func TestDeframerTruncatedFrames(t *testing.T) {
	wire := mustHex(t, "testdata/worked_data_ack.hex")
	good := mustHex(t, "testdata/worked_hello.hex")
	for cut := 2; cut < len(wire)-1; cut++ {
		c, d := newCollector()
		d.Feed(wire[:cut]) // the sender stopped mid-frame ...
		d.Feed(good)       // ... and the next frame's flag ends it
		if len(c.frames) != 1 || c.frames[0][1] != TypeHello {
			t.Fatalf("cut %d: frames %x", cut, c.frames)
		}
		if c.drops[CountBadFCS]+c.drops[CountShortFrame]+c.drops[CountBadLength]+c.drops[CountBadEscape] != 1 {
			t.Fatalf("cut %d: drops %v, want exactly one", cut, c.drops)
		}
	}
}

func TestDeframerRebootedGatewayMidFrame(t *testing.T) {
	data := mustHex(t, "testdata/worked_data_ack.hex")
	mgrHello := AppendPacketFrame(nil, Packet{Type: TypeManagerHello, Seq: 0, Payload: []byte{4, 0}})
	// Half a notification, then the gateway restarts and its first output is a manager_hello
	// (which starts with its own flag) -- and the boot loader may print a banner first.
	var stream []byte
	stream = append(stream, data[:len(data)/2]...)
	stream = append(stream, "U-Boot 2026.01\r\n"...)
	stream = append(stream, mgrHello...)
	stream = append(stream, data...)
	c, d := newCollector()
	d.Feed(stream)
	if len(c.frames) != 2 || c.frames[0][1] != TypeManagerHello || c.frames[1][1] != TypeNotification {
		t.Fatalf("frames %x", c.frames)
	}
	if c.drops[CountBadFCS] != 1 {
		t.Fatalf("drops %v, want one bad_fcs", c.drops)
	}
}

func TestDeframerDropReasons(t *testing.T) {
	good := mustHex(t, "testdata/worked_hello.hex")
	longPkt := make([]byte, 0, 300)
	longPkt = append(longPkt, 0, TypeNotification, 1, 200)
	longPkt = append(longPkt, bytes.Repeat([]byte{0xAA}, 200)...)
	badLen := AppendFrame(nil, []byte{0, TypeNotification, 1, 5, 1, 2}) // says 5, has 2; FCS fine

	cases := []struct {
		name   string
		stream []byte
		reason Counter
	}{
		{"garbage before first flag", append([]byte("noise\x00\xff"), good...), CountNoSync},
		{"short frame", append([]byte{Flag, 1, 2, 3, Flag}, good[1:]...), CountShortFrame},
		{"bad fcs", append(append([]byte{}, good[:len(good)-2]...), 0x00, Flag), CountBadFCS},
		{"too long", append(AppendFrame(nil, longPkt), good...), CountTooLong},
		{"bad length", append(badLen, good...), CountBadLength},
		{"abort sequence", append([]byte{Flag, 0, 1, 2, Escape}, good...), CountBadEscape},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, d := newCollector()
			d.Feed(tc.stream)
			if tc.name == "bad fcs" {
				d.Feed(good)
			}
			if c.drops[tc.reason] != 1 {
				t.Fatalf("drops %v, want one %s", c.drops, tc.reason)
			}
			if len(c.frames) != 1 || c.frames[0][1] != TypeHello {
				t.Fatalf("good frame after the bad one not delivered: %x", c.frames)
			}
		})
	}
}

func TestDeframerFlagsOnlyAndMaxSize(t *testing.T) {
	c, d := newCollector()
	d.Feed([]byte{Flag, Flag, Flag, Flag})
	if len(c.frames) != 0 || len(c.drops) != 0 {
		t.Fatalf("empty frames: %x %v", c.frames, c.drops)
	}
	// The largest packet passes, one byte more does not.
	maxPkt := AppendPacket(nil, Packet{Type: TypeNotification, Payload: bytes.Repeat([]byte{Flag}, MaxPayload)})
	d.Feed(AppendFrame(nil, maxPkt))
	if len(c.frames) != 1 || len(c.frames[0]) != MaxPacket {
		t.Fatalf("max packet: %d frames, drops %v", len(c.frames), c.drops)
	}
	over := append([]byte{0, TypeNotification, 0, 129}, bytes.Repeat([]byte{1}, 129)...)
	d.Feed(AppendFrame(nil, over))
	if c.drops[CountTooLong] != 1 {
		t.Fatalf("over-long: drops %v", c.drops)
	}
	d.Reset()
	d.Feed([]byte{1, 2, 3})
	if c.drops[CountNoSync] != 1 {
		t.Fatalf("after Reset bytes before a flag: drops %v", c.drops)
	}
}
