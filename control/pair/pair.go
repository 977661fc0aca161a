package pair

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Role is what a board does in the pair.
type Role uint8

// The roles.
const (
	Waiting Role = iota // writes nothing; has neither heard its peer nor witnessed the units silent
	Standby             // the peer (or the units) say another board controls; writes nothing
	Active              // controls the units, while its lease holds
)

var roleNames = [...]string{"waiting", "standby", "active"}

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("role(%d)", r)
}

// Hold is an operator's maintenance setting.
type Hold uint8

// The holds.
const (
	HoldOff     Hold = iota
	HoldStandby      // never take over (maintenance of this board)
	HoldActive       // stay active: refuse switchover requests and win a tie; still yields to a newer epoch
)

var holdNames = [...]string{"off", "standby", "active"}

func (h Hold) String() string {
	if int(h) < len(holdNames) {
		return holdNames[h]
	}
	return fmt.Sprintf("hold(%d)", h)
}

// MaxEpoch is the largest epoch the units hold (16-bit register 11).
const MaxEpoch = 0xFFFF

// Errors.
var (
	// ErrConfig: a Config that cannot be safe (see Config).
	ErrConfig = errors.New("pair: bad configuration")
)

// Config are the pair's timings and this board's identity. The order heartbeat < peer timeout <
// takeover budget is what makes a takeover safe, together with the lease (see CanWrite).
type Config struct {
	NodeID   uint16 // this board; its low bit is the low bit of every epoch it takes (one board even, one odd)
	Priority int    // the preferred active when both start together (higher wins)

	Heartbeat       time.Duration // how often the boards hear each other
	PeerTimeout     time.Duration // silence on every path this long: the peer may be gone
	WitnessInterval time.Duration // the active rewrites every unit's owner block at least this often

	StoredEpoch uint16 // the highest epoch this board has stored (durable)
}

// WitnessWindow is how long a board watches the units' owner blocks before it may conclude that
// nobody writes them: one witness interval (the longest an active leaves a unit unwritten) and a
// heartbeat of margin for request latency.
func (c Config) WitnessWindow() time.Duration { return c.WitnessInterval + c.Heartbeat }

// TakeoverBudget is the longest a takeover may take from the active's last write to the new
// active's first: the peer's silence and the witness window (they run together, the budget
// takes the sum to stay an upper bound), and one heartbeat for the witness reads' grid and the
// epoch to be stored. Every unit's BMS timeout must be longer, or the units fall back to their own
// control during it.
func (c Config) TakeoverBudget() time.Duration {
	return c.PeerTimeout + c.WitnessWindow() + c.Heartbeat
}

// Check validates c.
func (c Config) Check() error {
	switch {
	case c.NodeID == 0:
		return fmt.Errorf("%w: node id 0", ErrConfig)
	case c.Heartbeat <= 0 || c.PeerTimeout <= c.Heartbeat:
		return fmt.Errorf("%w: heartbeat %v must be shorter than peer_timeout %v", ErrConfig, c.Heartbeat, c.PeerTimeout)
	case c.WitnessInterval <= 0 || c.WitnessInterval >= c.PeerTimeout:
		return fmt.Errorf("%w: witness_interval %v must be positive and shorter than peer_timeout %v", ErrConfig, c.WitnessInterval, c.PeerTimeout)
	}
	return nil
}

// leaseFromWrite is how long an accepted write lets the active go on writing: a standby cannot
// see the units quiet for a witness window before the write's moment, less a heartbeat of margin.
func (c Config) leaseFromWrite() time.Duration { return c.WitnessWindow() - c.Heartbeat }

// leaseFromPeer is how long a standby's heartbeat that echoes one of ours lets the active write:
// the standby heard us at (or after) the echoed send, and waits peer_timeout from there.
func (c Config) leaseFromPeer() time.Duration { return c.PeerTimeout - c.Heartbeat }

