package peer

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// freeAddr finds a loopback port free for both UDP and TCP (a Link binds both).
func freeAddr(t testing.TB) string {
	t.Helper()
	for range 20 {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		a := u.LocalAddr().String()
		l, err := net.Listen("tcp", a)
		u.Close()
		if err == nil {
			l.Close()
			return a
		}
	}
	t.Fatal("no free port")
	return ""
}

func startLink(t testing.TB, o Options) *Link {
	t.Helper()
	if o.Key == nil {
		o.Key = testKey
	}
	if o.Software == "" {
		o.Software = "test"
	}
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
	return l
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func recvOne(t testing.TB, l *Link) Received {
	t.Helper()
	select {
	case r := <-l.Recv():
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received")
	}
	return Received{}
}

// fake is a scripted peer on raw sockets: it seals what the test says, byte for byte.
type fake struct {
	t     *testing.T
	conns []*net.UDPConn
	c     *Codec
}

func newFake(t *testing.T, paths int) *fake {
	f := &fake{t: t, c: testCodec(t)}
	for range paths {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { u.Close() })
		f.conns = append(f.conns, u)
	}
	return f
}

func (f *fake) addrs() []string {
	var out []string
	for _, c := range f.conns {
		out = append(out, c.LocalAddr().String())
	}
	return out
}

func (f *fake) seal(h Header) []byte {
	f.t.Helper()
	if h.Type == 0 {
		h.Type = TypeHeartbeat
	}
	b, err := f.c.Seal(nil, &Message{Header: h})
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fake) sendTo(to string, b []byte) {
	f.t.Helper()
	ua, _ := net.ResolveUDPAddr("udp", to)
	if _, err := f.conns[0].WriteToUDP(b, ua); err != nil {
		f.t.Fatal(err)
	}
}

// read returns the next frame the Link sent to the fake's path p.
func (f *fake) read(p int) Message {
	f.t.Helper()
	buf := make([]byte, 65536)
	f.conns[p].SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := f.conns[p].ReadFromUDP(buf)
	if err != nil {
		f.t.Fatal(err)
	}
	var m Message
	if err := f.c.Open(buf[:n], &m); err != nil {
		f.t.Fatal(err)
	}
	return m
}

