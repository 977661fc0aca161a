// Package peer is the peer link of an active/standby pair of boards: the message format, its
// HMAC-SHA256 authentication, the replay rules, and Link, which runs it over UDP (and TCP for
// bulk) on one or two paths. The role state machine (control/pair) decides what to send and
// what a message means; this package only gets authentic, fresh messages from the one peer
// to it, and counts everything else.
//
// # Frame
//
// One frame is one UDP datagram, or one record of a TCP stream (the header's lengths frame it,
// so the stream needs no other prefix). All integers big-endian.
//
//	off  len  field
//	  0    2  magic 0xCA 0x1E
//	  2    1  version       the sender's protocol version (1)
//	  3    1  compat        the lowest receiver version that can read this message (1)
//	  4    1  type          1 heartbeat, 2 readings, 3 loop state, 4 config, 5 ack
//	  5    1  role          0 none, 1 starting, 2 standby, 3 active, 4 faulted
//	  6    1  path          the path this copy was sent on (0, 1)
//	  7    1  flags         reserved: sent 0, ignored
//	  8    2  node_id       sender, 1..65535
//	 10    2  hdr_len       header bytes: 120 in version 1
//	 12    4  body_len      body bytes
//	 16    8  boot_id       sender's boot, random per start, never 0
//	 24    8  peer_boot     the receiver's boot id as the sender last heard it (0: none yet)
//	 32    8  seq           per sender boot, 1, 2, 3 ... per message; the same on every path
//	 40    8  epoch         the failover epoch the sender knows
//	 48    8  config_ver    the configuration version it runs
//	 56   32  config_hash   and its SHA-256
//	 88   32  software      release, printable ASCII, NUL padded
//	120    -  (hdr_len-120 bytes a newer version added: ignored)
//	hdr_len   body_len bytes of body
//	end-32   32  HMAC-SHA256(key, every byte before it)
//
// Bodies (version 1):
//
//	heartbeat (24)   priority u16, flags u16 (in_control, sensors_ok, units_ok, warm, yield,
//	                 hold_standby, hold_active),
//	                 interval_ms u32, uptime_ms u64, ack_seq u64 (highest seq accepted from the receiver)
//	ack (18)         of_type u8, status u8, seq u64, value u64 (the config version stored, for a config)
//	readings, loop state, config
//	                 payload_len u32, payload (opaque here; JSON in practice)
//
// A heartbeat is 176 bytes. A frame is at most MaxFrame (4 MiB); frames up to
// Options.MaxDatagram (1400) go by UDP, larger ones by TCP to the same configured address.
//
// # Versioning
//
// The first 16 bytes (magic to body_len) and the position of the MAC are frozen in every
// version. A release may only append: fields at the end of the header (hdr_len grows) or at the
// end of a body (body_len grows); a receiver reads the fields it knows and ignores the rest. It
// raises compat only when an older receiver would misread a message (a field's meaning
// changed); a receiver drops a message whose compat is above its Version, or whose version is
// below its MinVersion, counted wrong_version. New message types need no compat change: a
// receiver drops a type it does not know (unknown_type). New role values decode as they are;
// the state machine must take an unknown role as one that may be writing. So release N+1
// (compat N) and N pair; N+1 may set MinVersion N+1 only once N is gone from the field.
//
// # Authentication and freshness
//
// Open checks the lengths, then the MAC (constant time), then anything else: nothing
// unauthenticated is counted as more than bad_mac or malformed. A Link then drops, counted
// by reason and changing nothing:
//   - self: our own node id (or our own boot id);
//   - foreign_node: neither us nor the peer (Options.PeerNodeID, or the first node that
//     completes the handshake below);
//   - wrong_path: a copy sealed for one path that arrived on the other;
//   - unconfirmed: peer_boot is not our current boot id. A message can only name our boot
//     after the sender has heard it, and we send only to the configured peer addresses, so
//     this proves the message was made during our current boot: every frame captured before
//     our last restart is dead, with no state to persist. The boot id of such a message (if
//     no confirmed peer boot has been heard within Options.Hold) is what we echo next, so a
//     fresh peer is confirmed one heartbeat later;
//   - replay: the seq was accepted before on that path (a Window per path, per peer boot), or
//     the boot id is one the peer had earlier during our boot (retired: up to 1024 kept);
//   - too_old: the seq is WindowBits (256) or more below the highest accepted;
//   - duplicate: the other path's copy of a message already delivered (not an error: it
//     still proves its path alive, see LastHeard).
//
// A delivered message may be Late (a newer one of the same boot came first): bulk state may
// use it, the role decision should not let it override a newer one.
//
// The sender identifies its peer by key and node id, never by source address: a Link never
// sends to the source of anything it received, only to Options.Peers, and a bulk TCP
// connection it accepts is only ever read.
//
// Caveats:
//   - Peer addresses are IP literals: no DNS on the failover path.
//   - The key is the only secret: anyone holding it can be the peer. With PeerNodeID unset, a
//     third board given the same key could win the handshake race; set it where the identity
//     file names the peer.
//   - A Window can be persisted (MarshalBinary), but a Link does not need it: the boot echo
//     makes every pre-restart frame unconfirmed.
//   - Heartbeat timing is the caller's: Send once per period. The Link fills AckSeq.
//   - UDP frames above 1400 bytes would fragment on Ethernet; they go by TCP, one connection
//     per path, dialled on demand; a failed write loses that frame (send_errors).
package peer
