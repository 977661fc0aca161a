package appliance

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coldaisle/coldaisle/board"
	"github.com/coldaisle/coldaisle/board/identity"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/pair"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/field"
	"github.com/coldaisle/coldaisle/drivers/modbus"
	"github.com/coldaisle/coldaisle/drivers/peer"
	"github.com/coldaisle/coldaisle/storage"
)

// ErrNotActive: a write was asked of a board of a 2N pair that may not write now (not active,
// or its lease ran out). Nothing went on the wire.
var ErrNotActive = errors.New("appliance: this board may not write now (2N pair)")

// ErrStandby: a configuration commit on the standby of a pair (commit on the active; it streams
// every commit to the standby).
var ErrStandby = errors.New("appliance: this board is not the active one of its pair")

// pairNode is this board's side of a 2N pair: the role machine (control/pair), the peer link,
// the witness reads of the units' owner blocks, the keeper that rewrites every owner block
// between control periods, the streams that keep the standby warm, and the gate every write
// passes right before it goes on the wire. Its goroutines stop with Serve's context.
type pairNode struct {
	a    *App
	id   *identity.Identity
	pcfg pair.Config
	link *peer.Link
	boot time.Time

	active atomic.Bool // role Active with its epoch stored (the runner's Passive reads it)
	runner atomic.Pointer[engine.Runner]

	// fxMu orders the machine's steps with their effects: a role change is carried out whole
	// (runner, lines, relay) before the next step's effects, whichever goroutine steps.
	fxMu sync.Mutex

	mu      sync.Mutex // everything below; never held across I/O
	m       *pair.Machine
	sent    [256]sentBeat // our messages by seq (ring), for the peer's echo
	peerHdr peer.Header   // the peer's last heartbeat header
	peerHB  peer.Heartbeat
	owners  map[string]pair.Owner // the last witness read, by unit
	blocks  map[string]blockRead  // the command block of that read (fan, valve), by unit
	quiet   map[string]time.Time  // since when each unit's owner block has not moved
	hb      map[string]uint16     // the heartbeat this board writes next, by unit
	last    map[string]lastWrite  // the last command written, by unit (the keeper rewrites it)
	fwd     []wireReading         // readings to forward to the standby
	stream  *engine.State         // the active's loop state (standby)
	streamN uint64
	cfgSent time.Time // when our configuration was last sent (rate limit)
	since   time.Time // when this board last became active
	errs    map[string]uint64
}

type sentBeat struct {
	seq uint64
	at  time.Time
}

type blockRead struct {
	fan, valve float64
	at         time.Time
}

type lastWrite struct {
	cmd      engine.Command
	at       time.Time
	inflight bool
}

// wireReading is one forwarded sensor reading (JSON on the peer link).
type wireReading struct {
	Sensor string    `json:"s"`
	Value  float64   `json:"v"`
	Fault  bool      `json:"f,omitempty"`
	Time   time.Time `json:"t"`
	Seq    uint8     `json:"q"`
}

// wireConfig is a committed configuration (JSON on the peer link).
type wireConfig struct {
	Version int    `json:"version"`
	Data    []byte `json:"data"` // the canonical site file
	User    string `json:"user"`
	Comment string `json:"comment"`
}

// roleWire maps the machine's role onto the peer link's.
func roleWire(r pair.Role) peer.Role {
	switch r {
	case pair.Active:
		return peer.RoleActive
	case pair.Standby:
		return peer.RoleStandby
	}
	return peer.RoleStarting
}

// roleOf maps a peer's role onto the machine's. A role this release does not know is taken as
// one that may be writing (a newer release's), never as a silent one.
func roleOf(r peer.Role) pair.Role {
	switch r {
	case peer.RoleStandby:
		return pair.Standby
	case peer.RoleNone, peer.RoleStarting, peer.RoleFaulted:
		return pair.Waiting
	}
	return pair.Active
}

