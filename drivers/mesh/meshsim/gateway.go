package meshsim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/drivers/mesh"
)

// Options configure a Gateway. Zero fields take the defaults.
type Options struct {
	Seed                 int64         // RNG seed for the impairments
	RetryInterval        time.Duration // resend of an unacknowledged notification (500 ms)
	MaxRetries           int           // resends before the session is dropped (5)
	ManagerHelloInterval time.Duration // manager_hello period without a session (1 s)
	Impairments          Impairments   // initial impairments
	Logf                 func(format string, args ...any)
}

// Impairments degrade what the gateway sends. Probabilities are per outgoing frame, in 0..1.
type Impairments struct {
	Loss      float64       // the frame is not sent
	Duplicate float64       // the frame is sent twice (same seqNo)
	Reorder   float64       // the next report overtakes the one queued before it
	Delay     time.Duration // extra delay before each frame (order is kept)
	Noise     float64       // 1..16 random bytes (flags included) precede the frame
	BitFlip   float64       // one random bit of the frame is flipped
}

// Stats are the gateway's counters.
type Stats struct {
	Hellos        uint64 // hello received
	Subscribes    uint64 // subscribe received (duplicates included)
	DupRequests   uint64 // requests with the same seqNo as the previous one
	NoSession     uint64 // requests other than hello while there was no session
	FramesSent    uint64 // frames handed to the writer (copies included)
	FramesLost    uint64 // frames dropped by the Loss impairment
	NoiseBursts   uint64
	BitFlips      uint64
	Duplicated    uint64
	Reordered     uint64
	Notifications uint64 // notifications sent (first transmissions)
	Retransmits   uint64
	Acks          uint64 // acks received for the notification in flight
	StrayAcks     uint64 // responses matching nothing in flight
	ManagerHellos uint64
	Reboots       uint64
	LostInReboot  uint64
	SessionDrops  uint64 // sessions dropped after MaxRetries unacknowledged resends
	RxBadFrames   uint64 // frames from the controller the deframer dropped
	Unknown       uint64 // packets of a type the gateway does not serve

	Session    bool // a hello has been answered
	Subscribed bool // the data filter bit is set
	Unack      bool // data notifications go out without asking for an ack
	Queued     int  // notifications waiting or in flight
}

type inflight struct {
	payload []byte
	seq     uint8
	sentAt  time.Time
	retries int
}

// Gateway is a simulated mesh manager on the other end of the controller's serial port.
type Gateway struct {
	rw   io.ReadWriter
	opts Options
	kick chan struct{}

	mu         sync.Mutex
	im         Impairments
	rng        *rand.Rand
	st         Stats
	queue      [][]byte // notification payloads (notifType first)
	fl         *inflight
	rebootReq  bool
	session    bool
	filter     uint32
	unack      uint32
	seq        uint8 // the gateway's last seqNo
	cliLast    uint8
	haveCli    bool
	nextMgr    time.Time
	lastFrame  []byte
	sendBuffer []outFrame
}

type outFrame struct {
	b  []byte
	at time.Time
}

// NewGateway returns a Gateway on rw. Call Run to start it.
func NewGateway(rw io.ReadWriter, opts Options) *Gateway {
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = 500 * time.Millisecond
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 5
	}
	if opts.ManagerHelloInterval <= 0 {
		opts.ManagerHelloInterval = time.Second
	}
	return &Gateway{
		rw:   rw,
		opts: opts,
		kick: make(chan struct{}, 1),
		im:   opts.Impairments,
		rng:  rand.New(rand.NewPCG(uint64(opts.Seed), uint64(opts.Seed)^0x9E3779B97F4A7C15)),
	}
}

func (g *Gateway) logf(format string, args ...any) {
	if g.opts.Logf != nil {
		g.opts.Logf(format, args...)
	}
}