// PeerState is what an authenticated heartbeat of the peer says.
type PeerState struct {
	NodeID   uint16
	Role     Role
	Epoch    uint16 // the epoch the peer writes (or last wrote) with
	Priority int
	FieldOK  bool // the peer reaches at least one unit
	Yield    bool // the peer hands over (switchover, field lost): take over now
	Hold     Hold
}

// Owner is one unit's owner block as read from its registers (the witness).
type Owner struct {
	Unit      string
	Reachable bool
	Owner     uint16
	Epoch     uint16
	Heartbeat uint16
}

// Effect is what the state machine asks of the caller, in order.
type Effect struct {
	Kind   EffectKind
	Epoch  uint16 // PersistEpoch, BecomeActive
	Role   Role   // RoleChanged
	Reason string
	Alarm  string // Alarm, ClearAlarm: the alarm kind
}

// EffectKind is the kind of an Effect.
type EffectKind uint8

// The effects.
const (
	PersistEpoch EffectKind = iota + 1 // store Epoch durably, then Step(EpochStored{Epoch})
	RoleChanged                        // the role is now Role, for Reason
	RaiseAlarm                         // raise Alarm with Reason
	ClearAlarm                         // clear Alarm
)

func (e Effect) String() string {
	switch e.Kind {
	case PersistEpoch:
		return fmt.Sprintf("persist epoch %d", e.Epoch)
	case RoleChanged:
		if e.Role == Active {
			return fmt.Sprintf("role active epoch %d: %s", e.Epoch, e.Reason)
		}
		return fmt.Sprintf("role %s: %s", e.Role, e.Reason)
	case RaiseAlarm:
		return fmt.Sprintf("alarm %s: %s", e.Alarm, e.Reason)
	case ClearAlarm:
		return "clear " + e.Alarm
	}
	return "effect?"
}

// Messages for Step.
type (
	// PeerHeard: an authenticated heartbeat of the peer arrived (on any path).
	PeerHeard struct {
		At    time.Time
		State PeerState
		// Fresh is when this board sent the heartbeat the peer's one echoes (its ack of our
		// sequence): the peer was alive and in State after it. Zero: it echoes nothing of ours
		// (a first contact, a frame that sat in a queue), so it renews no lease.
		Fresh time.Time
	}
	// WriteAccepted: a unit accepted a write of this board's current epoch, checked by CanWrite
	// at At (the moment the request went on the wire).
	WriteAccepted struct {
		At    time.Time
		Epoch uint16
	}
	// Witnessed: a read of every unit's owner block this board can reach.
	Witnessed struct {
		At    time.Time
		Units []Owner
	}
	// FieldHealth: how many of its units this board reaches.
	FieldHealth struct {
		At               time.Time
		Reachable, Total int
	}
	// Fenced: a unit refused a write (exception 0x04) or showed a newer epoch than ours.
	Fenced struct {
		At    time.Time
		Unit  string
		Epoch uint16 // the epoch it holds, if known (0: unknown)
	}
	// EpochStored: the epoch asked for by PersistEpoch is durable.
	EpochStored struct{ Epoch uint16 }
	// Switchover: an operator asks the active to hand over.
	Switchover struct{ At time.Time }
	// SetHold: an operator's maintenance hold.
	SetHold struct{ Hold Hold }
)

// witnessUnit is what this board has seen of one unit's owner block.
type witnessUnit struct {
	owner, epoch, hb uint16
	since            time.Time // when hb was last seen to change (or first seen)
	seen             bool
	reachable        bool
}

