package mesh

import (
	"encoding/binary"
	"time"
)

// Session defaults (§3).
const (
	DefaultRetryInterval = 500 * time.Millisecond
	DefaultMaxRetries    = 5
	DefaultKeepAlive     = 30 * time.Second
)

// SessionConfig tunes a Session. Zero fields take the defaults.
type SessionConfig struct {
	// RetryInterval is how long a request waits for its response before it is sent again.
	RetryInterval time.Duration
	// MaxRetries is how many times a request is sent again before a new session is started
	// (so a request goes out at most 1+MaxRetries times).
	MaxRetries int
	// KeepAlive is the quiet time (no valid packet received) after which subscribe is sent again.
	KeepAlive time.Duration
	// UnackData sets the data bit in subscribe's unackFilter: data notifications then arrive
	// without asking for an ack, and a lost one is not retransmitted by the gateway. The
	// default (false) has the gateway retransmit until acked: at-least-once delivery, with
	// repeats removed by the seqNo duplicate rule.
	UnackData bool
}

func (c SessionConfig) withDefaults() SessionConfig {
	if c.RetryInterval <= 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	return c
}

type sessState uint8

const (
	sessIdle      sessState = iota // Start not called yet
	sessHello                      // hello sent, waiting for hello_response
	sessSubscribe                  // hello_response accepted, subscribe outstanding
	sessUp                         // subscribed: notifications flow
)

var sessStateNames = [...]string{"idle", "hello", "subscribe", "up"}

// Session is the controller side of the link as a pure state machine, in the style of etcd
// raft: it does no I/O and reads no clock. Feed it received packets with Step and the time
// with Tick; each call returns the framed bytes to write to the gateway (valid until the next
// call on the Session). Readings are passed to the deliver callback during Step.
// A Session is not safe for concurrent use; Client wraps one with the I/O.
type Session struct {
	cfg     SessionConfig
	cnt     *Counters
	dec     *Decoder
	deliver func(Reading)

	state  sessState
	cliSeq uint8 // seqNo of our last packet; hello carries it as cliSeqNo

	peerSeq  uint8 // seqNo of the gateway's previous packet (duplicate rule)
	havePeer bool

	pend struct {
		active  bool
		typ     uint8
		seq     uint8
		pkt     [MaxPacket]byte
		n       int
		sentAt  time.Time
		retries int
	}
	lastRx time.Time

	out []byte
}

// NewSession returns a Session that counts into cnt (nil: a private set) and delivers readings
// to deliver (nil: dropped after counting).
func NewSession(cfg SessionConfig, cnt *Counters, deliver func(Reading)) *Session {
	if cnt == nil {
		cnt = new(Counters)
	}
	return &Session{
		cfg:     cfg.withDefaults(),
		cnt:     cnt,
		dec:     NewDecoder(cnt),
		deliver: deliver,
		cliSeq:  0xFF, // the first hello matches the spec's worked frame; subscribe then uses 0x00
		out:     make([]byte, 0, 4*MaxWire),
	}
}

// Up reports whether the subscription is in place.
func (s *Session) Up() bool { return s.state == sessUp }

// State names the session state: "idle", "hello", "subscribe" or "up".
func (s *Session) State() string { return sessStateNames[s.state] }

// Start begins a new session (hello) and returns the bytes to send. The duplicate rule starts
// afresh.
func (s *Session) Start(now time.Time) []byte {
	s.out = s.out[:0]
	s.start(now)
	return s.out
}

func (s *Session) start(now time.Time) {
	s.cnt.Add(CountSessions)
	s.state = sessHello
	s.havePeer = false
	s.lastRx = now
	// hello is the one request that does not ask for an ack; its header seqNo is 0 and the
	// session's numbering travels in the payload.
	s.request(0, TypeHello, 0, []byte{ProtocolVersion, s.cliSeq, 0}, now)
}

func (s *Session) subscribe(now time.Time) {
	s.cliSeq++
	var pl [8]byte
	binary.BigEndian.PutUint32(pl[0:], FilterData)
	if s.cfg.UnackData {
		binary.BigEndian.PutUint32(pl[4:], FilterData)
	}
	s.request(CtrlAckReq, TypeSubscribe, s.cliSeq, pl[:], now)
}

// request sends a new request and makes it the outstanding one (at most one at a time).
func (s *Session) request(ctrl, typ, seq byte, payload []byte, now time.Time) {
	p := AppendPacket(s.pend.pkt[:0], Packet{Control: ctrl, Type: typ, Seq: seq, Payload: payload})
	s.pend.active = true
	s.pend.typ, s.pend.seq = typ, seq
	s.pend.n = len(p)
	s.pend.sentAt = now
	s.pend.retries = 0
	s.out = AppendFrame(s.out, p)
	s.cnt.Add(CountRequestsSent)
}

var ackPayload = []byte{RCOK}

