package mesh

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// rig drives a Session with a hand-held clock: times are offsets from t0.
type rig struct {
	t   *testing.T
	s   *Session
	cnt *Counters
	got []Reading
	t0  time.Time
}

func newRig(t *testing.T, cfg SessionConfig) *rig {
	r := &rig{t: t, cnt: new(Counters), t0: time.Now()}
	r.s = NewSession(cfg, r.cnt, func(x Reading) { r.got = append(r.got, x) })
	return r
}

// parse splits the Session's output back into packets.
func (r *rig) parse(out []byte) []Packet {
	r.t.Helper()
	var ps []Packet
	c, d := newCollector()
	d.Feed(out)
	if c.nDrops() != 0 || c.drops[CountNoSync] != 0 {
		r.t.Fatalf("session sent bad frames: %v", c.drops)
	}
	for _, f := range c.frames {
		p, err := ParsePacket(f)
		if err != nil {
			r.t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

func (r *rig) start(at time.Duration) []Packet { return r.parse(r.s.Start(r.t0.Add(at))) }
func (r *rig) tick(at time.Duration) []Packet  { return r.parse(r.s.Tick(r.t0.Add(at))) }
func (r *rig) step(p Packet, at time.Duration) []Packet {
	return r.parse(r.s.Step(AppendPacket(nil, p), r.t0.Add(at)))
}

func helloResp(cli, mgr uint8) Packet {
	return Packet{Control: CtrlResponse, Type: TypeHelloResponse, Payload: []byte{RCOK, 4, mgr, cli, 0}}
}

func subAck(seq uint8) Packet {
	return Packet{Control: CtrlResponse, Type: TypeSubscribe, Seq: seq, Payload: []byte{RCOK}}
}

func dataPkt(seq uint8, ack bool, nodeSeq uint8) Packet {
	p := Packet{Type: TypeNotification, Seq: seq,
		Payload: notifPayload(workedMAC, SensorPort, AppendPayload(nil, nodeSeq, 3000, recs(2)), time.Unix(1795000000, 0))}
	if ack {
		p.Control = CtrlAckReq
	}
	return p
}

func one(t *testing.T, ps []Packet) Packet {
	t.Helper()
	if len(ps) != 1 {
		t.Fatalf("sent %d packets %+v, want 1", len(ps), ps)
	}
	return ps[0]
}

func isAck(p Packet, typ, seq uint8) bool {
	return p.Control == CtrlResponse && p.Type == typ && p.Seq == seq && bytes.Equal(p.Payload, []byte{RCOK})
}

// up runs the handshake: hello (cliSeqNo 0xFF), hello_response (mgrSeqNo mgr), subscribe 0x00, ack.
func (r *rig) up(mgr uint8) {
	r.t.Helper()
	h := one(r.t, r.start(0))
	if h.Type != TypeHello || h.Control != 0 || h.Payload[1] != 0xFF {
		r.t.Fatalf("hello %+v", h)
	}
	sub := one(r.t, r.step(helloResp(0xFF, mgr), 10*time.Millisecond))
	if sub.Type != TypeSubscribe || sub.Control != CtrlAckReq || sub.Seq != 0x00 {
		r.t.Fatalf("subscribe %+v", sub)
	}
	if got := r.step(subAck(0x00), 20*time.Millisecond); len(got) != 0 || !r.s.Up() {
		r.t.Fatalf("after subscribe ack: sent %+v, state %s", got, r.s.State())
	}
}

func TestSessionHandshakeAndFilters(t *testing.T) {
	for _, unack := range []bool{false, true} {
		r := newRig(t, SessionConfig{UnackData: unack})
		r.start(0)
		sub := one(t, r.step(helloResp(0xFF, 0x10), 0))
		if len(sub.Payload) != 8 || binary.BigEndian.Uint32(sub.Payload) != FilterData {
			t.Fatalf("subscribe payload % x", sub.Payload)
		}
		wantUnack := uint32(0)
		if unack {
			wantUnack = FilterData
		}
		if got := binary.BigEndian.Uint32(sub.Payload[4:]); got != wantUnack {
			t.Errorf("unack=%v: unackFilter %#x", unack, got)
		}
		if r.s.Up() || r.s.State() != "subscribe" {
			t.Fatalf("up before subscribe ack: %s", r.s.State())
		}
		r.step(subAck(sub.Seq), 0)
		if !r.s.Up() {
			t.Fatal("not up after subscribe ack")
		}
	}
}

func TestSessionAcksDeliversAndSuppressesDuplicates(t *testing.T) {
	r := newRig(t, SessionConfig{})
	r.up(0x40)
	if !isAck(one(t, r.step(dataPkt(0x41, true, 7), time.Second)), TypeNotification, 0x41) {
		t.Fatal("data not acked")
	}
	if len(r.got) != 2 || r.got[0].NodeSeq != 7 || r.got[0].Value != 20.00 || r.got[1].Value != 20.01 {
		t.Fatalf("readings %+v", r.got)
	}
	// The ack was lost: the gateway repeats seq 0x41. Acked again, not delivered again.
	if !isAck(one(t, r.step(dataPkt(0x41, true, 7), 1500*time.Millisecond)), TypeNotification, 0x41) {
		t.Fatal("duplicate not acked again")
	}
	if len(r.got) != 2 || r.cnt.Get(CountDuplicate) != 1 {
		t.Fatalf("duplicate delivered: %d readings, duplicate=%d", len(r.got), r.cnt.Get(CountDuplicate))
	}
	// Unacknowledged notifications are not acked; their duplicates are still dropped.
	if out := r.step(dataPkt(0x42, false, 8), 2*time.Second); len(out) != 0 {
		t.Fatalf("unacked data got a reply %+v", out)
	}
	r.step(dataPkt(0x42, false, 8), 2*time.Second)
	if len(r.got) != 4 || r.cnt.Get(CountDuplicate) != 2 {
		t.Fatalf("%d readings, duplicate=%d", len(r.got), r.cnt.Get(CountDuplicate))
	}
	// The first packet after hello_response must be mgrSeqNo+1: mgrSeqNo itself is a repeat.
	r2 := newRig(t, SessionConfig{})
	r2.up(0xFF)
	r2.step(dataPkt(0xFF, true, 1), time.Second)
	r2.step(dataPkt(0x00, true, 2), time.Second) // wraps
	if len(r2.got) != 2 || r2.got[0].NodeSeq != 2 || r2.cnt.Get(CountDuplicate) != 1 {
		t.Fatalf("seq wrap: readings %+v duplicate=%d", r2.got, r2.cnt.Get(CountDuplicate))
	}
	if r.cnt.Get(CountAcksSent) != 2 {
		t.Errorf("acks_sent %d", r.cnt.Get(CountAcksSent))
	}
}

func TestSessionHelloRetransmitThenNewSession(t *testing.T) {
	r := newRig(t, SessionConfig{})
	hello := one(t, r.start(0))
	if d := r.s.Deadline(); d.Sub(r.t0) != 500*time.Millisecond {
		t.Fatalf("deadline %v after start", d.Sub(r.t0))
	}
	if out := r.tick(499 * time.Millisecond); len(out) != 0 {
		t.Fatalf("sent early %+v", out)
	}
	at := time.Duration(0)
	for i := 1; i <= 5; i++ {
		at += 500 * time.Millisecond
		p := one(t, r.tick(at))
		if p.Type != TypeHello || !bytes.Equal(p.Payload, hello.Payload) {
			t.Fatalf("retransmit %d: %+v", i, p)
		}
	}
	if r.cnt.Get(CountRetransmits) != 5 || r.cnt.Get(CountSessions) != 1 {
		t.Fatalf("counters %v", r.cnt.Snapshot())
	}
	at += 500 * time.Millisecond
	p := one(t, r.tick(at)) // sixth timeout: give up, new session
	if p.Type != TypeHello || r.cnt.Get(CountSessions) != 2 || r.cnt.Get(CountRequestTimeouts) != 1 {
		t.Fatalf("after 5 retransmits: %+v %v", p, r.cnt.Snapshot())
	}
	// A late answer to the old hello still matches (same cliSeqNo: no packet was numbered).
	r.step(helloResp(0xFF, 1), at+time.Millisecond)
	if r.s.State() != "subscribe" {
		t.Fatalf("state %s", r.s.State())
	}
}

func TestSessionSubscribeRetransmitThenNewSession(t *testing.T) {
	r := newRig(t, SessionConfig{RetryInterval: 100 * time.Millisecond, MaxRetries: 2})
	r.start(0)
	sub := one(t, r.step(helloResp(0xFF, 5), 0))
	for i, at := range []time.Duration{100, 200} {
		p := one(t, r.tick(at*time.Millisecond))
		if p.Type != TypeSubscribe || p.Seq != sub.Seq {
			t.Fatalf("retransmit %d: %+v", i, p)
		}
	}
	p := one(t, r.tick(300*time.Millisecond))
	if p.Type != TypeHello || p.Payload[1] != sub.Seq {
		t.Fatalf("new session hello %+v (cliSeqNo should be our last seqNo %d)", p, sub.Seq)
	}
	// The old subscribe's ack arrives late: stale, ignored.
	r.step(subAck(sub.Seq), 301*time.Millisecond)
	if r.s.Up() || r.cnt.Get(CountStaleResponse) != 1 {
		t.Fatalf("late ack: state %s, %v", r.s.State(), r.cnt.Snapshot())
	}
	// A hello_response for an older cliSeqNo is stale too.
	r.step(helloResp(0xFF, 5), 302*time.Millisecond)
	if r.s.State() != "hello" || r.cnt.Get(CountStaleResponse) != 2 {
		t.Fatalf("stale hello_response: %s %v", r.s.State(), r.cnt.Snapshot())
	}
	next := one(t, r.step(helloResp(sub.Seq, 9), 303*time.Millisecond))
	if next.Seq != sub.Seq+1 {
		t.Fatalf("subscribe of the new session has seq %d, want %d", next.Seq, sub.Seq+1)
	}
}

func TestSessionKeepAlive(t *testing.T) {
	r := newRig(t, SessionConfig{})
	r.up(0)
	if d := r.s.Deadline().Sub(r.t0); d != 30*time.Second+20*time.Millisecond {
		t.Fatalf("keep-alive deadline %v", d)
	}
	r.step(dataPkt(1, true, 1), 20*time.Second) // traffic resets the quiet timer
	if out := r.tick(30 * time.Second); len(out) != 0 {
		t.Fatalf("keep-alive while traffic flows: %+v", out)
	}
	if out := r.tick(49_999 * time.Millisecond); len(out) != 0 {
		t.Fatalf("keep-alive early: %+v", out)
	}
	ka := one(t, r.tick(50*time.Second))
	if ka.Type != TypeSubscribe || ka.Seq != 0x01 || r.cnt.Get(CountKeepAlives) != 1 {
		t.Fatalf("keep-alive %+v %v", ka, r.cnt.Snapshot())
	}
	// Unanswered keep-alive: retransmitted, then a new session.
	for i := 1; i <= 5; i++ {
		if p := one(t, r.tick(50*time.Second+time.Duration(i)*500*time.Millisecond)); p.Seq != 0x01 {
			t.Fatalf("keep-alive retransmit %+v", p)
		}
	}
	if p := one(t, r.tick(53*time.Second)); p.Type != TypeHello {
		t.Fatalf("after unanswered keep-alive: %+v", p)
	}
}

func TestSessionManagerHello(t *testing.T) {
	r := newRig(t, SessionConfig{})
	r.start(0)
	mh := Packet{Type: TypeManagerHello, Payload: []byte{4, 0}}
	// While our hello is outstanding a manager_hello changes nothing.
	if out := r.step(mh, 100*time.Millisecond); len(out) != 0 || r.cnt.Get(CountSessions) != 1 {
		t.Fatalf("manager_hello during hello: %+v", out)
	}
	r.step(helloResp(0xFF, 3), 200*time.Millisecond)
	r.step(subAck(0), 200*time.Millisecond)
	r.step(dataPkt(4, true, 1), time.Second)
	// The gateway rebooted: new session, and its numbering starts afresh.
	h := one(t, r.step(mh, 2*time.Second))
	if h.Type != TypeHello || h.Payload[1] != 0x00 || r.cnt.Get(CountSessions) != 2 || r.cnt.Get(CountManagerHello) != 2 {
		t.Fatalf("after manager_hello: %+v %v", h, r.cnt.Snapshot())
	}
	// Data from before the new hello_response is neither acked nor delivered.
	if out := r.step(dataPkt(5, true, 2), 2100*time.Millisecond); len(out) != 0 || r.cnt.Get(CountNoSession) != 1 {
		t.Fatalf("data before hello_response: %+v %v", out, r.cnt.Snapshot())
	}
	r.step(helloResp(0x00, 4), 2200*time.Millisecond) // mgrSeqNo 4 == the old session's last seq
	r.step(subAck(0x01), 2200*time.Millisecond)
	r.step(dataPkt(5, true, 2), 2300*time.Millisecond)
	if len(r.got) != 4 || r.got[2].NodeSeq != 2 {
		t.Fatalf("readings %+v", r.got)
	}
	// A manager_hello asking for an ack is acked.
	out := r.step(Packet{Control: CtrlAckReq, Type: TypeManagerHello, Seq: 7, Payload: []byte{4, 0}}, 3*time.Second)
	if len(out) != 2 || !isAck(out[0], TypeManagerHello, 7) || out[1].Type != TypeHello {
		t.Fatalf("acked manager_hello: %+v", out)
	}
}

func TestSessionOtherPacketsAndRejects(t *testing.T) {
	r := newRig(t, SessionConfig{})
	r.start(0)
	rej := helloResp(0xFF, 0)
	rej.Payload[0] = 1
	r.step(rej, 0)
	r.step(Packet{Control: CtrlResponse, Type: TypeHelloResponse, Payload: []byte{0}}, 0)
	if r.s.State() != "hello" || r.cnt.Get(CountHelloRejected) != 1 || r.cnt.Get(CountMalformedResponse) != 1 {
		t.Fatalf("rejected hello: %s %v", r.s.State(), r.cnt.Snapshot())
	}
	r.step(helloResp(0xFF, 0), 0)
	r.step(Packet{Control: CtrlResponse, Type: TypeSubscribe, Seq: 0, Payload: []byte{3}}, 0)
	if r.s.Up() || r.cnt.Get(CountSubscribeRejected) != 1 {
		t.Fatalf("rejected subscribe: %s", r.s.State())
	}
	r.step(subAck(0), 0)
	// Other notification types: acked if asked, counted, not delivered.
	ev := Packet{Control: CtrlAckReq, Type: TypeNotification, Seq: 1, Payload: []byte{NotifEvent, 0, 0, 0, 1}}
	if !isAck(one(t, r.step(ev, 0)), TypeNotification, 1) || r.cnt.Get(CountNotifEvent) != 1 {
		t.Fatalf("event: %v", r.cnt.Snapshot())
	}
	hr := Packet{Type: TypeNotification, Seq: 2, Payload: []byte{NotifHealth, 1}}
	if out := r.step(hr, 0); len(out) != 0 || r.cnt.Get(CountNotifHealth) != 1 {
		t.Fatalf("health: %+v", out)
	}
	unk := Packet{Control: CtrlAckReq, Type: 99, Seq: 3}
	if !isAck(one(t, r.step(unk, 0)), 99, 3) || r.cnt.Get(CountUnknownPacket) != 1 {
		t.Fatalf("unknown type: %v", r.cnt.Snapshot())
	}
	// Malformed data is acked (resending will not fix it) and counted.
	bad := dataPkt(4, true, 1)
	bad.Payload = bad.Payload[:len(bad.Payload)-1]
	if !isAck(one(t, r.step(bad, 0)), TypeNotification, 4) || r.cnt.Get(CountMalformedPayload) != 1 {
		t.Fatalf("malformed payload: %v", r.cnt.Snapshot())
	}
	// Frames that are not packets.
	r.s.Step([]byte{1, 2}, r.t0)
	r.s.Step([]byte{1, 2, 3, 9}, r.t0)
	if r.cnt.Get(CountShortFrame) != 1 || r.cnt.Get(CountBadLength) != 1 || len(r.got) != 0 {
		t.Fatalf("non-packets: %v", r.cnt.Snapshot())
	}
}

func TestSessionTickStartsIdleAndStepBeforeStart(t *testing.T) {
	r := newRig(t, SessionConfig{})
	if !r.s.Deadline().IsZero() || r.s.State() != "idle" {
		t.Fatal("fresh session has a deadline")
	}
	if p := one(t, r.tick(0)); p.Type != TypeHello {
		t.Fatalf("tick on idle: %+v", p)
	}
	r2 := newRig(t, SessionConfig{})
	if p := one(t, r2.step(dataPkt(1, true, 1), 0)); p.Type != TypeHello || r2.cnt.Get(CountNoSession) != 1 {
		t.Fatalf("step on idle: %+v", p)
	}
}
