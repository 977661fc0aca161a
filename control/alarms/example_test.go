package alarms_test

import (
	"fmt"
	"time"

	"github.com/coldaisle/coldaisle/control/alarms"
	"github.com/coldaisle/coldaisle/control/engine"
)

func Example() {
	reg := alarms.New(4 * time.Hour)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	show := func(effs []alarms.Effect) {
		for _, e := range effs {
			fmt.Printf("<%d> %s\n", e.Syslog(), e.Text())
		}
	}

	show(alarms.FromEngine(reg, engine.Event{Time: now, Kind: engine.EventAlarm, Unit: "crah-2",
		Alarm: "tripped", Reason: "tripped: not running; crah-1 picks up its share"}))
	key := alarms.KeyOf("unit crah-2", "tripped")
	effs, _ := reg.Ack(key, "alice", now.Add(time.Minute))
	show(effs)
	effs, _ = reg.Shelve(key, "alice", 30*time.Minute, now.Add(time.Minute))
	show(effs)
	show(reg.Tick(now.Add(31 * time.Minute)))

	_, err := reg.Shelve(key, "alice\x1b[2J", time.Hour, now)
	fmt.Println(err)
	for _, a := range reg.Active() {
		fmt.Println(a.Key, a.Severity, a.AckedBy, a.Shelved())
	}
	show(alarms.FromEngine(reg, engine.Event{Time: now.Add(40 * time.Minute), Kind: engine.EventClear,
		Unit: "crah-2", Alarm: "tripped"}))
	// Output:
	// <3> RAISED major unit crah-2 tripped: tripped: not running; crah-1 picks up its share
	// <5> ACKED major unit crah-2 tripped by alice
	// <5> SHELVED major unit crah-2 tripped by alice until 2026-03-01T10:31:00Z
	// <5> UNSHELVED major unit crah-2 tripped (shelf ran out)
	// <3> RAISED major unit crah-2 tripped: tripped: not running; crah-1 picks up its share [acked by alice]
	// alarms: bad argument: user "alice\x1b[2J": byte '\x1b' not allowed (letters, digits and ._-@)
	// unit/crah-2/tripped major alice false
	// <6> CLEARED major unit crah-2 tripped (was: tripped: not running; crah-1 picks up its share)
}
