package meshsim

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/mesh"
)

// ctrl is a hand-driven controller on the other end of a net.Pipe.
type ctrl struct {
	t     *testing.T
	conn  net.Conn
	pkts  chan mesh.Packet
	mu    sync.Mutex
	drops map[mesh.Counter]int
}

func newCtrl(t *testing.T, opts Options) (*ctrl, *Gateway) {
	t.Helper()
	a, b := net.Pipe()
	g := NewGateway(b, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	c := &ctrl{t: t, conn: a, pkts: make(chan mesh.Packet, 1024), drops: map[mesh.Counter]int{}}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		df := mesh.NewDeframer(func(f []byte) {
			p, _ := mesh.ParsePacket(f)
			p.Payload = append([]byte(nil), p.Payload...)
			c.pkts <- p
		}, func(r mesh.Counter) { c.mu.Lock(); c.drops[r]++; c.mu.Unlock() })
		buf := make([]byte, 512)
		for {
			n, err := a.Read(buf)
			df.Feed(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
		a.Close()
		b.Close()
		<-readerDone
	})
	return c, g
}

func (c *ctrl) send(p mesh.Packet) {
	c.t.Helper()
	if _, err := c.conn.Write(EncodeFrame(p)); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next packet of type typ, skipping manager_hellos unless asked for.
func (c *ctrl) next(typ uint8) mesh.Packet {
	c.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case p := <-c.pkts:
			if p.Type == mesh.TypeManagerHello && typ != mesh.TypeManagerHello {
				continue
			}
			if p.Type != typ {
				c.t.Fatalf("got packet type %d %+v, want type %d", p.Type, p, typ)
			}
			return p
		case <-timeout:
			c.t.Fatalf("no packet of type %d within 5s", typ)
		}
	}
}

func (c *ctrl) dropCount(r mesh.Counter) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.drops[r]
}

func subscribePkt(seq uint8, unack bool) mesh.Packet {
	pl := make([]byte, 8)
	binary.BigEndian.PutUint32(pl, mesh.FilterData)
	if unack {
		binary.BigEndian.PutUint32(pl[4:], mesh.FilterData)
	}
	return mesh.Packet{Control: mesh.CtrlAckReq, Type: mesh.TypeSubscribe, Seq: seq, Payload: pl}
}

// handshake says hello (cliSeqNo 0xFF) and subscribes with seq 0; returns mgrSeqNo.
func (c *ctrl) handshake(unack bool) uint8 {
	c.t.Helper()
	c.send(mesh.Packet{Type: mesh.TypeHello, Payload: []byte{4, 0xFF, 0}})
	hr := c.next(mesh.TypeHelloResponse)
	if !hr.IsResponse() || len(hr.Payload) != 5 || hr.Payload[0] != 0 || hr.Payload[3] != 0xFF {
		c.t.Fatalf("hello_response %+v", hr)
	}
	c.send(subscribePkt(0, unack))
	ack := c.next(mesh.TypeSubscribe)
	if !ack.IsResponse() || ack.Seq != 0 || len(ack.Payload) != 1 || ack.Payload[0] != 0 {
		c.t.Fatalf("subscribe ack %+v", ack)
	}
	return hr.Payload[2]
}

var mac = [8]byte{0, 0x17, 0x0d, 0, 0, 0x38, 0x0a, 0x1f}
var t0 = time.Unix(1795000000, 250000000)

func report(g *Gateway, nodeSeq uint8) {
	g.Report(mac, nodeSeq, 3012, []mesh.Record{{Channel: 1, Kind: mesh.KindTemperature, Value: 2245}}, t0)
}

func decodeData(t *testing.T, p mesh.Packet) (nodeSeq uint8) {
	t.Helper()
	n, err := mesh.ParseDataNotification(p.Payload)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := mesh.ParsePayload(n.Data)
	if err != nil {
		t.Fatal(err)
	}
	if n.MAC != mac || n.UTCSecs != 1795000000 || n.UTCUsecs != 250000 || pl.Record(0).Value != 2245 {
		t.Fatalf("notification %+v payload %+v", n, pl)
	}
	return pl.NodeSeq
}