func pairConfig(id *identity.Identity, cfg *site.Config, stored uint64) pair.Config {
	return pair.Config{NodeID: id.NodeID, Priority: id.Priority, Heartbeat: cfg.Pair.Heartbeat.Duration,
		PeerTimeout: cfg.Pair.PeerTimeout.Duration, WitnessInterval: cfg.Pair.WitnessInterval.Duration,
		StoredEpoch: uint16(min(stored, pair.MaxEpoch))}
}

// checkPairTimings refuses a configuration a pair cannot run safely: every unit's BMS timeout
// must be longer than the takeover budget, or the units fall back during a takeover.
func checkPairTimings(cfg *site.Config, pc pair.Config) error {
	if err := pc.Check(); err != nil {
		return err
	}
	budget := pc.TakeoverBudget()
	for _, u := range cfg.Units {
		if !u.DisableControls && u.BMSTimeout.Duration <= budget {
			return fmt.Errorf("%w: unit %s: bms_timeout %v is not longer than the pair's takeover budget %v (heartbeat %v < peer_timeout %v < takeover budget < bms_timeout < watchdog)",
				ErrRefused, u.Name, u.BMSTimeout.Duration, budget, pc.Heartbeat, pc.PeerTimeout)
		}
	}
	return nil
}

func newPairNode(a *App, id *identity.Identity, cfg *site.Config, stored uint64) (*pairNode, error) {
	pc := pairConfig(id, cfg, stored)
	if err := checkPairTimings(cfg, pc); err != nil {
		return nil, err
	}
	m, err := pair.New(pc)
	if err != nil {
		return nil, fmt.Errorf("appliance: pair: %w", err)
	}
	sw := a.opts.Version
	if len(sw) > peer.SoftwareLen {
		sw = sw[:peer.SoftwareLen]
	}
	link, err := peer.New(peer.Options{NodeID: id.NodeID, PeerNodeID: id.PeerNodeID, Key: id.Key, Listen: id.Listen, Peers: id.Peers,
		Software: printable(sw), Logf: a.logf})
	if err != nil {
		return nil, fmt.Errorf("appliance: pair: %w", err)
	}
	return &pairNode{a: a, id: id, pcfg: pc, link: link, m: m, boot: time.Now(),
		owners: map[string]pair.Owner{}, blocks: map[string]blockRead{}, quiet: map[string]time.Time{}, hb: map[string]uint16{},
		last: map[string]lastWrite{}, errs: map[string]uint64{}}, nil
}

func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// gate is every line's WriteGate: the role and the lease, with the time read right before the
// request goes on the wire.
func (p *pairNode) gate(now time.Time) error {
	p.mu.Lock()
	ok := p.m.CanWrite(now)
	p.mu.Unlock()
	if !ok {
		return ErrNotActive
	}
	return nil
}

// run starts the pair's goroutines; they stop with ctx.
func (p *pairNode) run(ctx context.Context, wg *sync.WaitGroup) {
	// The link outlives ctx by the last heartbeats of a clean stop (beats closes it).
	lctx, lstop := context.WithCancel(context.WithoutCancel(ctx))
	wg.Add(5)
	go func() {
		defer wg.Done()
		if err := p.link.Run(lctx); err != nil && lctx.Err() == nil {
			p.a.warnf("pair: peer link: %v", err)
		}
	}()
	go func() { defer wg.Done(); defer lstop(); p.beats(ctx) }()
	go func() { defer wg.Done(); p.receive(ctx) }()
	go func() { defer wg.Done(); p.witnessLoop(ctx) }()
	go func() { defer wg.Done(); p.keeper(ctx) }()
}

// step feeds the machine one message and carries out its effects; tick advances its timers.
func (p *pairNode) step(msg any)       { p.apply(func() []pair.Effect { return p.m.Step(msg) }) }
func (p *pairNode) tick(now time.Time) { p.apply(func() []pair.Effect { return p.m.Tick(now) }) }

func (p *pairNode) apply(f func() []pair.Effect) {
	p.fxMu.Lock()
	defer p.fxMu.Unlock()
	p.mu.Lock()
	fx := f()
	p.mu.Unlock()
	p.do(fx)
}