func (g *Gateway) wake() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// SetImpairments replaces the impairments; it takes effect with the next frame.
func (g *Gateway) SetImpairments(im Impairments) {
	g.mu.Lock()
	g.im = im
	g.mu.Unlock()
}

// Stats returns a copy of the counters.
func (g *Gateway) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.st
	s.Session = g.session
	s.Subscribed = g.session && g.filter&mesh.FilterData != 0
	s.Unack = g.unack&mesh.FilterData != 0
	s.Queued = len(g.queue)
	if g.fl != nil {
		s.Queued++
	}
	return s
}

// Report queues a node report; it is sent as a data notification once a controller has
// subscribed. recs is not checked (17 records make a malformed payload on purpose).
func (g *Gateway) Report(mac [8]byte, nodeSeq uint8, batteryMV uint16, recs []mesh.Record, t time.Time) {
	g.Notify(DataPayload(mac, nodeSeq, batteryMV, recs, t))
}

// Notify queues a raw notification payload (notifType first, at most 128 bytes used).
func (g *Gateway) Notify(payload []byte) {
	g.mu.Lock()
	g.queue = append(g.queue, append([]byte(nil), payload...))
	g.mu.Unlock()
	g.wake()
}

// Reboot simulates a gateway reset: it sends the first half of a frame (as if cut off
// mid-frame), loses the notification in flight and the session, and starts sending
// manager_hello. Queued reports are kept (the nodes still hold them).
func (g *Gateway) Reboot() {
	g.mu.Lock()
	g.rebootReq = true
	g.mu.Unlock()
	g.wake()
}

// WriteRaw writes bytes straight to the line, bypassing the protocol (for tests that need
// exact garbage). It goes through the same writer, so ordering with frames is kept.
func (g *Gateway) WriteRaw(b []byte) {
	g.mu.Lock()
	g.sendBuffer = append(g.sendBuffer, outFrame{b: append([]byte(nil), b...), at: time.Now()})
	g.mu.Unlock()
	g.wake()
}

// Run serves the link until ctx ends (returns ctx.Err()) or rw fails (returns the error).
func (g *Gateway) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rx := make(chan mesh.Packet, 64)
	out := make(chan outFrame, 1024)
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); g.reader(ctx, rx, errc) }()
	go func() { defer wg.Done(); g.writer(ctx, out, errc) }()
	defer func() {
		cancel()
		// Unblock a Read or Write stuck in the kernel, where rw allows it.
		if d, ok := g.rw.(interface{ SetReadDeadline(time.Time) error }); ok {
			d.SetReadDeadline(time.Now())
		}
		if d, ok := g.rw.(interface{ SetWriteDeadline(time.Time) error }); ok {
			d.SetWriteDeadline(time.Now())
		}
		wg.Wait()
	}()

	g.mu.Lock()
	g.nextMgr = time.Now()
	g.mu.Unlock()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			return err
		case p := <-rx:
			g.mu.Lock()
			g.handle(p, time.Now())
			g.mu.Unlock()
		case <-g.kick:
		case <-timer.C:
		}
		g.mu.Lock()
		now := time.Now()
		g.step(now)
		frames := g.sendBuffer
		g.sendBuffer = nil
		next := g.deadline(now)
		g.mu.Unlock()
		for _, f := range frames {
			select {
			case out <- f:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		timer.Reset(next)
	}
}

// deadline is how long until the next timed action.
func (g *Gateway) deadline(now time.Time) time.Duration {
	d := time.Hour
	if !g.session {
		d = min(d, g.nextMgr.Sub(now))
	}
	if g.fl != nil {
		d = min(d, g.fl.sentAt.Add(g.opts.RetryInterval).Sub(now))
	}
	return max(d, 0)
}