func TestGatewayManagerHelloUntilHello(t *testing.T) {
	c, g := newCtrl(t, Options{ManagerHelloInterval: 20 * time.Millisecond})
	for range 3 {
		mh := c.next(mesh.TypeManagerHello)
		if mh.IsResponse() || len(mh.Payload) != 2 || mh.Payload[0] != mesh.ProtocolVersion {
			t.Fatalf("manager_hello %+v", mh)
		}
	}
	report(g, 1) // queued: no subscription yet
	c.handshake(false)
	if p := c.next(mesh.TypeNotification); decodeData(t, p) != 1 {
		t.Fatal("queued report not sent after subscribe")
	}
	if st := g.Stats(); !st.Session || !st.Subscribed || st.Hellos != 1 || st.ManagerHellos < 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestGatewayAckedStopAndWaitAndRetransmit(t *testing.T) {
	c, g := newCtrl(t, Options{RetryInterval: 30 * time.Millisecond, MaxRetries: 2, ManagerHelloInterval: time.Hour})
	mgr := c.handshake(false)
	report(g, 1)
	report(g, 2)
	p := c.next(mesh.TypeNotification)
	if !p.WantsAck() || p.Seq != mgr+1 || decodeData(t, p) != 1 {
		t.Fatalf("first notification %+v (mgrSeqNo %d)", p, mgr)
	}
	// Not acked: the same packet again (same seqNo), and the second report waits.
	for range 2 {
		r := c.next(mesh.TypeNotification)
		if r.Seq != p.Seq || decodeData(t, r) != 1 {
			t.Fatalf("retransmit %+v", r)
		}
	}
	// Out of retries: the session is dropped, and manager_hello asks for a new one.
	c.next(mesh.TypeManagerHello)
	if st := g.Stats(); st.Session || st.SessionDrops != 1 || st.Retransmits != 2 || st.Queued != 2 {
		t.Fatalf("stats %+v", st)
	}
	mgr = c.handshake(false)
	p = c.next(mesh.TypeNotification)
	if decodeData(t, p) != 1 || p.Seq != mgr+1 {
		t.Fatalf("report 1 not resent first in the new session: %+v", p)
	}
	c.send(mesh.Packet{Control: mesh.CtrlResponse, Type: mesh.TypeNotification, Seq: p.Seq, Payload: []byte{0}})
	q := c.next(mesh.TypeNotification)
	if decodeData(t, q) != 2 || q.Seq != p.Seq+1 {
		t.Fatalf("second report %+v", q)
	}
	c.send(mesh.Packet{Control: mesh.CtrlResponse, Type: mesh.TypeNotification, Seq: q.Seq, Payload: []byte{0}})
	waitStats(t, g, func(s Stats) bool { return s.Queued == 0 })
	if st := g.Stats(); st.Acks != 2 {
		t.Fatalf("acks %+v", st)
	}
}

func TestGatewayUnackedAndDuplicateSubscribe(t *testing.T) {
	c, g := newCtrl(t, Options{ManagerHelloInterval: time.Hour})
	c.handshake(true)
	for i := range 5 {
		report(g, uint8(i))
	}
	var last uint8
	for i := range 5 {
		p := c.next(mesh.TypeNotification)
		if p.WantsAck() || decodeData(t, p) != uint8(i) || (i > 0 && p.Seq != last+1) {
			t.Fatalf("unacked notification %d: %+v", i, p)
		}
		last = p.Seq
	}
	// A repeated subscribe (same seqNo) is acked again without being applied twice.
	c.send(subscribePkt(0, false))
	if a := c.next(mesh.TypeSubscribe); a.Seq != 0 || !a.IsResponse() {
		t.Fatalf("dup subscribe ack %+v", a)
	}
	if st := g.Stats(); st.DupRequests != 1 || !st.Unack {
		t.Fatalf("a duplicate subscribe changed the filter: %+v", st)
	}
	// A subscribe with a new seqNo applies.
	c.send(subscribePkt(1, false))
	c.next(mesh.TypeSubscribe)
	report(g, 9)
	if p := c.next(mesh.TypeNotification); !p.WantsAck() {
		t.Fatalf("after subscribe with acks: %+v", p)
	}
}

func TestGatewayReboot(t *testing.T) {
	c, g := newCtrl(t, Options{ManagerHelloInterval: time.Hour, RetryInterval: time.Hour})
	c.handshake(false)
	report(g, 1)
	c.next(mesh.TypeNotification) // in flight, never acked
	report(g, 2)
	g.Reboot()
	mh := c.next(mesh.TypeManagerHello)
	if mh.Seq != 0 {
		t.Fatalf("manager_hello after reboot %+v", mh)
	}
	if n := c.dropCount(mesh.CountBadFCS) + c.dropCount(mesh.CountShortFrame); n != 1 {
		t.Fatalf("the frame cut by the reboot was not seen as a bad frame: %v", c.drops)
	}
	st := g.Stats()
	if st.Reboots != 1 || st.LostInReboot != 1 || st.Session || st.Queued != 1 {
		t.Fatalf("stats %+v", st)
	}
	mgr := c.handshake(false)
	if p := c.next(mesh.TypeNotification); decodeData(t, p) != 2 || p.Seq != mgr+1 {
		t.Fatalf("after reboot: %+v", p)
	}
}

func TestGatewayImpairments(t *testing.T) {
	c, g := newCtrl(t, Options{Seed: 7, ManagerHelloInterval: time.Hour})
	c.handshake(true)

	g.SetImpairments(Impairments{Duplicate: 1})
	report(g, 1)
	a, b := c.next(mesh.TypeNotification), c.next(mesh.TypeNotification)
	if a.Seq != b.Seq || decodeData(t, a) != 1 || decodeData(t, b) != 1 {
		t.Fatalf("duplicate: %+v %+v", a, b)
	}

	// Each report must have left before the impairment changes (Report is asynchronous).
	g.SetImpairments(Impairments{Loss: 1})
	report(g, 2)
	waitStats(t, g, func(s Stats) bool { return s.Notifications == 2 })
	g.SetImpairments(Impairments{BitFlip: 1})
	report(g, 3)
	waitStats(t, g, func(s Stats) bool { return s.Notifications == 3 })
	g.SetImpairments(Impairments{Noise: 1})
	report(g, 4)
	if p := c.next(mesh.TypeNotification); decodeData(t, p) != 4 {
		t.Fatalf("after loss and bit flip, got nodeSeq %d", decodeData(t, p))
	}
	st := g.Stats()
	if st.FramesLost != 1 || st.BitFlips != 1 || st.NoiseBursts != 1 || st.Duplicated != 1 {
		t.Fatalf("stats %+v", st)
	}
	if c.dropCount(mesh.CountBadFCS)+c.dropCount(mesh.CountShortFrame)+c.dropCount(mesh.CountBadLength)+c.dropCount(mesh.CountBadEscape) < 2 {
		t.Fatalf("bit flip and noise left no bad frames: %v", c.drops)
	}

	g.SetImpairments(Impairments{Delay: 50 * time.Millisecond})
	start := time.Now()
	report(g, 5)
	c.next(mesh.TypeNotification)
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Fatalf("delay not applied: %v", el)
	}

	// Reordering swaps queued reports; with probability 1 and a standing queue every pick
	// takes the second one.
	g.SetImpairments(Impairments{Reorder: 1})
	g.mu.Lock() // queue three at once so they are reordered as a batch
	for _, s := range []uint8{10, 11, 12} {
		g.queue = append(g.queue, DataPayload(mac, s, 0, []mesh.Record{{Channel: 1, Kind: 1}}, t0))
	}
	g.mu.Unlock()
	g.wake()
	var got []uint8
	for range 3 {
		p := c.next(mesh.TypeNotification)
		n, _ := mesh.ParseDataNotification(p.Payload)
		pl, _ := mesh.ParsePayload(n.Data)
		got = append(got, pl.NodeSeq)
	}
	if got[0] != 11 || g.Stats().Reordered < 1 {
		t.Fatalf("reorder: order %v, stats %+v", got, g.Stats())
	}
}

