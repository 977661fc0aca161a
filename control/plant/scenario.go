package plant

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/coldaisle/coldaisle/control/tomlpos"
)

//go:embed scenarios/*.toml
var builtinFS embed.FS

// Sentinel errors. Every scenario problem wraps ErrInvalidScenario (through *FieldError).
var (
	ErrUnknownScenario = errors.New("plant: unknown scenario")
	ErrInvalidScenario = errors.New("plant: invalid scenario")
)

// FieldError is one problem in a scenario file: which file, which line (0 when unknown), which
// field (a path such as "units[1].min_speed") and why.
type FieldError struct {
	File   string
	Line   int
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += fmt.Sprintf(":%d", e.Line)
	}
	if e.Field == "" {
		return fmt.Sprintf("plant: %s: %s", loc, e.Reason)
	}
	return fmt.Sprintf("plant: %s: %s: %s", loc, e.Field, e.Reason)
}

func (e *FieldError) Unwrap() error { return ErrInvalidScenario }

// Profiles a unit may declare (see the Modbus spec).
const (
	ProfileCRAH = "crah-generic" // chilled-water CRAH: fan and valve both on Modbus
	ProfileVFD  = "vfd-fan"      // fan on a drive; its coil valve is on the unit's own local loop, always
)

// Scenario is a resolved, validated room description (defaults filled in). Times in seconds,
// temperatures in C, airflow in m3/s, power in kW, fractions 0..1.
type Scenario struct {
	Name, Description string
	File              string  // where it was loaded from, for messages
	Duration          float64 // s
	SetpointC         float64 // inlet limit the controller holds (default 25)
	DesignDeltaT      float64 // K across a rack at its declared load, for airflow when not given (12)
	AirflowExponent   float64 // rack airflow = declared * (load/declared load)^exp (0.5)
	Mixing            float64 // lateral mixing of cold air within a zone, 0..1 (0.5)
	FanHeat           bool    // fan power heats the supply air (true)
	AmbientC          float64 // air a zone breathes when no unit in the hall moves air (30)
	Inlet             InletSpec
	Noise             NoiseSpec
	Mesh              MeshSpec
	Influence         InfluenceSpec
	Zones             []Zone
	Racks             []Rack
	Sensors           []Sensor
	Units             []Unit
	Events            []Event // sorted by time; Duration already expanded into ending events
}

// InletSpec: ranges the per-rack values are drawn from (uniform, seeded), and stratification.
type InletSpec struct {
	TauMin, TauMax       float64    // first-order lag time constant, s
	DelayMin, DelayMax   float64    // transport delay, s
	RecircMin, RecircMax float64    // always-present hot-air recirculation share
	Stratification       [3]float64 // sensor height 1,2,3: share of the rack's recirculation seen
}

// NoiseSpec: measurement model of the mesh sensors.
type NoiseSpec struct {
	SD      float64 // gaussian noise, C
	Quantum float64 // quantisation, C (0.01: the mesh payload's resolution)
	BiasSD  float64 // per-sensor fixed calibration offset, gaussian, C
}

// MeshSpec: how the simulated mesh delivers the sensors' reports (the loss, delay, duplicate and
// reorder events change it over time).
type MeshSpec struct {
	ReportInterval float64 // s between a sensor's reports; 0: the harness's default (30 s)
	DelayJitter    float64 // s: each report is delayed by a further uniform 0..DelayJitter
}

// InfluenceSpec: how rack inlets share the units' air. Rule "distance": weight exp(-d/LengthM)
// between rack and unit positions, zero for units not serving the rack's zone, rows normalised.
// Rule "matrix": Matrix[rack] lists one weight per unit (file order), rows normalised.
type InfluenceSpec struct {
	Rule    string
	LengthM float64
	Matrix  map[string][]float64
}

type Zone struct {
	Name  string
	Racks []string // racks whose zone field names this zone
	Units []string // units serving it
}

type Rack struct {
	Name, Zone string
	LoadKW     float64 // declared IT load
	Airflow    float64 // drawn at the declared load, m3/s
	X, Y       float64 // position, m
}

type Sensor struct {
	ID     string // "00-17-0d-00-00-38-0a-1f/2"
	Rack   string
	Height int // 1 bottom, 2 middle, 3 top
}

type Unit struct {
	Name, Profile string
	ModbusID      int
	RatedAirflow  float64 // m3/s at 100 %
	RatedFanKW    float64 // kW at 100 % (power = RatedFanKW * speed^3)
	MinSpeed      float64 // below it the fan moves no useful air
	CoilKW        float64 // cooling at rated airflow, valve open, return RatedReturnC, water ChwC
	ChwC          float64 // chilled-water supply temperature
	RatedReturnC  float64
	BMSTimeout    float64 // s, for the Modbus simulator (0 = never)
	FallbackFan   float64 // fan speed in local control / BMS fallback
	LocalSupplySP float64 // local supply-air setpoint, C
	X, Y          float64 // position, m
	FanRamp       float64 // max fan speed change per second
	ValveRamp     float64 // max valve change per second
	CoilTau       float64 // s, coil outlet temperature lag
	Kp, Ti        float64 // local supply-air PI: valve per K, integral time s
}