// Machine is one board's pair state machine: no clock, no I/O; the caller feeds it messages and
// ticks with the monotonic time, and carries out the effects it returns. It is not safe for
// concurrent use.
type Machine struct {
	cfg   Config
	role  Role
	epoch uint16 // the epoch this board writes with (durable when role is Active)
	hold  Hold

	boot        time.Time
	started     bool
	now         time.Time
	peer        PeerState
	peerHeard   time.Time // last heartbeat (zero: never)
	peerFresh   time.Time // the newest of our heartbeats the peer has echoed (see PeerHeard.Fresh)
	highest     uint16    // the highest epoch seen anywhere (own stored, peer, units)
	units       map[string]*witnessUnit
	lastWitness time.Time
	witnessFrom time.Time // start of the current window with every reachable unit quiet
	reachable   int       // units this board's field reaches (FieldHealth)
	total       int
	reachableW  int // units the last witness read reached

	pending    uint16 // epoch asked to be stored (0: none)
	pendWhy    string
	leaseUntil time.Time
	yield      bool      // this board is handing over (its heartbeats say so)
	yieldSince time.Time // when it began to
	alarms     map[string]string
	fx         []Effect
}

// New returns a machine in Waiting; it writes nothing until it has heard its peer or witnessed the
// units stay silent for longer than the takeover budget.
func New(cfg Config) (*Machine, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	return &Machine{cfg: cfg, role: Waiting, epoch: cfg.StoredEpoch, highest: cfg.StoredEpoch,
		units: map[string]*witnessUnit{}, alarms: map[string]string{}}, nil
}

// Role is the board's role now.
func (m *Machine) Role() Role { return m.role }

// Epoch is the epoch this board writes with.
func (m *Machine) Epoch() uint16 { return m.epoch }

// Yielding reports whether this board's heartbeats should carry Yield (it hands over).
func (m *Machine) Yielding() bool { return m.yield }

// CanWrite reports whether a write may go on the wire now: active, with its epoch stored, and its
// lease valid at now. The caller checks it immediately before each request, with the monotonic
// time read right then (not a time taken before the request was queued): a process that was
// paused past its lease gets false.
//
// The lease is evidence that the standby cannot have decided to take over, never a timer of
// this board's own: a standby takes over only after peer_timeout without our heartbeats and a
// witness window in which no unit's owner block moved. So an accepted write at t lets the active
// write until t + witness window - heartbeat, and a standby heartbeat that echoes our heartbeat
// sent at t until t + peer_timeout - heartbeat. A process paused past both resumes with no
// right to write: only a fresh heartbeat of a peer still standby gives it back, and a peer that
// took over says so instead.
func (m *Machine) CanWrite(now time.Time) bool {
	return m.role == Active && m.pending == 0 && now.Before(m.leaseUntil)
}

// LeaseUntil is the end of the current lease (zero when not active).
func (m *Machine) LeaseUntil() time.Time { return m.leaseUntil }

// Alarms returns the active alarms, kind -> reason.
func (m *Machine) Alarms() map[string]string {
	out := make(map[string]string, len(m.alarms))
	for k, v := range m.alarms {
		out[k] = v
	}
	return out
}

func (m *Machine) emit(e Effect) { m.fx = append(m.fx, e) }

func (m *Machine) take() []Effect {
	fx := m.fx
	m.fx = nil
	return fx
}

func (m *Machine) alarm(kind, why string) {
	if m.alarms[kind] == why {
		return
	}
	m.alarms[kind] = why
	m.emit(Effect{Kind: RaiseAlarm, Alarm: kind, Reason: why})
}

func (m *Machine) clear(kind string) {
	if _, ok := m.alarms[kind]; ok {
		delete(m.alarms, kind)
		m.emit(Effect{Kind: ClearAlarm, Alarm: kind})
	}
}

func (m *Machine) setRole(r Role, why string) {
	if r != Active {
		m.leaseUntil = time.Time{}
	}
	if m.role == r {
		return
	}
	m.role = r
	m.emit(Effect{Kind: RoleChanged, Role: r, Epoch: m.epoch, Reason: why})
}

func (m *Machine) see(epoch uint16) {
	if epoch > m.highest {
		m.highest = epoch
	}
}

