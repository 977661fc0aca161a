// Package linkproxy is a user-space fault proxy for peer-link tests (tc netem and iptables are
// not there to do it): Proxy forwards UDP datagrams from its own address to one target and, on
// the way, loses, delays (fixed plus jitter), duplicates, reorders and replays them, or cuts
// the path altogether, switched at run time (Set, SetCut); TCPRelay forwards TCP connections
// and cuts them silently; Path is both on one address, as a peer link sends its heartbeats by
// UDP and its bulk frames by TCP to the same configured address.
//
// Every decision of a Proxy is drawn from a generator seeded by New's seed in a fixed order per
// datagram, so the same sequence of datagrams meets the same fates; the timing of arrivals is
// the caller's and is not made repeatable.
//
// Caveats: a Proxy is one way (run two for a two-way path); it never reads what the target
// sends back. A datagram held for reordering waits at most HoldMax for the next one. Replay
// sends again one of the last 64 datagrams forwarded, byte for byte (History gives them to a
// test). A TCPRelay cut is a pulled cable, not a reset: open connections stay open and their
// bytes go nowhere; Heal closes them (their streams lost bytes) so the clients dial again.
// Run owns the sockets and closes them when its context ends.
//
// Test code only: nothing outside tests imports it.
package linkproxy