// The boot handshake, and every way of being dropped, each counted and none delivered.
func TestLinkHandshakeAndDrops(t *testing.T) {
	f := newFake(t, 2)
	a0, a1 := freeAddr(t), freeAddr(t)
	a := startLink(t, Options{NodeID: 1, PeerNodeID: 2, Listen: []string{a0, a1}, Peers: f.addrs(), Hold: time.Hour})
	aBoot := a.BootID()
	a.SetState(State{Role: RoleActive, Epoch: 9, ConfigVersion: 4})

	expect := func(c Counter, n uint64) {
		t.Helper()
		waitFor(t, c.String(), func() bool { return a.Count(c) >= n })
		if got := a.Count(c); got != n {
			t.Fatalf("%s = %d, want %d", c, got, n)
		}
		if len(a.Recv()) != 0 {
			t.Fatalf("after a %s drop, something was delivered: %+v", c, <-a.Recv())
		}
	}

	// A's first messages name no peer boot; each path gets its own copy, same seq.
	if err := a.Send(Message{Header: Header{Type: TypeHeartbeat}, Heartbeat: Heartbeat{Priority: 100}}); err != nil {
		t.Fatal(err)
	}
	m0, m1 := f.read(0), f.read(1)
	if m0.Header.PeerBoot != 0 || m0.Header.Path != 0 || m1.Header.Path != 1 || m0.Header.Seq != m1.Header.Seq {
		t.Fatalf("first heartbeats: %+v / %+v", m0.Header, m1.Header)
	}
	if m0.Header.NodeID != 1 || m0.Header.Role != RoleActive || m0.Header.Epoch != 9 || m0.Header.ConfigVersion != 4 || m0.Heartbeat.Priority != 100 {
		t.Fatalf("header does not carry the state: %+v", m0)
	}

	// The fake's first heartbeat cannot name A's boot yet: authentic but unconfirmed.
	f.sendTo(a0, f.seal(Header{NodeID: 2, BootID: 777, Seq: 1}))
	expect(CountUnconfirmed, 1)
	a.Send(Message{Header: Header{Type: TypeHeartbeat}})
	if m := f.read(0); m.Header.PeerBoot != 777 {
		t.Fatalf("A echoes peer boot %d, want 777", m.Header.PeerBoot)
	}
	f.read(1)

	// Naming A's boot, it is accepted; its copy on path 1 is a duplicate that still counts
	// as path 1 heard.
	good := f.seal(Header{NodeID: 2, BootID: 777, PeerBoot: aBoot, Seq: 2, Role: RoleStandby})
	f.sendTo(a0, good)
	r := recvOne(t, a)
	if r.Path != 0 || r.Message.Header.Seq != 2 || r.Message.Header.Role != RoleStandby || r.Late || r.TCP || r.At.IsZero() {
		t.Fatalf("received %+v", r)
	}
	if n, b, ok := a.Peer(); !ok || n != 2 || b != 777 {
		t.Fatalf("Peer() = %d %d %v", n, b, ok)
	}
	f.sendTo(a1, f.seal(Header{NodeID: 2, BootID: 777, PeerBoot: aBoot, Seq: 2, Path: 1}))
	expect(CountDuplicate, 1)
	if h := a.LastHeard(); h[0].IsZero() || h[1].IsZero() {
		t.Fatalf("last heard %v", h)
	}

	// A captured packet sent again.
	f.sendTo(a0, good)
	expect(CountReplay, 1)
	// A copy made for path 0 put onto path 1.
	f.sendTo(a1, f.seal(Header{NodeID: 2, BootID: 777, PeerBoot: aBoot, Seq: 3, Path: 0}))
	expect(CountWrongPath, 1)
	// The wrong key.
	other, _ := NewCodec([]byte(strings.Repeat("w", 32)))
	forged, _ := other.Seal(nil, &Message{Header: Header{Type: TypeHeartbeat, NodeID: 2, BootID: 777, PeerBoot: aBoot, Seq: 4}})
	f.sendTo(a0, forged)
	expect(CountBadMAC, 1)
	// Garbage, and a frame cut short.
	f.sendTo(a0, []byte("hello, is anybody there?"))
	f.sendTo(a0, good[:100])
	expect(CountMalformed, 2)
	// Our own node id, with the right key.
	f.sendTo(a0, f.seal(Header{NodeID: 1, BootID: 5, PeerBoot: aBoot, Seq: 5}))
	expect(CountSelf, 1)
	// A third node with the right key, even one that knows our boot.
	f.sendTo(a0, f.seal(Header{NodeID: 3, BootID: 9, PeerBoot: aBoot, Seq: 6}))
	expect(CountForeignNode, 1)
	// A release that declares it cannot be read by this one; a type this one does not know.
	f.sendTo(a0, sealRaw(Version+1, Version+1, TypeHeartbeat, nil, make([]byte, HeartbeatLen), Header{NodeID: 2, BootID: 777, PeerBoot: aBoot, Seq: 7}))
	expect(CountWrongVersion, 1)
	f.sendTo(a0, sealRaw(Version, Version, Type(77), nil, nil, Header{NodeID: 2, BootID: 777, PeerBoot: aBoot, Seq: 8}))
	expect(CountUnknownType, 1)

	// Release N+1: a longer header and body, compat N: accepted by N.
	f.sendTo(a0, sealRaw(Version+1, Version, TypeHeartbeat, []byte("future header"), append(make([]byte, HeartbeatLen), "future body"...),
		Header{NodeID: 2, BootID: 777, PeerBoot: aBoot, Seq: 10}))
	if r := recvOne(t, a); r.Message.Header.Seq != 10 || r.Message.Header.Version != Version+1 {
		t.Fatalf("v%d message: %+v", Version+1, r.Message.Header)
	}
	// Reordered, not replayed: delivered once, marked late.
	f.sendTo(a0, f.seal(Header{NodeID: 2, BootID: 777, PeerBoot: aBoot, Seq: 9}))
	if r := recvOne(t, a); r.Message.Header.Seq != 9 || !r.Late {
		t.Fatalf("late message: %+v late=%v", r.Message.Header, r.Late)
	}

	// The peer restarts (boot 778). Its first heartbeat names no boot of ours: while 777 is
	// still heard (Hold) A keeps echoing 777.
	f.sendTo(a0, f.seal(Header{NodeID: 2, BootID: 778, Seq: 1}))
	expect(CountUnconfirmed, 2)
	a.Send(Message{Header: Header{Type: TypeHeartbeat}})
	if m := f.read(0); m.Header.PeerBoot != 777 || m.Heartbeat.AckSeq != 10 {
		t.Fatalf("echo %d ack %d, want 777 and 10", m.Header.PeerBoot, m.Heartbeat.AckSeq)
	}
	f.read(1)
	// Once it names our boot, boot 778 replaces 777, and 777 is never accepted again.
	f.sendTo(a0, f.seal(Header{NodeID: 2, BootID: 778, PeerBoot: aBoot, Seq: 2}))
	if r := recvOne(t, a); r.Message.Header.BootID != 778 {
		t.Fatalf("restart: %+v", r.Message.Header)
	}
	f.sendTo(a0, f.seal(Header{NodeID: 2, BootID: 777, PeerBoot: aBoot, Seq: 500}))
	expect(CountReplay, 2)
	if got := a.Count(CountSessions); got != 2 {
		t.Fatalf("sessions %d, want 2", got)
	}
	if got := a.Count(CountAccepted); got != 4 {
		t.Fatalf("accepted %d, want 4", got)
	}
}

