package consoletest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
)

// Pair is a fake console.Pair: a board of a 2N pair whose status the test sets, and whose
// switchover and hold act on that status by the pair's rules in outline (a switchover or a hold
// standby makes an active board a standby that hands over; a switchover is refused when the board
// is not active, is held active, or its peer is silent, reaches no unit or is held standby).
type Pair struct {
	mu          sync.Mutex
	st          console.PairStatus
	refuse      error
	switchovers int
	requests    int
	holds       []string
}

// NewPair returns a fake pair board with status st.
func NewPair(st console.PairStatus) *Pair { return &Pair{st: clonePair(st)} }

// PairBackend is a Backend whose board runs in a 2N pair: it implements console.Pair too.
type PairBackend struct {
	*Backend
	*Pair
}

var _ interface {
	console.Backend
	console.Pair
} = PairBackend{}

func clonePair(st console.PairStatus) console.PairStatus {
	st.Paths = append([]console.PairPath(nil), st.Paths...)
	st.Witness = append([]console.PairWitness(nil), st.Witness...)
	st.Alarms = append([]string(nil), st.Alarms...)
	st.Counters = maps.Clone(st.Counters)
	return st
}

// SetStatus replaces the status.
func (p *Pair) SetStatus(st console.PairStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st = clonePair(st)
}

// Current returns the status as it is now (for assertions; Status is the Backend's).
func (p *Pair) Current() console.PairStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return clonePair(p.st)
}

// RefuseSwitchover makes RequestSwitchover fail with err whatever the status says (nil: by the
// rules again), as the appliance does when the state changed after the console looked.
func (p *Pair) RefuseSwitchover(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = err
}

// Switchovers returns how many switchovers were accepted.
func (p *Pair) Switchovers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.switchovers
}

// Requests returns how many switchovers were asked of the backend, accepted or not.
func (p *Pair) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Holds returns the holds set, in order.
func (p *Pair) Holds() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.holds...)
}

// PairStatus implements console.Pair.
func (p *Pair) PairStatus(context.Context) (console.PairStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return clonePair(p.st), nil
}

// RequestSwitchover implements console.Pair.
func (p *Pair) RequestSwitchover(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	switch st := &p.st; {
	case p.refuse != nil:
		return p.refuse
	case st.Role != "active":
		return errors.New("pair: switchover asked of a board that is not active; ask the active one")
	case st.Hold == "active":
		return errors.New("pair: switchover refused: this board is held active (pair hold off first)")
	case !st.Peer.Heard || !st.Peer.FieldOK || st.Peer.Hold == "standby":
		return errors.New("pair: switchover refused: the peer is not heard, reaches no unit, or is held standby")
	}
	p.handOver()
	p.switchovers++
	return nil
}

func (p *Pair) handOver() {
	p.st.Role, p.st.Yielding, p.st.Lease = "standby", true, 0
}

// SetPairHold implements console.Pair.
func (p *Pair) SetPairHold(_ context.Context, hold string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch hold {
	case "off", "active", "standby":
	default:
		return fmt.Errorf("pair: unknown hold %q (off, standby or active)", hold)
	}
	p.st.Hold = hold
	p.holds = append(p.holds, hold)
	if hold == "standby" && p.st.Role == "active" {
		p.handOver()
	}
	return nil
}

// ActivePairStatus is node 1, the active board of a healthy pair over the small test site's
// units (crah-1, crah-2): its peer node 2 is standby, both paths heard, both units written by it.
func ActivePairStatus() console.PairStatus {
	return console.PairStatus{
		NodeID: 1, Role: "active", Epoch: 7, Highest: 7, Hold: "off", Lease: 180 * time.Millisecond,
		TakeoverBudget: 1050 * time.Millisecond,
		Peer: console.PairPeer{NodeID: 2, Heard: true, Ago: 40 * time.Millisecond, Role: "standby", Epoch: 6,
			Priority: 100, Hold: "off", FieldOK: true, Software: "v0.9.0-test", ConfigVersion: 1, ConfigMatch: true},
		Paths: []console.PairPath{
			{Local: "127.0.0.1:7101", Remote: "127.0.0.1:7102", Heard: true, Ago: 40 * time.Millisecond},
			{Local: "10.20.0.1:7101", Remote: "10.20.0.2:7102", Heard: true, Ago: 62 * time.Millisecond},
		},
		Witness: []console.PairWitness{
			{Unit: "crah-1", Reachable: true, Owner: 1, Epoch: 7, Heartbeat: 41235, Quiet: 90 * time.Millisecond},
			{Unit: "crah-2", Reachable: true, Owner: 1, Epoch: 7, Heartbeat: 41230, Quiet: 140 * time.Millisecond},
		},
		Counters: map[string]uint64{"sent": 123456, "received": 123401, "bad-mac": 3, "replayed": 0, "malformed": 0, "foreign-node": 0},
	}
}

// StandbyPairStatus is node 2, the standby of ActivePairStatus's pair: it hears node 1 on one
// path of two and watches it write both units; a witness that has been quiet for a while on an
// unreachable unit, and an alarm for the silent path.
func StandbyPairStatus() console.PairStatus {
	return console.PairStatus{
		NodeID: 2, Role: "standby", Epoch: 6, Highest: 7, Hold: "off",
		TakeoverBudget: 1050 * time.Millisecond,
		Peer: console.PairPeer{NodeID: 1, Heard: true, Ago: 35 * time.Millisecond, Role: "active", Epoch: 7,
			Priority: 100, Hold: "off", FieldOK: true, Software: "v0.9.1-test", ConfigVersion: 1, ConfigMatch: true},
		Paths: []console.PairPath{
			{Local: "127.0.0.1:7102", Remote: "127.0.0.1:7101", Heard: true, Ago: 35 * time.Millisecond},
			{Local: "10.20.0.2:7102", Remote: "10.20.0.1:7101", Heard: false, Ago: 73 * time.Second},
		},
		Witness: []console.PairWitness{
			{Unit: "crah-1", Reachable: true, Owner: 1, Epoch: 7, Heartbeat: 41235, Quiet: 120 * time.Millisecond},
			{Unit: "crah-2", Reachable: false, Quiet: 14*time.Minute + 5*time.Second},
		},
		Counters: map[string]uint64{"sent": 98765, "received": 98700, "bad-mac": 0, "replayed": 2},
		Alarms:   []string{"path-down: path 2 (10.20.0.2:7102 -> 10.20.0.1:7101) silent for 73s"},
	}
}