// do carries out the machine's effects, in order, under fxMu. An epoch is stored (synced)
// before the machine hears it is: the first write of a takeover can never reuse an epoch after
// a crash.
func (p *pairNode) do(fx []pair.Effect) {
	for len(fx) > 0 {
		e := fx[0]
		fx = fx[1:]
		switch e.Kind {
		case pair.PersistEpoch:
			if _, err := p.a.db.StoreEpoch(uint64(e.Epoch)); err != nil {
				p.a.warnf("pair: store epoch %d: %v (not taking over)", e.Epoch, err)
				p.a.storageFailed("epoch", err)
				continue
			}
			p.mu.Lock()
			more := p.m.Step(pair.EpochStored{Epoch: e.Epoch})
			p.mu.Unlock()
			fx = append(more, fx...)
		case pair.RoleChanged:
			p.roleChanged(e)
		case pair.RaiseAlarm:
			p.a.raiseAlarm("pair-"+e.Alarm, e.Reason)
		case pair.ClearAlarm:
			p.a.clearAlarm("pair-" + e.Alarm)
		}
	}
}

// roleChanged follows a new role: the runner, the deferred lines, the LEDs and the relay, the
// event log.
func (p *pairNode) roleChanged(e pair.Effect) {
	lvl := p.a.logf
	if e.Role != pair.Active {
		lvl = p.a.warnf
	}
	lvl("pair: %s", e)
	p.a.event(storage.KindSystem, "pair", clip(e.String(), 400))
	f, fctx := p.a.openedField()
	if e.Role == pair.Active {
		p.becomeActive(e.Epoch, f, fctx)
		return
	}
	wasActive := p.active.Swap(false)
	if p.a.brd != nil {
		if err := p.a.brd.SetControlling(false); err != nil {
			p.a.warnf("board: relay: %v", err)
		}
		if e.Role == pair.Standby {
			p.a.brd.SetRole(board.RoleStandby)
		} else {
			p.a.brd.SetRole(board.RoleUnknown)
		}
	}
	if wasActive && f != nil {
		// The gate already refuses every new write; what is in flight is reset off the wire
		// (a request queued on a link that went down would otherwise land when it comes back),
		// and the lines with one master are let go.
		f.Abort()
		f.CloseDeferred()
	}
}

// becomeActive: restore the streamed loop state (bumpless: every unit tracks its read-back
// first), continue every unit's heartbeat from what the witness read, open the deferred lines,
// configure the units, and run a control period at once.
func (p *pairNode) becomeActive(epoch uint16, f *field.Field, fctx context.Context) {
	fb := map[string]float64{}
	p.mu.Lock()
	p.since = time.Now()
	p.mu.Unlock()
	for _, u := range p.a.eng.Snapshot().Units {
		fb[u.Name] = u.FanFeedback
	}
	now := time.Now()
	p.mu.Lock()
	st := p.stream
	for u, o := range p.owners {
		if o.Reachable {
			p.hb[u] = o.Heartbeat + 1
		}
		// The keeper rewrites every witnessed unit's block at once with our owner block and
		// the fan and valve the unit holds: bumpless by construction, and no unit waits for
		// the first control period. A unit that runs well above its block (its own fallback)
		// keeps its air: more, never less.
		if b, ok := p.blocks[u]; ok && o.Reachable && now.Sub(b.at) < p.pcfg.WitnessWindow() {
			fan := b.fan
			if f, ok := fb[u]; ok && f == f && f > fan+10 {
				fan = f
			}
			p.last[u] = lastWrite{cmd: engine.Command{Unit: u, FanPct: fan, ValvePct: b.valve, Write: true}}
		}
	}
	p.mu.Unlock()
	if st != nil {
		s := *st
		s.Epoch = epoch
		if err := p.a.eng.Restore(s); err != nil {
			p.a.warnf("pair: the peer's loop state not restored: %v (tracking from the read-backs)", err)
		}
	} else {
		// No stream (the peer never ran, or this board restarted): its own checkpoint, which
		// also puts every unit through tracking.
		cur := p.a.eng.State()
		cur.Epoch = epoch
		_ = p.a.eng.Restore(cur)
	}
	p.a.eng.SetEpoch(epoch)
	p.active.Store(true)
	if f != nil {
		if err := f.OpenDeferred(); err != nil {
			p.a.warnf("pair: %v", err)
		}
		cfg, _ := p.a.runningConfig()
		p.a.fieldWG.Add(1)
		go func() {
			defer p.a.fieldWG.Done()
			p.a.configureUnits(fctx, f, cfg)
		}()
	}
	if r := p.runner.Load(); r != nil {
		r.Kick()
	}
	if p.a.brd != nil {
		p.a.brd.SetRole(board.RoleActive)
		if err := p.a.brd.SetControlling(true); err != nil {
			p.a.warnf("board: relay: %v", err)
		}
	}
}

