package identity

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/control/tomlpos"
)

// Limits of the values.
const (
	MinPriority     = 0
	MaxPriority     = 1000
	DefaultPriority = 100
	MaxPaths        = 2
	MinKeyLen       = 32   // bytes of key, after the trailing newline is cut
	MaxKeyLen       = 4096 // a longer key file is refused (it is not a key)
	minKeyDistinct  = 8    // fewer distinct byte values than this is a placeholder, not a key
	maxGatewayLen   = 256
)

// ErrInvalid is matched (errors.Is) by every problem in an identity file.
var ErrInvalid = errors.New("identity: invalid")

// FieldError is one problem in an identity file: where it stands and what is expected.
type FieldError struct {
	File  string
	Line  int // 1-based; 0 when the problem has no line (a missing key)
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Field == "" {
		return "identity: " + where + ": " + e.Msg
	}
	return "identity: " + where + ": " + e.Field + ": " + e.Msg
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Key is the pre-shared key. It never prints: every fmt verb shows "[key: N bytes]".
type Key []byte

func (k Key) String() string               { return fmt.Sprintf("[key: %d bytes]", len(k)) }
func (k Key) GoString() string             { return k.String() }
func (k Key) Format(f fmt.State, _ rune)   { io.WriteString(f, k.String()) }
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Identity is one board's own part of a pair, never replicated to the other board.
type Identity struct {
	File       string   // the identity file, as given
	NodeID     uint16   // 1..65535; the owner id this board writes to the units
	PeerNodeID uint16   // the other board's node id; 0: not given (the first to answer is taken)
	Priority   int      // MinPriority..MaxPriority; the higher is the preferred active
	Listen     []string // one address per peer-link path ("ip:port", or ":port" for every address)
	Peers      []string // the other board's "ip:port" on each path, same order
	KeyFile    string   // resolved against the identity file's directory
	Key        Key      // the key file's bytes, without the trailing newline
	Gateway    string   // this board's own mesh gateway port; "" keeps mesh.port
}

type file struct {
	NodeID     *int64   `toml:"node_id"`
	PeerNodeID *int64   `toml:"peer_node_id"`
	Priority   *int64   `toml:"priority"`
	Listen     []string `toml:"listen"`
	Peers      []string `toml:"peers"`
	KeyFile    *string  `toml:"key_file"`
	Gateway    *string  `toml:"gateway"`
}

var keys = []string{"node_id", "peer_node_id", "priority", "listen", "peers", "key_file", "gateway"}

// Load reads and checks the identity file at path; the key file is read relative to it.
func Load(path string) (*Identity, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return Parse(data, path, filepath.Dir(path))
}

var decodeErrRe = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// Parse checks an identity document (named name in errors) and reads its key file, a relative
// key_file being taken from dir. Every problem is reported, each a *FieldError joined.
func Parse(data []byte, name, dir string) (*Identity, error) {
	loc := tomlpos.Locate(data)
	var errs []error
	fe := func(field string, format string, args ...any) {
		errs = append(errs, &FieldError{File: name, Line: loc.Line(field), Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	var f file
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &FieldError{File: name, Line: max(pe.Position.Line, 1), Field: pe.LastKey, Msg: pe.Message}
		}
		if m := decodeErrRe.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, &FieldError{File: name, Line: line, Field: m[2], Msg: m[3]}
		}
		return nil, &FieldError{File: name, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	reported := map[string]bool{}
	for _, k := range md.Undecoded() {
		if reported[k[0]] {
			continue // a key inside an unknown table: the table is reported
		}
		reported[k.String()] = true
		fe(k.String(), "unknown key %q%s", k.String(), didYouMean(k[len(k)-1]))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	id := &Identity{File: name, Priority: DefaultPriority}
	switch {
	case f.NodeID == nil:
		fe("", "node_id is missing: this board's id, 1..65535, different from the other board's")
	case *f.NodeID < 1 || *f.NodeID > 65535:
		fe("node_id", "%d is outside 1..65535", *f.NodeID)
	default:
		id.NodeID = uint16(*f.NodeID)
	}
	if f.PeerNodeID != nil {
		switch v := *f.PeerNodeID; {
		case v < 1 || v > 65535:
			fe("peer_node_id", "%d is outside 1..65535", v)
		case id.NodeID != 0 && v == int64(id.NodeID):
			fe("peer_node_id", "%d is this board's own node_id: the two boards need different ids", v)
		default:
			id.PeerNodeID = uint16(v)
		}
	}
	if f.Priority != nil {
		if v := *f.Priority; v < MinPriority || v > MaxPriority {
			fe("priority", "%d is outside %d..%d", v, MinPriority, MaxPriority)
		} else {
			id.Priority = int(v)
		}
	}
	id.Listen = checkAddrs(fe, "listen", f.Listen, true)
	id.Peers = checkAddrs(fe, "peers", f.Peers, false)
	if f.Listen != nil && f.Peers != nil && len(f.Listen) != len(f.Peers) {
		fe("peers", "%d addresses for %d listen addresses: one peer address per path, in the same order", len(f.Peers), len(f.Listen))
	}
	for i, p := range id.Peers {
		for j, l := range id.Listen {
			if sameAddr(p, l) {
				fe(fmt.Sprintf("peers[%d]", i), "%s is this board's own listen[%d]: a board would talk to itself", p, j)
			}
		}
	}
	if f.Gateway != nil {
		if msg := checkPath(*f.Gateway, maxGatewayLen); msg != "" {
			fe("gateway", "%s", msg)
		} else {
			id.Gateway = *f.Gateway
		}
	}
	if f.KeyFile == nil {
		fe("", "key_file is missing: the pre-shared key file (at least %d bytes, mode 0600)", MinKeyLen)
	} else if msg := checkPath(*f.KeyFile, 4096); msg != "" {
		fe("key_file", "%s", msg)
	} else {
		p := *f.KeyFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		id.KeyFile = p
		key, msg := readKey(p)
		if msg != "" {
			fe("key_file", "%s", msg)
		}
		id.Key = key
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return id, nil
}

// checkAddrs checks a list of 1..MaxPaths "host:port" addresses. A listen host may be empty
// (every address of the board); a peer host must be an IP literal that can be sent to.
func checkAddrs(fe func(string, string, ...any), key string, list []string, listen bool) []string {
	if list == nil {
		fe("", "%s is missing: one address per peer-link path (1 or %d), e.g. [\"10.0.0.1:7101\"]", key, MaxPaths)
		return nil
	}
	if len(list) < 1 || len(list) > MaxPaths {
		fe(key, "%d addresses: 1 or %d paths", len(list), MaxPaths)
		return nil
	}
	var out []string
	ok := true
	for i, a := range list {
		field := fmt.Sprintf("%s[%d]", key, i)
		if msg := checkAddr(a, listen); msg != "" {
			fe(field, "%s", msg)
			ok = false
			continue
		}
		for j := range i {
			if sameAddr(a, list[j]) {
				fe(field, "%s is also %s[%d]: each path needs its own address", quote(a), key, j)
				ok = false
			}
		}
		out = append(out, a)
	}
	if !ok {
		return nil
	}
	return out
}

func checkAddr(a string, listen bool) string {
	if msg := checkPath(a, 64); msg != "" {
		return msg
	}
	host, port, err := splitHostPort(a)
	if err != "" {
		return err
	}
	if n, e := strconv.Atoi(port); e != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("%s: port must be 1..65535", quote(a))
	}
	if host == "" {
		if listen {
			return ""
		}
		return fmt.Sprintf("%s: the peer's IP address is missing", quote(a))
	}
	ip, e := netip.ParseAddr(host)
	if e != nil {
		return fmt.Sprintf("%s: %q is not an IP address (no host names: the pair must not wait on DNS)", quote(a), host)
	}
	if !listen && (ip.IsUnspecified() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255})) {
		return fmt.Sprintf("%s: a peer address must be the other board's own address (not unspecified, multicast or broadcast)", quote(a))
	}
	if listen && ip.IsMulticast() {
		return fmt.Sprintf("%s: cannot listen on a multicast address", quote(a))
	}
	return ""
}

// splitHostPort splits "1.2.3.4:7101", "[fe80::1%eth0]:7101" and ":7101".
func splitHostPort(a string) (host, port, msg string) {
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return "", "", fmt.Sprintf("%s: want ip:port", quote(a))
	}
	host, port = a[:i], a[i+1:]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
		if !strings.Contains(host, ":") {
			return "", "", fmt.Sprintf("%s: brackets are for IPv6 addresses", quote(a))
		}
	} else if strings.Contains(host, ":") {
		return "", "", fmt.Sprintf("%s: an IPv6 address goes in brackets: [addr]:port", quote(a))
	}
	return host, port, ""
}

