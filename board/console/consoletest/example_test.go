package consoletest_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/console/consoletest"
	"github.com/coldaisle/coldaisle/control/site"
)

// exampleTerminal is the technician's end of the line: it collects what the console writes (on
// its own goroutine, so the console never blocks on a write) and waits for a text to appear.
type exampleTerminal struct {
	conn net.Conn
	mu   sync.Mutex
	out  strings.Builder
	more chan struct{}
}

func newExampleTerminal(conn net.Conn) *exampleTerminal {
	t := &exampleTerminal{conn: conn, more: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			t.mu.Lock()
			t.out.Write(buf[:n])
			t.mu.Unlock()
			select {
			case t.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return t
}

// expect waits until want has been written and drops everything up to it.
func (t *exampleTerminal) expect(want string) bool {
	deadline := time.After(5 * time.Second)
	for {
		t.mu.Lock()
		s := t.out.String()
		if i := strings.Index(s, want); i >= 0 {
			t.out.Reset()
			t.out.WriteString(s[i+len(want):])
			t.mu.Unlock()
			return true
		}
		t.mu.Unlock()
		select {
		case <-t.more:
		case <-deadline:
			fmt.Println("timed out waiting for", want)
			return false
		}
	}
}

// A console test on the fake backend and clock: a user logs in, puts a unit in manual (the
// backend records it), and 15 minutes of idling pass at once with Advance: the session logs out.
func Example() {
	cfg, err := site.Load("../../../control/site/testdata/small.toml")
	if err != nil {
		fmt.Println(err)
		return
	}
	clk := consoletest.NewClock(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC))
	b := consoletest.NewBackend(cfg, clk) // version 1 = cfg, no users yet
	kdf := console.KDFParams{MemoryKiB: 64, Time: 1, Threads: 1}
	hash, _ := console.HashPassword("cold-aisle-2025", kdf)
	_ = b.SaveUser(context.Background(), console.User{Name: "tech", Hash: hash})
	con := console.New(b, console.Options{Clock: clk, KDF: kdf})

	port, conn := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- con.Serve(ctx, port) }()
	term := newExampleTerminal(conn)

	term.expect("login: ")
	fmt.Fprint(conn, "tech\r")
	term.expect("Password: ")
	fmt.Fprint(conn, "cold-aisle-2025\r")
	term.expect("> ")
	fmt.Fprint(conn, "loop crah-1 manual 40\r")
	term.expect("> ")
	fmt.Printf("crah-1: %+v\n", b.Mode("crah-1"))

	clk.Advance(15 * time.Minute) // idle logout, no waiting
	term.expect("login: ")
	for _, e := range b.EventsOf(console.EventLogout) {
		fmt.Println(e.Kind, e.User, e.Text)
	}
	cancel()
	fmt.Println(<-served)
	conn.Close()
	// Output:
	// crah-1: {Manual:true FanPct:40 For:0s}
	// logout tech idle timeout
	// context canceled
}