func (p *pairNode) isActive() bool { return p.active.Load() }

// stamp sets the owner block of a command from the pair: this board's node id, the epoch it
// writes with, and the unit's next heartbeat (one sequence per unit, shared by the control
// period and the keeper, continued from the previous owner's at takeover).
func (p *pairNode) stamp(unit string, c engine.Command) engine.Command {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.Owner, c.Epoch = p.id.NodeID, p.m.Epoch()
	h := p.hb[unit]
	if h == 0 {
		h = 1
	}
	c.Heartbeat = h
	p.hb[unit] = h + 1
	return c
}

// wrote takes a write's outcome: an accepted one renews the lease from the moment it was sent
// (at, read before the gate), a fencing refusal (exception 0x04) steps down.
func (p *pairNode) wrote(unit string, c engine.Command, at time.Time, err error) {
	var ex modbus.ExceptionError
	switch {
	case err == nil:
		p.mu.Lock()
		lw := p.last[unit]
		lw.cmd, lw.at = c, at
		p.last[unit] = lw
		p.mu.Unlock()
		p.step(pair.WriteAccepted{At: at, Epoch: c.Epoch})
	case errors.As(err, &ex) && ex.Code == 0x04:
		p.step(pair.Fenced{At: time.Now(), Unit: unit})
	}
}

// write is the pair's write path: stamp, write, report.
func (p *pairNode) write(ctx context.Context, f *field.Field, unit string, c engine.Command) error {
	if !c.Write {
		return nil
	}
	c = p.stamp(unit, c)
	at := time.Now()
	err := f.WriteCommand(ctx, unit, c)
	if errors.Is(err, modbus.ErrWriteGated) {
		err = fmt.Errorf("%w: %v", ErrNotActive, err)
	}
	p.wrote(unit, c, at, err)
	return err
}

// beats sends a heartbeat every heartbeat interval and ticks the machine.
func (p *pairNode) beats(ctx context.Context) {
	t := time.NewTicker(p.pcfg.Heartbeat)
	defer t.Stop()
	for {
		now := time.Now()
		p.tick(now)
		p.sendBeat(now)
		p.flushReadings()
		select {
		case <-ctx.Done():
			p.handOver()
			return
		case <-t.C:
		}
	}
}

// handOver is a clean stop's last act: an active stops writing and says so (Yield) in its last
// heartbeats, so the standby takes over at once instead of after the peer timeout.
func (p *pairNode) handOver() {
	if !p.isActive() {
		return
	}
	p.step(pair.SetHold{Hold: pair.HoldStandby})
	deadline := time.Now().Add(3 * p.pcfg.Heartbeat)
	for i := 0; i < 3; i++ {
		p.sendBeat(time.Now())
	}
	// Let the writers put them on the wire (bounded: a stop never waits long).
	for p.link.Queued() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	p.a.logf("pair: stopping: handed over to the peer")
}