// step does the timed and queued work: reboot, manager_hello, resends, the next notification.
func (g *Gateway) step(now time.Time) {
	if g.rebootReq {
		g.rebootReq = false
		g.reboot(now)
	}
	if !g.session && !now.Before(g.nextMgr) {
		g.st.ManagerHellos++
		g.emit(mesh.Packet{Type: mesh.TypeManagerHello, Seq: g.seq, Payload: []byte{mesh.ProtocolVersion, 0}}, now)
		g.nextMgr = now.Add(g.opts.ManagerHelloInterval)
	}
	if g.fl != nil && now.Sub(g.fl.sentAt) >= g.opts.RetryInterval {
		if g.fl.retries < g.opts.MaxRetries {
			g.fl.retries++
			g.fl.sentAt = now
			g.st.Retransmits++
			g.emit(mesh.Packet{Control: mesh.CtrlAckReq, Type: mesh.TypeNotification, Seq: g.fl.seq, Payload: g.fl.payload}, now)
		} else {
			// The controller is gone: keep the report, drop the session, call for a new one.
			g.logf("meshsim: notification seq %d unacknowledged after %d resends; dropping session", g.fl.seq, g.fl.retries)
			g.st.SessionDrops++
			g.queue = append([][]byte{g.fl.payload}, g.queue...)
			g.fl = nil
			g.dropSession(now)
		}
	}
	g.sendQueued(now)
}

func (g *Gateway) dropSession(now time.Time) {
	g.session = false
	g.filter, g.unack = 0, 0
	g.haveCli = false
	g.nextMgr = now
}

func (g *Gateway) reboot(now time.Time) {
	g.st.Reboots++
	// Cut a frame off mid-way: the line carries its first half and no closing flag.
	partial := g.lastFrame
	if len(partial) < 4 {
		partial = ManagerHelloFrame(g.seq)
	}
	partial = append([]byte(nil), partial[:len(partial)/2]...)
	g.sendBuffer = append(g.sendBuffer, outFrame{b: partial, at: now.Add(g.im.Delay)})
	if g.fl != nil {
		g.st.LostInReboot++
		g.fl = nil
	}
	g.seq = 0 // RAM is gone
	g.dropSession(now)
}

// sendQueued sends notifications while the subscription allows: all of them when
// unacknowledged, else one at a time (stop-and-wait).
func (g *Gateway) sendQueued(now time.Time) {
	for g.session && g.filter&mesh.FilterData != 0 && g.fl == nil && len(g.queue) > 0 {
		i := 0
		if len(g.queue) > 1 && g.im.Reorder > 0 && g.rng.Float64() < g.im.Reorder {
			i = 1
			g.st.Reordered++
		}
		payload := g.queue[i]
		g.queue = append(g.queue[:i], g.queue[i+1:]...)
		g.seq++
		g.st.Notifications++
		ack := g.unack&mesh.FilterData == 0
		p := mesh.Packet{Type: mesh.TypeNotification, Seq: g.seq, Payload: payload}
		if ack {
			p.Control = mesh.CtrlAckReq
			g.fl = &inflight{payload: payload, seq: g.seq, sentAt: now}
		}
		g.emit(p, now)
	}
}

// emit frames p and queues it for the writer with the impairments applied.
func (g *Gateway) emit(p mesh.Packet, now time.Time) {
	frame := EncodeFrame(p)
	g.lastFrame = frame
	im := g.im
	if im.Loss > 0 && g.rng.Float64() < im.Loss {
		g.st.FramesLost++
		return
	}
	copies := 1
	if im.Duplicate > 0 && g.rng.Float64() < im.Duplicate {
		copies = 2
		g.st.Duplicated++
	}
	at := now.Add(im.Delay)
	for range copies {
		b := frame
		if im.Noise > 0 && g.rng.Float64() < im.Noise {
			g.st.NoiseBursts++
			garbage := make([]byte, 1+g.rng.IntN(16))
			for i := range garbage {
				garbage[i] = byte(g.rng.UintN(256))
			}
			g.sendBuffer = append(g.sendBuffer, outFrame{b: garbage, at: at})
		}
		if im.BitFlip > 0 && g.rng.Float64() < im.BitFlip && len(b) > 2 {
			g.st.BitFlips++
			b = append([]byte(nil), b...)
			i := 1 + g.rng.IntN(len(b)-2)
			b[i] ^= 1 << g.rng.UintN(8)
		}
		g.st.FramesSent++
		g.sendBuffer = append(g.sendBuffer, outFrame{b: b, at: at})
	}
}