func waitStats(t *testing.T, g *Gateway, cond func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond(g.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within 5s: %+v", g.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFrameHelpersMatchSpec(t *testing.T) {
	// The spec's first worked frame, rebuilt with the exported encoder.
	want := "7e0214422904000000006afd86c00003d09000170d0000380a1ff0b8f0b801070bc4010108c5020109570302101810ee7e"
	recs := []mesh.Record{
		{Channel: 1, Kind: mesh.KindTemperature, Value: 2245},
		{Channel: 2, Kind: mesh.KindTemperature, Value: 2391},
		{Channel: 3, Kind: mesh.KindHumidity, Value: 4120},
	}
	got := DataFrame(0x42, true, mac, 7, 3012, recs, time.Unix(1795000000, 250000000))
	if hexs(got) != want {
		t.Fatalf("DataFrame\n%s\nwant\n%s", hexs(got), want)
	}
	var pkts []mesh.Packet
	df := mesh.NewDeframer(func(f []byte) {
		p, _ := mesh.ParsePacket(f)
		p.Payload = append([]byte(nil), p.Payload...)
		pkts = append(pkts, p)
	}, func(r mesh.Counter) { t.Errorf("helper frame dropped: %s", r) })
	df.Feed(AckFrame(mesh.TypeNotification, 0x7e))
	df.Feed(ManagerHelloFrame(3))
	df.Feed(HelloResponseFrame(0, 9, 0xFF))
	if len(pkts) != 3 ||
		pkts[0].Control != mesh.CtrlResponse || pkts[0].Type != mesh.TypeNotification || pkts[0].Seq != 0x7e || hexs(pkts[0].Payload) != "00" ||
		pkts[1].Type != mesh.TypeManagerHello || pkts[1].Seq != 3 || hexs(pkts[1].Payload) != "0400" ||
		pkts[2].Control != mesh.CtrlResponse || hexs(pkts[2].Payload) != "000409ff00" {
		t.Fatalf("helper frames decode to %+v", pkts)
	}
}

func hexs(b []byte) string {
	const d = "0123456789abcdef"
	s := make([]byte, 0, 2*len(b))
	for _, x := range b {
		s = append(s, d[x>>4], d[x&15])
	}
	return string(s)
}
