package bms_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"time"

	"github.com/coldaisle/coldaisle/board/bms"
	"github.com/coldaisle/coldaisle/board/ops"
	"github.com/coldaisle/coldaisle/drivers/modbus"
)

// A BMS's view of coldaisle: the server on loopback, read with this repository's own Modbus
// client as any master would.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := ops.NewPublisher(time.Hour, 10*time.Second)
	p.Publish(&ops.View{
		Time: time.Now(), Site: "hall-1", State: "controlling", Role: "active", ConfigVersion: 12,
		Zones: []ops.Zone{{Name: "row-a", MeasureC: 24.3, SetpointC: 25, HottestC: math.NaN(), DemandPct: 62.5, Valid: 3, Total: 4, OK: true}},
	})
	srv, err := bms.NewServer(p, bms.Options{UnitID: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.Serve(ctx, ln)

	bus, err := modbus.Dial("tcp://"+ln.Addr().String(), modbus.Options{Timeout: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bus.Close()
	hdr, err := bus.ReadInput(ctx, 1, 0, 10)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("map version", hdr[0], "state", hdr[1], "config", uint32(hdr[5])<<16|uint32(hdr[6]), "zones", hdr[7])

	zone, err := bus.ReadHolding(ctx, 1, bms.ZoneBase, bms.ZoneStride) // zone 0
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %.1f °C (setpoint %.1f), hottest n/a: %v, demand %.1f %%\n",
		bms.Text(zone[16:24]), float64(int16(zone[4]))/10, float64(int16(zone[5]))/10, zone[6] == bms.NotAvailable, float64(int16(zone[7]))/10)

	var ex modbus.ExceptionError
	if err := bus.WriteSingle(ctx, 1, bms.ZoneBase+5, 200); errors.As(err, &ex) {
		fmt.Printf("write refused: 0x%02x %s\n", ex.Code, ex.Name())
	}
	// Output:
	// map version 1 state 1 config 12 zones 1
	// row-a: 24.3 °C (setpoint 25.0), hottest n/a: true, demand 62.5 %
	// write refused: 0x01 illegal function
}
