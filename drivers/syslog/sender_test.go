package syslog

import (
	"context"
	"errors"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// collector is a real UDP socket on loopback standing in for the syslog server.
type collector struct {
	t    *testing.T
	conn net.PacketConn
}

func newCollector(t *testing.T, addr string) *collector {
	t.Helper()
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &collector{t: t, conn: c}
}

func (c *collector) target() string { return "udp://" + c.conn.LocalAddr().String() }

func (c *collector) read() []byte {
	c.t.Helper()
	buf := make([]byte, 65536)
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := c.conn.ReadFrom(buf)
	if err != nil {
		c.t.Fatalf("collector: %v", err)
	}
	return buf[:n]
}

// run starts s.Run and returns a stop func that cancels it and waits for its return.
func run(t *testing.T, s *Sender) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// await polls cond until it holds (the condition is the sender's counters, which change on
// its own goroutine).
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestSendToCollector(t *testing.T) {
	c := newCollector(t, "127.0.0.1:0")
	s, err := Dial(c.target(), Options{Hostname: "board-1", ProcID: "4242", Facility: 17})
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.FixedZone("", -5*3600-30*60))
	sd := []SDElement{{ID: "alarm@32473", Params: []SDParam{
		{"key", "zone/row-a/inlet-high"}, {"severity", "critical"}, {"by", `ali"ce\]`}}}}
	if !s.Send(Message{Time: at, Severity: 2, MsgID: "RAISED", SD: sd, Text: "inlet 28.1 °C above limit 27.0 °C"}) {
		t.Fatal("Send refused")
	}
	p := mustParse(t, c.read())
	want := parsed{Facility: 17, Severity: 2, Version: 1, Timestamp: "2026-03-01T10:00:00.123456-05:30",
		Time: p.Time, Hostname: "board-1", AppName: "coldaisle", ProcID: "4242", MsgID: "RAISED", SD: sd,
		BOM: true, Msg: "inlet 28.1 °C above limit 27.0 °C", HasMsg: true}
	if !equalParsed(p, want) || !p.Time.Equal(at) {
		t.Fatalf("got  %+v\nwant %+v", p, want)
	}

	// Defaults: facility local0, app name coldaisle, PROCID "-", the machine's host name, now.
	s2, err := Dial(c.target(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, s2)
	before := time.Now().Add(-time.Second)
	s2.Send(Message{Severity: 6, Text: "hello"})
	p = mustParse(t, c.read())
	if p.Facility != 16 || p.Severity != 6 || p.AppName != "coldaisle" || p.ProcID != "-" || p.MsgID != "-" ||
		p.SD != nil || p.BOM || p.Msg != "hello" || p.Hostname == "" || p.Time.Before(before) || p.Time.After(time.Now()) {
		t.Fatalf("defaults: %+v", p)
	}
	await(t, "counters", func() bool { return s.Counters() == Counters{Sent: 1} && s2.Counters() == Counters{Sent: 1} })
}

func equalParsed(a, b parsed) bool {
	a.Time, b.Time = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// TestStoppedCollector: with nobody listening, the kernel answers ICMP port unreachable and the
// socket refuses later writes; Send stays non-blocking, Run counts the errors and logs once,
// and when a collector listens again on the port the messages get through.
func TestStoppedCollector(t *testing.T) {
	c := newCollector(t, "127.0.0.1:0")
	addr := c.conn.LocalAddr().String()
	var mu sync.Mutex
	var logs []string
	s, err := Dial(c.target(), Options{Hostname: "h", Logf: func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, f)
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.logEvery = 100 * time.Millisecond
	c.conn.Close()
	run(t, s)
	const n = 50
	start := time.Now()
	for range n {
		if !s.Send(Message{Severity: 3, Text: "nobody hears this"}) {
			t.Fatal("Send refused with room in the queue")
		}
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("%d Sends took %v", n, d)
	}
	await(t, "every message written or refused", func() bool {
		k := s.Counters()
		return k.Sent+k.Errors == n && k.Errors > 0
	})
	mu.Lock()
	if len(logs) == 0 || !strings.Contains(logs[0], " fails") || len(logs) > 1 && time.Since(start) < s.logEvery {
		t.Fatalf("logs %q, want one failure", logs)
	}
	mu.Unlock()

	c2 := newCollector(t, addr)
	await(t, "a message through to the new collector", func() bool {
		s.Send(Message{Severity: 6, Text: "back"})
		_ = c2.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		buf := make([]byte, MaxDatagram)
		m, _, err := c2.conn.ReadFrom(buf)
		return err == nil && strings.HasSuffix(string(buf[:m]), " back")
	})
	await(t, "the recovery logged", func() bool {
		s.Send(Message{Severity: 6, Text: "still back"}) // a write logEvery after the last error
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(logs[len(logs)-1], "works again")
	})
	if k := s.Counters(); k.Dropped != 0 {
		t.Fatalf("dropped %d", k.Dropped)
	}
}

func TestFullQueueDrops(t *testing.T) {
	c := newCollector(t, "127.0.0.1:0")
	s, err := Dial(c.target(), Options{Hostname: "h", QueueLen: 2})
	if err != nil {
		t.Fatal(err)
	}
	// No Run yet: the queue fills and Send refuses without blocking.
	var got []bool
	for i := range 5 {
		got = append(got, s.Send(Message{Severity: 6, Text: string(rune('a' + i))}))
	}
	if want := []bool{true, true, false, false, false}; !slices.Equal(got, want) {
		t.Fatalf("Send = %v, want %v", got, want)
	}
	if k := s.Counters(); k != (Counters{Dropped: 3}) {
		t.Fatalf("counters %+v", k)
	}
	run(t, s)
	for _, want := range []string{" a", " b"} {
		if b := c.read(); !strings.HasSuffix(string(b), want) {
			t.Fatalf("got %q, want it to end %q", b, want)
		}
	}
	await(t, "sent 2", func() bool { return s.Counters() == Counters{Sent: 2, Dropped: 3} })
}

func TestRunStopsWithContext(t *testing.T) {
	c := newCollector(t, "127.0.0.1:0")
	s, err := Dial(c.target(), Options{Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, s)
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if err := s.Run(context.Background()); err == nil {
		t.Fatal("a second Run was accepted")
	}
	// After Run, Send still never blocks: it queues until full, then drops.
	for range DefaultQueueLen + 1 {
		s.Send(Message{Text: "late"})
	}
	if k := s.Counters(); k.Dropped != 1 {
		t.Fatalf("counters after Run %+v", k)
	}

	// What is queued when the context ends still goes out (a last message at shutdown).
	s2, err := Dial(c.target(), Options{Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	s2.Send(Message{Severity: 5, Text: "stopping"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s2.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if b := c.read(); !strings.HasSuffix(string(b), " stopping") {
		t.Fatalf("got %q", b)
	}
}

func TestDialRefuses(t *testing.T) {
	for _, target := range []string{
		"", "localhost:514", "tcp://127.0.0.1:514", "tls://127.0.0.1:6514", "UDP://127.0.0.1:514x",
		"udp://127.0.0.1", "udp://:514", "udp://127.0.0.1:0", "udp://127.0.0.1:65536", "udp://127.0.0.1:abc",
		"udp://127.0.0.1:514/path", "udp://user@127.0.0.1:514", "udp://127.0.0.1:514?x=1",
		"udp://127.0.0.1:514#f", "udp://127.0.0.1\n:514", "udp://127.0.0.1:514\x00", "udp://h st:514",
		"udp:127.0.0.1:514", "udp://127.0.0.1:-1",
	} {
		if _, err := Dial(target, Options{Hostname: "h"}); !errors.Is(err, ErrBadTarget) {
			t.Errorf("Dial(%q) = %v, want ErrBadTarget", target, err)
		}
	}
	for _, o := range []Options{
		{Hostname: "with space"}, {Hostname: strings.Repeat("h", 256)}, {Hostname: "h\x1b"},
		{Hostname: "h", AppName: strings.Repeat("a", 49)}, {Hostname: "h", AppName: "café"},
		{Hostname: "h", ProcID: strings.Repeat("1", 129)}, {Hostname: "h", Facility: 24},
		{Hostname: "h", Facility: -1}, {Hostname: "h", QueueLen: -1}, {Hostname: "h", QueueLen: 1 << 20},
	} {
		if _, err := Dial("udp://127.0.0.1:514", o); !errors.Is(err, ErrBadOption) {
			t.Errorf("Dial with %+v = %v, want ErrBadOption", o, err)
		}
	}
	// Good ones: a name, IPv6, the root path.
	for _, target := range []string{"udp://localhost:514", "udp://[::1]:514", "udp://127.0.0.1:514/"} {
		s, err := Dial(target, Options{Hostname: "h"})
		if err != nil {
			t.Errorf("Dial(%q): %v", target, err)
			continue
		}
		s.conn.Close()
	}
}