func (m *Machine) peerAlive(now time.Time) bool {
	return !m.peerHeard.IsZero() && now.Sub(m.peerHeard) < m.cfg.PeerTimeout
}

// Step takes one message and returns the effects, in order.
func (m *Machine) Step(msg any) []Effect {
	switch x := msg.(type) {
	case PeerHeard:
		m.tickTo(x.At)
		m.peer, m.peerHeard = x.State, x.At
		if x.Fresh.After(m.peerFresh) && !x.Fresh.After(x.At) {
			m.peerFresh = x.Fresh
		}
		m.see(x.State.Epoch)
		if x.State.NodeID == m.cfg.NodeID {
			m.alarm("pair-config", fmt.Sprintf("the peer has this board's node id %d: the two boards need different node ids (one even, one odd)", m.cfg.NodeID))
		} else if x.State.NodeID&1 == m.cfg.NodeID&1 {
			m.alarm("pair-config", fmt.Sprintf("node ids %d and %d are both %s: epochs are unique only when one is even and one odd", m.cfg.NodeID, x.State.NodeID, parity(m.cfg.NodeID)))
		} else {
			m.clear("pair-config")
		}
		m.clear("peer-silent")
		m.onPeer(x.At, x.Fresh)
	case Witnessed:
		m.tickTo(x.At)
		m.witness(x)
	case FieldHealth:
		m.tickTo(x.At)
		m.reachable, m.total = x.Reachable, x.Total
		m.fieldRules(x.At)
	case Fenced:
		m.tickTo(x.At)
		m.see(x.Epoch)
		if m.role == Active {
			m.stepDown(fmt.Sprintf("unit %s refused our epoch %d (fenced by epoch %d): another controller writes", x.Unit, m.epoch, x.Epoch))
		}
	case WriteAccepted:
		m.tickTo(x.At)
		if m.role == Active && m.pending == 0 && x.Epoch == m.epoch && !x.At.After(m.leaseUntil) {
			m.extend(x.At.Add(m.cfg.leaseFromWrite()))
		}
	case EpochStored:
		if m.pending != 0 && x.Epoch == m.pending {
			m.epoch, m.pending = x.Epoch, 0
			m.see(x.Epoch)
			// The decision itself is the evidence: the peer was silent and the units quiet (or it
			// yielded) when it was taken, moments ago.
			m.leaseUntil = time.Time{}
			m.extend(m.now.Add(m.cfg.leaseFromWrite()))
			m.setRole(Active, m.pendWhy)
		}
	case Switchover:
		m.tickTo(x.At)
		switch {
		case m.role != Active:
			m.alarm("switchover", "switchover asked of a board that is not active; ask the active one")
		case m.hold == HoldActive:
			m.alarm("switchover", "switchover refused: this board is held active (pair hold off first)")
		case !m.peerAlive(x.At) || !m.peer.FieldOK || m.peer.Hold == HoldStandby:
			m.alarm("switchover", "switchover refused: the peer is not heard, reaches no unit, or is held standby")
		default:
			m.clear("switchover")
			m.startYield(x.At)
			m.setRole(Standby, "switchover: handing over to the peer")
		}
	case SetHold:
		m.hold = x.Hold
		if x.Hold == HoldStandby && m.role == Active {
			m.startYield(m.now)
			m.setRole(Standby, "held standby by an operator: handing over")
		}
	}
	return m.take()
}

// Tick advances the machine's timers to now.
func (m *Machine) Tick(now time.Time) []Effect {
	m.tickTo(now)
	return m.take()
}

func parity(n uint16) string {
	if n&1 == 0 {
		return "even"
	}
	return "odd"
}

