package ahusim_test

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
)

// The plant's side of a simulated CRAH: the controller's writes (here made directly, as the Modbus
// server does for each request) set what the unit does, and without a heartbeat for its BMS timeout
// of plant time it falls back to its own control until the next one. The write log shows the gap.
func Example() {
	var plantNanos atomic.Int64 // plant time, kept in an atomic: Clock is read on every call
	clock := func() time.Duration { return time.Duration(plantNanos.Load()) }
	var logBuf bytes.Buffer
	log := ahusim.NewLog(&logBuf) // shared by all units
	crah := ahusim.NewCRAH(1, ahusim.Options{Clock: clock, Log: log, RemoteEnabled: true})

	// owner 1, epoch 7, heartbeat 1, fan 60.0 %, valve 40.0 % (holding 10..14, function 16)
	err := crah.WriteHoldingRegisters("controller", 16, ahusim.CRAHOwner, []uint16{1, 7, 1, 600, 400})
	e := crah.Effective() // what the plant model is given: plant.UnitInput{Remote: e.Remote, ...}
	fmt.Printf("%v: remote %v, fan %.2f, valve %.2f\n", err, e.Remote, e.Fan, e.Valve)
	crah.SetFeedback(ahusim.Feedback{ReturnC: 31.5, SupplyC: 18.2, FanFrac: e.Fan, ValveFrac: e.Valve})

	plantNanos.Store(int64(12 * time.Second)) // no heartbeat for 12 s of plant time
	e = crah.Effective()
	fmt.Printf("fallback %v: own fan %.2f, supply setpoint %.0f °C\n", e.Fallback, e.LocalFan, e.LocalSupplySP)

	err = crah.WriteHoldingRegisters("controller", 16, ahusim.CRAHOwner, []uint16{1, 7, 2, 600, 400})
	fmt.Println("next heartbeat:", err, "remote again", crah.Effective().Remote)

	vs, err := ahusim.CheckWrites(&logBuf, nil) // `coldaisle twin check-writes LOG`
	fmt.Println(len(vs), err)
	for _, v := range vs {
		fmt.Println(v)
	}
	// Output:
	// <nil>: remote true, fan 0.60, valve 0.40
	// fallback true: own fan 1.00, supply setpoint 18 °C
	// next heartbeat: <nil> remote again true
	// 1 <nil>
	// unit 1: no heartbeat from t=0.000 s to t=12.000 s (12.000 s > 10 s BMS timeout; line 2)
}
