package site

import (
	"reflect"
)

// fieldHelp holds the one-line help of every field, keyed by Go type name and toml tag.
// TestEveryFieldHasHelp keeps it complete.
var fieldHelp = map[string]string{
	"Config.site":     "site name, shown in the console prompt",
	"Config.node_id":  "owner id this board writes into the units, 1..65535",
	"Config.control":  "settings shared by every loop",
	"Config.mesh":     "the mesh gateway link",
	"Config.line":     "a Modbus line (serial bus or TCP endpoint), by name",
	"Config.unit":     "an air handler, by name",
	"Config.zone":     "a group of rack inlets and the units serving them, by name",
	"Config.sensor":   "metadata of one sensor, by id",
	"Config.board":    "the appliance hardware",
	"Config.profiles": "custom register-map profiles (raw TOML)",

	"Control.period":           "control period (duration, 100ms..1m)",
	"Control.setpoint_c":       "default zone inlet setpoint, C (15..32)",
	"Control.alarm_c":          "inlet alarm limit, C (setpoint..45)",
	"Control.max_age":          "a reading older than this is stale (duration)",
	"Control.frozen_after":     "a reading unchanged this long is frozen (duration)",
	"Control.valid_min_c":      "lowest plausible inlet reading, C",
	"Control.valid_max_c":      "highest plausible inlet reading, C",
	"Control.low_battery_v":    "a sensor node reporting a lower battery voltage is flagged in show status, V",
	"HTTP.listen":              "ADDR:PORT of the read-only operations server (/metrics, status page); empty: off",
	"Alarms.syslog":            "udp://HOST:PORT of an RFC 5424 syslog collector for alarms; empty: none",
	"Alarms.max_shelve":        "the longest an operator may shelve an alarm (duration, 1m..168h)",
	"BMS.listen":               "ADDR:PORT of the read-only Modbus TCP server for the BMS; empty: off",
	"BMS.unit_id":              "Modbus unit id the BMS server answers to, 1..247",
	"Config.http":              "the read-only operations server",
	"Config.pair":              "the 2N pair's shared timings",
	"Pair.heartbeat":           "how often the two boards hear each other (duration)",
	"Pair.peer_timeout":        "silence on every path this long: the peer may be gone (duration)",
	"Pair.witness_interval":    "how often the active rewrites every unit's owner block (duration)",
	"Config.alarms":            "where alarms go",
	"Config.bms":               "the BMS northbound Modbus server",
	"Control.checkpoint":       "state checkpoint interval (duration, >= 1s)",
	"Control.restore_max_age":  "loop state older than this is not restored at start (duration, 0s..24h)",
	"Control.manual_default":   "how long an operator's manual mode lasts unless told (duration)",
	"Control.manual_max":       "the longest manual mode an operator may ask for (duration)",
	"Control.watchdog":         "hardware watchdog timeout (duration, > bms_timeout)",
	"Control.fan_tuning":       "default zone (fan) loop tuning",
	"Control.valve_tuning":     "default supply-air (valve) loop tuning",
	"Control.supply_sp_c":      "default supply air setpoint, C (10..30)",
	"Control.safe_fan_pct":     "default fail-safe fan speed, %",
	"Control.fan_rate_pct_s":   "default fan rate limit, %/s",
	"Control.valve_rate_pct_s": "default valve rate limit, %/s",

	"Tuning.kp":     "proportional gain, (0..1000]",
	"Tuning.ti_s":   "integral time, s (0 = no integral action)",
	"Tuning.td_s":   "derivative time, s",
	"Tuning.date":   "when the gains were found",
	"Tuning.method": "where the gains came from: manual, relay+simc, relay+amigo",
	"Tuning.data":   "summary of the experiment the gains came from",

	"Mesh.port": "serial device of the mesh gateway",
	"Mesh.baud": "baud rate of the gateway link",

	"Line.name":    "line name (units refer to it)",
	"Line.target":  "tcp://host:port or rtu:///dev/ttyX?baud=19200&parity=E",
	"Line.timeout": "per-request timeout (duration, 10ms..10s, within two fifths of control.period)",

	"Unit.name":             "unit name",
	"Unit.line":             "the Modbus line the unit is on",
	"Unit.unit_id":          "Modbus unit id, 1..247",
	"Unit.profile":          "register-map profile: crah-generic, vfd-fan or custom",
	"Unit.min_fan_pct":      "fan speed floor, % (never commanded below it)",
	"Unit.max_fan_pct":      "fan speed ceiling, %",
	"Unit.safe_fan_pct":     "fail-safe fan speed, % (>= min_fan_pct)",
	"Unit.fan_rate_pct_s":   "fan rate limit, %/s",
	"Unit.min_valve_pct":    "valve floor, %",
	"Unit.max_valve_pct":    "valve ceiling, %",
	"Unit.valve_rate_pct_s": "valve rate limit, %/s",
	"Unit.supply_sp_c":      "supply air setpoint, C (10..30)",
	"Unit.bms_timeout":      "silence after which the unit runs on its own (duration)",
	"Unit.fallback_fan_pct": "fan speed of the unit's own fallback, %",
	"Unit.fencing":          "the unit rejects writes from stale controllers",
	"Unit.fan_tuning":       "this unit's fan loop tuning (default control.fan_tuning)",
	"Unit.valve_tuning":     "this unit's valve loop tuning (default control's)",
	"Unit.manual_fan_pct":   "start in manual at this fan speed, % (delete: auto)",
	"Unit.disabled":         "never written: the unit stays on its own control",

	"Zone.name":       "zone name",
	"Zone.sensors":    "inlet sensors of the zone (add ID, remove ID)",
	"Zone.units":      "units that cool the zone (add UNIT, remove UNIT)",
	"Zone.influence":  "share of the zone's cold air per unit (UNIT 0..1)",
	"Zone.setpoint_c": "zone inlet setpoint, C (15..32)",
	"Zone.min_valid":  "valid sensors needed, else the zone goes fail-safe",
	"Zone.aggregate":  "how the inlets combine: max or pNN (p50..p100)",

	"Sensor.id":     "sensor id like 00-17-0d-00-00-38-0a-1f/2",
	"Sensor.rack":   "rack of the sensor",
	"Sensor.height": "height in the rack",

	"Board.name":             "board profile name",
	"Board.led_role":         "GPIO pin of the role LED (empty: none)",
	"Board.led_health":       "GPIO pin of the health LED (empty: none)",
	"Board.led_field":        "GPIO pin of the field-link LED (empty: none)",
	"Board.led_active_low":   "true if the LEDs light on a low level",
	"Board.relay":            "GPIO pin of the RS-485 bus-transfer relay (empty: none)",
	"Board.relay_active_low": "true if the relay is energised on a low level",
	"Board.relay_pulse":      "toggle the relay pin at 20 Hz while controlling, for a coil behind a retriggerable timer: a killed process drops the relay",
	"Board.watchdog":         "watchdog device, e.g. /dev/watchdog (empty: none)",
	"Board.watchdog_timeout": "watchdog timeout; longer than every bms_timeout",
	"Board.strict":           "true: a missing LED, relay or watchdog is an error",
}

// createBy names, per list, the fields whose `set` may create a missing element, so that a typo in
// the name of an existing element ("set unit crah-9 min_fan_pct 35") is an error, not a new unit.
// A list that is not here creates on any field.
var createBy = map[string]struct {
	fields []string
	hint   string
}{
	"unit": {[]string{"line"}, "set unit %s line LINE"},
	"line": {[]string{"target"}, "set line %s target URL"},
	"zone": {[]string{"units", "sensors"}, "set zone %s units add UNIT"},
}

// ptrDefaults builds the value a nil pointer field starts from when one of its fields is set.
var ptrDefaults = map[string]func(c *Config) reflect.Value{
	"unit.fan_tuning": func(c *Config) reflect.Value {
		t := c.Control.FanTuning
		t.Method, t.Date, t.Data = "manual", "", ""
		return reflect.ValueOf(&t)
	},
	"unit.valve_tuning": func(c *Config) reflect.Value {
		t := c.Control.ValveTuning
		t.Method, t.Date, t.Data = "manual", "", ""
		return reflect.ValueOf(&t)
	},
}
