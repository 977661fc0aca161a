package site

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/BurntSushi/toml"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("site: invalid configuration")

// Duration is a time.Duration written in TOML as a Go duration string ("2s", "5m").
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("site: bad duration %q (want e.g. \"2s\", \"5m\")", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// D is shorthand for building a Duration in code.
func D(v time.Duration) Duration { return Duration{v} }

// Config is one site.
type Config struct {
	Site    string   `toml:"site"`    // name shown in the console prompt
	NodeID  int      `toml:"node_id"` // owner id this board writes into the units' command block, 1..65535
	Control Control  `toml:"control"`
	Mesh    Mesh     `toml:"mesh"`
	Lines   []Line   `toml:"line"`
	Units   []Unit   `toml:"unit"`
	Zones   []Zone   `toml:"zone"`
	Sensors []Sensor `toml:"sensor"`
	Board   Board    `toml:"board"`
	HTTP    HTTP     `toml:"http"`
	Alarms  Alarms   `toml:"alarms"`
	BMS     BMS      `toml:"bms"`
	Pair    Pair     `toml:"pair"`
	// Profiles holds custom register-map profiles as raw TOML text, parsed by drivers/ahu.
	Profiles string `toml:"profiles,omitempty"`
}

// Control holds the settings shared by every loop.
type Control struct {
	Period      Duration `toml:"period"`        // control period, default 2s
	SetpointC   float64  `toml:"setpoint_c"`    // default zone inlet setpoint, default 25
	AlarmC      float64  `toml:"alarm_c"`       // inlet alarm limit, default 27 (ASHRAE recommended max)
	MaxAge      Duration `toml:"max_age"`       // a reading older than this is stale, default 10m
	FrozenAfter Duration `toml:"frozen_after"`  // unchanged this long is frozen, default 30m
	ValidMinC   float64  `toml:"valid_min_c"`   // plausible inlet range, default 5..50
	ValidMaxC   float64  `toml:"valid_max_c"`   //
	LowBatteryV float64  `toml:"low_battery_v"` // a sensor node reporting less is flagged, default 2.7
	Checkpoint  Duration `toml:"checkpoint"`    // steady-state checkpoint interval, default 20s (flash wear: ~70 MB/day)
	// RestoreMaxAge: loop state checkpointed longer ago than this (or at an unknown age, when the
	// board's clock reads earlier than the checkpoint) is not restored at start; default 10m.
	RestoreMaxAge Duration `toml:"restore_max_age"`
	ManualDefault Duration `toml:"manual_default"` // how long an operator's manual mode lasts unless told, default 2h
	ManualMax     Duration `toml:"manual_max"`     // the longest manual mode an operator may ask for, default 8h
	FanTuning     Tuning   `toml:"fan_tuning"`     // default zone loop tuning
	ValveTuning   Tuning   `toml:"valve_tuning"`   // default supply-air loop tuning
	SupplySPC     float64  `toml:"supply_sp_c"`    // default supply air setpoint, default 18
	SafeFanPct    float64  `toml:"safe_fan_pct"`   // default fail-safe fan speed, default 100
	FanRatePct    float64  `toml:"fan_rate_pct_s"` // default fan rate limit in %/s, default 2
	ValveRatePct  float64  `toml:"valve_rate_pct_s"`
}

// Tuning is a PID tuning with where it came from.
type Tuning struct {
	Kp     float64 `toml:"kp"`
	Ti     float64 `toml:"ti_s"` // integral time, seconds (0 = no integral action)
	Td     float64 `toml:"td_s"` // derivative time, seconds
	Date   string  `toml:"date,omitempty"`
	Method string  `toml:"method,omitempty"` // "manual", "relay+simc", "relay+amigo"
	Data   string  `toml:"data,omitempty"`   // summary of the experiment the gains came from
}

// Mesh is the gateway link.
type Mesh struct {
	Port string `toml:"port"` // serial device of the mesh gateway
	Baud int    `toml:"baud"` // default 115200
}

// Line is one Modbus line: a serial bus or a TCP endpoint.
type Line struct {
	Name    string   `toml:"name"`
	Target  string   `toml:"target"`  // tcp://host:port or rtu:///dev/ttyX?baud=19200&parity=E&stop=1
	Timeout Duration `toml:"timeout"` // per-request timeout, default 500ms
}

// Unit is one air handler.
type Unit struct {
	Name            string   `toml:"name"`
	Line            string   `toml:"line"`
	UnitID          int      `toml:"unit_id"`
	Profile         string   `toml:"profile"` // crah-generic, vfd-fan or a custom profile name
	MinFanPct       float64  `toml:"min_fan_pct"`
	MaxFanPct       float64  `toml:"max_fan_pct"`
	SafeFanPct      float64  `toml:"safe_fan_pct"`
	FanRatePct      float64  `toml:"fan_rate_pct_s"`
	MinValvePct     float64  `toml:"min_valve_pct"`
	MaxValvePct     float64  `toml:"max_valve_pct"`
	ValveRatePct    float64  `toml:"valve_rate_pct_s"`
	SupplySPC       float64  `toml:"supply_sp_c"`
	BMSTimeout      Duration `toml:"bms_timeout"`
	FallbackFanPct  float64  `toml:"fallback_fan_pct"`
	Fencing         bool     `toml:"fencing"`
	FanTuning       *Tuning  `toml:"fan_tuning,omitempty"`
	ValveTuning     *Tuning  `toml:"valve_tuning,omitempty"`
	ManualFanPct    *float64 `toml:"manual_fan_pct,omitempty"` // set: the unit starts in manual at this fan speed
	DisableControls bool     `toml:"disabled,omitempty"`       // true: never written; left on its own control
}

// Zone is a group of inlets served by one or more units.
type Zone struct {
	Name      string             `toml:"name"`
	Sensors   []string           `toml:"sensors"`
	Units     []string           `toml:"units"`
	Influence map[string]float64 `toml:"influence,omitempty"` // unit name -> share of this zone's cold air, default equal
	SetpointC float64            `toml:"setpoint_c"`          // default Control.SetpointC
	MinValid  int                `toml:"min_valid"`           // valid sensors needed, default min(2, len(sensors))
	Aggregate string             `toml:"aggregate"`           // "max" (default) or "pNN", e.g. "p90"
}

// Sensor is optional metadata for a sensor id used by zones.
type Sensor struct {
	ID     string `toml:"id"` // 00-17-0d-00-00-38-0a-1f/2
	Rack   string `toml:"rack,omitempty"`
	Height string `toml:"height,omitempty"`
}

// Board is the appliance hardware profile; the keys are those of board.Profile.
type Board struct {
	Name            string   `toml:"name,omitempty"`
	LEDRole         string   `toml:"led_role,omitempty"` // GPIO pin names, empty = absent
	LEDHealth       string   `toml:"led_health,omitempty"`
	LEDField        string   `toml:"led_field,omitempty"`
	LEDActiveLow    bool     `toml:"led_active_low,omitempty"`
	Relay           string   `toml:"relay,omitempty"` // RS-485 bus-transfer relay, energised only while controlling
	RelayActiveLow  bool     `toml:"relay_active_low,omitempty"`
	RelayPulse      bool     `toml:"relay_pulse,omitempty"` // pulse the relay pin (20 Hz) while controlling: a dead process drops it
	Watchdog        string   `toml:"watchdog,omitempty"`    // device, e.g. /dev/watchdog; empty = none
	WatchdogTimeout Duration `toml:"watchdog_timeout"`      // default 15s; must exceed every unit's bms_timeout
	Strict          bool     `toml:"strict,omitempty"`      // a missing part is an error, not a warning
}

// HTTP is the read-only operations server: /metrics, the status page and /api/status.
type HTTP struct {
	Listen string `toml:"listen"` // "ADDR:PORT"; empty: off (the default on a board)
}

// Alarms says where alarms go besides the console, the log and the status page.
type Alarms struct {
	Syslog   string   `toml:"syslog"`     // "udp://HOST:PORT" of an RFC 5424 collector; empty: none
	MaxShelf Duration `toml:"max_shelve"` // the longest an operator may shelve an alarm, default 8h
}

// BMS is the read-only Modbus TCP server a building management system polls.
type BMS struct {
	Listen string `toml:"listen"`  // "ADDR:PORT"; empty: off
	UnitID int    `toml:"unit_id"` // the unit id it answers to, default 1
}

// Pair are the 2N pair's shared timings (which board is which lives in each board's identity
// file, never here). Validation keeps heartbeat < peer_timeout < takeover budget < every unit's
// BMS timeout < watchdog.
type Pair struct {
	Heartbeat       Duration `toml:"heartbeat"`        // default 100ms
	PeerTimeout     Duration `toml:"peer_timeout"`     // default 350ms
	WitnessInterval Duration `toml:"witness_interval"` // default 250ms
}

// Load reads, decodes, defaults and validates a site file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	return Parse(data, path)
}