// sameAddr compares two checked addresses as addresses ("127.0.0.1:80" and "127.000.0.1:80"
// are not both valid, but "[::1]:80" and "[0::1]:80" are the same).
func sameAddr(a, b string) bool {
	if a == b {
		return true
	}
	x, e1 := netip.ParseAddrPort(a)
	y, e2 := netip.ParseAddrPort(b)
	return e1 == nil && e2 == nil && x == y
}

// checkPath refuses what cannot be a path or address: empty, too long, control characters.
func checkPath(s string, maxLen int) string {
	if s == "" {
		return "is empty"
	}
	if len(s) > maxLen {
		return fmt.Sprintf("is %d bytes long, at most %d", len(s), maxLen)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\uFFFD' {
			return fmt.Sprintf("%s has a control character or invalid UTF-8", quote(s))
		}
	}
	return ""
}

// readKey reads a key file. Messages name the file, never its content.
func readKey(path string) (Key, string) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Sprintf("%s: %v", path, errors.Unwrap(err))
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Sprintf("%s: %v", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Sprintf("%s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o007 != 0 {
		return nil, fmt.Sprintf("%s has mode %04o: others may read or change it; the key must be private (chmod 600)", path, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(fh, MaxKeyLen+1))
	if err != nil {
		return nil, fmt.Sprintf("%s: %v", path, err)
	}
	if len(b) > MaxKeyLen {
		return nil, fmt.Sprintf("%s is over %d bytes: not a key file", path, MaxKeyLen)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) < MinKeyLen {
		clear(b)
		return nil, fmt.Sprintf("%s holds %d bytes of key, at least %d needed (e.g. head -c 32 /dev/urandom | base64 > FILE)", path, len(b), MinKeyLen)
	}
	var seen [256]bool
	distinct := 0
	for _, c := range b {
		if !seen[c] {
			seen[c] = true
			distinct++
		}
	}
	if distinct < minKeyDistinct {
		clear(b)
		return nil, fmt.Sprintf("%s has only %d distinct byte values: a placeholder, not a key", path, distinct)
	}
	return Key(b), ""
}

func didYouMean(w string) string {
	best, bestD := "", 3
	for _, k := range keys {
		if d := site.EditDistance(w, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		s := append([]string(nil), keys...)
		sort.Strings(s)
		return "; the keys are " + strings.Join(s, ", ")
	}
	return "; did you mean " + best + "?"
}

func quote(s string) string { return strconv.Quote(s) }
