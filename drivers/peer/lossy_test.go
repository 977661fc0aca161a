package peer

import (
	"context"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/peer/linkproxy"
)

func startProxy(t *testing.T, target string, seed uint64, f linkproxy.Faults) *linkproxy.Proxy {
	t.Helper()
	p, err := linkproxy.New("127.0.0.1:0", target, seed, f)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

// Under 30 % loss, reordering, duplication and replays of earlier datagrams on both paths, the
// link delivers each message at most once, never a replay, counts what it drops, and a cut
// path stops being heard while the other carries on.
func TestLinkUnderLossReorderAndReplay(t *testing.T) {
	faults := linkproxy.Faults{Loss: 0.3, Reorder: 0.2, Duplicate: 0.05, Replay: 0.1, Jitter: 2 * time.Millisecond}
	al, bl := []string{freeAddr(t), freeAddr(t)}, []string{freeAddr(t), freeAddr(t)}
	var ab, ba [2]*linkproxy.Proxy
	for p := range 2 {
		ab[p] = startProxy(t, bl[p], uint64(10+p), faults)
		ba[p] = startProxy(t, al[p], uint64(20+p), faults)
	}
	a, b := pair(t, al, bl, []string{ab[0].Addr(), ab[1].Addr()}, []string{ba[0].Addr(), ba[1].Addr()})

	stop := make(chan struct{})
	hbDone := make(chan struct{})
	go func() { heartbeats(a, b, 2*time.Millisecond, stop); close(hbDone) }()
	defer func() { close(stop); <-hbDone }()

	type key struct{ boot, seq uint64 }
	seen := map[key]bool{}
	take := func(n int) (late int) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for range n {
			select {
			case r := <-b.Recv():
				k := key{r.Message.Header.BootID, r.Message.Header.Seq}
				if seen[k] {
					t.Fatalf("seq %d of boot %x delivered twice", k.seq, k.boot)
				}
				seen[k] = true
				if r.Late {
					late++
				}
			case <-deadline:
				t.Fatalf("only %d delivered: %v", len(seen), b.Counters())
			}
		}
		return late
	}
	late := take(600)
	c := b.Counters()
	t.Logf("b after 600 delivered: %v; proxy a->b path 0: %+v", c, ab[0].Stats())
	if c["replay"] == 0 || c["duplicate"] == 0 {
		t.Errorf("the proxies replayed and both paths carried copies, yet replay=%d duplicate=%d", c["replay"], c["duplicate"])
	}
	if late == 0 || c["late"] == 0 {
		t.Errorf("reordering on the paths, yet nothing was late")
	}
	// A message is lost only when both paths lose it (about 9 % at 30 % each); a few are in
	// flight when this is read.
	if sent := float64(a.Count(CountSent)) / 2; float64(c["accepted"]) < 0.85*(sent-30) {
		t.Errorf("accepted %d of about %.0f sent", c["accepted"], sent)
	}
	for _, k := range []string{"bad_mac", "malformed", "foreign_node", "self", "wrong_path"} {
		if c[k] != 0 {
			t.Errorf("%s = %d on a link with no forger", k, c[k])
		}
	}

	// Cut path 0 both ways: it stops being heard, path 1 carries on.
	ab[0].SetCut(true)
	ba[0].SetCut(true)
	time.Sleep(60 * time.Millisecond) // let what the proxies held (reorder, jitter) drain
	before := b.LastHeard()
	take(200)
	after := b.LastHeard()
	if !after[0].Equal(before[0]) {
		t.Errorf("path 0 is cut, yet heard %v after", after[0].Sub(before[0]))
	}
	if !after[1].After(before[1]) {
		t.Errorf("path 1 not heard while path 0 is cut")
	}
	ab[0].SetCut(false)
	waitFor(t, "path 0 heard again", func() bool { return b.LastHeard()[0].After(after[0]) })
}