// Encode writes the configuration as TOML.
func Encode(c *Config) ([]byte, error) {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		return nil, fmt.Errorf("site: encode: %w", err)
	}
	return b.Bytes(), nil
}

// Clone returns a deep copy (through TOML, so it is exactly what would be stored).
func (c *Config) Clone() (*Config, error) {
	data, err := Encode(c)
	if err != nil {
		return nil, err
	}
	var out Config
	if _, err := toml.Decode(string(data), &out); err != nil {
		return nil, fmt.Errorf("site: clone: %w", err)
	}
	return &out, nil
}

// ApplyDefaults fills every field left at zero with its documented default. It is for
// configurations built in code; a decoded file gets defaults only for the keys it leaves out, so an
// explicit zero there is kept and validated, never silently replaced.
func (c *Config) ApplyDefaults() { c.applyDefaults(func(string) bool { return false }) }

// applyDefaults fills the fields that are zero and not given (given reports whether a key such as
// "unit[2].min_fan_pct" was written in the file).
func (c *Config) applyDefaults(given func(path string) bool) {
	ct := &c.Control
	setD := func(path string, d *Duration, v time.Duration) {
		if d.Duration == 0 && !given(path) {
			d.Duration = v
		}
	}
	setF := func(path string, f *float64, v float64) {
		if *f == 0 && !given(path) {
			*f = v
		}
	}
	setD("control.period", &ct.Period, 2*time.Second)
	setF("control.setpoint_c", &ct.SetpointC, 25)
	setF("control.alarm_c", &ct.AlarmC, 27)
	setD("control.max_age", &ct.MaxAge, 10*time.Minute)
	setD("control.frozen_after", &ct.FrozenAfter, 30*time.Minute)
	setF("control.valid_min_c", &ct.ValidMinC, 5)
	setF("control.valid_max_c", &ct.ValidMaxC, 50)
	setF("control.low_battery_v", &ct.LowBatteryV, 2.7)
	setD("control.checkpoint", &ct.Checkpoint, 20*time.Second)
	setD("control.restore_max_age", &ct.RestoreMaxAge, 10*time.Minute)
	setD("control.manual_max", &ct.ManualMax, 8*time.Hour)
	setD("control.manual_default", &ct.ManualDefault, 2*time.Hour)
	setD("board.watchdog_timeout", &c.Board.WatchdogTimeout, 15*time.Second)
	setD("alarms.max_shelve", &c.Alarms.MaxShelf, 8*time.Hour)
	setD("pair.heartbeat", &c.Pair.Heartbeat, 100*time.Millisecond)
	setD("pair.peer_timeout", &c.Pair.PeerTimeout, 350*time.Millisecond)
	setD("pair.witness_interval", &c.Pair.WitnessInterval, 250*time.Millisecond)
	if c.BMS.UnitID == 0 && !given("bms.unit_id") {
		c.BMS.UnitID = 1
	}
	setF("control.supply_sp_c", &ct.SupplySPC, 18)
	setF("control.safe_fan_pct", &ct.SafeFanPct, 100)
	setF("control.fan_rate_pct_s", &ct.FanRatePct, 2)
	setF("control.valve_rate_pct_s", &ct.ValveRatePct, 5)
	if ct.FanTuning.Kp == 0 && ct.FanTuning.Ti == 0 && !given("control.fan_tuning") {
		ct.FanTuning = Tuning{Kp: 8, Ti: 120, Method: "default"}
	}
	if ct.ValveTuning.Kp == 0 && ct.ValveTuning.Ti == 0 && !given("control.valve_tuning") {
		ct.ValveTuning = Tuning{Kp: 6, Ti: 60, Method: "default"}
	}
	if c.Mesh.Baud == 0 && !given("mesh.baud") {
		c.Mesh.Baud = 115200
	}
	if c.NodeID == 0 && !given("node_id") {
		c.NodeID = 1
	}
	for i := range c.Lines {
		// 500 ms, or less where a short period's I/O phase could not hold it.
		setD(fmt.Sprintf("line[%d].timeout", i), &c.Lines[i].Timeout, min(500*time.Millisecond, ct.PhaseBudget()))
	}
	for i := range c.Units {
		u := &c.Units[i]
		f := func(k string) string { return fmt.Sprintf("unit[%d].%s", i, k) }
		if u.Profile == "" && !given(f("profile")) {
			u.Profile = "crah-generic"
		}
		setF(f("min_fan_pct"), &u.MinFanPct, 30)
		setF(f("max_fan_pct"), &u.MaxFanPct, 100)
		setF(f("safe_fan_pct"), &u.SafeFanPct, ct.SafeFanPct)
		setF(f("fan_rate_pct_s"), &u.FanRatePct, ct.FanRatePct)
		setF(f("max_valve_pct"), &u.MaxValvePct, 100)
		setF(f("valve_rate_pct_s"), &u.ValveRatePct, ct.ValveRatePct)
		setF(f("supply_sp_c"), &u.SupplySPC, ct.SupplySPC)
		setD(f("bms_timeout"), &u.BMSTimeout, 10*time.Second)
		setF(f("fallback_fan_pct"), &u.FallbackFanPct, 100)
	}
	for i := range c.Zones {
		z := &c.Zones[i]
		f := func(k string) string { return fmt.Sprintf("zone[%d].%s", i, k) }
		setF(f("setpoint_c"), &z.SetpointC, ct.SetpointC)
		if z.MinValid == 0 && !given(f("min_valid")) {
			z.MinValid = min(2, len(z.Sensors))
		}
		if z.Aggregate == "" && !given(f("aggregate")) {
			z.Aggregate = "max"
		}
	}
}

