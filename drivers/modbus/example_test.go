package modbus_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus"
	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// A bus to a Modbus TCP gateway (here a simulated one on loopback): reading a register map in as
// few requests as possible, decoding a float, a refusal by the unit, and a silent unit that the
// breaker isolates so it costs no more timeouts.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := modbussim.NewServer()
	bank := modbussim.NewBank(10, 16)
	bank.SetInput(0, 215, 180)                                      // 21.5 and 18.0 °C, scale 0.1
	regs, _ := modbus.EncodeValue(7.25, modbus.TypeFloat32, "CDAB") // fan power in kW
	bank.SetInput(8, regs...)
	srv.Add(3, bank)
	srv.Add(4, modbussim.NewBank(10, 16))
	srv.SetFault(4, modbussim.Fault{NoAnswer: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.ServeTCP(ctx, ln)

	bus, err := modbus.Dial("tcp://"+ln.Addr().String(), modbus.Options{Timeout: 50 * time.Millisecond, BreakerThreshold: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bus.Close()

	blocks, err := bus.ReadBlocks(ctx, 3, modbus.Input, []modbus.Range{{Addr: 0, Count: 2}, {Addr: 2, Count: 6}, {Addr: 8, Count: 2}})
	if err != nil {
		fmt.Println(err)
		return
	}
	kw, _ := modbus.DecodeValues(blocks[2], modbus.TypeFloat32, "CDAB")
	fmt.Println(blocks[0], kw, "in", srv.Requests(3), "request")

	_, err = bus.ReadInput(ctx, 3, 20, 2)
	var ex modbus.ExceptionError
	if errors.As(err, &ex) { // the unit refused
		fmt.Printf("refused: 0x%02x %s\n", ex.Code, ex.Name())
	}

	_, err = bus.ReadInput(ctx, 4, 0, 2)
	fmt.Println("silent unit:", errors.Is(err, modbus.ErrTimeout))
	_, err = bus.ReadInput(ctx, 4, 0, 2)
	fmt.Println("then isolated:", errors.Is(err, modbus.ErrUnitIsolated))
	// Output:
	// [215 180] [7.25] in 1 request
	// refused: 0x02 illegal data address
	// silent unit: true
	// then isolated: true
}
