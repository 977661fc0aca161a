package meshsim_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/coldaisle/coldaisle/drivers/mesh"
	"github.com/coldaisle/coldaisle/drivers/mesh/meshsim"
	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// A simulated gateway on a pseudo-terminal's master, the real controller client on its slave. The
// gateway sends every report once a controller has subscribed, noisy line or not; after a reboot
// (a cut-off frame, then manager_hello) the client starts a new session and gets the next report.
func Example() {
	pty, err := serialport.OpenPTY()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pty.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	g := meshsim.NewGateway(pty.Master, meshsim.Options{Seed: 1, ManagerHelloInterval: 50 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	g.SetImpairments(meshsim.Impairments{Noise: 0.5}) // garbage between frames: the deframer resyncs

	mac := [8]byte{0x00, 0x17, 0x0d, 0x00, 0x00, 0x38, 0x0a, 0x1f}
	report := func(seq uint8, centiC int16) {
		g.Report(mac, seq, 3000, []mesh.Record{{Channel: 1, Kind: mesh.KindTemperature, Value: centiC}}, time.Now())
	}
	report(1, 2245)

	c := mesh.NewClient(func() (io.ReadWriteCloser, error) {
		return serialport.Open(pty.SlavePath, serialport.Config{})
	}, mesh.Options{})
	_ = c.Run(ctx, func(r mesh.Reading) {
		fmt.Println(r.Sensor, r.Value)
		if r.NodeSeq == 1 {
			g.Reboot()
			report(2, 2260)
			return
		}
		cancel()
	})
	<-done
	st := g.Stats()
	fmt.Println("reboots", st.Reboots, "notifications", st.Notifications, "client sessions", c.Counters()["sessions"])
	// Output:
	// 00-17-0d-00-00-38-0a-1f/1 22.45
	// 00-17-0d-00-00-38-0a-1f/1 22.6
	// reboots 1 notifications 2 client sessions 2
}