func (p *pairNode) sendBeat(now time.Time) {
	cfg, ver := p.a.runningConfig()
	hash := configHash(cfg)
	p.mu.Lock()
	st := p.m.Status()
	canWrite := p.m.CanWrite(now)
	p.mu.Unlock()
	flags := uint16(0)
	if canWrite {
		flags |= peer.HBInControl
	}
	if f, _ := p.a.openedField(); f != nil && f.MeshUp() {
		flags |= peer.HBSensorsOK
	}
	if st.Reachable > 0 || p.reachable() > 0 {
		flags |= peer.HBUnitsOK
	}
	if st.Role == pair.Active || p.warm() {
		flags |= peer.HBWarm
	}
	if st.Yielding {
		flags |= peer.HBYield
	}
	switch st.Hold {
	case pair.HoldStandby:
		flags |= peer.HBHoldStby
	case pair.HoldActive:
		flags |= peer.HBHoldAct
	}
	p.link.SetState(peer.State{Role: roleWire(st.Role), Epoch: uint64(st.Epoch), ConfigVersion: uint64(max(ver, 0)), ConfigHash: hash})
	p.send(peer.Message{Header: peer.Header{Type: peer.TypeHeartbeat},
		Heartbeat: peer.Heartbeat{Priority: uint16(max(p.id.Priority, 0)), Flags: flags,
			IntervalMS: uint32(p.pcfg.Heartbeat / time.Millisecond), UptimeMS: uint64(now.Sub(p.boot) / time.Millisecond)}})
}

// send sends m and remembers when its sequence number went out: the peer's heartbeats ack the
// highest sequence they accepted, whatever its type, and that is how fresh their word is.
func (p *pairNode) send(m peer.Message) {
	at := time.Now()
	seq, err := p.link.SendSeq(m)
	if err != nil {
		p.count("send_error")
		return
	}
	p.mu.Lock()
	p.sent[seq%uint64(len(p.sent))] = sentBeat{seq: seq, at: at}
	p.mu.Unlock()
}

// sentAt is when our heartbeat seq went out (zero: not one of ours that we remember).
func (p *pairNode) sentAt(seq uint64) time.Time {
	if seq == 0 {
		return time.Time{}
	}
	s := p.sent[seq%uint64(len(p.sent))]
	if s.seq != seq {
		return time.Time{}
	}
	return s.at
}

func (p *pairNode) warm() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stream != nil
}

func (p *pairNode) count(what string) {
	p.mu.Lock()
	p.errs[what]++
	p.mu.Unlock()
}

func configHash(cfg *site.Config) [32]byte {
	if cfg == nil {
		return [32]byte{}
	}
	data, err := site.Encode(cfg)
	if err != nil {
		return [32]byte{}
	}
	return sha256.Sum256(data)
}

// receive takes the peer's messages.
func (p *pairNode) receive(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-p.link.Recv():
			p.handle(r)
		}
	}
}

func (p *pairNode) handle(r peer.Received) {
	h := r.Message.Header
	switch h.Type {
	case peer.TypeHeartbeat:
		if r.Late {
			return // a newer heartbeat of this boot came first: it says more
		}
		hb := r.Message.Heartbeat
		p.mu.Lock()
		p.peerHdr, p.peerHB = h, hb
		fresh := p.sentAt(hb.AckSeq)
		p.mu.Unlock()
		st := pair.PeerState{NodeID: h.NodeID, Role: roleOf(h.Role), Epoch: uint16(min(h.Epoch, pair.MaxEpoch)),
			Priority: int(hb.Priority), FieldOK: hb.Flags&peer.HBUnitsOK != 0, Yield: hb.Flags&peer.HBYield != 0}
		switch {
		case hb.Flags&peer.HBHoldStby != 0:
			st.Hold = pair.HoldStandby
		case hb.Flags&peer.HBHoldAct != 0:
			st.Hold = pair.HoldActive
		}
		p.step(pair.PeerHeard{At: r.At, State: st, Fresh: fresh})
		p.maybeSendConfig(h)
	case peer.TypeReadings:
		p.takeReadings(r.Message.Payload)
	case peer.TypeLoopState:
		p.takeState(r.Message.Payload, r.Late)
	case peer.TypeConfig:
		p.takeConfig(r.Message.Payload, h)
	}
}

