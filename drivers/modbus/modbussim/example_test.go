package modbussim_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus"
	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// Two register banks served as RTU slaves on a pseudo-terminal (a multi-drop line), read and
// written by the real client on the pty's slave end; unit 2 is made busy. ServeTCP serves the
// same devices on a listener as a gateway.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	srv := modbussim.NewServer()
	bank := modbussim.NewBank(10, 16)
	bank.SetInput(0, 215, 180)
	srv.Add(1, bank)
	srv.Add(2, modbussim.NewBank(10, 16))
	srv.SetFault(2, modbussim.Fault{Busy: true})

	pty, err := serialport.OpenPTY()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pty.Close()
	served := make(chan error, 1)
	go func() { served <- srv.ServeRTU(ctx, pty.Master) }()

	bus, err := modbus.Dial("rtu://"+pty.SlavePath+"?baud=115200", modbus.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	regs, err := bus.ReadInput(ctx, 1, 0, 2)
	fmt.Println(regs, err)
	err = bus.WriteMultiple(ctx, 1, 10, []uint16{1, 7})
	fmt.Println(err, bank.Holding(10, 2), bank.Writes())

	_, err = bus.ReadInput(ctx, 2, 0, 2)
	var ex modbus.ExceptionError
	fmt.Println(errors.As(err, &ex), ex.Code)

	bus.Close()
	cancel()
	fmt.Println(errors.Is(<-served, context.Canceled))
	// Output:
	// [215 180] <nil>
	// <nil> [1 7] 1
	// true 6
	// true
}