// A board sends only to its configured peers: a sender at any other address, authentic or
// not, never gets a byte back.
func TestLinkNeverRepliesToSource(t *testing.T) {
	f := newFake(t, 1)
	a0 := freeAddr(t)
	a := startLink(t, Options{NodeID: 1, PeerNodeID: 2, Listen: []string{a0}, Peers: f.addrs()})
	stranger, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	to, _ := net.ResolveUDPAddr("udp", a0)
	frames := [][]byte{
		[]byte("ping"),
		f.seal(Header{NodeID: 2, BootID: 1, Seq: 1}),
		f.seal(Header{NodeID: 2, BootID: 1, PeerBoot: a.BootID(), Seq: 2}), // authentic and fresh
	}
	for _, b := range frames {
		stranger.WriteToUDP(b, to)
	}
	waitFor(t, "the stranger's frames handled", func() bool {
		return a.Count(CountMalformed)+a.Count(CountUnconfirmed)+a.Count(CountAccepted) == 3
	})
	for range 5 {
		a.Send(Message{Header: Header{Type: TypeHeartbeat}})
		f.read(0) // the configured peer gets every one
	}
	stranger.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 2048)
	if n, from, err := stranger.ReadFromUDP(buf); err == nil {
		t.Fatalf("the stranger got %d bytes from %v", n, from)
	}
}

// pair runs two Links on two paths, each sending to the other's addresses (or to the given
// addresses in between).
func pair(t *testing.T, aListen, bListen, aPeers, bPeers []string) (*Link, *Link) {
	a := startLink(t, Options{NodeID: 1, PeerNodeID: 2, Listen: aListen, Peers: aPeers, Software: "v1.0.0"})
	b := startLink(t, Options{NodeID: 2, PeerNodeID: 1, Listen: bListen, Peers: bPeers, Software: "v1.1.0"})
	return a, b
}