// UnitIndex returns the index of the named unit or -1.
func (sc *Scenario) UnitIndex(name string) int {
	return slices.IndexFunc(sc.Units, func(u Unit) bool { return u.Name == name })
}

// RackIndex returns the index of the named rack or -1.
func (sc *Scenario) RackIndex(name string) int {
	return slices.IndexFunc(sc.Racks, func(r Rack) bool { return r.Name == name })
}

// SensorIndex returns the index of the sensor with this id or -1.
func (sc *Scenario) SensorIndex(id string) int {
	return slices.IndexFunc(sc.Sensors, func(s Sensor) bool { return s.ID == id })
}

func (sc *Scenario) zoneIndex(name string) int {
	return slices.IndexFunc(sc.Zones, func(z Zone) bool { return z.Name == name })
}

// InfluenceMatrix returns the resolved influence: [rack][unit] share of each rack's cold air
// coming from each unit (rows sum to 1).
func (sc *Scenario) InfluenceMatrix() [][]float64 {
	out := make([][]float64, len(sc.Racks))
	for r, rk := range sc.Racks {
		row := make([]float64, len(sc.Units))
		z := sc.zoneIndex(rk.Zone)
		serves := func(u int) bool {
			if z < 0 {
				return false
			}
			for _, n := range sc.Zones[z].Units {
				if n == sc.Units[u].Name {
					return true
				}
			}
			return false
		}
		sum := 0.0
		for u, un := range sc.Units {
			if !serves(u) {
				continue
			}
			if sc.Influence.Rule == "matrix" {
				if w := sc.Influence.Matrix[rk.Name]; u < len(w) {
					row[u] = w[u]
				}
			} else {
				d := math.Hypot(rk.X-un.X, rk.Y-un.Y)
				row[u] = math.Exp(-d / sc.Influence.LengthM)
			}
			sum += row[u]
		}
		if sum > 0 {
			for u := range row {
				row[u] /= sum
			}
		}
		out[r] = row
	}
	return out
}