func (m *Machine) tickTo(now time.Time) {
	if !m.started {
		m.boot, m.started = now, true
	}
	if now.Before(m.now) {
		now = m.now // monotonic: never back
	}
	m.now = now
	if !m.peerHeard.IsZero() && !m.peerAlive(now) {
		m.alarm("peer-silent", fmt.Sprintf("no heartbeat from the peer (node %d) for more than peer_timeout %v", m.peer.NodeID, m.cfg.PeerTimeout))
	}
	// A handover the peer did not take within the takeover budget is over: the tie rules (or
	// the witness) bring one board back rather than leave the units to their BMS fallback.
	if m.yield && m.role != Active && now.Sub(m.yieldSince) > m.cfg.TakeoverBudget() {
		m.yield = false
		m.alarm("switchover", "the peer did not take over the handover within the takeover budget")
	}
	// An active whose lease ran out (it was paused, or starved of CPU, or its writes all failed)
	// with no peer to renew it steps down: it cannot know whether the standby took over, and
	// the takeover rules (a quiet witness, a silent peer) will bring one board back.
	if m.role == Active && m.pending == 0 && !now.Before(m.leaseUntil) && !m.peerAlive(now) {
		m.stepDown("the write lease ran out with the peer silent: this board was paused or could not write")
	}
}

// extend moves the lease's end to until, never back.
func (m *Machine) extend(until time.Time) {
	if until.After(m.leaseUntil) {
		m.leaseUntil = until
	}
}

// renewFromPeer extends the active's lease on the peer's word: a standby (or waiting) peer with
// an older epoch, whose heartbeat echoes one of ours (so it was made after we sent that one).
func (m *Machine) renewFromPeer() {
	p := m.peer
	if m.role != Active || m.pending != 0 || m.peerFresh.IsZero() || p.Role == Active || p.Epoch > m.epoch {
		return
	}
	m.extend(m.peerFresh.Add(m.cfg.leaseFromPeer()))
}

func (m *Machine) startYield(now time.Time) {
	m.yield, m.yieldSince = true, now
}

func (m *Machine) stepDown(why string) {
	m.pending = 0
	m.setRole(Standby, why)
}

// onPeer applies the rules that a heartbeat can trigger.
func (m *Machine) onPeer(now, fresh time.Time) {
	p := m.peer
	switch m.role {
	case Active:
		if p.Role == Active && p.Epoch > m.epoch {
			m.stepDown(fmt.Sprintf("the peer is active with a newer epoch %d (ours %d)", p.Epoch, m.epoch))
			return
		}
		if p.Role == Active && !m.beats(p) {
			m.stepDown(fmt.Sprintf("two actives met: the peer wins (epoch %d, priority %d, node %d)", p.Epoch, p.Priority, p.NodeID))
			return
		}
		m.renewFromPeer()
	case Standby, Waiting:
		// A yield ends when the peer took over, or when the peer hands over too (it yields back,
		// or is held standby): then one of us must take the units.
		m.yield = m.yield && p.Role != Active && !p.Yield && p.Hold != HoldStandby
		if m.yield {
			// Handing over: the peer's heartbeats may still say standby until it has heard our
			// yield; winning the tie now would take the units straight back.
			return
		}
		if p.Role == Active {
			m.setRole(Standby, fmt.Sprintf("the peer (node %d) is active with epoch %d", p.NodeID, p.Epoch))
			return
		}
		// Both not active: the peer yields to us, or the pair resolves who takes over, but only
		// on a heartbeat made since the peer heard us lately (it echoes a recent one of ours).
		// A process that resumes from a pause reads first what queued while it was stopped:
		// "standby" from a peer that has since taken over.
		if fresh.IsZero() || now.Sub(fresh) >= m.cfg.PeerTimeout {
			return
		}
		if m.hold == HoldStandby || m.pending != 0 {
			if m.role == Waiting {
				m.setRole(Standby, "held standby by an operator")
			}
			return
		}
		switch {
		case p.Yield && m.reaches():
			m.takeOver("the peer hands over")
		case p.Yield:
			m.setRole(Standby, "the peer hands over, but this board reaches no unit")
		case m.beats(p) && m.reaches():
			m.takeOver(fmt.Sprintf("neither board active: this one wins (epoch %d, priority %d, node %d)", m.epoch, m.cfg.Priority, m.cfg.NodeID))
		default:
			m.setRole(Standby, fmt.Sprintf("neither board active: the peer (node %d) wins", p.NodeID))
		}
	}
}

