package peer

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var testKey = []byte("0123456789abcdef0123456789abcdef-test-key")

func testCodec(t testing.TB) *Codec {
	t.Helper()
	c, err := NewCodec(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sampleHeader(typ Type) Header {
	h := Header{Type: typ, Role: RoleActive, Path: 1, NodeID: 2, BootID: 0xB007, PeerBoot: 0xFEED,
		Seq: 42, Epoch: 7, ConfigVersion: 12, Software: "v1.2.3-4-gabcdef0"}
	for i := range h.ConfigHash {
		h.ConfigHash[i] = byte(i)
	}
	return h
}

func TestSealOpenRoundTrip(t *testing.T) {
	c := testCodec(t)
	msgs := []Message{
		{Header: sampleHeader(TypeHeartbeat), Heartbeat: Heartbeat{Priority: 100, Flags: HBInControl | HBWarm, IntervalMS: 200, UptimeMS: 123456, AckSeq: 99}},
		{Header: sampleHeader(TypeAck), Ack: Ack{Of: TypeConfig, Status: 0, Seq: 41, Value: 12}},
		{Header: sampleHeader(TypeReadings), Payload: []byte(`{"r":[1,2,3]}`)},
		{Header: sampleHeader(TypeLoopState), Payload: []byte{}},
		{Header: sampleHeader(TypeConfig), Payload: bytes.Repeat([]byte("x"), 100000)},
	}
	for _, m := range msgs {
		f, err := c.Seal(nil, &m)
		if err != nil {
			t.Fatalf("%s: %v", m.Header.Type, err)
		}
		var got Message
		if err := c.Open(f, &got); err != nil {
			t.Fatalf("%s: %v", m.Header.Type, err)
		}
		m.Header.Version, m.Header.Compat = Version, MinVersion
		if m.Payload != nil && len(m.Payload) == 0 {
			m.Payload = got.Payload // empty either way
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%s: got %+v\nwant %+v", m.Header.Type, got, m)
		}
	}
}

func TestHeartbeatSize(t *testing.T) {
	m := Message{Header: sampleHeader(TypeHeartbeat)}
	f, err := testCodec(t).Seal(nil, &m)
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != 176 {
		t.Fatalf("heartbeat frame is %d bytes, want 176", len(f))
	}
}

// Every single-bit change anywhere in a frame is refused, none accepted as something else.
func TestEveryBitFlipRefused(t *testing.T) {
	c := testCodec(t)
	m := Message{Header: sampleHeader(TypeHeartbeat), Heartbeat: Heartbeat{Priority: 1}}
	f, _ := c.Seal(nil, &m)
	for i := range f {
		for bit := range 8 {
			g := append([]byte(nil), f...)
			g[i] ^= 1 << bit
			var got Message
			err := c.Open(g, &got)
			if err == nil {
				t.Fatalf("byte %d bit %d flipped: accepted", i, bit)
			}
			if !errors.Is(err, ErrBadMAC) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("byte %d bit %d: %v", i, bit, err)
			}
		}
	}
}

func TestWrongKeyTruncatedAndPadded(t *testing.T) {
	c := testCodec(t)
	other, _ := NewCodec([]byte(strings.Repeat("k", 32)))
	m := Message{Header: sampleHeader(TypeReadings), Payload: []byte("hello")}
	f, _ := c.Seal(nil, &m)
	var got Message
	if err := other.Open(f, &got); !errors.Is(err, ErrBadMAC) {
		t.Errorf("other key: %v", err)
	}
	for _, n := range []int{0, 1, 15, 16, 100, len(f) - 1} {
		if err := c.Open(f[:n], &got); !errors.Is(err, ErrMalformed) {
			t.Errorf("truncated to %d: %v", n, err)
		}
	}
	if err := c.Open(append(append([]byte(nil), f...), 0), &got); !errors.Is(err, ErrMalformed) {
		t.Errorf("one byte more: %v", err)
	}
}

// sealRaw builds an authentic frame by hand, as a newer release might.
func sealRaw(ver, compat uint8, typ Type, extraHeader, body []byte, h Header) []byte {
	hl := HeaderLen + len(extraHeader)
	f := make([]byte, HeaderLen, hl+len(body)+MACLen)
	f[0], f[1], f[2], f[3], f[4], f[5], f[6] = 0xCA, 0x1E, ver, compat, byte(typ), byte(h.Role), h.Path
	binary.BigEndian.PutUint16(f[8:], h.NodeID)
	binary.BigEndian.PutUint16(f[10:], uint16(hl))
	binary.BigEndian.PutUint32(f[12:], uint32(len(body)))
	binary.BigEndian.PutUint64(f[16:], h.BootID)
	binary.BigEndian.PutUint64(f[24:], h.PeerBoot)
	binary.BigEndian.PutUint64(f[32:], h.Seq)
	binary.BigEndian.PutUint64(f[40:], h.Epoch)
	copy(f[88:], h.Software)
	f = append(f, extraHeader...)
	f = append(f, body...)
	mac := hmac.New(sha256.New, testKey)
	mac.Write(f)
	return mac.Sum(f)
}

// A version N+1 message (longer header, longer heartbeat body) with compat N is read by N:
// the fields N knows, the rest ignored.
func TestNextVersionWithTrailingFieldsAccepted(t *testing.T) {
	c := testCodec(t)
	h := sampleHeader(TypeHeartbeat)
	body := make([]byte, HeartbeatLen+20)
	binary.BigEndian.PutUint16(body, 150)
	copy(body[HeartbeatLen:], "new fields of v2....")
	f := sealRaw(Version+1, Version, TypeHeartbeat, []byte("v2 header fields"), body, h)
	var got Message
	if err := c.Open(f, &got); err != nil {
		t.Fatalf("v%d message with compat %d refused: %v", Version+1, Version, err)
	}
	if got.Header.Version != Version+1 || got.Heartbeat.Priority != 150 || got.Header.Seq != h.Seq || got.Header.Software != h.Software {
		t.Errorf("decoded %+v", got)
	}
	// A payload body with bytes after the payload: the payload alone is delivered.
	pb := append(binary.BigEndian.AppendUint32(nil, 3), "abcTRAILER"...)
	f = sealRaw(Version+1, Version, TypeReadings, nil, pb, h)
	if err := c.Open(f, &got); err != nil || string(got.Payload) != "abc" {
		t.Errorf("payload with trailer: %q, %v", got.Payload, err)
	}
}

func TestIncompatibleVersionsRefused(t *testing.T) {
	c := testCodec(t)
	h := sampleHeader(TypeHeartbeat)
	body := make([]byte, HeartbeatLen)
	for _, vc := range [][2]uint8{{Version + 1, Version + 1}, {0, 0}, {2, 3}} {
		var got Message
		if err := c.Open(sealRaw(vc[0], vc[1], TypeHeartbeat, nil, body, h), &got); !errors.Is(err, ErrWrongVersion) {
			t.Errorf("version %d compat %d: %v", vc[0], vc[1], err)
		}
	}
	var got Message
	if err := c.Open(sealRaw(Version, Version, Type(99), nil, nil, h), &got); !errors.Is(err, ErrUnknownType) {
		t.Errorf("type 99: %v", err)
	}
	if err := c.Open(sealRaw(Version, Version, TypeHeartbeat, nil, body[:10], h), &got); !errors.Is(err, ErrMalformed) {
		t.Errorf("short heartbeat: %v", err)
	}
	h.Software = "bad\nsoftware"
	if err := c.Open(sealRaw(Version, Version, TypeHeartbeat, nil, body, h), &got); !errors.Is(err, ErrMalformed) {
		t.Errorf("control character in software: %v", err)
	}
}

func TestSealRefuses(t *testing.T) {
	c := testCodec(t)
	for name, m := range map[string]Message{
		"node 0":    {Header: Header{Type: TypeHeartbeat, BootID: 1, Seq: 1}},
		"boot 0":    {Header: Header{Type: TypeHeartbeat, NodeID: 1, Seq: 1}},
		"seq 0":     {Header: Header{Type: TypeHeartbeat, NodeID: 1, BootID: 1}},
		"type 0":    {Header: Header{NodeID: 1, BootID: 1, Seq: 1}},
		"software":  {Header: Header{Type: TypeHeartbeat, NodeID: 1, BootID: 1, Seq: 1, Software: "a b"}},
		"long soft": {Header: Header{Type: TypeHeartbeat, NodeID: 1, BootID: 1, Seq: 1, Software: strings.Repeat("v", 33)}},
		"too big":   {Header: Header{Type: TypeConfig, NodeID: 1, BootID: 1, Seq: 1}, Payload: make([]byte, MaxFrame)},
	} {
		if _, err := c.Seal(nil, &m); err == nil {
			t.Errorf("%s: sealed", name)
		}
	}
	if _, err := NewCodec(make([]byte, 31)); !errors.Is(err, ErrKey) {
		t.Errorf("31 byte key: %v", err)
	}
}

func TestReadFrameStream(t *testing.T) {
	c := testCodec(t)
	var stream bytes.Buffer
	for i := 1; i <= 3; i++ {
		h := sampleHeader(TypeConfig)
		h.Seq = uint64(i)
		f, _ := c.Seal(nil, &Message{Header: h, Payload: bytes.Repeat([]byte{byte(i)}, i*1000)})
		stream.Write(f)
	}
	for i := 1; i <= 3; i++ {
		f, err := ReadFrame(&stream, MaxFrame)
		if err != nil {
			t.Fatal(err)
		}
		var m Message
		if err := c.Open(f, &m); err != nil || m.Header.Seq != uint64(i) || len(m.Payload) != i*1000 {
			t.Fatalf("frame %d: seq %d, %d bytes, %v", i, m.Header.Seq, len(m.Payload), err)
		}
	}
	if _, err := ReadFrame(&stream, MaxFrame); err == nil {
		t.Error("read past the end")
	}
	// A prefix claiming more than max is refused before anything is allocated.
	big, _ := c.Seal(nil, &Message{Header: sampleHeader(TypeConfig), Payload: make([]byte, 5000)})
	if _, err := ReadFrame(bytes.NewReader(big), 4096); !errors.Is(err, ErrMalformed) {
		t.Errorf("over max: %v", err)
	}
	// Cut short: an unexpected EOF, not a frame.
	if _, err := ReadFrame(bytes.NewReader(big[:200]), MaxFrame); err == nil {
		t.Error("truncated stream read as a frame")
	}
}

// A build linked with nextRelease (the rolling-upgrade test's second build) seals version N+1
// frames with compat N and a longer header, which this release opens.
func TestNextReleaseBuildSealsWhatThisOneOpens(t *testing.T) {
	c := testCodec(t)
	m := Message{Header: sampleHeader(TypeHeartbeat), Heartbeat: Heartbeat{Priority: 7, AckSeq: 3}}
	nextRelease = "1"
	f, err := c.Seal(nil, &m)
	nextRelease = ""
	if err != nil {
		t.Fatal(err)
	}
	if f[2] != Version+1 || f[3] != Version || int(binary.BigEndian.Uint16(f[10:])) != HeaderLen+headerExt {
		t.Fatalf("next release header: version %d compat %d hdr_len %d", f[2], f[3], binary.BigEndian.Uint16(f[10:]))
	}
	var got Message
	if err := c.Open(f, &got); err != nil || got.Header.Version != Version+1 || got.Heartbeat.Priority != 7 || got.Heartbeat.AckSeq != 3 {
		t.Fatalf("opened %+v, %v", got, err)
	}
}