// Readings: the active forwards every reading of its own gateway; a board whose own gateway is
// missing or silent fills in from them.
const ownMeshSilent = 30 * time.Second

func (p *pairNode) forward(r engine.Reading) {
	if !p.isActive() {
		return
	}
	p.mu.Lock()
	if len(p.fwd) < 4096 {
		p.fwd = append(p.fwd, wireReading{Sensor: r.Sensor, Value: r.Value, Fault: r.Fault, Time: r.Time, Seq: r.Seq})
	}
	p.mu.Unlock()
}

func (p *pairNode) flushReadings() {
	p.mu.Lock()
	batch := p.fwd
	p.fwd = nil
	p.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	data, err := json.Marshal(batch)
	if err != nil {
		p.count("send_error")
		return
	}
	p.send(peer.Message{Header: peer.Header{Type: peer.TypeReadings}, Payload: data})
}

func (p *pairNode) takeReadings(data []byte) {
	if p.isActive() {
		return
	}
	if at := p.a.ownReading.Load(); at != 0 && time.Since(time.Unix(0, at)) < ownMeshSilent {
		return // our own gateway speaks: its readings are our view
	}
	var batch []wireReading
	if err := json.Unmarshal(data, &batch); err != nil || len(batch) > 4096 {
		p.count("bad_readings")
		return
	}
	now := time.Now()
	for _, w := range batch {
		if w.Sensor == "" || len(w.Sensor) > 64 || math.IsNaN(w.Value) || math.IsInf(w.Value, 0) {
			p.count("bad_readings")
			continue
		}
		p.a.eng.Observe(engine.Reading{Sensor: w.Sensor, Value: w.Value, Fault: w.Fault, Time: w.Time, Seq: w.Seq, Arrival: now})
	}
}

// sendState streams the loop state after every control period of the active.
func (p *pairNode) sendState() {
	if !p.isActive() {
		return
	}
	data, err := json.Marshal(p.a.eng.State())
	if err != nil {
		p.count("send_error")
		return
	}
	p.send(peer.Message{Header: peer.Header{Type: peer.TypeLoopState}, Payload: data})
}

func (p *pairNode) takeState(data []byte, late bool) {
	if p.isActive() || late {
		return
	}
	var st engine.State
	if err := json.Unmarshal(data, &st); err != nil || st.Version != engine.StateVersion {
		p.count("bad_state")
		return
	}
	// Restore checks every value (finite, in range) and refuses a bad state whole: the engine
	// stays warm with the active's integrators, modes and last outputs.
	if err := p.a.eng.Restore(st); err != nil {
		p.count("bad_state")
		return
	}
	p.mu.Lock()
	p.stream = &st
	p.streamN++
	p.mu.Unlock()
}

// maybeSendConfig sends our configuration to a standby that runs another one (at most every
// 2 s): a commit reaches the standby at once (sendConfig), a standby that was away catches up.
func (p *pairNode) maybeSendConfig(h peer.Header) {
	if !p.isActive() || roleOf(h.Role) == pair.Active {
		return
	}
	cfg, _ := p.a.runningConfig()
	if h.ConfigHash == configHash(cfg) {
		return
	}
	p.mu.Lock()
	due := time.Since(p.cfgSent) > 2*time.Second
	if due {
		p.cfgSent = time.Now()
	}
	p.mu.Unlock()
	if due {
		p.sendConfig("", "")
	}
}

func (p *pairNode) sendConfig(user, comment string) {
	cfg, ver := p.a.runningConfig()
	if cfg == nil {
		return
	}
	data, err := site.Encode(cfg)
	if err != nil {
		return
	}
	msg, _ := json.Marshal(wireConfig{Version: ver, Data: data, User: user, Comment: comment})
	p.send(peer.Message{Header: peer.Header{Type: peer.TypeConfig}, Payload: msg})
}

