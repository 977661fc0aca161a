package appliance

import (
	"context"
	"fmt"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/control/pair"
)

// The console's pair commands (console.Pair): show pair, request switchover, pair hold.

func (b *backend) pairNode() (*pairNode, error) {
	if b.a.pn == nil {
		return nil, fmt.Errorf("appliance: %w", console.ErrNoPair)
	}
	return b.a.pn, nil
}

// PairStatus implements console.Pair.
func (b *backend) PairStatus(context.Context) (console.PairStatus, error) {
	pn, err := b.pairNode()
	if err != nil {
		return console.PairStatus{}, err
	}
	st := pn.status()
	now := time.Now()
	out := console.PairStatus{NodeID: st.NodeID, Role: st.Role.String(), Epoch: st.Epoch, Highest: st.Highest, Hold: st.Hold.String(),
		Yielding: st.Yielding, TakeoverBudget: st.Budget, Counters: st.LinkCounter, Alarms: st.Alarms}
	if !st.LeaseUntil.IsZero() {
		out.Lease = max(st.LeaseUntil.Sub(now), 0)
	}
	if !st.PeerHeard.IsZero() {
		cfg, _ := b.a.runningConfig()
		h := st.PeerHeader
		// The standby stores the active's commits under its own version numbers: the same
		// configuration (its hash) is what matters.
		out.Peer = console.PairPeer{NodeID: st.Peer.NodeID, Heard: true, Ago: now.Sub(st.PeerHeard), Role: st.Peer.Role.String(),
			Epoch: st.Peer.Epoch, Priority: st.Peer.Priority, Hold: st.Peer.Hold.String(), FieldOK: st.Peer.FieldOK,
			Software: h.Software, ConfigVersion: h.ConfigVersion, ConfigMatch: h.ConfigHash == configHash(cfg)}
	}
	for i, l := range st.Paths {
		p := console.PairPath{Local: l}
		if i < len(st.Peers) {
			p.Remote = st.Peers[i]
		}
		if i < len(st.PathHeard) && !st.PathHeard[i].IsZero() {
			p.Heard, p.Ago = true, now.Sub(st.PathHeard[i])
		}
		out.Paths = append(out.Paths, p)
	}
	for _, o := range st.Owners {
		out.Witness = append(out.Witness, console.PairWitness{Unit: o.Unit, Reachable: o.Reachable, Owner: o.Owner, Epoch: o.Epoch,
			Heartbeat: o.Heartbeat, Quiet: st.Quiet[o.Unit]})
	}
	return out, nil
}

// RequestSwitchover implements console.Pair.
func (b *backend) RequestSwitchover(context.Context) error {
	pn, err := b.pairNode()
	if err != nil {
		return err
	}
	return pn.switchover()
}

// SetPairHold implements console.Pair.
func (b *backend) SetPairHold(_ context.Context, hold string) error {
	pn, err := b.pairNode()
	if err != nil {
		return err
	}
	h, ok := map[string]pair.Hold{"off": pair.HoldOff, "standby": pair.HoldStandby, "active": pair.HoldActive}[hold]
	if !ok {
		return fmt.Errorf("appliance: pair hold %q: want active, standby or off", hold)
	}
	pn.setHold(h)
	return nil
}