// reaches reports whether this board reaches at least one unit (by its field or its witness).
func (m *Machine) reaches() bool { return m.reachable > 0 || m.reachableW > 0 }

// beats reports whether this board wins a tie against the peer: a board that reaches its units
// first, then one not held standby, then a hold active, then the newer epoch, the higher
// priority, the higher node id.
func (m *Machine) beats(p PeerState) bool {
	mine := m.reaches()
	switch {
	case mine != p.FieldOK:
		return mine
	case (m.hold == HoldStandby) != (p.Hold == HoldStandby):
		return p.Hold == HoldStandby // a board held standby never takes the units
	case (m.hold == HoldActive) != (p.Hold == HoldActive):
		return m.hold == HoldActive
	case m.epoch != p.Epoch:
		return m.epoch > p.Epoch
	case m.cfg.Priority != p.Priority:
		return m.cfg.Priority > p.Priority
	}
	return m.cfg.NodeID > p.NodeID
}

// fieldRules: an active that reaches no unit hands over when its peer does.
func (m *Machine) fieldRules(now time.Time) {
	if m.role == Active && m.reachable == 0 && m.total > 0 && m.peerAlive(now) && m.peer.FieldOK {
		m.startYield(now)
		m.setRole(Standby, "this board reaches no unit and the peer does: handing over")
	}
	if m.reachable > 0 {
		m.clear("no-witness")
	}
}

// witness takes a read of the owner blocks.
func (m *Machine) witness(w Witnessed) {
	m.lastWitness = w.At
	reachable := 0
	moving := false
	newer := uint16(0)
	for _, o := range w.Units {
		u := m.units[o.Unit]
		if u == nil {
			u = &witnessUnit{}
			m.units[o.Unit] = u
		}
		u.reachable = o.Reachable
		if !o.Reachable {
			continue
		}
		reachable++
		m.see(o.Epoch)
		if o.Epoch > m.epoch && o.Epoch > newer {
			newer = o.Epoch
		}
		// Someone else advancing a unit's heartbeat: a writer is alive.
		if u.seen && (o.Heartbeat != u.hb || o.Owner != u.owner || o.Epoch != u.epoch) && !(m.role == Active && o.Owner == m.cfg.NodeID) {
			moving = true
			u.since = w.At
		}
		if !u.seen {
			u.since = w.At
		}
		u.owner, u.epoch, u.hb, u.seen = o.Owner, o.Epoch, o.Heartbeat, true
	}
	if m.role == Active && newer > 0 {
		m.stepDown(fmt.Sprintf("a unit holds a newer epoch %d than ours %d: another controller writes", newer, m.epoch))
	}
	// The quiet window starts at the read that last saw a block move: the write it saw was
	// accepted before that read completed, and a live active writes again within one witness
	// interval, which a read issued a window later would see. (An active that stalls longer
	// lets its lease, made of those same accepted writes, run out first: a takeover then is
	// early, never a second writer.)
	switch {
	case reachable == 0:
		m.witnessFrom = time.Time{}
	case moving || m.witnessFrom.IsZero():
		m.witnessFrom = w.At
	}
	if reachable == 0 && m.role != Active {
		m.alarm("no-witness", "this board reaches no unit: it cannot witness the active, so it stays out")
		if m.role == Standby && !m.peerAlive(w.At) {
			m.setRole(Waiting, "reaches no unit and hears no peer")
		}
	} else if reachable > 0 {
		m.clear("no-witness")
	}
	if moving && m.role != Active && !m.peerAlive(w.At) {
		m.alarm("peer-silent-writing", "the peer is silent but the units are still being written: staying out (check the peer link)")
	} else if !moving {
		m.clear("peer-silent-writing")
	}
	m.reachableW = reachable
	m.takeoverRules(w.At)
}