// takeConfig stores and applies a configuration the active committed, checked as every commit
// is. A standby never takes one from a board that is not active.
func (p *pairNode) takeConfig(data []byte, h peer.Header) {
	if p.isActive() || roleOf(h.Role) != pair.Active {
		return
	}
	var w wireConfig
	if err := json.Unmarshal(data, &w); err != nil || len(w.Data) == 0 {
		p.count("bad_config")
		return
	}
	cfg, _ := p.a.runningConfig()
	if sha256.Sum256(w.Data) == configHash(cfg) {
		return
	}
	next, err := ParseConfig(w.Data, fmt.Sprintf("configuration v%d of node %d", w.Version, h.NodeID))
	if err != nil {
		p.a.warnf("pair: the active's configuration v%d refused: %v", w.Version, err)
		p.a.raiseAlarm("pair-config-refused", clip(err.Error(), 300))
		return
	}
	if err := checkPairTimings(next, pairConfig(p.id, next, 0)); err != nil {
		p.a.warnf("pair: the active's configuration v%d refused: %v", w.Version, err)
		p.a.raiseAlarm("pair-config-refused", clip(err.Error(), 300))
		return
	}
	who := clip(printable(w.User), 64)
	if who == "" {
		who = "peer"
	}
	if _, err := p.a.backend().commit(context.Background(), next, who,
		clip(fmt.Sprintf("from the active (node %d, its v%d) %s", h.NodeID, w.Version, printable(w.Comment)), 1024), false); err != nil {
		p.a.warnf("pair: store the active's configuration v%d: %v", w.Version, err)
		return
	}
	p.a.clearAlarm("pair-config-refused")
	p.a.logf("pair: stored the active's configuration v%d", w.Version)
}

// witnessUnits are the units whose owner blocks a board can read: crah units on TCP lines.
func witnessUnits(cfg *site.Config) []string {
	lines := map[string]bool{}
	for _, l := range cfg.Lines {
		lines[l.Name] = field.Witnessable(cfg, l)
	}
	var out []string
	for _, u := range cfg.Units {
		if lines[u.Line] && !u.DisableControls && u.Profile != "vfd-fan" {
			out = append(out, u.Name)
		}
	}
	return out
}

// witnessLoop reads every witness unit's owner block twice per witness interval and feeds the
// machine. A read's time is when it completed: a block that moved is seen as moving from then
// on, which makes the standby's quiet window start late, never early.
func (p *pairNode) witnessLoop(ctx context.Context) {
	every := p.pcfg.WitnessInterval / 2
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f, _ := p.a.openedField()
		cfg, _ := p.a.runningConfig()
		if f == nil || cfg == nil {
			continue
		}
		names := witnessUnits(cfg)
		owners := make([]pair.Owner, len(names))
		blocks := make([]blockRead, len(names))
		var wg sync.WaitGroup
		for i, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, cancel := context.WithTimeout(ctx, every)
				defer cancel()
				o, err := f.ReadCommand(c, n)
				owners[i] = pair.Owner{Unit: n, Reachable: err == nil, Owner: o.Owner, Epoch: o.Epoch, Heartbeat: o.Heartbeat}
				blocks[i] = blockRead{fan: o.FanPct, valve: o.ValvePct}
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		reach := 0
		active := p.isActive()
		p.mu.Lock()
		for i, o := range owners {
			if o.Reachable {
				b := blocks[i]
				b.at = now
				p.blocks[o.Unit] = b
			}
			prev, seen := p.owners[o.Unit]
			if !seen || prev.Heartbeat != o.Heartbeat || prev.Epoch != o.Epoch || prev.Owner != o.Owner || prev.Reachable != o.Reachable {
				p.quiet[o.Unit] = now
			}
			p.owners[o.Unit] = o
			// The active reaches a unit only when its writes land there too: one that reads
			// but refuses or loses our writes is a field lost, and the peer should have it.
			landed := !active || now.Sub(p.last[o.Unit].at) < 3*p.pcfg.WitnessInterval || now.Sub(p.since) < 3*p.pcfg.WitnessInterval
			if o.Reachable && landed {
				reach++
			}
		}
		p.mu.Unlock()
		p.step(pair.Witnessed{At: now, Units: owners})
		total := len(names)
		if total == 0 {
			// An RTU-only plant: nothing to witness; the field's health is the runner's.
			reach, total = p.reachable(), len(cfg.Units)
		}
		p.step(pair.FieldHealth{At: now, Reachable: reach, Total: total})
	}
}

