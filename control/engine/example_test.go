package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/site"
)

const exampleSite = `site = "crah-room-1"
node_id = 1

[control]
period = "2s"
setpoint_c = 25.0
max_age = "2m"

[mesh]
port = "/dev/ttyS2"

[[line]]
name = "bms"
target = "tcp://10.0.0.5:502"

[[unit]]
name = "crah-1"
line = "bms"
unit_id = 1

[[unit]]
name = "crah-2"
line = "bms"
unit_id = 2

[[zone]]
name = "row-a"
units = ["crah-1", "crah-2"]
sensors = ["00-17-0d-00-00-38-0a-1f/1", "00-17-0d-00-00-38-0a-1f/2"]
`

func exampleConfig() *site.Config {
	cfg, err := site.Parse([]byte(exampleSite), "site.toml")
	if err != nil {
		panic(err) // the example's own constant
	}
	return cfg
}

// Driving the engine by hand, as the bench and tests do: every period read each unit back
// (UpdateUnit), pass the sensor readings (Observe), Tick, write the commands with Write set, and
// drain Events for the event log. The units start at full speed; the engine tracks them, takes
// over without a bump and brings the fans down to their minimum while the inlets stay cool. When
// the sensors go silent the zone is insufficient and its units go to their safe speed (more air).
func Example() {
	e, err := engine.New(exampleConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	e.SetEpoch(7) // the failover epoch, written with every command

	fan := map[string]float64{"crah-1": 100, "crah-2": 100}
	t0 := time.Unix(1_750_000_000, 0) // the injected monotonic clock
	for i := 0; i < 300; i++ {        // 10 minutes in 2 s periods
		now := t0.Add(time.Duration(i) * 2 * time.Second)
		for _, u := range []string{"crah-1", "crah-2"} {
			e.UpdateUnit(u, engine.UnitState{Running: true, Remote: true, FanPct: fan[u], SupplyC: 18, ReturnC: 30}, nil, now)
		}
		if i%15 == 0 && i < 150 { // a report every 30 s for 5 min: over-cooled at 21 °C
			for _, s := range []string{"00-17-0d-00-00-38-0a-1f/1", "00-17-0d-00-00-38-0a-1f/2"} {
				e.Observe(engine.Reading{Sensor: s, Value: 21, Time: now, Seq: uint8(i), Arrival: now})
			}
		}
		for _, c := range e.Tick(now) {
			if c.Write {
				fan[c.Unit] = c.FanPct // "written": the unit follows at once here
			}
			if i == 0 || i == 149 || i == 299 {
				fmt.Printf("t=%3.0fs %s owner %d epoch %d fan %.0f %%\n", now.Sub(t0).Seconds(), c.Unit, c.Owner, c.Epoch, c.FanPct)
			}
		}
		for _, ev := range e.Events() {
			if ev.Alarm != "" {
				fmt.Printf("t=%3.0fs %s%s %s %s\n", ev.Time.Sub(t0).Seconds(), ev.Unit, ev.Zone, ev.Kind, ev.Alarm)
			} else {
				fmt.Printf("t=%3.0fs %s %s %s -> %s\n", ev.Time.Sub(t0).Seconds(), ev.Unit, ev.Kind, ev.From, ev.To)
			}
		}
	}
	// Output:
	// t=  0s crah-1 owner 1 epoch 7 fan 100 %
	// t=  0s crah-2 owner 1 epoch 7 fan 100 %
	// t=  2s crah-1 mode tracking -> auto
	// t=  2s crah-2 mode tracking -> auto
	// t=298s crah-1 owner 1 epoch 7 fan 30 %
	// t=298s crah-2 owner 1 epoch 7 fan 30 %
	// t=392s row-a alarm insufficient
	// t=392s crah-1 mode auto -> fail-safe
	// t=392s crah-2 mode auto -> fail-safe
	// t=598s crah-1 owner 1 epoch 7 fan 100 %
	// t=598s crah-2 owner 1 epoch 7 fan 100 %
}

// exampleUnits is an in-memory UnitIO: every unit reads back what it was last commanded.
type exampleUnits struct {
	mu  sync.Mutex
	fan map[string]float64
}

func (u *exampleUnits) ReadState(ctx context.Context, unit string) (engine.UnitState, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return engine.UnitState{Running: true, Remote: true, FanPct: u.fan[unit], SupplyC: 18, ReturnC: 30}, nil
}

func (u *exampleUnits) WriteCommand(ctx context.Context, unit string, cmd engine.Command) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.fan[unit] = cmd.FanPct
	return nil
}

// exampleClock jumps ahead instead of waiting, so a period takes no wall time.
type exampleClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *exampleClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *exampleClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// The Runner does the same every control period against a UnitIO (drivers/field at a site):
// it reads all units concurrently, ticks, writes, and calls Hook after each period (checkpoint,
// watchdog pet). Sensor readings arrive on another goroutine through Observe.
func ExampleRunner() {
	e, err := engine.New(exampleConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	io := &exampleUnits{fan: map[string]float64{"crah-1": 100, "crah-2": 100}}
	clk := &exampleClock{now: time.Unix(1_750_000_000, 0)}
	for _, s := range []string{"00-17-0d-00-00-38-0a-1f/1", "00-17-0d-00-00-38-0a-1f/2"} {
		e.Observe(engine.Reading{Sensor: s, Value: 24, Time: clk.Now(), Arrival: clk.Now()})
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &engine.Runner{Engine: e, IO: io, Clock: clk, Hook: func(ctx context.Context, p engine.PeriodReport) {
		if p.Period == 3 {
			fmt.Printf("period %d: read %d, wrote %d, %d errors\n", p.Period, p.Read, p.Written, len(p.Errors))
			cancel()
		}
	}}
	err = r.Run(ctx)
	fmt.Println(errors.Is(err, context.Canceled))
	// Output:
	// period 3: read 2, wrote 2, 0 errors
	// true
}
