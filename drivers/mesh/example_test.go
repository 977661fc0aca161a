package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/coldaisle/coldaisle/drivers/mesh"
	"github.com/coldaisle/coldaisle/drivers/mesh/meshsim"
	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// The controller's side of the gateway link: a Client opens the port (here the slave end of a
// pseudo-terminal whose master a simulated gateway drives), holds the session and delivers each
// sensor value. A port that vanishes is reopened with back-off until ctx ends.
func Example() {
	pty, err := serialport.OpenPTY()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pty.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gw := meshsim.NewGateway(pty.Master, meshsim.Options{Seed: 1})
	gwDone := make(chan error, 1)
	go func() { gwDone <- gw.Run(ctx) }()

	mac := [8]byte{0x00, 0x17, 0x0d, 0x00, 0x00, 0x38, 0x0a, 0x1f}
	gw.Report(mac, 7, 3012, []mesh.Record{
		{Channel: 1, Kind: mesh.KindTemperature, Value: 2245},
		{Channel: 2, Kind: mesh.KindTemperature, Value: 2310},
	}, time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC))

	open := func() (io.ReadWriteCloser, error) {
		return serialport.Open(pty.SlavePath, serialport.Config{Baud: 115200})
	}
	c := mesh.NewClient(open, mesh.Options{})
	n := 0
	err = c.Run(ctx, func(r mesh.Reading) { // on Run's goroutine: keep it short
		fmt.Println(r.Sensor, r.Kind, r.Value, r.Kind.Unit(), r.NodeSeq, r.BatteryMV, r.Time.Format(time.TimeOnly))
		if n++; n == 2 {
			cancel()
		}
	})
	fmt.Println(errors.Is(err, context.Canceled), c.Counters()["readings"], c.Counters()["bad_fcs"])
	<-gwDone
	// Output:
	// 00-17-0d-00-00-38-0a-1f/1 temperature 22.45 C 7 3012 09:00:00
	// 00-17-0d-00-00-38-0a-1f/2 temperature 23.1 C 7 3012 09:00:00
	// true 2 0
}
