package mesh_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/mesh"
	"github.com/coldaisle/coldaisle/drivers/mesh/meshsim"
)

// fakeClock is a Clock whose time moves only when Advance is called.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	clk    *fakeClock
	c      chan time.Time
	when   time.Time
	active bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer(d time.Duration) mesh.Timer {
	t := &fakeTimer{clk: f, c: make(chan time.Time, 1)}
	f.mu.Lock()
	f.timers = append(f.timers, t)
	f.mu.Unlock()
	t.Reset(d)
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Reset(d time.Duration) {
	f := t.clk
	f.mu.Lock()
	defer f.mu.Unlock()
	select { // Go 1.23 semantics: no stale tick after Reset
	case <-t.c:
	default:
	}
	t.when, t.active = f.now.Add(d), true
	f.fireLocked()
}

func (t *fakeTimer) Stop() {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	t.active = false
	select {
	case <-t.c:
	default:
	}
}

func (f *fakeClock) fireLocked() {
	for _, t := range f.timers {
		if t.active && !t.when.After(f.now) {
			t.active = false
			select {
			case t.c <- f.now:
			default:
			}
		}
	}
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	f.fireLocked()
}

// armed reports whether a timer is set to fire at when. The client computes a timer's duration
// from Now and then calls Reset, so a test that advances the clock in between would push the
// timer past the instant it means: tests wait for the timer they advance to.
func (f *fakeClock) armed(when time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.timers {
		if t.active && t.when.Equal(when) {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var mac = [8]byte{0, 0x17, 0x0d, 0, 0, 0x38, 0x0a, 0x1f}

// sink collects readings.
type sink struct {
	mu  sync.Mutex
	got []mesh.Reading
}

func (s *sink) deliver(r mesh.Reading) { s.mu.Lock(); s.got = append(s.got, r); s.mu.Unlock() }
func (s *sink) n() int                 { s.mu.Lock(); defer s.mu.Unlock(); return len(s.got) }
func (s *sink) all() []mesh.Reading {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mesh.Reading(nil), s.got...)
}

// runGateway runs g until the test ends.
func runGateway(t *testing.T, g *meshsim.Gateway) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// runClient runs c until stop is called; stop returns Run's error.
func runClient(t *testing.T, c *mesh.Client, deliver func(mesh.Reading)) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, deliver) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func TestClientDeliversOverPipe(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	g := meshsim.NewGateway(b, meshsim.Options{Seed: 1, ManagerHelloInterval: 50 * time.Millisecond})
	runGateway(t, g)
	opened := false
	c := mesh.NewClient(func() (io.ReadWriteCloser, error) {
		if opened {
			return nil, errors.New("test: no second port")
		}
		opened = true
		return a, nil
	}, mesh.Options{})
	var s sink
	stop := runClient(t, c, s.deliver)
	waitFor(t, "session up", c.Up)
	t0 := time.Unix(1795000000, 250000000)
	for i := range 20 {
		g.Report(mac, uint8(i), 3000, []mesh.Record{
			{Channel: 1, Kind: mesh.KindTemperature, Value: int16(2000 + i)},
			{Channel: 2, Kind: mesh.KindPressure, Value: mesh.ProbeFault},
		}, t0.Add(time.Duration(i)*time.Second))
	}
	waitFor(t, "40 readings", func() bool { return s.n() == 40 })
	got := s.all()
	for i := range 20 {
		r, f := got[2*i], got[2*i+1]
		if r.Sensor != "00-17-0d-00-00-38-0a-1f/1" || r.NodeSeq != uint8(i) || r.Value != float64(2000+i)/100 ||
			!r.Time.Equal(t0.Add(time.Duration(i)*time.Second)) || r.BatteryMV != 3000 {
			t.Fatalf("reading %d: %+v", i, r)
		}
		if !f.Fault || f.Kind != mesh.KindPressure || f.Sensor != "00-17-0d-00-00-38-0a-1f/2" {
			t.Fatalf("fault reading %d: %+v", i, f)
		}
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	cnt := c.Counters()
	if cnt["readings"] != 40 || cnt["acks_sent"] != 20 || cnt["probe_faults"] != 20 || cnt["sessions_up"] != 1 || cnt["port_opens"] != 1 {
		t.Fatalf("counters %v", cnt)
	}
	if st := g.Stats(); st.Acks != 20 {
		t.Fatalf("gateway saw %d acks", st.Acks)
	}
}

func TestClientTimersRunOnInjectedClock(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	clk := newFakeClock()
	c := mesh.NewClient(func() (io.ReadWriteCloser, error) { return a, nil }, mesh.Options{Clock: clk})

	// First a silent gateway: the hello is resent only when the fake clock moves 500 ms.
	hellos := make(chan mesh.Packet, 16)
	silentDone := make(chan struct{})
	go func() {
		defer close(silentDone)
		seen := 0
		df := mesh.NewDeframer(func(f []byte) {
			p, _ := mesh.ParsePacket(f)
			seen++
			hellos <- p
		}, nil)
		buf := make([]byte, 256)
		for seen < 2 {
			n, err := b.Read(buf)
			if err != nil {
				return
			}
			df.Feed(buf[:n])
		}
	}()
	t0 := clk.Now()
	stop := runClient(t, c, nil)
	if p := <-hellos; p.Type != mesh.TypeHello {
		t.Fatalf("first packet %+v", p)
	}
	waitFor(t, "the retransmit timer at 500 ms", func() bool { return clk.armed(t0.Add(500 * time.Millisecond)) })
	clk.Advance(499 * time.Millisecond)
	select {
	case p := <-hellos:
		t.Fatalf("resent before 500 ms: %+v", p)
	default:
	}
	clk.Advance(time.Millisecond)
	if p := <-hellos; p.Type != mesh.TypeHello {
		t.Fatalf("retransmission %+v", p)
	}
	<-silentDone
	if c.Counters()["retransmits"] != 1 {
		t.Fatalf("counters %v", c.Counters())
	}

	// Now a real gateway takes over the line: the session comes up; 30 s of fake quiet later
	// the client sends a keep-alive subscribe.
	g := meshsim.NewGateway(b, meshsim.Options{ManagerHelloInterval: time.Hour})
	runGateway(t, g)
	waitFor(t, "the retransmit timer at 1 s", func() bool { return clk.armed(t0.Add(time.Second)) })
	clk.Advance(500 * time.Millisecond) // third hello, which the gateway answers
	waitFor(t, "session up", c.Up)
	if g.Stats().Subscribes != 1 {
		t.Fatalf("gateway stats %+v", g.Stats())
	}
	waitFor(t, "the keep-alive timer at 31 s", func() bool { return clk.armed(t0.Add(31 * time.Second)) })
	clk.Advance(29 * time.Second)
	clk.Advance(time.Second)
	waitFor(t, "keep-alive subscribe", func() bool { return g.Stats().Subscribes == 2 })
	if k := c.Counters()["keepalives"]; k != 1 {
		t.Fatalf("keepalives %d", k)
	}
	stop()
}

func TestClientReopensVanishedPort(t *testing.T) {
	type line struct {
		ctrl io.ReadWriteCloser
		g    *meshsim.Gateway
		gw   net.Conn
	}
	lines := make(chan line, 2)
	for range 2 {
		a, b := net.Pipe()
		g := meshsim.NewGateway(b, meshsim.Options{ManagerHelloInterval: time.Hour})
		lines <- line{a, g, b}
	}
	var current []line
	var mu sync.Mutex
	calls := 0
	open := func() (io.ReadWriteCloser, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return nil, errors.New("test: device not there yet")
		}
		select {
		case l := <-lines:
			current = append(current, l)
			return l.ctrl, nil
		default:
			return nil, errors.New("test: no more lines")
		}
	}
	c := mesh.NewClient(open, mesh.Options{ReopenMin: 5 * time.Millisecond, ReopenMax: 20 * time.Millisecond})
	var s sink
	stop := runClient(t, c, s.deliver)

	get := func(i int) line {
		waitFor(t, "port opened", func() bool { mu.Lock(); defer mu.Unlock(); return len(current) > i })
		mu.Lock()
		defer mu.Unlock()
		return current[i]
	}
	l1 := get(0)
	ctx1, cancel1 := context.WithCancel(context.Background())
	done1 := make(chan error, 1)
	go func() { done1 <- l1.g.Run(ctx1) }()
	l1.g.Report(mac, 1, 0, []mesh.Record{{Channel: 1, Kind: mesh.KindHumidity, Value: 4120}}, time.Unix(1795000000, 0))
	waitFor(t, "first reading", func() bool { return s.n() == 1 })

	// The device vanishes (USB unplugged): the client's reads fail, it reopens.
	cancel1()
	<-done1
	l1.gw.Close()
	l2 := get(1)
	runGateway(t, l2.g)
	l2.g.Report(mac, 2, 0, []mesh.Record{{Channel: 1, Kind: mesh.KindHumidity, Value: 4121}}, time.Unix(1795000001, 0))
	waitFor(t, "second reading", func() bool { return s.n() == 2 })
	if got := s.all(); got[1].Value != 41.21 || got[1].NodeSeq != 2 {
		t.Fatalf("readings %+v", got)
	}
	stop()
	l2.gw.Close()
	cnt := c.Counters()
	if cnt["open_failures"] != 1 || cnt["port_opens"] != 2 || cnt["port_errors"] != 1 || cnt["sessions_up"] != 2 {
		t.Fatalf("counters %v", cnt)
	}
}

func TestClientRunTwiceAndOpenRetryUntilCancel(t *testing.T) {
	fails := 0
	var mu sync.Mutex
	c := mesh.NewClient(func() (io.ReadWriteCloser, error) {
		mu.Lock()
		fails++
		mu.Unlock()
		return nil, errors.New("test: no device")
	}, mesh.Options{ReopenMin: time.Millisecond, ReopenMax: 2 * time.Millisecond})
	stop := runClient(t, c, nil)
	waitFor(t, "a few open attempts", func() bool { mu.Lock(); defer mu.Unlock(); return fails >= 3 })
	if err := c.Run(context.Background(), nil); !errors.Is(err, mesh.ErrRunning) {
		t.Fatalf("second Run: %v", err)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if c.Counters()["open_failures"] < 3 {
		t.Fatalf("counters %v", c.Counters())
	}
}
