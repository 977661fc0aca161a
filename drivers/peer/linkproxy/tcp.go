package linkproxy

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// TCPStats counts a TCPRelay's connections and bytes.
type TCPStats struct {
	Accepted, Dialed, DialFailed, Closed uint64
	Forwarded, Dropped                   uint64 // bytes
}

// TCPRelay forwards every TCP connection accepted on its address to one target, both ways.
type TCPRelay struct {
	ln     *net.TCPListener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[*relayConn]struct{}
	st    TCPStats
}

type relayConn struct {
	in, out net.Conn
	dead    bool // saw a cut: its stream lost bytes, closed on Heal
}

// NewTCPRelay listens on listen ("127.0.0.1:0") for connections to forward to target.
func NewTCPRelay(listen, target string) (*TCPRelay, error) {
	la, err := net.ResolveTCPAddr("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("linkproxy: listen %q: %w", listen, err)
	}
	if _, err := net.ResolveTCPAddr("tcp", target); err != nil {
		return nil, fmt.Errorf("linkproxy: target %q: %w", target, err)
	}
	ln, err := net.ListenTCP("tcp", la)
	if err != nil {
		return nil, fmt.Errorf("linkproxy: %w", err)
	}
	return &TCPRelay{ln: ln, target: target, conns: map[*relayConn]struct{}{}}, nil
}

// Addr is where to connect for the target.
func (r *TCPRelay) Addr() string { return r.ln.Addr().String() }

// SetCut switches the cut on or off. On: every open connection's bytes are dropped from now on
// and new connections are accepted but never dialled on. Off: the connections that saw the cut
// are closed (both sides), new ones are forwarded again.
func (r *TCPRelay) SetCut(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = on
	for c := range r.conns {
		if on {
			c.dead = true
		} else if c.dead {
			r.closeLocked(c)
		}
	}
}

// Stats returns the counts so far.
func (r *TCPRelay) Stats() TCPStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

func (r *TCPRelay) closeLocked(c *relayConn) {
	if _, ok := r.conns[c]; !ok {
		return
	}
	delete(r.conns, c)
	c.in.Close()
	if c.out != nil {
		c.out.Close()
	}
	r.st.Closed++
}

// Run forwards until ctx ends, then closes the listener and every connection and returns
// ctx.Err().
func (r *TCPRelay) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := r.ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); r.serve(ctx, in) }()
		}
	}()
	<-ctx.Done()
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		r.closeLocked(c)
	}
	r.mu.Unlock()
	wg.Wait()
	return ctx.Err()
}

func (r *TCPRelay) serve(ctx context.Context, in net.Conn) {
	c := &relayConn{in: in}
	r.mu.Lock()
	if ctx.Err() != nil {
		r.mu.Unlock()
		in.Close()
		return
	}
	r.st.Accepted++
	r.conns[c] = struct{}{}
	c.dead = r.cut
	r.mu.Unlock()
	if c.dead {
		r.drain(c) // a cut cable: the client's bytes go nowhere until Heal closes it
		return
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	out, err := d.DialContext(ctx, "tcp", r.target)
	r.mu.Lock()
	if err != nil {
		r.st.DialFailed++
		r.closeLocked(c)
		r.mu.Unlock()
		return
	}
	r.st.Dialed++
	if _, open := r.conns[c]; !open {
		r.mu.Unlock()
		out.Close()
		return
	}
	c.out = out
	r.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.pump(c, in, out) }()
	go func() { defer wg.Done(); r.pump(c, out, in) }()
	wg.Wait()
	r.mu.Lock()
	r.closeLocked(c)
	r.mu.Unlock()
}

// drain reads and drops what a connection accepted during a cut sends.
func (r *TCPRelay) drain(c *relayConn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.in.Read(buf)
		r.mu.Lock()
		r.st.Dropped += uint64(n)
		r.mu.Unlock()
		if err != nil {
			r.mu.Lock()
			r.closeLocked(c)
			r.mu.Unlock()
			return
		}
	}
}

// pump copies src to dst while the connection is not cut; a cut connection's bytes are dropped.
func (r *TCPRelay) pump(c *relayConn, src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			r.mu.Lock()
			dead := c.dead
			if dead {
				r.st.Dropped += uint64(n)
			} else {
				r.st.Forwarded += uint64(n)
			}
			r.mu.Unlock()
			if !dead {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					err = werr
				}
			}
		}
		if err != nil { // EOF, a reset or a close: the relay passes it on by closing both sides
			src.Close()
			dst.Close()
			return
		}
	}
}

// Path is one direction of a peer-link path: datagrams through a Proxy, bulk connections
// through a TCPRelay, both on one address.
type Path struct {
	*Proxy
	TCP *TCPRelay
}

// NewPath binds a Proxy and a TCPRelay on the same address, host:0 picking a port free for
// both (it tries a few).
func NewPath(listen, target string, seed uint64, f Faults) (*Path, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("linkproxy: listen %q: %w", listen, err)
	}
	for range 20 {
		p, err := New(listen, target, seed, f)
		if err != nil {
			return nil, err
		}
		_, got, _ := net.SplitHostPort(p.Addr())
		t, err := NewTCPRelay(net.JoinHostPort(host, got), target)
		if err == nil {
			return &Path{Proxy: p, TCP: t}, nil
		}
		p.in.Close()
		p.out.Close()
		if port != "0" {
			return nil, err
		}
	}
	return nil, fmt.Errorf("linkproxy: no port free for both UDP and TCP on %s", host)
}

// SetCut cuts or heals both.
func (p *Path) SetCut(on bool) {
	p.Proxy.SetCut(on)
	p.TCP.SetCut(on)
}

// Run runs both until ctx ends.
func (p *Path) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- p.TCP.Run(ctx) }()
	err := p.Proxy.Run(ctx)
	<-errc
	return err
}

// Port is the path's port (the same for UDP and TCP).
func (p *Path) Port() int {
	_, s, _ := net.SplitHostPort(p.Addr())
	n, _ := strconv.Atoi(s)
	return n
}

func (r *TCPRelay) cutNow() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cut
}
