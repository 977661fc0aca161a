// Package identity reads a board's identity file: what makes one board of an active/standby
// pair itself. It is local to each board and never part of the replicated site configuration
// (`coldaisle run --config site.toml --db PATH --identity FILE`).
//
//	node_id      = 1                    # 1..65535, different on the two boards; the owner id written to the units
//	peer_node_id = 2                    # optional: the other board's node_id (recommended; 0/absent: the first to answer)
//	priority     = 100                  # optional, 0..1000 (default 100): the preferred active when both start together
//	listen       = ["10.0.1.1:7101"]    # one address per peer-link path (1 or 2), UDP and TCP; ":7101" is every address
//	peers        = ["10.0.1.2:7101"]    # the other board's address on each path, same order, IP literals
//	key_file     = "pair.key"           # the pre-shared key; a relative path is taken from the identity file's directory
//	gateway      = "/dev/ttyS1"         # optional: this board's own mesh gateway port (overrides mesh.port)
//
// Decoding is strict: unknown keys are errors with their lines and a did-you-mean (all of
// them, before any value is looked at); then every value is checked and every problem reported
// at once, each a *FieldError naming the file, the line and the field (errors.Is(err,
// ErrInvalid)).
//
// Choices:
//   - Priority is 0..1000; equal priorities are broken by the pair rules (control/pair), not
//     here.
//   - Peer addresses are IP literals (no DNS on the failover path), never unspecified,
//     multicast or broadcast; no address twice in a list, and no peer address equal to one of
//     our own listen addresses.
//   - The key is the key file's bytes, less one trailing newline (so `head -c 32 /dev/urandom
//     | base64 > pair.key` works): at least 32 bytes, at most 4096, at least 8 distinct byte
//     values (a run of one character is a placeholder, not a key). Both boards use the same file.
//   - A key file readable or writable by others (any of mode 0007) is refused, not warned
//     about: anyone holding the key can act as the peer and make the active stand down.
//     Group read is allowed (a service group). The check is skipped on Windows.
//   - The key is held in Identity.Key, whose every fmt verb prints "[key: N bytes]"; no error
//     shows the key's content.
//
// Caveats: the file's mode is checked when it is read, not afterwards; the key stays in memory
// for the process's life (Go cannot promise to wipe copies).
package identity
