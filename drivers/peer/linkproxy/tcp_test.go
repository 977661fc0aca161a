package linkproxy

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"
)

// echoServer answers every line with itself, on TCP and UDP at one address.
func echoServer(t *testing.T, ctx context.Context) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-ctx.Done(); ln.Close() }()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := c.Write(append(sc.Bytes(), '\n')); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestTCPRelayCutIsSilentAndHealCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	target := echoServer(t, ctx)
	r, err := NewTCPRelay("127.0.0.1:0", target)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	c, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	say := func(s string) (string, error) {
		if _, err := c.Write([]byte(s + "\n")); err != nil {
			return "", err
		}
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		return rd.ReadString('\n')
	}
	if got, err := say("one"); err != nil || got != "one\n" {
		t.Fatalf("before the cut: %q %v", got, err)
	}
	r.SetCut(true)
	got, err := say("two")
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("during the cut: %q %v; want a timeout (a silent cut), not an answer or a reset", got, err)
	}
	// A connection made during the cut is accepted and goes nowhere.
	c2, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.Write([]byte("three\n"))
	for deadline := time.Now().Add(2 * time.Second); r.Stats().Dropped < uint64(len("two\nthree\n")); {
		if time.Now().After(deadline) {
			t.Fatalf("the cut's bytes were not dropped: %+v", r.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	r.SetCut(false)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := rd.ReadString('\n'); err == nil {
		t.Fatal("a connection that saw the cut still works after the heal; want it closed")
	}
	c3, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	c3.Write([]byte("four\n"))
	c3.SetReadDeadline(time.Now().Add(2 * time.Second))
	if got, err := bufio.NewReader(c3).ReadString('\n'); err != nil || got != "four\n" {
		t.Fatalf("after the heal: %q %v", got, err)
	}
	if st := r.Stats(); st.Dialed != 2 || st.Accepted != 3 || st.Closed < 2 {
		t.Fatalf("stats %+v", st)
	}
	cancel()
	<-done
}

func TestPathOneAddress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	target := echoServer(t, ctx)
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	// The UDP side goes to the UDP socket; the TCP one to the echo server: two targets here,
	// one in a peer link (the relay is made by hand for the test).
	p, err := NewPath("127.0.0.1:0", udp.LocalAddr().String(), 1, Faults{})
	if err != nil {
		t.Fatal(err)
	}
	p.TCP.target = target
	if p.TCP.Addr() != p.Addr() || p.Port() == 0 {
		t.Fatalf("udp %s tcp %s", p.Addr(), p.TCP.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	s, err := net.Dial("udp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Write([]byte("hb1"))
	buf := make([]byte, 64)
	udp.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, _, err := udp.ReadFrom(buf); err != nil || string(buf[:n]) != "hb1" {
		t.Fatalf("udp: %q %v", buf[:n], err)
	}
	if h := p.History(); len(h) != 1 || string(h[0]) != "hb1" {
		t.Fatalf("history %q", h)
	}
	p.SetCut(true)
	s.Write([]byte("hb2"))
	udp.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, _, err := udp.ReadFrom(buf); err == nil {
		t.Fatalf("udp through a cut: %q", buf[:n])
	}
	if !p.TCP.cutNow() {
		t.Fatal("the TCP side is not cut")
	}
	cancel()
	<-done
}
