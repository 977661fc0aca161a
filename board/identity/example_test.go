package identity_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/coldaisle/coldaisle/board/identity"
)

func Example() {
	dir, _ := os.MkdirTemp("", "identity")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "pair.key"), []byte("k2M1uT0v8Zq4rXyL9wNe3Hj6Bf5Gd7Ps\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "identity.toml"), []byte(`node_id  = 1
priority = 100
listen   = ["127.0.0.1:7101"]
peers    = ["127.0.0.1:7102"]
key_file = "pair.key"
gateway  = "/dev/ttyS1"
`), 0o644)
	id, err := identity.Load(filepath.Join(dir, "identity.toml"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id.NodeID, id.Priority, id.Listen, id.Peers, id.Gateway, id.Key)

	_, err = identity.Parse([]byte("node_id = 70000\nlisen = [\"127.0.0.1:7101\"]\n"), "bad.toml", dir)
	fmt.Println(err)
	// Output:
	// 1 100 [127.0.0.1:7101] [127.0.0.1:7102] /dev/ttyS1 [key: 32 bytes]
	// identity: bad.toml:2: lisen: unknown key "lisen"; did you mean listen?
}
