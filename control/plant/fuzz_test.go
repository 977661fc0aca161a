package plant

import "testing"

// A compact but complete scenario: seeds stay small so that the fuzzer's minimisation of an
// interesting input takes moments, not its default minute.
const fuzzSeed = `duration = "5m"
sensors = [ { id = "00-17-0d-00-00-00-00-01/1", rack = "r1", height = 1 },
  { id = "00-17-0d-00-00-00-00-01/3", rack = "r1", height = 3 } ]
[inlet]
tau = [30.0, 60.0]
[influence]
rule = "matrix"
matrix.r1 = [1.0, 0.5]
[[zones]]
name = "z"
units = ["u1", "u2"]
[[units]]
name = "u1"
modbus_id = 1
rated_airflow = 2.0
rated_fan_kw = 1.5
coil_kw = 30.0
[[units]]
name = "u2"
profile = "vfd-fan"
modbus_id = 2
rated_airflow = 2.0
rated_fan_kw = 1.5
coil_kw = 30.0
[[racks]]
name = "r1"
zone = "z"
load_kw = 10
[[events]]
at = "1m"
kind = "unit_trip"
unit = "u1"
duration = "30s"
`

// FuzzParseScenario: nothing panics on any input, and whatever parses also builds and steps.
func FuzzParseScenario(f *testing.F) {
	f.Add([]byte(fuzzSeed))
	f.Add([]byte("a = [1, {b = 'c'}\n[[x]]\ny = \"\"\"\n"))
	f.Add([]byte("duration = 5\n[[units]]\nname = \"u\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		locate(data)
		sc, err := ParseScenario(data, "fuzz.toml")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		m := New(sc, 1)
		m.Step(90)
		m.Sensors()
		m.Units()
		m.Racks()
		m.DueEvents()
	})
}

func TestFuzzSeedIsValid(t *testing.T) {
	sc, err := ParseScenario([]byte(fuzzSeed), "seed.toml")
	if err != nil {
		t.Fatal(err)
	}
	if m := sc.InfluenceMatrix(); m[0][0] != 1/1.5 || m[0][1] != 0.5/1.5 {
		t.Errorf("matrix rule: %v", m)
	}
	mo := New(sc, 1)
	mo.Step(75)
	if u := mo.Units()[0]; !u.Tripped {
		t.Errorf("u1 not tripped at 75 s: %+v", u)
	}
	mo.Step(20)
	if u := mo.Units()[0]; u.Tripped || u.Fan <= 0 {
		t.Errorf("u1 not restored 30 s after its trip: %+v", u)
	}
}