func (s *Session) ack(p Packet) {
	s.out = AppendPacketFrame(s.out, Packet{Control: CtrlResponse, Type: p.Type, Seq: p.Seq, Payload: ackPayload})
	s.cnt.Add(CountAcksSent)
}

// Deadline is when Tick next has something to do; zero before Start.
func (s *Session) Deadline() time.Time {
	switch {
	case s.pend.active:
		return s.pend.sentAt.Add(s.cfg.RetryInterval)
	case s.state == sessUp:
		return s.lastRx.Add(s.cfg.KeepAlive)
	}
	return time.Time{}
}

// Tick advances the timers to now: retransmission, giving up on a request (new session), and
// the keep-alive subscribe. Calling it early or often is harmless. A Session never started is
// started.
func (s *Session) Tick(now time.Time) []byte {
	s.out = s.out[:0]
	switch {
	case s.state == sessIdle:
		s.start(now)
	case s.pend.active && now.Sub(s.pend.sentAt) >= s.cfg.RetryInterval:
		if s.pend.retries < s.cfg.MaxRetries {
			s.pend.retries++
			s.pend.sentAt = now
			s.out = AppendFrame(s.out, s.pend.pkt[:s.pend.n])
			s.cnt.Add(CountRetransmits)
		} else {
			s.cnt.Add(CountRequestTimeouts)
			s.pend.active = false
			s.start(now)
		}
	case s.state == sessUp && !s.pend.active && now.Sub(s.lastRx) >= s.cfg.KeepAlive:
		s.cnt.Add(CountKeepAlives)
		s.subscribe(now)
	}
	return s.out
}

// Step handles one received frame (a packet as passed to Deframer.OnFrame) at time now and
// returns the bytes to send (acks, the next request).
func (s *Session) Step(frame []byte, now time.Time) []byte {
	s.out = s.out[:0]
	p, err := ParsePacket(frame)
	if err != nil {
		if len(frame) < HeaderLen {
			s.cnt.Add(CountShortFrame)
		} else if len(frame) > MaxPacket {
			s.cnt.Add(CountTooLong)
		} else {
			s.cnt.Add(CountBadLength)
		}
		return s.out
	}
	s.cnt.Add(CountFramesOK)
	if s.state == sessIdle {
		// Nothing is expected before our hello; only a manager_hello matters, and we are
		// about to say hello anyway.
		s.start(now)
		s.cnt.Add(CountNoSession)
		return s.out
	}
	s.lastRx = now
	if p.IsResponse() {
		s.response(p, now)
		return s.out
	}
	if p.Type == TypeManagerHello {
		s.cnt.Add(CountManagerHello)
		if p.WantsAck() {
			s.ack(p)
		}
		// While our hello is outstanding, its retransmission already answers the gateway;
		// restarting here would only renumber it.
		if s.state != sessHello {
			s.pend.active = false
			s.start(now)
		}
		return s.out
	}
	if s.state == sessHello {
		// Left over from an earlier session. Not acked: the gateway keeps it and sends it
		// again in the new session.
		s.cnt.Add(CountNoSession)
		return s.out
	}
	if s.havePeer && p.Seq == s.peerSeq {
		s.cnt.Add(CountDuplicate)
		if p.WantsAck() {
			s.ack(p)
		}
		return s.out
	}
	s.peerSeq, s.havePeer = p.Seq, true
	if p.WantsAck() {
		s.ack(p)
	}
	if p.Type == TypeNotification {
		_ = s.dec.Notification(p.Payload, s.deliver) // drops are counted by the decoder
		return s.out
	}
	s.cnt.Add(CountUnknownPacket)
	return s.out
}

func (s *Session) response(p Packet, now time.Time) {
	switch {
	case p.Type == TypeHelloResponse && s.pend.active && s.pend.typ == TypeHello:
		// successCode, version, mgrSeqNo, cliSeqNo, mode
		if len(p.Payload) < 5 {
			s.cnt.Add(CountMalformedResponse)
			return
		}
		if p.Payload[3] != s.cliSeq {
			s.cnt.Add(CountStaleResponse) // answers an older hello
			return
		}
		if p.Payload[0] != RCOK {
			s.cnt.Add(CountHelloRejected) // the pending hello is sent again on the timer
			return
		}
		s.pend.active = false
		s.cnt.Add(CountSessionsUp)
		s.state = sessSubscribe
		s.peerSeq, s.havePeer = p.Payload[2], true
		s.subscribe(now)
	case p.Type == TypeSubscribe && s.pend.active && s.pend.typ == TypeSubscribe && p.Seq == s.pend.seq:
		if len(p.Payload) < 1 {
			s.cnt.Add(CountMalformedResponse)
			return
		}
		if p.Payload[0] != RCOK {
			s.cnt.Add(CountSubscribeRejected) // retried on the timer, then a new session
			return
		}
		s.pend.active = false
		s.state = sessUp
	default:
		s.cnt.Add(CountStaleResponse)
	}
}
