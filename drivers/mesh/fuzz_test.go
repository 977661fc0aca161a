package mesh

import (
	"bytes"
	"testing"
	"time"
)

var workedFiles = []string{"testdata/worked_data_ack.hex", "testdata/worked_hello.hex", "testdata/worked_data_fault.hex"}

// FuzzDeframer: any byte stream, cut anywhere, gives the same frames; every frame is a
// well-formed packet that survives a round trip; a Session fed them does not panic and only
// sends well-formed frames.
func FuzzDeframer(f *testing.F) {
	var all []byte
	for _, name := range workedFiles {
		b := mustHex(f, name)
		f.Add(b)
		f.Add(b[:len(b)/2])
		all = append(all, b...)
	}
	f.Add(all)
	f.Add([]byte{Flag, Escape, Flag, Escape, Escape, 0x5e, Flag})
	f.Fuzz(func(t *testing.T, data []byte) {
		whole, d1 := newCollector()
		d1.Feed(data)
		bytewise, d2 := newCollector()
		for i := range data {
			d2.Feed(data[i : i+1])
		}
		if len(whole.frames) != len(bytewise.frames) || len(whole.drops) != len(bytewise.drops) {
			t.Fatalf("chunking changed the result: %d/%d frames, %v/%v", len(whole.frames), len(bytewise.frames), whole.drops, bytewise.drops)
		}
		for r, n := range whole.drops {
			if bytewise.drops[r] != n {
				t.Fatalf("chunking changed drop %s: %d vs %d", r, n, bytewise.drops[r])
			}
		}
		sess := NewSession(SessionConfig{}, nil, func(Reading) {})
		now := time.Now()
		sess.Start(now)
		for i, fr := range whole.frames {
			if !bytes.Equal(fr, bytewise.frames[i]) {
				t.Fatalf("frame %d differs by chunking", i)
			}
			p, err := ParsePacket(fr)
			if err != nil {
				t.Fatalf("deframer passed a bad packet % x: %v", fr, err)
			}
			rt, d3 := newCollector()
			d3.Feed(AppendPacketFrame(nil, p))
			if len(rt.frames) != 1 || !bytes.Equal(rt.frames[0], fr) {
				t.Fatalf("round trip of % x failed", fr)
			}
			out := sess.Step(fr, now)
			chk, d4 := newCollector()
			d4.Feed(out)
			if chk.nDrops() != 0 || chk.drops[CountNoSync] != 0 {
				t.Fatalf("session sent bad frames % x", out)
			}
			now = now.Add(time.Second)
			sess.Tick(now)
		}
	})
}

// FuzzPayload: the notification and payload decoders accept or reject any bytes without
// panicking, what they accept re-encodes to the same bytes, and readings are sane.
func FuzzPayload(f *testing.F) {
	for _, name := range workedFiles {
		b := mustHex(f, name)
		c, d := newCollector()
		d.Feed(b)
		for _, fr := range c.frames {
			p, _ := ParsePacket(fr)
			f.Add(p.Payload)
			if n, err := ParseDataNotification(p.Payload); err == nil {
				f.Add(n.Data)
			}
		}
	}
	f.Add([]byte{NotifData})
	f.Fuzz(func(t *testing.T, data []byte) {
		cnt := new(Counters)
		_ = NewDecoder(cnt).Notification(data, func(r Reading) {
			if !r.Kind.Known() || (r.Fault && r.Value != 0) || r.Sensor == "" {
				t.Fatalf("bad reading %+v", r)
			}
			if r.Value > 327.67 || r.Value < -327.67 {
				t.Fatalf("value %v out of int16/100 range", r.Value)
			}
		})
		if n, err := ParseDataNotification(data); err == nil {
			if enc := AppendDataNotification(nil, n); !bytes.Equal(enc, data) {
				t.Fatalf("notifData round trip: % x -> % x", data, enc)
			}
		}
		if p, err := ParsePayload(data); err == nil {
			rs := make([]Record, p.Len())
			for i := range rs {
				rs[i] = p.Record(i)
			}
			if enc := AppendPayload(nil, p.NodeSeq, p.BatteryMV, rs); !bytes.Equal(enc, data) {
				t.Fatalf("payload round trip: % x -> % x", data, enc)
			}
		}
	})
}
