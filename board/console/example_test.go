package console_test

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/console/consoletest"
	"github.com/coldaisle/coldaisle/control/site"
)

// exampleTerminal is the technician's end of the line: it collects what the console writes and
// waits for a text to appear.
type exampleTerminal struct {
	conn net.Conn
	mu   sync.Mutex
	out  strings.Builder
	more chan struct{} // signalled after each read
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

var escapes = regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]|\r")

// expect waits until the screen shows want and returns what came up to it, without escape codes.
func (t *exampleTerminal) expect(want string) string {
	deadline := time.After(5 * time.Second)
	for {
		t.mu.Lock()
		s := escapes.ReplaceAllString(t.out.String(), "")
		if i := strings.Index(s, want); i >= 0 {
			t.out.Reset()
			t.out.WriteString(s[i+len(want):])
			t.mu.Unlock()
			return s[:i+len(want)]
		}
		t.mu.Unlock()
		select {
		case <-t.more:
		case <-deadline:
			return "timed out waiting for " + want
		}
	}
}

func (t *exampleTerminal) typeLine(s string) { fmt.Fprintf(t.conn, "%s\r", s) }

// A first login on the factory account (admin/coldaisle), which forces a new password, then one
// command and logout. At a site the console serves the board's console port:
// serialport.Open("/dev/ttyS0", serialport.Config{Baud: 115200, ReadTimeout: time.Second}); here
// one end of a net.Pipe, with the fake backend of consoletest.
func Example() {
	cfg, err := site.Load("../../control/site/testdata/small.toml")
	if err != nil {
		fmt.Println(err)
		return
	}
	clk := consoletest.NewClock(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC))
	con := console.New(consoletest.NewBackend(cfg, clk), console.Options{Clock: clk,
		KDF: console.KDFParams{MemoryKiB: 64, Time: 1, Threads: 1}}) // cheap hashes for the example only

	port, tech := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- con.Serve(ctx, port) }()
	term := newExampleTerminal(tech)

	term.expect("login: ")
	term.typeLine("admin")
	term.expect("Password: ")
	term.typeLine("coldaisle")
	fmt.Println(strings.TrimSpace(term.expect("New password: ")))
	term.typeLine("cold-aisle-2025")
	term.expect("Retype new password: ")
	term.typeLine("cold-aisle-2025")
	fmt.Println(strings.TrimSpace(term.expect("> ")))
	term.typeLine("show units")
	fmt.Println(strings.TrimSpace(term.expect("> ")))
	term.typeLine("exit")
	fmt.Println(strings.TrimSpace(term.expect("login: ")))

	cancel()
	fmt.Println(<-served)
	tech.Close()
	// Output:
	// The password of admin must be changed before going on (at least 8 characters).
	// New password:
	// password changed
	// coldaisle v0.9.0-test on crah-room-1, configuration version 1; ? for help
	// admin@crah-room-1>
	// show units
	// unit    line  id  mode  fan%  vlv%  sup C  ret C  fan kW  alarm
	// crah-1  bms    1  auto    45    60   18.1   27.4     2.5  -
	// crah-2  bms    2  auto    45    60   18.1   27.4     2.5  -
	// admin@crah-room-1>
	// exit
	// logged out
	// login:
	// context canceled
}
