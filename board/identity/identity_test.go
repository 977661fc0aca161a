package identity

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodKey = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWpr\n" // 44 bytes + newline

// dirWithKey makes a directory holding pair.key with the given content and mode.
func dirWithKey(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "pair.key")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

const good = `# board A
node_id  = 1
priority = 100
listen   = ["127.0.0.1:7101", "10.0.1.1:7101"]
peers    = ["127.0.0.1:7102", "10.0.1.2:7101"]
key_file = "pair.key"
gateway  = "/dev/ttyS1"
`

func TestLoadGood(t *testing.T) {
	dir := dirWithKey(t, goodKey, 0o600)
	path := filepath.Join(dir, "identity.toml")
	os.WriteFile(path, []byte(good), 0o644)
	id, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if id.NodeID != 1 || id.Priority != 100 || len(id.Listen) != 2 || id.Peers[1] != "10.0.1.2:7101" ||
		id.Gateway != "/dev/ttyS1" || id.KeyFile != filepath.Join(dir, "pair.key") || string(id.Key) != strings.TrimSuffix(goodKey, "\n") {
		t.Fatalf("%+v", id)
	}
	// The key never prints, whatever the verb.
	for _, s := range []string{fmt.Sprint(id.Key), fmt.Sprintf("%v %+v %#v %s %x %q", id, id, id, id.Key, id.Key, id.Key)} {
		if strings.Contains(s, "Zm9v") || strings.Contains(s, "5a6d39") {
			t.Fatalf("the key printed: %s", s)
		}
	}
	// Defaults: priority 100, no gateway; an absolute key path; a listen on every address.
	kp := filepath.Join(dir, "pair.key")
	id, err = Parse([]byte("node_id = 2\npeer_node_id = 1\nlisten = [\":7101\"]\npeers = [\"[fe80::1%eth0]:7101\"]\nkey_file = \""+kp+"\"\n"), "b.toml", "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	if id.Priority != DefaultPriority || id.Gateway != "" || id.KeyFile != kp || id.PeerNodeID != 1 {
		t.Fatalf("%+v", id)
	}
}

func TestErrorsNameFileLineAndField(t *testing.T) {
	dir := dirWithKey(t, goodKey, 0o600)
	cases := []struct {
		name, doc, want string
	}{
		{"unknown key", "node_id = 1\nlisten = [\"127.0.0.1:1\"]\npeers = [\"127.0.0.1:2\"]\nkey_file = \"pair.key\"\nprioriti = 5\n",
			`i.toml:5: prioriti: unknown key "prioriti"; did you mean priority?`},
		{"unknown table", "node_id = 1\nlisten = [\"127.0.0.1:1\"]\npeers = [\"127.0.0.1:2\"]\nkey_file = \"pair.key\"\n[pair]\nx = 1\n",
			`i.toml:5: pair: unknown key "pair"; the keys are gateway, key_file`},
		{"syntax", "node_id = = 1\n", `i.toml:1: node_id: expected value`},
		{"type", "\n\nnode_id = \"one\"\n", `i.toml:3: node_id: incompatible types`},
		{"float", "node_id = 1.5\n", `i.toml:1: node_id: incompatible types`},
		{"node range", "node_id = 0\n", `i.toml:1: node_id: 0 is outside 1..65535`},
		{"node big", "node_id = 65536\n", `i.toml:1: node_id: 65536 is outside 1..65535`},
		{"node missing", "priority = 1\n", `i.toml: node_id is missing`},
		{"peer is self", "node_id = 3\npeer_node_id = 3\n", `i.toml:2: peer_node_id: 3 is this board's own node_id`},
		{"priority", "node_id = 1\n\npriority = 1001\n", `i.toml:3: priority: 1001 is outside 0..1000`},
		{"priority neg", "node_id = 1\npriority = -1\n", `priority: -1 is outside`},
		{"listen missing", "node_id = 1\n", `i.toml: listen is missing`},
		{"three paths", "listen = [\"127.0.0.1:1\", \"127.0.0.1:2\", \"127.0.0.1:3\"]\n", `i.toml:1: listen: 3 addresses: 1 or 2 paths`},
		{"empty list", "listen = []\n", `listen: 0 addresses`},
		{"pairs", "listen = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\npeers = [\"127.0.0.1:3\"]\n", `i.toml:2: peers: 1 addresses for 2 listen addresses`},
		{"no port", "listen = [\"127.0.0.1\"]\n", `i.toml:1: listen[0]: "127.0.0.1": want ip:port`},
		{"port range", "listen = [\"127.0.0.1:70000\"]\n", `listen[0]: "127.0.0.1:70000": port must be 1..65535`},
		{"port zero", "peers = [\"127.0.0.1:0\"]\n", `peers[0]: "127.0.0.1:0": port must be`},
		{"hostname", "peers = [\"boardb.local:7101\"]\n", `peers[0]: "boardb.local:7101": "boardb.local" is not an IP address`},
		{"peer any", "peers = [\"0.0.0.0:7101\"]\n", `peers[0]: "0.0.0.0:7101": a peer address must be`},
		{"peer no host", "peers = [\":7101\"]\n", `peers[0]: ":7101": the peer's IP address is missing`},
		{"multicast", "peers = [\"224.0.0.1:7101\"]\n", `a peer address must be`},
		{"v6 unbracketed", "peers = [\"::1:7101\"]\n", `goes in brackets`},
		{"dup listen", "listen = [\"127.0.0.1:1\", \"127.0.0.1:1\"]\n", `i.toml:1: listen[1]: "127.0.0.1:1" is also listen[0]`},
		{"dup peers v6", "peers = [\"[::1]:1\", \"[0::1]:1\"]\n", `peers[1]: "[0::1]:1" is also peers[0]`},
		{"talks to itself", "listen = [\"127.0.0.1:1\"]\npeers = [\"127.0.0.1:1\"]\n", `peers[0]: 127.0.0.1:1 is this board's own listen[0]`},
		{"newline in addr", "listen = [\"127.0.0.1:1\\n\"]\n", `listen[0]: "127.0.0.1:1\n" has a control character`},
		{"escape in gateway", "gateway = \"/dev/tty\\u001b[2J\"\n", `gateway: "/dev/tty\x1b[2J" has a control character`},
		{"empty gateway", "gateway = \"\"\n", `gateway: is empty`},
		{"key missing", "node_id = 1\n", `key_file is missing`},
		{"key absent", "key_file = \"nope.key\"\n", `key_file: ` + filepath.Join(dir, "nope.key") + `: no such file`},
		{"key dir", "key_file = \".\"\n", `is not a regular file`},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.doc), "i.toml", dir)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v does not match ErrInvalid", c.name, err)
		}
		if !strings.Contains(err.Error(), "identity: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant …%s…", c.name, err, c.want)
		}
	}
}

