package plant_test

import (
	"bytes"
	"fmt"
	"os"

	"github.com/coldaisle/coldaisle/control/plant"
)

// Stepping the small room by hand with every unit commanded to 60 % fan and half-open valves for
// ten plant minutes, then the two references a controller is scored against: the baseline (every
// unit at 100 % on its own control) and the oracle (least fan power that holds every inlet).
func Example() {
	sc, err := plant.LoadScenario("small-room")
	if err != nil {
		fmt.Println(err) // names the file, line and field
		return
	}
	m := plant.New(sc, 1)
	for i := range sc.Units {
		m.SetUnitInput(i, plant.UnitInput{Remote: true, Fan: 0.6, Valve: 0.5})
	}
	events := 0
	for m.Time() < 600 {
		m.Step(1)
		events += len(m.DueEvents()) // the twin acts on the field ones
	}
	hottest, where := m.MaxInletC()
	fmt.Printf("%s: %d units, %d racks, %d sensors; after %.0f s\n", sc.Name, len(sc.Units), len(sc.Racks), len(m.Sensors()), m.Time())
	fmt.Printf("hottest inlet %.1f °C at %s; %d event(s) due\n", hottest, where, events)

	base, oracle := plant.Baseline(sc, 1), plant.Oracle(sc, 1)
	fmt.Println("oracle feasible:", oracle.Feasible, "and cheaper than the baseline:", oracle.FanKWh < base.FanKWh)
	// Output:
	// small-room: 2 units, 8 racks, 14 sensors; after 600 s
	// hottest inlet 21.1 °C at 00-17-0d-00-00-38-0b-02/3; 1 event(s) due
	// oracle feasible: true and cheaper than the baseline: true
}

// A scenario file that breaks a rule is refused with its file, line and field.
func ExampleParseScenario() {
	data, err := os.ReadFile("scenarios/small-room.toml")
	if err != nil {
		fmt.Println(err)
		return
	}
	data = bytes.Replace(data, []byte("min_speed = 0.25"), []byte("min_speed = 1.5"), 1)
	_, err = plant.ParseScenario(data, "small-room.toml")
	fmt.Println(err)
	// Output:
	// plant: small-room.toml:70: units[1].min_speed: must be within 0..0.95 (got 1.5)
}