// Builtin lists the embedded scenarios by name.
func Builtin() []string {
	ents, _ := fs.ReadDir(builtinFS, "scenarios")
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".toml"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// LoadScenario loads an embedded scenario by name ("demo") or a file by path ("./x.toml").
func LoadScenario(nameOrPath string) (*Scenario, error) {
	if !strings.ContainsAny(nameOrPath, `/\`) && !strings.HasSuffix(nameOrPath, ".toml") {
		data, err := builtinFS.ReadFile("scenarios/" + nameOrPath + ".toml")
		if err != nil {
			return nil, fmt.Errorf("%w %q (built in: %s)", ErrUnknownScenario, nameOrPath, strings.Join(Builtin(), ", "))
		}
		return ParseScenario(data, nameOrPath+".toml")
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		return nil, fmt.Errorf("plant: read scenario: %w", err)
	}
	return ParseScenario(data, nameOrPath)
}

// duration holds a TOML value that must be a Go duration string ("7m30s"); the checker turns it
// into seconds. A bare number is refused rather than read as seconds (as the site file does): "30"
// meaning 30 s, not 30 min, is the kind of slip a scenario should not hide. The decoder only keeps
// the value so that every problem is reported with its line by the checker.
type duration struct{ v any }

// UnmarshalTOML implements toml.Unmarshaler.
func (d *duration) UnmarshalTOML(v any) error {
	d.v = v
	return nil
}

type rawScenario struct {
	Name            string           `toml:"name"`
	Description     string           `toml:"description"`
	Duration        *duration        `toml:"duration"`
	SetpointC       *float64         `toml:"setpoint_c"`
	DesignDeltaT    *float64         `toml:"design_delta_t"`
	AirflowExponent *float64         `toml:"airflow_exponent"`
	Mixing          *float64         `toml:"mixing"`
	FanHeat         *bool            `toml:"fan_heat"`
	AmbientC        *float64         `toml:"ambient_c"`
	Inlet           rawInlet         `toml:"inlet"`
	Noise           rawNoise         `toml:"noise"`
	Mesh            rawMesh          `toml:"mesh"`
	Influence       rawInfluence     `toml:"influence"`
	Zones           []toml.Primitive `toml:"zones"`
	Racks           []toml.Primitive `toml:"racks"`
	Sensors         []toml.Primitive `toml:"sensors"`
	Units           []toml.Primitive `toml:"units"`
	Events          []toml.Primitive `toml:"events"`
}

type rawInlet struct {
	Tau            []float64 `toml:"tau"`
	Delay          []float64 `toml:"delay"`
	Recirc         []float64 `toml:"recirc"`
	Stratification []float64 `toml:"stratification"`
}

type rawNoise struct {
	SD      *float64 `toml:"sd_c"`
	Quantum *float64 `toml:"quantum_c"`
	BiasSD  *float64 `toml:"bias_sd_c"`
}

type rawMesh struct {
	ReportInterval *duration `toml:"report_interval"`
	DelayJitter    *duration `toml:"delay_jitter"`
}

type rawInfluence struct {
	Rule    string               `toml:"rule"`
	LengthM *float64             `toml:"length_m"`
	Matrix  map[string][]float64 `toml:"matrix"`
}

type rawZone struct {
	Name  string   `toml:"name"`
	Racks []string `toml:"racks"`
	Units []string `toml:"units"`
}

type rawRack struct {
	Name    string   `toml:"name"`
	Zone    string   `toml:"zone"`
	LoadKW  *float64 `toml:"load_kw"`
	Airflow *float64 `toml:"airflow"`
	X       float64  `toml:"x"`
	Y       float64  `toml:"y"`
}

type rawSensor struct {
	ID     string `toml:"id"`
	Rack   string `toml:"rack"`
	Height *int   `toml:"height"`
}

type rawUnit struct {
	Name          string    `toml:"name"`
	Profile       string    `toml:"profile"`
	ModbusID      *int      `toml:"modbus_id"`
	RatedAirflow  *float64  `toml:"rated_airflow"`
	RatedFanKW    *float64  `toml:"rated_fan_kw"`
	MinSpeed      *float64  `toml:"min_speed"`
	CoilKW        *float64  `toml:"coil_kw"`
	ChwC          *float64  `toml:"chw_c"`
	RatedReturnC  *float64  `toml:"rated_return_c"`
	BMSTimeout    *duration `toml:"bms_timeout"`
	FallbackFan   *float64  `toml:"fallback_fan"`
	LocalSupplySP *float64  `toml:"local_supply_sp"`
	X             float64   `toml:"x"`
	Y             float64   `toml:"y"`
	FanRamp       *float64  `toml:"fan_ramp"`
	ValveRamp     *float64  `toml:"valve_ramp"`
	CoilTau       *duration `toml:"coil_tau"`
	Kp            *float64  `toml:"kp"`
	Ti            *duration `toml:"ti"`
}

type rawEvent struct {
	At          *duration `toml:"at"`
	Kind        string    `toml:"kind"`
	Rack        *string   `toml:"rack"`
	Zone        *string   `toml:"zone"`
	Unit        *string   `toml:"unit"`
	Sensor      *string   `toml:"sensor"`
	KW          *float64  `toml:"kw"`
	Factor      *float64  `toml:"factor"`
	Probability *float64  `toml:"probability"`
	Delay       *duration `toml:"delay"`
	Duration    *duration `toml:"duration"`
	Value       *float64  `toml:"value"`
	Note        string    `toml:"note"`
}

// checker collects field errors with their lines.
type checker struct {
	file string
	loc  *locator
	errs []error
}

func (c *checker) add(path, format string, args ...any) {
	if len(c.errs) >= 50 {
		return
	}
	c.errs = append(c.errs, &FieldError{File: c.file, Line: c.loc.line(path), Field: path, Reason: fmt.Sprintf(format, args...)})
}

func (c *checker) err() error { return errors.Join(c.errs...) }

var tomlErrPrefix = regexp.MustCompile(`^toml: (?:line \d+ )?(?:\(last key "([^"]*)"\): )?`)

// decodeErr turns a toml decode error inside element idx of array key into a FieldError.
func (c *checker) decodeErr(err error, array string, idx int) {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		field := pe.LastKey
		if array != "" {
			field = array + "[" + fmt.Sprint(idx) + "]" + strings.TrimPrefix(field, array)
		}
		line := c.loc.line(field)
		if line == 0 {
			line = pe.Position.Line
		}
		c.errs = append(c.errs, &FieldError{File: c.file, Line: line, Field: field, Reason: pe.Message})
		return
	}
	msg := err.Error()
	field := ""
	if m := tomlErrPrefix.FindStringSubmatch(msg); m != nil {
		field = m[1]
		msg = msg[len(m[0]):]
	}
	if array != "" && strings.HasPrefix(field, array) {
		field = array + "[" + fmt.Sprint(idx) + "]" + strings.TrimPrefix(field, array)
	}
	c.add(field, "%s", msg)
}

var sensorIDRe = regexp.MustCompile(`^([0-9a-f]{2}-){7}[0-9a-f]{2}/([0-9]{1,3})$`)

// ParseScenario decodes and validates a scenario. filename is only used in messages. Unknown keys
// are errors. All problems found are returned joined, each a *FieldError naming file, line, field.
func ParseScenario(data []byte, filename string) (*Scenario, error) {
	c := &checker{file: filename, loc: locate(data)}
	var raw rawScenario
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &FieldError{File: filename, Line: pe.Position.Line, Field: pe.LastKey, Reason: "toml: " + pe.Message}
		}
		c.decodeErr(err, "", 0)
		return nil, c.err()
	}
	sc := &Scenario{File: filename}
	zones := make([]rawZone, len(raw.Zones))
	racks := make([]rawRack, len(raw.Racks))
	sensors := make([]rawSensor, len(raw.Sensors))
	units := make([]rawUnit, len(raw.Units))
	events := make([]rawEvent, len(raw.Events))
	for i := range raw.Zones {
		if err := md.PrimitiveDecode(raw.Zones[i], &zones[i]); err != nil {
			c.decodeErr(err, "zones", i)
		}
	}
	for i := range raw.Racks {
		if err := md.PrimitiveDecode(raw.Racks[i], &racks[i]); err != nil {
			c.decodeErr(err, "racks", i)
		}
	}
	for i := range raw.Sensors {
		if err := md.PrimitiveDecode(raw.Sensors[i], &sensors[i]); err != nil {
			c.decodeErr(err, "sensors", i)
		}
	}
	for i := range raw.Units {
		if err := md.PrimitiveDecode(raw.Units[i], &units[i]); err != nil {
			c.decodeErr(err, "units", i)
		}
	}
	for i := range raw.Events {
		if err := md.PrimitiveDecode(raw.Events[i], &events[i]); err != nil {
			c.decodeErr(err, "events", i)
		}
	}
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err == nil {
		for _, f := range tomlpos.NonFinite(doc) {
			c.add(f.Path, "%s is not a finite number", tomlpos.Spell(f.Value))
		}
	}
	// Unknown keys: report each once, and not the children of an unknown table.
	undecoded := md.Undecoded()
	unknown := map[string]bool{}
	for _, k := range undecoded {
		unknown[strings.Join(k, ".")] = true
	}
	seen := map[string]int{}
	for _, k := range undecoded {
		key := strings.Join(k, ".")
		parentUnknown := false
		for n := 1; n < len(k); n++ {
			if unknown[strings.Join(k[:n], ".")] {
				parentUnknown = true
			}
		}
		p, _ := c.loc.nth(key, seen[key])
		seen[key]++
		if !parentUnknown {
			c.add(p, "unknown key %q", k[len(k)-1])
		}
	}
	if len(c.errs) > 0 {
		return nil, c.err()
	}

	sc.Name = raw.Name
	if sc.Name == "" {
		sc.Name = strings.TrimSuffix(path.Base(strings.ReplaceAll(filename, `\`, "/")), ".toml")
	}
	sc.Description = raw.Description
	durationOK := false
	if raw.Duration == nil {
		c.add("duration", "required (a duration such as \"30m\")")
	} else {
		sc.Duration, durationOK = c.seconds("duration", raw.Duration, 1, 7*86400)
	}
	sc.SetpointC = c.opt("setpoint_c", raw.SetpointC, 25, 10, 40)
	sc.DesignDeltaT = c.opt("design_delta_t", raw.DesignDeltaT, 12, 2, 30)
	sc.AirflowExponent = c.opt("airflow_exponent", raw.AirflowExponent, 0.5, 0, 1)
	sc.Mixing = c.opt("mixing", raw.Mixing, 0.5, 0, 1)
	sc.AmbientC = c.opt("ambient_c", raw.AmbientC, 30, -10, 60)
	sc.FanHeat = raw.FanHeat == nil || *raw.FanHeat

	sc.Inlet.TauMin, sc.Inlet.TauMax = c.pair("inlet.tau", raw.Inlet.Tau, 40, 90, 0.5, 1800)
	sc.Inlet.DelayMin, sc.Inlet.DelayMax = c.pair("inlet.delay", raw.Inlet.Delay, 5, 20, 0, 600)
	sc.Inlet.RecircMin, sc.Inlet.RecircMax = c.pair("inlet.recirc", raw.Inlet.Recirc, 0.02, 0.05, 0, 0.5)
	sc.Inlet.Stratification = [3]float64{0.7, 1.0, 1.3}
	if raw.Inlet.Stratification != nil {
		if len(raw.Inlet.Stratification) != 3 {
			c.add("inlet.stratification", "want 3 values (heights 1, 2, 3), got %d", len(raw.Inlet.Stratification))
		} else {
			for i, v := range raw.Inlet.Stratification {
				c.rangeCheck(fmt.Sprintf("inlet.stratification[%d]", i), v, 0, 3)
				sc.Inlet.Stratification[i] = v
			}
		}
	}
	sc.Noise.SD = c.opt("noise.sd_c", raw.Noise.SD, 0.05, 0, 5)
	sc.Noise.Quantum = c.opt("noise.quantum_c", raw.Noise.Quantum, 0.01, 0, 1)
	sc.Noise.BiasSD = c.opt("noise.bias_sd_c", raw.Noise.BiasSD, 0, 0, 5)
	sc.Mesh.ReportInterval = c.optS("mesh.report_interval", raw.Mesh.ReportInterval, 0, 1, 3600)
	sc.Mesh.DelayJitter = c.optS("mesh.delay_jitter", raw.Mesh.DelayJitter, 0, 0, 600)

	sc.Influence.Rule = raw.Influence.Rule
	if sc.Influence.Rule == "" {
		sc.Influence.Rule = "distance"
	}
	if sc.Influence.Rule != "distance" && sc.Influence.Rule != "matrix" {
		c.add("influence.rule", "want \"distance\" or \"matrix\", got %q", sc.Influence.Rule)
	}
	sc.Influence.LengthM = c.opt("influence.length_m", raw.Influence.LengthM, 5, 0.1, 1000)
	sc.Influence.Matrix = raw.Influence.Matrix

	c.units(sc, units)
	c.zones(sc, zones)
	c.racks(sc, racks)
	c.sensors(sc, sensors)
	c.influence(sc)
	c.events(sc, events, durationOK)
	if len(c.errs) > 0 {
		return nil, c.err()
	}
	return sc, nil
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

func (c *checker) rangeCheck(path string, v, lo, hi float64) bool {
	if bad(v) || v < lo || v > hi {
		c.add(path, "must be within %g..%g (got %g)", lo, hi, v)
		return false
	}
	return true
}

func (c *checker) opt(path string, p *float64, def, lo, hi float64) float64 {
	if p == nil {
		return def
	}
	c.rangeCheck(path, *p, lo, hi)
	return *p
}

// seconds checks a duration field: a Go duration string within lo..hi seconds. ok is false when
// the field is absent or wrong (already reported when wrong).
func (c *checker) seconds(path string, d *duration, lo, hi float64) (float64, bool) {
	if d == nil {
		return 0, false
	}
	switch x := d.v.(type) {
	case string:
		v, err := time.ParseDuration(x)
		if err != nil {
			c.add(path, "bad duration %q: want a duration such as \"90s\" or \"7m30s\"", x)
			return 0, false
		}
		s := v.Seconds()
		switch {
		case s < 0:
			c.add(path, "%q is negative: want a duration from %s to %s", x, fmtSeconds(lo), fmtSeconds(hi))
			return s, false
		case s < lo || s > hi:
			c.add(path, "%q is outside %s..%s", x, fmtSeconds(lo), fmtSeconds(hi))
			return s, false
		}
		return s, true
	case int64, float64:
		c.add(path, "bare number %v: write the unit, e.g. \"%vs\" or \"%vm\"", x, x, x)
	default:
		c.add(path, "want a duration string such as \"90s\", got %s", tomlKind(x))
	}
	return 0, false
}

// optS is seconds with a default for an absent field.
func (c *checker) optS(path string, d *duration, def, lo, hi float64) float64 {
	if d == nil {
		return def
	}
	v, _ := c.seconds(path, d, lo, hi)
	return v
}

func fmtSeconds(s float64) string { return time.Duration(s * float64(time.Second)).String() }

func tomlKind(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	case time.Time:
		return "a date or time"
	}
	return fmt.Sprintf("%T", v)
}

func (c *checker) pair(path string, v []float64, dmin, dmax, lo, hi float64) (float64, float64) {
	if v == nil {
		return dmin, dmax
	}
	if len(v) != 2 {
		c.add(path, "want [min, max], got %d values", len(v))
		return dmin, dmax
	}
	ok := c.rangeCheck(path+"[0]", v[0], lo, hi)
	ok = c.rangeCheck(path+"[1]", v[1], lo, hi) && ok
	if ok && v[1] < v[0] {
		c.add(path, "max %g is below min %g", v[1], v[0])
	}
	return v[0], v[1]
}

func (c *checker) name(path, n string, seen map[string]bool) {
	switch {
	case n == "":
		c.add(path, "required")
	case strings.ContainsAny(n, " \t\n/*"):
		c.add(path, "%q: names may not contain blanks, '/' or '*'", n)
	case seen[n]:
		c.add(path, "duplicate name %q", n)
	}
	seen[n] = true
}

func (c *checker) units(sc *Scenario, raw []rawUnit) {
	if len(raw) == 0 {
		c.add("units", "at least one [[units]] is required")
	}
	names := map[string]bool{}
	ids := map[int]bool{}
	for i, r := range raw {
		p := fmt.Sprintf("units[%d]", i)
		c.name(p+".name", r.Name, names)
		u := Unit{Name: r.Name, Profile: r.Profile, X: r.X, Y: r.Y}
		if u.Profile == "" {
			u.Profile = ProfileCRAH
		}
		if u.Profile != ProfileCRAH && u.Profile != ProfileVFD {
			c.add(p+".profile", "want %q or %q, got %q", ProfileCRAH, ProfileVFD, u.Profile)
		}
		if r.ModbusID == nil {
			c.add(p+".modbus_id", "required (1..247)")
		} else {
			u.ModbusID = *r.ModbusID
			if u.ModbusID < 1 || u.ModbusID > 247 {
				c.add(p+".modbus_id", "must be within 1..247 (got %d)", u.ModbusID)
			} else if ids[u.ModbusID] {
				c.add(p+".modbus_id", "duplicate Modbus unit id %d", u.ModbusID)
			}
			ids[u.ModbusID] = true
		}
		req := func(key string, v *float64, lo, hi float64) float64 {
			if v == nil {
				c.add(p+"."+key, "required")
				return 0
			}
			c.rangeCheck(p+"."+key, *v, lo, hi)
			return *v
		}
		u.RatedAirflow = req("rated_airflow", r.RatedAirflow, 0.1, 100)
		u.RatedFanKW = req("rated_fan_kw", r.RatedFanKW, 0.01, 500)
		u.CoilKW = req("coil_kw", r.CoilKW, 0.1, 5000)
		u.MinSpeed = c.opt(p+".min_speed", r.MinSpeed, 0.3, 0, 0.95)
		u.ChwC = c.opt(p+".chw_c", r.ChwC, 12, 0, 30)
		u.RatedReturnC = c.opt(p+".rated_return_c", r.RatedReturnC, 35, 10, 60)
		u.BMSTimeout = c.optS(p+".bms_timeout", r.BMSTimeout, 10, 0, 65535)
		u.FallbackFan = c.opt(p+".fallback_fan", r.FallbackFan, 1, 0, 1)
		u.LocalSupplySP = c.opt(p+".local_supply_sp", r.LocalSupplySP, 18, 5, 35)
		u.FanRamp = c.opt(p+".fan_ramp", r.FanRamp, 0.1, 0.001, 100)
		u.ValveRamp = c.opt(p+".valve_ramp", r.ValveRamp, 0.05, 0.001, 100)
		u.CoilTau = c.optS(p+".coil_tau", r.CoilTau, 20, 0.1, 600)
		u.Kp = c.opt(p+".kp", r.Kp, 0.1, 0.0001, 10)
		u.Ti = c.optS(p+".ti", r.Ti, 20, 1, 3600)
		if r.FallbackFan != nil && u.FallbackFan > 0 && u.FallbackFan < u.MinSpeed && u.MinSpeed <= 0.95 {
			c.add(p+".fallback_fan", "%g is below min_speed %g: the unit would move no air in fallback", u.FallbackFan, u.MinSpeed)
		}
		if r.RatedReturnC != nil && u.RatedReturnC <= u.ChwC+1 {
			c.add(p+".rated_return_c", "must be above chw_c %g", u.ChwC)
		}
		if u.RatedAirflow > 0 && u.CoilKW > 0 && u.RatedReturnC > u.ChwC {
			ca := rhoCp * u.RatedAirflow
			if eff := u.CoilKW / (ca * (u.RatedReturnC - u.ChwC)); eff > maxRatedEffectiveness {
				c.add(p+".coil_kw", "%g kW needs a coil effectiveness of %.2f at rated airflow %g m3/s (return %g C, water %g C); at most %.2f is possible",
					u.CoilKW, eff, u.RatedAirflow, u.RatedReturnC, u.ChwC, maxRatedEffectiveness)
			}
		}
		sc.Units = append(sc.Units, u)
	}
}

func (c *checker) zones(sc *Scenario, raw []rawZone) {
	if len(raw) == 0 {
		c.add("zones", "at least one [[zones]] is required")
	}
	names := map[string]bool{}
	served := map[string]bool{}
	for i, r := range raw {
		p := fmt.Sprintf("zones[%d]", i)
		c.name(p+".name", r.Name, names)
		if len(r.Units) == 0 {
			c.add(p+".units", "at least one serving unit is required")
		}
		us := map[string]bool{}
		for j, n := range r.Units {
			if sc.UnitIndex(n) < 0 {
				c.add(fmt.Sprintf("%s.units[%d]", p, j), "no unit named %q", n)
			}
			if us[n] {
				c.add(fmt.Sprintf("%s.units[%d]", p, j), "unit %q listed twice", n)
			}
			us[n] = true
			served[n] = true
		}
		sc.Zones = append(sc.Zones, Zone{Name: r.Name, Units: r.Units, Racks: r.Racks})
	}
	for i, u := range sc.Units {
		if !served[u.Name] && u.Name != "" {
			c.add(fmt.Sprintf("units[%d].name", i), "unit %q serves no zone (list it in a zone's units)", u.Name)
		}
	}
}

func (c *checker) racks(sc *Scenario, raw []rawRack) {
	if len(raw) == 0 {
		c.add("racks", "at least one [[racks]] is required")
	}
	names := map[string]bool{}
	for i, r := range raw {
		p := fmt.Sprintf("racks[%d]", i)
		c.name(p+".name", r.Name, names)
		rk := Rack{Name: r.Name, Zone: r.Zone, X: r.X, Y: r.Y}
		if sc.zoneIndex(r.Zone) < 0 {
			c.add(p+".zone", "no zone named %q", r.Zone)
		}
		if r.LoadKW == nil {
			c.add(p+".load_kw", "required")
		} else {
			rk.LoadKW = *r.LoadKW
			c.rangeCheck(p+".load_kw", rk.LoadKW, 0, 200)
		}
		if r.Airflow != nil {
			rk.Airflow = *r.Airflow
			c.rangeCheck(p+".airflow", rk.Airflow, 0.001, 20)
		} else {
			rk.Airflow = rk.LoadKW / (rhoCp * sc.DesignDeltaT)
			if r.LoadKW != nil && rk.LoadKW <= 0 {
				c.add(p+".airflow", "required when load_kw is 0 (it is derived from the load otherwise)")
			}
		}
		sc.Racks = append(sc.Racks, rk)
	}
	// A zone's racks list, when given, must agree with the racks' zone fields.
	for zi := range sc.Zones {
		z := &sc.Zones[zi]
		listed := z.Racks
		var actual []string
		for _, rk := range sc.Racks {
			if rk.Zone == z.Name {
				actual = append(actual, rk.Name)
			}
		}
		if listed != nil {
			set := map[string]bool{}
			for j, n := range listed {
				jp := fmt.Sprintf("zones[%d].racks[%d]", zi, j)
				k := sc.RackIndex(n)
				switch {
				case k < 0:
					c.add(jp, "no rack named %q", n)
				case sc.Racks[k].Zone != z.Name:
					c.add(jp, "rack %q says zone %q", n, sc.Racks[k].Zone)
				}
				set[n] = true
			}
			for _, n := range actual {
				if !set[n] {
					c.add(fmt.Sprintf("zones[%d].racks", zi), "rack %q (zone %q) is missing from this list", n, z.Name)
				}
			}
		}
		if len(actual) == 0 {
			c.add(fmt.Sprintf("zones[%d].name", zi), "zone %q has no racks", z.Name)
		}
		z.Racks = actual
	}
}

func (c *checker) sensors(sc *Scenario, raw []rawSensor) {
	ids := map[string]bool{}
	heights := map[string]map[int]bool{}
	for i, r := range raw {
		p := fmt.Sprintf("sensors[%d]", i)
		s := Sensor{ID: r.ID, Rack: r.Rack}
		if m := sensorIDRe.FindStringSubmatch(r.ID); m == nil {
			c.add(p+".id", "%q: want \"00-17-0d-00-00-xx-yy-zz/ch\" (8 lowercase hex bytes, channel 0..255)", r.ID)
		} else if ch := atoi(m[2]); ch > 255 {
			c.add(p+".id", "%q: channel %d above 255", r.ID, ch)
		}
		if ids[r.ID] {
			c.add(p+".id", "duplicate sensor %q", r.ID)
		}
		ids[r.ID] = true
		if sc.RackIndex(r.Rack) < 0 {
			c.add(p+".rack", "no rack named %q", r.Rack)
		}
		if r.Height == nil {
			c.add(p+".height", "required (1 bottom, 2 middle, 3 top)")
		} else {
			s.Height = *r.Height
			if s.Height < 1 || s.Height > 3 {
				c.add(p+".height", "must be 1 (bottom), 2 (middle) or 3 (top), got %d", s.Height)
			} else {
				if heights[r.Rack] == nil {
					heights[r.Rack] = map[int]bool{}
				}
				if heights[r.Rack][s.Height] {
					c.add(p+".height", "rack %q already has a sensor at height %d", r.Rack, s.Height)
				}
				heights[r.Rack][s.Height] = true
			}
		}
		sc.Sensors = append(sc.Sensors, s)
	}
	for i, rk := range sc.Racks {
		if len(heights[rk.Name]) == 0 && rk.Name != "" {
			c.add(fmt.Sprintf("racks[%d].name", i), "rack %q has no inlet sensor (one to three per rack)", rk.Name)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, ch := range s {
		n = n*10 + int(ch-'0')
	}
	return n
}

func (c *checker) influence(sc *Scenario) {
	if sc.Influence.Rule != "matrix" {
		if len(sc.Influence.Matrix) > 0 {
			c.add("influence.matrix", "given but rule is %q (set rule = \"matrix\")", sc.Influence.Rule)
		}
		return
	}
	keys := make([]string, 0, len(sc.Influence.Matrix))
	for k := range sc.Influence.Matrix {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if sc.RackIndex(k) < 0 {
			c.add("influence.matrix."+k, "no rack named %q", k)
		}
	}
	for _, rk := range sc.Racks {
		p := "influence.matrix." + rk.Name
		row, ok := sc.Influence.Matrix[rk.Name]
		if !ok {
			c.add("influence.matrix", "no row for rack %q", rk.Name)
			continue
		}
		if len(row) != len(sc.Units) {
			c.add(p, "want %d weights (one per unit, file order), got %d", len(sc.Units), len(row))
			continue
		}
		z := sc.zoneIndex(rk.Zone)
		sum := 0.0
		for u, w := range row {
			wp := fmt.Sprintf("%s[%d]", p, u)
			if !c.rangeCheck(wp, w, 0, 1000) {
				continue
			}
			if w > 0 && z >= 0 && !contains(sc.Zones[z].Units, sc.Units[u].Name) {
				c.add(wp, "unit %q does not serve zone %q", sc.Units[u].Name, rk.Zone)
				continue
			}
			sum += w
		}
		if sum <= 0 {
			c.add(p, "all weights are zero")
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// events checks the timeline; the times are checked against the scenario's end only when its
// duration is valid (else every event would repeat that one mistake).
func (c *checker) events(sc *Scenario, raw []rawEvent, durationOK bool) {
	var evs []Event
	for i, r := range raw {
		p := fmt.Sprintf("events[%d]", i)
		e := Event{Kind: EventKind(r.Kind), Note: r.Note}
		if r.At == nil {
			c.add(p+".at", "required")
		} else if at, ok := c.seconds(p+".at", r.At, 0, 7*86400); ok {
			e.At = at
			if durationOK && at > sc.Duration {
				c.add(p+".at", "%s is after the scenario's end (duration %s)", fmtSeconds(at), fmtSeconds(sc.Duration))
			}
		}
		allowed, ok := eventFields[e.Kind]
		if !ok {
			kinds := make([]string, 0, len(eventFields))
			for _, k := range EventKinds() {
				kinds = append(kinds, string(k))
			}
			c.add(p+".kind", "unknown kind %q (want one of %s)", r.Kind, strings.Join(kinds, ", "))
			continue
		}
		forbid := func(key string, present, ok bool) {
			if present && !ok {
				c.add(p+"."+key, "not used by kind %q", e.Kind)
			}
		}
		forbid("rack", r.Rack != nil, allowed.rack)
		forbid("zone", r.Zone != nil, allowed.zone)
		forbid("unit", r.Unit != nil, allowed.unit)
		forbid("sensor", r.Sensor != nil, allowed.sensor)
		forbid("kw", r.KW != nil, allowed.kw)
		forbid("factor", r.Factor != nil, allowed.factor)
		forbid("probability", r.Probability != nil, allowed.prob)
		forbid("delay", r.Delay != nil, allowed.delay)
		forbid("duration", r.Duration != nil, allowed.duration)
		forbid("value", r.Value != nil, allowed.value)
		str := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		e.Rack, e.Zone, e.Unit, e.Sensor = str(r.Rack), str(r.Zone), str(r.Unit), str(r.Sensor)
		if r.Duration != nil {
			e.Duration, _ = c.seconds(p+".duration", r.Duration, 0, 7*86400)
		}
		switch e.Kind {
		case EvITLoad:
			if r.Rack != nil && r.Zone != nil {
				c.add(p+".zone", "give rack or zone, not both")
			}
			if r.Rack != nil && e.Rack != "*" && sc.RackIndex(e.Rack) < 0 {
				c.add(p+".rack", "no rack named %q", e.Rack)
			}
			if e.Rack == "*" {
				e.Rack = ""
			}
			if r.Zone != nil && sc.zoneIndex(e.Zone) < 0 {
				c.add(p+".zone", "no zone named %q", e.Zone)
			}
			switch {
			case (r.KW == nil) == (r.Factor == nil):
				c.add(p, "it_load needs exactly one of kw or factor")
			case r.KW != nil:
				e.KW, e.HasKW = *r.KW, true
				c.rangeCheck(p+".kw", e.KW, 0, 200)
			default:
				e.Factor = *r.Factor
				c.rangeCheck(p+".factor", e.Factor, 0, 10)
			}
		case EvFanFault:
			e.Factor = 0.5
			if r.Factor != nil {
				e.Factor = *r.Factor
				c.rangeCheck(p+".factor", e.Factor, 0, 1)
			}
		case EvChwTemp:
			if r.Value == nil {
				c.add(p+".value", "required (chilled-water supply temperature, C)")
			} else {
				e.Value = *r.Value
				c.rangeCheck(p+".value", e.Value, 0, 30)
			}
		case EvMeshLoss, EvMeshDuplicates, EvMeshReorder:
			if r.Probability == nil {
				c.add(p+".probability", "required (0..1)")
			} else {
				e.Probability = *r.Probability
				c.rangeCheck(p+".probability", e.Probability, 0, 1)
			}
		case EvMeshDelay:
			if r.Delay == nil {
				c.add(p+".delay", "required (seconds)")
			} else {
				e.Delay, _ = c.seconds(p+".delay", r.Delay, 0, 3600)
			}
		}
		if allowed.unit && e.Kind != EvChwTemp && r.Unit == nil {
			c.add(p+".unit", "required for kind %q", e.Kind)
		}
		if r.Unit != nil && sc.UnitIndex(e.Unit) < 0 {
			c.add(p+".unit", "no unit named %q", e.Unit)
		}
		if allowed.sensor {
			if r.Sensor == nil {
				c.add(p+".sensor", "required for kind %q", e.Kind)
			} else if sc.SensorIndex(e.Sensor) < 0 {
				c.add(p+".sensor", "no sensor %q", e.Sensor)
			}
		}
		evs = append(evs, e)
	}
	sc.Events = expandDurations(evs)
}
