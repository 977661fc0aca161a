package linkproxy

import (
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"
)

// rig is a sender, a proxy and a receiving socket on loopback.
type rig struct {
	p    *Proxy
	send *net.UDPConn
	recv *net.UDPConn
}

func newRig(t *testing.T, seed uint64, f Faults) *rig {
	t.Helper()
	recv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	recv.SetReadBuffer(1 << 20)
	t.Cleanup(func() { recv.Close() })
	p, err := New("127.0.0.1:0", recv.LocalAddr().String(), seed, f)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run: %v, want context.Canceled", err)
		}
	})
	to, _ := net.ResolveUDPAddr("udp", p.Addr())
	send, err := net.DialUDP("udp", nil, to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { send.Close() })
	return &rig{p, send, recv}
}

func (r *rig) sendN(t *testing.T, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(i))
		if _, err := r.send.Write(b[:]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Microsecond) // keep the loopback socket buffer from overflowing
	}
}

// exchange sends n datagrams (from, from+1, ...) while reading what arrives, until quiet for
// the given time after the last one (the receiving socket's buffer holds only some 250).
func (r *rig) exchange(t *testing.T, from, n int, quiet time.Duration) []uint32 {
	t.Helper()
	got := make(chan []uint32)
	go func() { got <- r.collect(quiet) }()
	r.sendN(t, from, n)
	return <-got
}

// collect reads until quiet for the given time.
func (r *rig) collect(quiet time.Duration) []uint32 {
	var out []uint32
	buf := make([]byte, 64)
	for {
		r.recv.SetReadDeadline(time.Now().Add(quiet))
		n, _, err := r.recv.ReadFromUDP(buf)
		if err != nil {
			return out
		}
		if n == 4 {
			out = append(out, binary.BigEndian.Uint32(buf))
		}
	}
}

func TestPassThroughInOrder(t *testing.T) {
	r := newRig(t, 1, Faults{})
	got := r.exchange(t, 0, 100, 200*time.Millisecond)
	if len(got) != 100 {
		t.Fatalf("got %d datagrams, want 100", len(got))
	}
	for i, v := range got {
		if v != uint32(i) {
			t.Fatalf("datagram %d is %d: out of order without faults", i, v)
		}
	}
}

// fates feeds n datagrams straight to a proxy's decisions (no sockets, so nothing but the seed
// can change them) and returns what it queued, in departure order.
func fates(t *testing.T, seed uint64, f Faults, n int) []uint32 {
	t.Helper()
	p, err := New("127.0.0.1:0", "127.0.0.1:9", seed, f)
	if err != nil {
		t.Fatal(err)
	}
	defer p.in.Close()
	defer p.out.Close()
	now := time.Now()
	for i := range n {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(i))
		p.arrive(b[:], now.Add(time.Duration(i)*time.Millisecond))
	}
	p.flushHeld(now.Add(time.Hour))
	var out []uint32
	for p.q.Len() > 0 {
		out = append(out, binary.BigEndian.Uint32(heap.Pop(&p.q).(*item).b))
	}
	return out
}

func TestSeededFates(t *testing.T) {
	f := Faults{Loss: 0.3, Reorder: 0.1, Duplicate: 0.1, Replay: 0.1, Jitter: 5 * time.Millisecond}
	a, b, c := fates(t, 42, f, 1000), fates(t, 42, f, 1000), fates(t, 43, f, 1000)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("the same seed gave different fates")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatal("another seed gave the same fates")
	}
	distinct := map[uint32]bool{}
	for _, v := range a {
		distinct[v] = true
	}
	if lost := 1000 - len(distinct); lost < 250 || lost > 350 {
		t.Errorf("%d of 1000 lost at 30%% loss (some replays bring lost ones back)", lost)
	}
	if l := fates(t, 1, Faults{Loss: 0.3}, 1000); len(l) < 650 || len(l) > 750 {
		t.Errorf("%d of 1000 passed at 30%% loss", len(l))
	}
}

func TestLossOverSockets(t *testing.T) {
	r := newRig(t, 42, Faults{Loss: 0.3})
	got := r.exchange(t, 0, 200, 200*time.Millisecond)
	s := r.p.Stats()
	if s.Lost+s.Forwarded != s.Received || int(s.Forwarded) != len(got) {
		t.Fatalf("stats %+v, received %d", s, len(got))
	}
	if s.Lost < 30 || s.Lost > 90 {
		t.Errorf("%d of %d lost at 30%%", s.Lost, s.Received)
	}
}

func TestReorderDuplicateReplay(t *testing.T) {
	r := newRig(t, 7, Faults{Reorder: 0.2, Duplicate: 0.1, Replay: 0.1})
	got := r.exchange(t, 0, 300, 300*time.Millisecond)
	s := r.p.Stats()
	if s.Reordered == 0 || s.Duplicated == 0 || s.Replayed == 0 {
		t.Fatalf("stats %+v: every fault should have happened", s)
	}
	if uint64(len(got)) != 300+s.Duplicated+s.Replayed {
		t.Errorf("received %d, want 300 + %d duplicates + %d replays", len(got), s.Duplicated, s.Replayed)
	}
	inversions := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			inversions++
		}
	}
	if inversions == 0 {
		t.Error("no datagram arrived out of order")
	}
}

func TestCutAtRunTime(t *testing.T) {
	r := newRig(t, 3, Faults{})
	if got := r.exchange(t, 0, 10, 100*time.Millisecond); len(got) != 10 {
		t.Fatalf("before the cut: %d of 10", len(got))
	}
	r.p.SetCut(true)
	if got := r.exchange(t, 10, 10, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("during the cut: %d datagrams passed", len(got))
	}
	r.p.SetCut(false)
	got := r.exchange(t, 20, 10, 100*time.Millisecond)
	if len(got) != 10 || got[0] != 20 {
		t.Fatalf("after the cut: %v", got)
	}
}

func TestDelay(t *testing.T) {
	r := newRig(t, 5, Faults{Delay: 30 * time.Millisecond, Jitter: 10 * time.Millisecond})
	buf := make([]byte, 8)
	for i := range 3 {
		r.recv.SetReadDeadline(time.Now().Add(time.Second))
		t0 := time.Now()
		r.sendN(t, i, 1)
		if _, _, err := r.recv.ReadFromUDP(buf); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d < 30*time.Millisecond {
			t.Errorf("arrived after %v, want >= 30 ms", d)
		}
	}
}

func TestBadFaultsRefused(t *testing.T) {
	for _, f := range []Faults{{Loss: 1.5}, {Reorder: -0.1}, {Delay: -time.Second}} {
		if _, err := New("127.0.0.1:0", "127.0.0.1:9", 1, f); err == nil {
			t.Errorf("%+v accepted", f)
		}
	}
}