// heartbeats sends a heartbeat from both ends every period until stop is closed.
func heartbeats(a, b *Link, period time.Duration, stop <-chan struct{}) {
	tk := time.NewTicker(period)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
			a.Send(Message{Header: Header{Type: TypeHeartbeat}, Heartbeat: Heartbeat{Priority: 100}})
			b.Send(Message{Header: Header{Type: TypeHeartbeat}, Heartbeat: Heartbeat{Priority: 50}})
		}
	}
}

func TestTwoLinksTwoPathsAndBulk(t *testing.T) {
	al, bl := []string{freeAddr(t), freeAddr(t)}, []string{freeAddr(t), freeAddr(t)}
	a, b := pair(t, al, bl, bl, al)
	b.SetState(State{Role: RoleStandby, Epoch: 3, ConfigVersion: 8, ConfigHash: [32]byte{1, 2, 3}})
	stop := make(chan struct{})
	defer close(stop)
	go heartbeats(a, b, 5*time.Millisecond, stop)

	r := recvOne(t, a)
	h := r.Message.Header
	if h.NodeID != 2 || h.Role != RoleStandby || h.Epoch != 3 || h.ConfigVersion != 8 || h.ConfigHash[2] != 3 || h.Software != "v1.1.0" || r.Message.Heartbeat.Priority != 50 {
		t.Fatalf("a received %+v", r.Message)
	}
	waitFor(t, "both paths heard at both ends", func() bool {
		for _, l := range []*Link{a, b} {
			for _, at := range l.LastHeard() {
				if at.IsZero() {
					return false
				}
			}
		}
		return true
	})

	// A configuration too large for a datagram goes over TCP on every path, delivered once.
	cfg := bytes.Repeat([]byte("[[unit]]\nname = \"crah\"\n"), 12000)
	if err := a.Send(Message{Header: Header{Type: TypeConfig}, Payload: cfg}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case r := <-b.Recv():
			if r.Message.Header.Type != TypeConfig {
				continue
			}
			if !r.TCP || !bytes.Equal(r.Message.Payload, cfg) {
				t.Fatalf("config: tcp=%v, %d bytes", r.TCP, len(r.Message.Payload))
			}
			waitFor(t, "the second path's copy", func() bool { return b.Count(CountTCPConns) == 2 })
			for _, c := range []Counter{CountBadMAC, CountMalformed, CountReplay, CountForeignNode, CountSelf} {
				if a.Count(c)+b.Count(c) != 0 {
					t.Errorf("%s counted on a clean link: %v / %v", c, a.Counters(), b.Counters())
				}
			}
			return
		case <-deadline:
			t.Fatalf("no config received: %v", b.Counters())
		}
	}
}

func TestNewRefuses(t *testing.T) {
	ok := Options{NodeID: 1, Key: testKey, Listen: []string{"127.0.0.1:0"}, Peers: []string{"127.0.0.1:9"}}
	for name, mod := range map[string]func(*Options){
		"node 0":        func(o *Options) { o.NodeID = 0 },
		"peer is us":    func(o *Options) { o.PeerNodeID = 1 },
		"short key":     func(o *Options) { o.Key = testKey[:31] },
		"no paths":      func(o *Options) { o.Listen, o.Peers = nil, nil },
		"three paths":   func(o *Options) { o.Listen, o.Peers = []string{"a", "b", "c"}, []string{"a", "b", "c"} },
		"unpaired":      func(o *Options) { o.Peers = []string{"127.0.0.1:9", "127.0.0.1:10"} },
		"peer hostname": func(o *Options) { o.Peers = []string{"localhost:9"} },
		"peer any":      func(o *Options) { o.Peers = []string{"0.0.0.0:9"} },
		"peer port 0":   func(o *Options) { o.Peers = []string{"127.0.0.1:0"} },
		"software":      func(o *Options) { o.Software = "v1 beta" },
	} {
		o := ok
		mod(&o)
		if l, err := New(o); err == nil {
			l.Close()
			t.Errorf("%s: accepted", name)
		}
	}
	l, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := l.Run(context.Background()); err == nil {
		t.Error("Run after Close succeeded")
	}
}
