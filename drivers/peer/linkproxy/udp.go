package linkproxy

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Faults are what the proxy does to the datagrams it forwards. Probabilities are 0..1.
type Faults struct {
	Loss      float64       // drop
	Delay     time.Duration // fixed delay of every forwarded datagram
	Jitter    time.Duration // plus a uniform 0..Jitter
	Duplicate float64       // forward twice
	Reorder   float64       // hold back and send after the next datagram (or after HoldMax)
	Replay    float64       // after a datagram, send again one of the last 64 forwarded
	Cut       bool          // drop everything
}

func (f Faults) check() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", f.Loss}, {"duplicate", f.Duplicate}, {"reorder", f.Reorder}, {"replay", f.Replay}} {
		if !(p.v >= 0 && p.v <= 1) {
			return fmt.Errorf("linkproxy: %s probability %v outside 0..1", p.name, p.v)
		}
	}
	if f.Delay < 0 || f.Jitter < 0 {
		return errors.New("linkproxy: negative delay or jitter")
	}
	return nil
}

// Stats counts what happened to the datagrams.
type Stats struct {
	Received, Forwarded, Lost, Cut, Duplicated, Reordered, Replayed uint64
}

// HoldMax is how long a datagram held back for reordering waits for a next one.
const HoldMax = 50 * time.Millisecond

// Proxy forwards datagrams from its address to one target, one way.
type Proxy struct {
	in, out *net.UDPConn
	target  *net.UDPAddr

	mu      sync.Mutex
	f       Faults
	rng     *rand.Rand
	st      Stats
	history [][]byte // last forwarded, for Replay
	held    *item
	heldAt  time.Time
	q       queue
	n       uint64
	wake    chan struct{}
}

// New binds listen ("127.0.0.1:0") and an outgoing socket towards target. seed makes every
// decision repeatable for the same sequence of datagrams.
func New(listen, target string, seed uint64, f Faults) (*Proxy, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	la, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, fmt.Errorf("linkproxy: listen %q: %w", listen, err)
	}
	ta, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, fmt.Errorf("linkproxy: target %q: %w", target, err)
	}
	in, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, fmt.Errorf("linkproxy: %w", err)
	}
	out, err := net.ListenUDP("udp", &net.UDPAddr{IP: la.IP})
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("linkproxy: %w", err)
	}
	in.SetReadBuffer(1 << 20) // a burst must not be lost before the proxy decides its fate
	return &Proxy{in: in, out: out, target: ta, f: f, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wake: make(chan struct{}, 1)}, nil
}

// Addr is where to send datagrams for the target.
func (p *Proxy) Addr() string { return p.in.LocalAddr().String() }

// Set replaces the faults at once (a held datagram stays held).
func (p *Proxy) Set(f Faults) error {
	if err := f.check(); err != nil {
		return err
	}
	p.mu.Lock()
	p.f = f
	p.mu.Unlock()
	return nil
}

// SetCut switches the cut on or off, leaving the other faults.
func (p *Proxy) SetCut(on bool) {
	p.mu.Lock()
	p.f.Cut = on
	p.mu.Unlock()
}

// History returns copies of the last datagrams forwarded (at most 64, oldest first): real
// frames for a test to send again from elsewhere.
func (p *Proxy) History() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]byte, len(p.history))
	for i, b := range p.history {
		out[i] = append([]byte(nil), b...)
	}
	return out
}

// Stats returns the counts so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// Run forwards until ctx ends, then closes the sockets and returns ctx.Err().
func (p *Proxy) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.read(ctx) }()
	go func() { defer wg.Done(); p.write(ctx) }()
	<-ctx.Done()
	p.in.Close()
	wg.Wait()
	p.out.Close()
	return ctx.Err()
}

func (p *Proxy) read(ctx context.Context) {
	buf := make([]byte, 65536)
	for ctx.Err() == nil {
		p.in.SetReadDeadline(time.Now().Add(HoldMax / 2))
		n, _, err := p.in.ReadFromUDP(buf)
		now := time.Now()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				p.flushHeld(now)
				continue
			}
			return
		}
		p.arrive(append([]byte(nil), buf[:n]...), now)
	}
}

// arrive makes every decision for one datagram, in a fixed order of draws from the seeded
// generator, so that the same datagrams get the same fates.
func (p *Proxy) arrive(b []byte, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := &p.f
	p.st.Received++
	loss, dup, reord, repl := p.rng.Float64(), p.rng.Float64(), p.rng.Float64(), p.rng.Float64()
	jit := p.rng.Float64()
	pick := p.rng.IntN(64)
	if f.Cut {
		p.st.Cut++
		return
	}
	if loss < f.Loss {
		p.st.Lost++
		return
	}
	due := now.Add(f.Delay + time.Duration(jit*float64(f.Jitter)))
	if reord < f.Reorder && p.held == nil {
		p.st.Reordered++
		p.held, p.heldAt = &item{due: due, b: b}, now
		return
	}
	p.push(due, b)
	if dup < f.Duplicate {
		p.st.Duplicated++
		p.push(due, b)
	}
	if p.held != nil {
		p.push(due.Add(time.Microsecond), p.held.b)
		p.held = nil
	}
	if repl < f.Replay && len(p.history) > 0 {
		p.st.Replayed++
		p.push(due.Add(2*time.Microsecond), p.history[pick%len(p.history)])
	}
	p.history = append(p.history, b)
	if len(p.history) > 64 {
		p.history = p.history[1:]
	}
}

func (p *Proxy) flushHeld(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held != nil && now.Sub(p.heldAt) >= HoldMax {
		p.push(p.held.due, p.held.b)
		p.held = nil
	}
}

// push queues a datagram for its due time (mu held).
func (p *Proxy) push(due time.Time, b []byte) {
	p.n++
	heap.Push(&p.q, &item{due: due, n: p.n, b: b})
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Proxy) write(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		p.mu.Lock()
		var next []byte
		wait := time.Hour
		if len(p.q) > 0 {
			if d := time.Until(p.q[0].due); d <= 0 {
				next = heap.Pop(&p.q).(*item).b
				if !p.f.Cut {
					p.st.Forwarded++
				} else {
					next, wait = nil, 0 // cut while queued: the datagram is lost
					p.st.Cut++
				}
			} else {
				wait = d
			}
		}
		p.mu.Unlock()
		if next != nil {
			p.out.WriteToUDP(next, p.target) // a lost datagram is what a proxy may do
			continue
		}
		if wait == 0 {
			continue
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
			t.Stop() // since Go 1.23 no stale tick is left in t.C
		case <-t.C:
		}
	}
}

type item struct {
	due time.Time
	n   uint64
	b   []byte
}

type queue []*item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].n < q[j].n
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*item)) }
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}
