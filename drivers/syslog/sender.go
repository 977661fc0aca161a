package syslog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ErrBadTarget: the collector address is not "udp://HOST:PORT".
var ErrBadTarget = errors.New("syslog: bad target")

// ErrBadOption: an Options field is not acceptable.
var ErrBadOption = errors.New("syslog: bad option")

// Defaults.
const (
	DefaultAppName  = "coldaisle"
	DefaultFacility = 16 // local0
	DefaultQueueLen = 256
	maxQueueLen     = 1 << 16
	writeTimeout    = time.Second
	logEvery        = time.Minute
	drainBudget     = 200 * time.Millisecond
)

// Options configure a Sender. The zero value is usable.
type Options struct {
	Hostname string // default: os.Hostname, made PRINTUSASCII; "-" when unknown
	AppName  string // default "coldaisle"
	ProcID   string // default "-" (NILVALUE)
	Facility int    // 1..23; 0 means the default, local0 (16): kern (0) is not ours to use
	QueueLen int    // messages waiting for Run; default 256
	// Logf, when set, hears when sending starts failing, once a minute while it still fails,
	// and when it works again: never once per datagram.
	Logf func(format string, args ...any)
}

// Counters are the Sender's counts since Dial.
type Counters struct {
	Sent      uint64 // datagrams written
	Dropped   uint64 // messages refused by Send: queue full
	Errors    uint64 // datagrams the socket refused (no collector: ICMP port unreachable, no route)
	Truncated uint64 // messages cut to fit MaxDatagram (MSG shortened or SD elements dropped)
}

// Sender sends RFC 5424 messages to one collector over UDP. Send queues from any goroutine and
// never blocks; Run, once, is the one goroutine that writes.
type Sender struct {
	conn    net.Conn
	h       header
	q       chan []byte
	logf    func(string, ...any)
	running atomic.Bool
	// logEvery spaces the failure logs (tests shorten it).
	logEvery time.Duration

	sent, dropped, errs, truncated atomic.Uint64
}

// Dial checks target ("udp://HOST:PORT", HOST a name, an IPv4 or a [bracketed] IPv6 address)
// and o, resolves the host and opens the socket. Nothing is sent until Run.
func Dial(target string, o Options) (*Sender, error) {
	hostport, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	h, err := o.header()
	if err != nil {
		return nil, err
	}
	n := o.QueueLen
	switch {
	case n == 0:
		n = DefaultQueueLen
	case n < 0 || n > maxQueueLen:
		return nil, fmt.Errorf("%w: queue length %d: want 1..%d", ErrBadOption, n, maxQueueLen)
	}
	conn, err := net.Dial("udp", hostport)
	if err != nil {
		return nil, fmt.Errorf("syslog: dial %s: %w", hostport, err)
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Sender{conn: conn, h: h, q: make(chan []byte, n), logf: logf, logEvery: logEvery}, nil
}

func parseTarget(target string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: %q: %s (want udp://HOST:PORT)", ErrBadTarget, target, why)
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f {
			return "", bad("control, space or non-ASCII character")
		}
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", bad("not a URL")
	}
	switch {
	case u.Scheme != "udp":
		return "", bad("scheme must be udp (no TLS or TCP here)")
	case u.Opaque != "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", bad("only a host and a port")
	case u.Hostname() == "":
		return "", bad("no host")
	case u.Port() == "":
		return "", bad("no port")
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil || p < 1 || p > 65535 {
		return "", bad("port must be 1..65535")
	}
	return net.JoinHostPort(u.Hostname(), u.Port()), nil
}

// header checks the options that go into every message. Configured values are refused when
// they are not PRINTUSASCII or too long; the machine's own host name is repaired instead.
func (o Options) header() (header, error) {
	h := header{facility: o.Facility, hostname: o.Hostname, appName: o.AppName, procID: o.ProcID}
	if h.facility == 0 {
		h.facility = DefaultFacility
	}
	if h.facility < 0 || h.facility > 23 {
		return h, fmt.Errorf("%w: facility %d: want 1..23 (16..23: local0..local7)", ErrBadOption, o.Facility)
	}
	if h.hostname == "" {
		name, _ := os.Hostname()
		h.hostname = headerField(name, MaxHostname)
	}
	if h.appName == "" {
		h.appName = DefaultAppName
	}
	if h.procID == "" {
		h.procID = nilValue
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"hostname", h.hostname, MaxHostname}, {"app name", h.appName, MaxAppName}, {"proc id", h.procID, MaxProcID}} {
		if len(f.v) > f.max {
			return h, fmt.Errorf("%w: %s is longer than %d bytes", ErrBadOption, f.name, f.max)
		}
		if strings.ContainsFunc(f.v, func(r rune) bool { return r < 33 || r > 126 }) {
			return h, fmt.Errorf("%w: %s %q: printable ASCII without spaces only", ErrBadOption, f.name, f.v)
		}
	}
	return h, nil
}

// Send formats m and queues it for Run. It never blocks: when the queue is full the message is
// dropped, counted, and Send returns false. Safe for concurrent use; m is not kept.
func (s *Sender) Send(m Message) bool {
	b, cut := s.h.format(m, time.Now())
	if cut {
		s.truncated.Add(1)
	}
	select {
	case s.q <- b:
		return true
	default:
		s.dropped.Add(1)
		return false
	}
}

// Run writes queued messages until ctx ends, then writes what is still queued (for at most
// 200 ms: a last message at shutdown gets out), closes the socket and returns ctx.Err(). A
// datagram the socket refuses is counted and dropped, never retried: UDP has no delivery to
// wait for. Run may be called once.
func (s *Sender) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("syslog: Run called twice")
	}
	defer s.conn.Close()
	// A refused datagram (ICMP port unreachable) fails the next write only, so errors and
	// successes alternate while the collector is down: log the first failure, then at most one
	// summary per logEvery, and "works again" after logEvery without an error.
	var failing bool
	var lastErr, lastLog time.Time
	var since uint64
	write := func(b []byte) {
		_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, err := s.conn.Write(b)
		now := time.Now()
		if err != nil {
			s.errs.Add(1)
			lastErr = now
			switch {
			case !failing:
				failing, lastLog, since = true, now, 0
				s.logf("syslog: sending to %s fails: %v", s.conn.RemoteAddr(), err)
			case now.Sub(lastLog) >= s.logEvery:
				s.logf("syslog: sending to %s still fails: %d more datagrams refused: %v", s.conn.RemoteAddr(), since+1, err)
				lastLog, since = now, 0
			default:
				since++
			}
			return
		}
		s.sent.Add(1)
		if failing && now.Sub(lastErr) >= s.logEvery {
			failing = false
			s.logf("syslog: sending to %s works again (no error for %v)", s.conn.RemoteAddr(), s.logEvery)
		}
	}
	for {
		select {
		case b := <-s.q:
			write(b)
		case <-ctx.Done():
			end := time.Now().Add(drainBudget)
		drain:
			for time.Now().Before(end) {
				select {
				case b := <-s.q:
					write(b)
				default:
					break drain
				}
			}
			return ctx.Err()
		}
	}
}

// Counters returns the counts so far. Safe for concurrent use.
func (s *Sender) Counters() Counters {
	return Counters{Sent: s.sent.Load(), Dropped: s.dropped.Load(), Errors: s.errs.Load(), Truncated: s.truncated.Load()}
}
