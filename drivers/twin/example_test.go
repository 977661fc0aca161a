package twin_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/drivers/modbus"
	"github.com/coldaisle/coldaisle/drivers/twin"
)

// The small room served on real links: the mesh gateway on a pseudo-terminal behind a symlink,
// the air handlers on Modbus TCP on loopback. SiteConfig is the configuration a controller runs
// against it (`coldaisle run --config`); here one unit is written once over Modbus, and the write
// log is checked afterwards as `coldaisle twin check-writes` does.
func Example() {
	dir, err := os.MkdirTemp("", "twin-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	logFile, err := os.Create(filepath.Join(dir, "writes.jsonl"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer logFile.Close()

	sc, err := plant.LoadScenario("small-room")
	if err != nil {
		fmt.Println(err) // names file, line and field
		return
	}
	tw, err := twin.New(twin.Options{Scenario: sc, Seed: 1, Speed: 60,
		GatewayLink: filepath.Join(dir, "gw"), ModbusListen: "127.0.0.1:0", WriteLog: logFile})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- tw.Run(ctx) }()
	if err := tw.WaitReady(ctx); err != nil {
		fmt.Println(err)
		return
	}

	cfg := tw.SiteConfig()
	fmt.Printf("%d units; line at the twin's address %v, mesh port its link %v\n", len(cfg.Units),
		cfg.Lines[0].Target == "tcp://"+tw.ModbusAddr(), cfg.Mesh.Port == filepath.Join(dir, "gw"))

	bus, err := modbus.Dial("tcp://"+tw.ModbusAddr(), modbus.Options{Timeout: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	u := cfg.Units[0]
	// owner 1, epoch 1, heartbeat 1, fan 80.0 %, valve 50.0 %: the crah-generic command block
	err = bus.WriteMultiple(ctx, byte(u.UnitID), 10, []uint16{1, 1, 1, 800, 500})
	bus.Close()
	fmt.Println("write:", err)

	snap := tw.Snapshot() // for a UI: units, racks, energy, baseline
	fmt.Println(snap.Scenario, len(snap.Units), "units,", len(snap.Racks), "racks")

	cancel()
	fmt.Println("run:", errors.Is(<-ran, context.Canceled))
	if _, err := logFile.Seek(0, 0); err != nil {
		fmt.Println(err)
		return
	}
	res, err := twin.CheckWriteLog(logFile, false) // two owners? heartbeat gaps?
	fmt.Println("log:", res.Writes, "write(s), units", res.Units, "ok", res.OK(), err)
	// Output:
	// 2 units; line at the twin's address true, mesh port its link true
	// write: <nil>
	// small-room 2 units, 8 racks
	// run: true
	// log: 1 write(s), units [1] ok true <nil>
}
