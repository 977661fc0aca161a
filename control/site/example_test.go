package site_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/coldaisle/coldaisle/control/site"
)

const exampleSite = `site = "crah-room-1"
node_id = 1

[control]
period = "2s"
setpoint_c = 25.0

[mesh]
port = "/dev/ttyS2"

[[line]]
name = "bms"
target = "tcp://10.0.0.5:502"

[[unit]]
name = "crah-1"
line = "bms"
unit_id = 1
profile = "crah-generic"

[[unit]]
name = "crah-2"
line = "bms"
unit_id = 2
min_fan_pct = 120.0

[[zone]]
name = "row-a"
units = ["crah-1", "crah-2"]
sensors = ["00-17-0d-00-00-38-0a-1f/1", "00-17-0d-00-00-38-0a-1f/2"]
`

// Load decodes a site file strictly, fills in the defaults and validates the whole; an invalid
// file is refused with every problem named by file and field path. Encode writes the canonical
// TOML the database stores, which loads back to the same configuration.
func ExampleLoad() {
	dir, err := os.MkdirTemp("", "site-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "site.toml")

	// crah-2 asks for a minimum fan speed of 120 %.
	if err := os.WriteFile(path, []byte(exampleSite), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	_, err = site.Load(path)
	fmt.Println(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""))

	fixed := strings.Replace(exampleSite, "min_fan_pct = 120.0", "min_fan_pct = 35.0", 1)
	if err := os.WriteFile(path, []byte(fixed), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	cfg, err := site.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	u := cfg.Unit("crah-2")
	fmt.Printf("%s: min %.0f %%, profile %s (default), BMS timeout %v\n", u.Name, u.MinFanPct, u.Profile, u.BMSTimeout)

	data, err := site.Encode(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	again, err := site.Parse(data, "stored")
	if err != nil {
		fmt.Println(err)
		return
	}
	data2, _ := site.Encode(again)
	fmt.Println("encoded again the same:", bytes.Equal(data, data2))
	// Output:
	// site: invalid configuration: site.toml:25: unit[1](crah-2).min_fan_pct: 120 is outside 0..100
	// crah-2: min 35 %, profile crah-generic (default), BMS timeout 10s
	// encoded again the same: true
}
