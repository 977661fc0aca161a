package field_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/field"
	"github.com/coldaisle/coldaisle/drivers/mesh"
	"github.com/coldaisle/coldaisle/drivers/mesh/meshsim"
	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
	"github.com/coldaisle/coldaisle/drivers/serialport"
)

const exampleSite = `site = "crah-room-1"
node_id = 1

[mesh]
port = "MESHPORT"

[[line]]
name = "bms"
target = "tcp://MODBUS"

[[unit]]
name = "crah-1"
line = "bms"
unit_id = 1

[[zone]]
name = "row-a"
units = ["crah-1"]
sensors = ["00-17-0d-00-00-38-0a-1f/1", "00-17-0d-00-00-38-0a-1f/2"]
`

// The field of a site built from its configuration: here a simulated CRAH behind a Modbus TCP
// gateway and a simulated mesh gateway on a pseudo-terminal. The Field is the engine's UnitIO
// (ReadState, WriteCommand in engine terms) and runs the mesh session.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	crah := ahusim.NewCRAH(1, ahusim.Options{})
	srv := modbussim.NewServer()
	srv.Add(1, crah)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.ServeTCP(ctx, ln)
	pty, err := serialport.OpenPTY()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pty.Close()
	gw := meshsim.NewGateway(pty.Master, meshsim.Options{})
	go gw.Run(ctx)

	text := strings.NewReplacer("MESHPORT", pty.SlavePath, "MODBUS", ln.Addr().String()).Replace(exampleSite)
	cfg, err := site.Parse([]byte(text), "site.toml")
	if err != nil {
		fmt.Println(err)
		return
	}

	f, err := field.Open(ctx, cfg, field.Options{})
	if err != nil {
		fmt.Println(err) // a line that cannot be opened, a bad profile
		return
	}
	defer f.Close()
	var _ engine.UnitIO = f // what engine.Runner{IO: f} drives

	fmt.Println("configure failures:", len(f.ConfigureUnits(ctx, time.Second)))
	err = f.WriteCommand(ctx, "crah-1", engine.Command{Unit: "crah-1", Owner: 1, Epoch: 1, Heartbeat: 1, FanPct: 55, ValvePct: 40, Write: true})
	st, _ := f.ReadState(ctx, "crah-1")
	fmt.Printf("write %v; the unit runs remote %v at %.0f %% fan\n", err, crah.Effective().Remote, st.FanPct)

	gw.Report([8]byte{0x00, 0x17, 0x0d, 0x00, 0x00, 0x38, 0x0a, 0x1f}, 1, 3000,
		[]mesh.Record{{Channel: 1, Kind: mesh.KindTemperature, Value: 2245}}, time.Now())
	meshCtx, stop := context.WithCancel(ctx)
	_ = f.RunMesh(meshCtx, func(r engine.Reading) {
		fmt.Println(r.Sensor, r.Value)
		stop()
	})
	// Output:
	// configure failures: 0
	// write <nil>; the unit runs remote true at 55 % fan
	// 00-17-0d-00-00-38-0a-1f/1 22.45
}
