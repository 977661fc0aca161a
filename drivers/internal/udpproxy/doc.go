// Package udpproxy is a user-space UDP fault proxy for tests: it forwards datagrams from its
// own address to one target and, on the way, loses, delays (fixed plus jitter), duplicates,
// reorders and replays them, or cuts the path altogether, switched at run time (Set, SetCut).
//
// Every decision is drawn from a generator seeded by New's seed in a fixed order per datagram,
// so the same sequence of datagrams meets the same fates; the timing of arrivals is the
// caller's and is not made repeatable.
//
// Caveats: it is one way (run two for a two-way path); it never reads what the target sends
// back. A datagram held for reordering waits at most HoldMax for the next one. Replay sends
// again one of the last 64 datagrams forwarded, byte for byte. Run owns the sockets and
// closes them when its context ends.
//
// Test code only: nothing outside tests imports it.
package udpproxy