// takeoverRules: a board not active takes over when its peer has been silent on every path for
// peer_timeout (or never heard since boot, for longer than the takeover budget) and the witness
// agrees: over a window longer than two witness intervals no reachable unit's owner block moved.
// It runs only on a fresh read of the owner blocks (witness), never on a tick from an older one:
// an active that resumed and wrote since the last read must be seen before anyone decides.
func (m *Machine) takeoverRules(now time.Time) {
	if m.role == Active || m.pending != 0 || m.hold == HoldStandby {
		return
	}
	silent := false
	switch {
	case m.peerHeard.IsZero():
		silent = now.Sub(m.boot) >= m.cfg.TakeoverBudget()
	default:
		silent = !m.peerAlive(now)
	}
	if !silent || m.reachableW == 0 || m.witnessFrom.IsZero() || now.Sub(m.witnessFrom) < m.cfg.WitnessWindow() {
		return
	}
	if m.peerHeard.IsZero() {
		m.takeOver(fmt.Sprintf("no peer heard since start (%v) and the units are quiet", now.Sub(m.boot).Round(time.Millisecond)))
	} else {
		m.takeOver(fmt.Sprintf("the peer is silent for %v and the units are quiet", now.Sub(m.peerHeard).Round(time.Millisecond)))
	}
}

// takeOver raises the epoch above every one seen, with this board's low bit, and asks for it to
// be stored; the board becomes active when it is (EpochStored).
func (m *Machine) takeOver(why string) {
	next := uint32(m.highest) + 1
	if next&1 != uint32(m.cfg.NodeID&1) {
		next++
	}
	if next > MaxEpoch {
		m.alarm("epoch", fmt.Sprintf("the epoch would pass %d (the units hold 16 bits): reset the epochs of both boards and the units' register 11 together (see the README) before this board may take over", MaxEpoch))
		return
	}
	m.pending, m.pendWhy = uint16(next), why
	m.yield = false
	m.emit(Effect{Kind: PersistEpoch, Epoch: uint16(next), Reason: why})
}

// Config returns the machine's configuration.
func (m *Machine) Config() Config { return m.cfg }

// Status is the machine for `show pair`.
type Status struct {
	Role        Role
	Epoch       uint16
	Highest     uint16
	Hold        Hold
	Yielding    bool
	Pending     uint16 // epoch waiting to be stored
	LeaseUntil  time.Time
	PeerHeard   time.Time
	Peer        PeerState
	Reachable   int
	Total       int
	LastWitness time.Time
	QuietSince  time.Time // start of the window in which no unit's owner block moved
	Alarms      []string
}

// Status returns the machine's state.
func (m *Machine) Status() Status {
	s := Status{Role: m.role, Epoch: m.epoch, Highest: m.highest, Hold: m.hold, Yielding: m.yield, Pending: m.pending,
		LeaseUntil: m.leaseUntil, PeerHeard: m.peerHeard, Peer: m.peer, Reachable: m.reachable, Total: m.total,
		LastWitness: m.lastWitness, QuietSince: m.witnessFrom}
	for k, v := range m.alarms {
		s.Alarms = append(s.Alarms, k+": "+v)
	}
	sort.Strings(s.Alarms)
	return s
}

// String is a one-line summary (transcripts).
func (s Status) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s epoch %d (highest %d)", s.Role, s.Epoch, s.Highest)
	if s.Pending != 0 {
		fmt.Fprintf(&b, " storing %d", s.Pending)
	}
	if s.Hold != HoldOff {
		fmt.Fprintf(&b, " hold %s", s.Hold)
	}
	if s.Yielding {
		b.WriteString(" yielding")
	}
	return b.String()
}