// Validate checks the whole configuration; every problem is reported.
func (c *Config) Validate() error { return c.check("site", nil) }

// Unit returns the unit called name, or nil.
func (c *Config) Unit(name string) *Unit {
	return byName(c.Units, name, func(u *Unit) string { return u.Name })
}

// UnitIndex returns the index of the unit called name, or -1.
func (c *Config) UnitIndex(name string) int {
	return slices.IndexFunc(c.Units, func(u Unit) bool { return u.Name == name })
}

// Line returns the line called name, or nil.
func (c *Config) Line(name string) *Line {
	return byName(c.Lines, name, func(l *Line) string { return l.Name })
}

// Zone returns the zone called name, or nil.
func (c *Config) Zone(name string) *Zone {
	return byName(c.Zones, name, func(z *Zone) string { return z.Name })
}

// byName returns the element of s whose name is name (the first), or nil.
func byName[T any](s []T, name string, nameOf func(*T) string) *T {
	for i := range s {
		if nameOf(&s[i]) == name {
			return &s[i]
		}
	}
	return nil
}

// ZonesOf returns the indexes of the zones that unit name serves.
func (c *Config) ZonesOf(name string) []int {
	var out []int
	for i, z := range c.Zones {
		for _, u := range z.Units {
			if u == name {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// InfluenceOf returns the share of zone z's cold air that comes from unit name (0 if it does not serve it).
func (z *Zone) InfluenceOf(name string) float64 {
	if len(z.Influence) > 0 {
		return z.Influence[name]
	}
	for _, u := range z.Units {
		if u == name {
			return 1 / float64(len(z.Units))
		}
	}
	return 0
}