func TestKeyFileRules(t *testing.T) {
	doc := []byte("node_id = 1\nlisten = [\"127.0.0.1:1\"]\npeers = [\"127.0.0.1:2\"]\nkey_file = \"pair.key\"\n")
	cases := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string // "" accepted
	}{
		{"private", goodKey, 0o600, ""},
		{"group readable", goodKey, 0o640, ""},
		{"world readable", goodKey, 0o644, "has mode 0644: others may read or change it"},
		{"world writable", goodKey, 0o602, "has mode 0602"},
		{"short", "0123456789abcdef0123456789abcde\n", 0o600, "holds 31 bytes of key, at least 32"},
		{"exactly 32", "0123456789abcdef0123456789abcdef", 0o600, ""},
		{"placeholder", strings.Repeat("x", 64), 0o600, "only 1 distinct byte values"},
		{"huge", strings.Repeat("0123456789", 500), 0o600, "over 4096 bytes"},
	}
	for _, c := range cases {
		dir := dirWithKey(t, c.content, c.mode)
		id, err := Parse(doc, "i.toml", dir)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if len(id.Key) < MinKeyLen {
				t.Errorf("%s: key of %d bytes", c.name, len(id.Key))
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "i.toml:4: key_file: ") {
			t.Errorf("%s: %v, want …%s…", c.name, err, c.want)
			continue
		}
		if len(c.content) >= 8 && strings.Contains(err.Error(), c.content[:8]) {
			t.Errorf("%s: the error shows the key: %v", c.name, err)
		}
	}
}

// Every problem is reported at once, each with its line.
func TestAllProblemsAtOnce(t *testing.T) {
	_, err := Parse([]byte("node_id = 0\npriority = 5000\nlisten = [\"x\"]\npeers = [\"y\"]\nkey_file = \"\"\n"), "i.toml", t.TempDir())
	var fes []*FieldError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if errors.As(e, &fe) {
			fes = append(fes, fe)
		}
	}
	if len(fes) != 5 {
		t.Fatalf("%d problems: %v", len(fes), err)
	}
	for i, fe := range fes {
		if fe.Line != i+1 {
			t.Errorf("problem %d (%s) on line %d", i, fe.Field, fe.Line)
		}
	}
}

// Parse never panics, whatever it is given.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("node_id = 1\n[a.b]\nc = 1\n"))
	dir := f.TempDir()
	os.WriteFile(filepath.Join(dir, "pair.key"), []byte(goodKey), 0o600)
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := Parse(data, "f.toml", dir)
		if err == nil && (id.NodeID == 0 || len(id.Key) < MinKeyLen || len(id.Listen) != len(id.Peers)) {
			t.Fatalf("accepted an invalid identity: %+v", id)
		}
	})
}