// reachable counts the units the last control period read (the active's view of its field).
func (p *pairNode) reachable() int {
	return int(p.a.lastRead.Load())
}

// keeper rewrites every witness unit's last command (with the next heartbeat) when the last
// write is half a witness interval old: the owner blocks move at least once per witness
// interval, so a standby that sees them quiet for a witness window knows the active stopped.
func (p *pairNode) keeper(ctx context.Context) {
	every := p.pcfg.WitnessInterval / 4
	t := time.NewTicker(every)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !p.isActive() {
			continue
		}
		f, fctx := p.a.openedField()
		cfg, _ := p.a.runningConfig()
		if f == nil || cfg == nil {
			continue
		}
		now := time.Now()
		if p.gate(now) != nil {
			continue
		}
		for _, n := range witnessUnits(cfg) {
			p.mu.Lock()
			lw, ok := p.last[n]
			due := ok && !lw.inflight && now.Sub(lw.at) >= p.pcfg.WitnessInterval/2
			if due {
				lw.inflight = true
				p.last[n] = lw
			}
			p.mu.Unlock()
			if !due {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, cancel := context.WithTimeout(fctx, p.pcfg.WitnessInterval)
				err := p.write(c, f, n, lw.cmd)
				cancel()
				p.mu.Lock()
				x := p.last[n]
				x.inflight = false
				p.last[n] = x
				p.mu.Unlock()
				if err != nil && !errors.Is(err, ErrNotActive) {
					p.count("keeper_write_error")
				}
			}()
		}
	}
}

// Status for the console, the view and the metrics.
type pairStatus struct {
	pair.Status
	NodeID      uint16
	Budget      time.Duration
	PeerHeader  peer.Header
	Owners      []pair.Owner
	Quiet       map[string]time.Duration
	Paths       []string
	Peers       []string
	PathHeard   []time.Time
	LinkCounter map[string]uint64
	Streamed    uint64
}

func (p *pairNode) status() pairStatus {
	now := time.Now()
	p.mu.Lock()
	s := pairStatus{Status: p.m.Status(), NodeID: p.id.NodeID, Budget: p.pcfg.TakeoverBudget(), PeerHeader: p.peerHdr,
		Quiet: map[string]time.Duration{}, Streamed: p.streamN}
	for n, o := range p.owners {
		s.Owners = append(s.Owners, o)
		s.Quiet[n] = now.Sub(p.quiet[n])
	}
	errs := make(map[string]uint64, len(p.errs))
	for k, v := range p.errs {
		errs[k] = v
	}
	p.mu.Unlock()
	sort.Slice(s.Owners, func(i, j int) bool { return s.Owners[i].Unit < s.Owners[j].Unit })
	s.Paths, s.Peers = p.link.Addrs(), p.id.Peers
	s.PathHeard = p.link.LastHeard()
	s.LinkCounter = p.link.Counters()
	for k, v := range errs {
		s.LinkCounter[k] = v
	}
	return s
}

// switchover and hold: the operator's requests.
func (p *pairNode) switchover() error {
	p.step(pair.Switchover{At: time.Now()})
	p.mu.Lock()
	st := p.m.Status()
	p.mu.Unlock()
	if st.Yielding && st.Role != pair.Active {
		return nil
	}
	for _, a := range st.Alarms {
		if len(a) > 11 && a[:11] == "switchover:" {
			return fmt.Errorf("appliance: %s", a[12:])
		}
	}
	return errors.New("appliance: switchover refused")
}

func (p *pairNode) setHold(h pair.Hold) {
	p.step(pair.SetHold{Hold: h})
}