func (g *Gateway) respond(typ, seq uint8, payload []byte, now time.Time) {
	g.emit(mesh.Packet{Control: mesh.CtrlResponse, Type: typ, Seq: seq, Payload: payload}, now)
}

// handle processes one packet from the controller.
func (g *Gateway) handle(p mesh.Packet, now time.Time) {
	if p.IsResponse() {
		if p.Type == mesh.TypeNotification && g.fl != nil && p.Seq == g.fl.seq {
			g.st.Acks++
			g.fl = nil
		} else {
			g.st.StrayAcks++
		}
		return
	}
	switch p.Type {
	case mesh.TypeHello:
		if len(p.Payload) < 3 {
			g.st.Unknown++
			return
		}
		g.st.Hellos++
		cli := p.Payload[1]
		if g.fl != nil {
			// At least once: the controller may not have seen it in the old session.
			g.queue = append([][]byte{g.fl.payload}, g.queue...)
			g.fl = nil
		}
		g.session = true
		g.filter, g.unack = 0, 0
		g.cliLast, g.haveCli = cli, true
		g.respond(mesh.TypeHelloResponse, p.Seq, []byte{mesh.RCOK, mesh.ProtocolVersion, g.seq, cli, 0}, now)
	case mesh.TypeSubscribe:
		g.st.Subscribes++
		if !g.session {
			g.st.NoSession++
			return // no session: the manager_hello already asks for a hello
		}
		if g.haveCli && p.Seq == g.cliLast {
			g.st.DupRequests++
			g.respond(mesh.TypeSubscribe, p.Seq, []byte{mesh.RCOK}, now)
			return
		}
		g.cliLast, g.haveCli = p.Seq, true
		if len(p.Payload) < 8 {
			g.respond(mesh.TypeSubscribe, p.Seq, []byte{0x01}, now)
			return
		}
		g.filter = binary.BigEndian.Uint32(p.Payload[0:])
		g.unack = binary.BigEndian.Uint32(p.Payload[4:])
		g.respond(mesh.TypeSubscribe, p.Seq, []byte{mesh.RCOK}, now)
	default:
		g.st.Unknown++
	}
}

func (g *Gateway) reader(ctx context.Context, rx chan<- mesh.Packet, errc chan<- error) {
	df := mesh.NewDeframer(func(b []byte) {
		p, err := mesh.ParsePacket(b)
		if err != nil {
			g.mu.Lock()
			g.st.RxBadFrames++
			g.mu.Unlock()
			return
		}
		p.Payload = append([]byte(nil), p.Payload...)
		select {
		case rx <- p:
		case <-ctx.Done():
		}
	}, func(r mesh.Counter) {
		if r == mesh.CountNoSync {
			return
		}
		g.mu.Lock()
		g.st.RxBadFrames++
		g.mu.Unlock()
	})
	buf := make([]byte, 512)
	for ctx.Err() == nil {
		n, err := g.rw.Read(buf)
		df.Feed(buf[:n])
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var to interface{ Timeout() bool }
			if errors.As(err, &to) && to.Timeout() {
				continue
			}
			errc <- fmt.Errorf("meshsim: read: %w", err)
			return
		}
	}
}

func (g *Gateway) writer(ctx context.Context, out <-chan outFrame, errc chan<- error) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var f outFrame
		select {
		case f = <-out:
		case <-ctx.Done():
			return
		}
		if d := time.Until(f.at); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
		if _, err := g.rw.Write(f.b); err != nil {
			if ctx.Err() == nil {
				errc <- fmt.Errorf("meshsim: write: %w", err)
			}
			return
		}
	}
}
