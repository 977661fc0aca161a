package ahu_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/coldaisle/coldaisle/drivers/ahu"
	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/modbus"
	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// A CRAH unit through the crah-generic profile, over a real Modbus TCP bus to a simulated unit:
// configure its fail-safe, read its state in one request, and write the whole command block in
// another. A fan command below the unit's minimum goes out at the minimum.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	crah := ahusim.NewCRAH(3, ahusim.Options{})
	crah.SetFeedback(ahusim.Feedback{ReturnC: 31.5, SupplyC: 18.2, FanFrac: 1, ValveFrac: 0.4})
	srv := modbussim.NewServer()
	srv.Add(3, crah)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.ServeTCP(ctx, ln)
	bus, err := modbus.Dial("tcp://"+ln.Addr().String(), modbus.Options{Timeout: 300 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bus.Close()

	p, err := ahu.Builtin("crah-generic")
	if err != nil {
		fmt.Println(err)
		return
	}
	u := ahu.NewUnit(bus, 3, p)
	err = u.Configure(ctx, ahu.Settings{RemoteEnable: true, BMSTimeout: 10 * time.Second,
		FallbackFanPct: 100, MinFanPct: 30, LocalSupplyC: 18, Fencing: true})
	fmt.Println("configure:", err)

	before := srv.Requests(3)
	st, err := u.ReadState(ctx)
	fmt.Printf("return %.1f °C, supply %.1f °C, fan %.0f %%, remote %v (%v; %d request)\n",
		st.ReturnC, st.SupplyC, st.FanPct, st.Remote, err, srv.Requests(3)-before)

	err = u.WriteCommand(ctx, ahu.Command{Owner: 1, Epoch: 7, Heartbeat: 1, FanPct: 20, ValvePct: 40})
	e := crah.Effective()
	fmt.Printf("command: %v; the unit runs fan %.2f, valve %.2f, remote %v\n", err, e.Fan, e.Valve, e.Remote)
	// Output:
	// configure: <nil>
	// return 31.5 °C, supply 18.2 °C, fan 100 %, remote true (<nil>; 1 request)
	// command: <nil>; the unit runs fan 0.30, valve 0.40, remote true
}
