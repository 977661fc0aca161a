package peer

import "sync/atomic"

// Counter names one thing a Link counts. Counter.String is the key in Link.Counters.
type Counter uint8

// Drop reasons and events.
const (
	// Received and dropped; none of these changes anything.
	CountMalformed    Counter = iota // not a frame: bad magic, lengths, zero ids, bad software string
	CountBadMAC                      // wrong key, or altered on the way
	CountWrongVersion                // authentic, but of a protocol version this build cannot pair with
	CountUnknownType                 // authentic, of a message type this build does not know
	CountSelf                        // our own node id (a loop, or a second board with our id)
	CountForeignNode                 // right key, but neither us nor the peer
	CountWrongPath                   // sent for one path, arrived on another
	CountUnconfirmed                 // authentic, but not made for this boot of ours (peer_boot differs)
	CountReplay                      // seq seen before on that path, or a retired boot id
	CountTooOld                      // seq below the replay window: cannot be told from a replay
	CountDuplicate                   // the copy of a message already delivered from the other path
	CountRecvOverflow                // delivered, but the Recv channel was full

	// Traffic.
	CountAccepted   // messages delivered on Recv
	CountLate       // of which out of order (a newer one was delivered first)
	CountSessions   // peer boots accepted (the first, and each restart of the peer)
	CountSent       // frames handed to a socket, per path
	CountSendDrops  // frames dropped because a path's send queue was full
	CountSendErrors // socket write failures (the frame is lost)
	CountTCPConns   // bulk connections accepted
	CountTCPRefused // bulk connections refused (too many at once)

	numCounters
)

var counterNames = [numCounters]string{
	CountMalformed:    "malformed",
	CountBadMAC:       "bad_mac",
	CountWrongVersion: "wrong_version",
	CountUnknownType:  "unknown_type",
	CountSelf:         "self",
	CountForeignNode:  "foreign_node",
	CountWrongPath:    "wrong_path",
	CountUnconfirmed:  "unconfirmed",
	CountReplay:       "replay",
	CountTooOld:       "too_old",
	CountDuplicate:    "duplicate",
	CountRecvOverflow: "recv_overflow",
	CountAccepted:     "accepted",
	CountLate:         "late",
	CountSessions:     "sessions",
	CountSent:         "sent",
	CountSendDrops:    "send_drops",
	CountSendErrors:   "send_errors",
	CountTCPConns:     "tcp_conns",
	CountTCPRefused:   "tcp_refused",
}

func (c Counter) String() string {
	if c < numCounters {
		return counterNames[c]
	}
	return "unknown"
}

type counters [numCounters]atomic.Uint64

func (c *counters) inc(k Counter) { c[k].Add(1) }

func (c *counters) snapshot() map[string]uint64 {
	m := make(map[string]uint64, numCounters)
	for i := range c {
		m[counterNames[i]] = c[i].Load()
	}
	return m
}
