package peer_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/coldaisle/coldaisle/drivers/peer"
)

// loopback returns a free 127.0.0.1 port (a site uses the identity file's addresses).
func loopback() string {
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		panic(err)
	}
	defer u.Close()
	return u.LocalAddr().String()
}

// Two boards on one path: each sends heartbeats to the other's configured address. The first
// heartbeat of each cannot name the other's boot and is counted unconfirmed; from the second
// on, they are delivered.
func Example() {
	key := []byte("a pre-shared key of at least 32 bytes!")
	addrA, addrB := loopback(), loopback()
	a, err := peer.New(peer.Options{NodeID: 1, PeerNodeID: 2, Key: key, Listen: []string{addrA}, Peers: []string{addrB}, Software: "v1.0.0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := peer.New(peer.Options{NodeID: 2, PeerNodeID: 1, Key: key, Listen: []string{addrB}, Peers: []string{addrA}, Software: "v1.0.0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)
	go b.Run(ctx)

	a.SetState(peer.State{Role: peer.RoleActive, Epoch: 7, ConfigVersion: 3})
	b.SetState(peer.State{Role: peer.RoleStandby, Epoch: 7, ConfigVersion: 3})
	tick := time.NewTicker(20 * time.Millisecond) // the identity's heartbeat period
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			a.Send(peer.Message{Header: peer.Header{Type: peer.TypeHeartbeat}, Heartbeat: peer.Heartbeat{Priority: 100, IntervalMS: 20}})
			b.Send(peer.Message{Header: peer.Header{Type: peer.TypeHeartbeat}, Heartbeat: peer.Heartbeat{Priority: 90, IntervalMS: 20}})
		case r := <-b.Recv():
			h := r.Message.Header
			fmt.Printf("node 2 heard node %d on path %d: %s, epoch %d, config v%d, priority %d\n",
				h.NodeID, r.Path, h.Role, h.Epoch, h.ConfigVersion, r.Message.Heartbeat.Priority)
			fmt.Println("unconfirmed before:", b.Count(peer.CountUnconfirmed) > 0)
			return
		}
	}
	// Output:
	// node 2 heard node 1 on path 0: active, epoch 7, config v3, priority 100
	// unconfirmed before: true
}
