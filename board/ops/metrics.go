package ops

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric conventions: prefix coldaisle_, base units (seconds, bytes, volts, watts, °C as
// _celsius), every fraction as a _ratio 0..1 (the View's percentages divided by 100), counters end
// in _total. A value the View does not know (NaN) is left out rather than exposed as NaN, so an
// absent series means "unknown" and the state series say why.

// unitModes are the modes exposed enum-style: one series per mode, 1 for the current one, so a
// query can select on the mode without the series coming and going.
var unitModes = []string{"auto", "manual", "fail-safe", "tracking", "autotune", "disabled"}

// severities are the alarm severities always exposed (0 when none is active).
var severities = []string{"critical", "major", "minor", "warning"}

const ns = "coldaisle"

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(ns+"_"+name, help, labels, nil)
}

// collector builds every metric from the latest View at scrape time: the control loop pays
// nothing per period, a scrape pays for the View it reads.
type collector struct {
	p   *Publisher
	now func() time.Time

	buildInfo, controllerInfo, state, epoch, configVersion, startTime, viewTime *prometheus.Desc

	periodLength, periodLast, periods, overruns *prometheus.Desc

	sensorTemp, sensorAge, sensorState, sensorBattery *prometheus.Desc

	zoneTemp, zoneSetpoint, zoneHottest, zoneHottestSensor, zoneDemand, zoneValid, zoneTotal, zoneOK, zoneAlarm *prometheus.Desc

	unitInfo, unitFanCmd, unitFanFb, unitValveCmd, unitValveFb, unitSupply, unitReturn, unitPower, unitMode, unitAlarm, unitTripped, unitIsolated *prometheus.Desc

	lineRequests, lineFailures *prometheus.Desc

	mesh *prometheus.Desc

	dbCommits, dbBytes, dbFailures *prometheus.Desc

	alarms, alarmsUnacked *prometheus.Desc

	pairRole, pairPeerAge, pairLease, pairLink *prometheus.Desc
}

func newCollector(p *Publisher, now func() time.Time) *collector {
	return &collector{
		p: p, now: now,

		buildInfo:      desc("build_info", "The software version running; always 1.", "version"),
		controllerInfo: desc("controller_info", "The site and this controller's role; always 1.", "site", "role"),
		state:          desc("controller_state", "The controller's state; 1 for the current one.", "state"),
		epoch:          desc("controller_epoch", "The failover epoch written to the units."),
		configVersion:  desc("config_version", "The configuration version in force."),
		startTime:      desc("start_time_seconds", "When the controller started, in seconds since the Unix epoch."),
		viewTime:       desc("view_timestamp_seconds", "When the latest published view was built, in seconds since the Unix epoch; a stuck control loop stops it moving."),

		periodLength: desc("control_period_seconds", "The configured control period."),
		periodLast:   desc("control_period_last_duration_seconds", "How long the last control period took (read, tick, write)."),
		periods:      desc("control_periods_total", "Control periods completed since start."),
		overruns:     desc("control_period_overruns_total", "Control periods that took longer than the configured period."),

		sensorTemp:    desc("sensor_temperature_celsius", "A rack-inlet sensor's latest value; absent when missing or faulty.", "sensor", "zone", "rack"),
		sensorAge:     desc("sensor_age_seconds", "Time since a sensor's latest value arrived; absent when never heard.", "sensor", "zone"),
		sensorState:   desc("sensor_state", "A sensor's state (ok, stale, frozen, fault, implausible, missing); 1 for the current one.", "sensor", "zone", "state"),
		sensorBattery: desc("sensor_battery_volts", "A sensor's battery voltage; absent when unknown.", "sensor", "zone"),

		zoneTemp:          desc("zone_temperature_celsius", "The zone loop's measurement; absent when too few sensors are valid.", "zone"),
		zoneSetpoint:      desc("zone_setpoint_celsius", "The zone's inlet setpoint.", "zone"),
		zoneHottest:       desc("zone_hottest_inlet_celsius", "The hottest counted inlet in the zone; absent when none.", "zone"),
		zoneHottestSensor: desc("zone_hottest_sensor_info", "Which sensor is the zone's hottest counted inlet; always 1.", "zone", "sensor"),
		zoneDemand:        desc("zone_demand_ratio", "The zone loop's output: its weighted airflow demand, 0..1.", "zone"),
		zoneValid:         desc("zone_sensors_valid", "Sensors in the zone with a valid value.", "zone"),
		zoneTotal:         desc("zone_sensors_configured", "Sensors configured in the zone.", "zone"),
		zoneOK:            desc("zone_loop_ok", "1 when the zone has enough valid sensors for its loop.", "zone"),
		zoneAlarm:         desc("zone_alarm", "1 when the zone is in alarm.", "zone"),

		unitInfo:     desc("unit_info", "An air handler's line, Modbus unit id and profile; always 1.", "unit", "line", "unit_id", "profile"),
		unitFanCmd:   desc("unit_fan_command_ratio", "The last fan speed command, 0..1.", "unit"),
		unitFanFb:    desc("unit_fan_feedback_ratio", "The fan speed read back, 0..1; absent when unknown.", "unit"),
		unitValveCmd: desc("unit_valve_command_ratio", "The last chilled-water valve command, 0..1; absent for a unit without a valve.", "unit"),
		unitValveFb:  desc("unit_valve_feedback_ratio", "The valve position read back, 0..1; absent when unknown or no valve.", "unit"),
		unitSupply:   desc("unit_supply_temperature_celsius", "The unit's supply air temperature; absent when unknown.", "unit"),
		unitReturn:   desc("unit_return_temperature_celsius", "The unit's return air temperature; absent when unknown.", "unit"),
		unitPower:    desc("unit_fan_power_watts", "The fan's electrical power as the unit reports it; absent when it does not.", "unit"),
		unitMode:     desc("unit_mode", "The unit's control mode; 1 for the current one.", "unit", "mode"),
		unitAlarm:    desc("unit_alarm", "1 when the unit is in alarm.", "unit"),
		unitTripped:  desc("unit_tripped", "1 when the unit reports a trip.", "unit"),
		unitIsolated: desc("unit_isolated", "1 when the unit gives no read-back.", "unit"),

		lineRequests: desc("modbus_requests_total", "Modbus transactions on a line, failed ones included.", "line"),
		lineFailures: desc("modbus_request_failures_total", "Failed Modbus transactions on a line, by kind (error: an exception or malformed answer; timeout).", "line", "kind"),

		mesh: desc("mesh_session_events_total", "Mesh gateway session counters, by counter.", "counter"),

		dbCommits:  desc("db_commits_total", "Database commits since start."),
		dbBytes:    desc("db_written_bytes_total", "Bytes the database wrote since start."),
		dbFailures: desc("db_write_failures_total", "Failed database writes since start."),

		alarms:        desc("alarms_active", "Active alarms, by severity.", "severity"),
		pairRole:      desc("pair_role", "This board's role in its 2N pair; 1 for the current one (absent for a board alone).", "role"),
		pairPeerAge:   desc("pair_peer_heard_age_seconds", "Time since the peer's last heartbeat (absent before the first)."),
		pairLease:     desc("pair_lease_remaining_seconds", "What is left of this board's write lease (0 when it may not write)."),
		pairLink:      desc("pair_link_messages_total", "Peer-link messages by outcome: sent, received, and dropped by reason.", "counter"),
		alarmsUnacked: desc("alarms_unacknowledged", "Active alarms not acknowledged, by severity.", "severity"),
	}
}

// Describe sends every descriptor (the collector is a checked one).
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.buildInfo, c.controllerInfo, c.state, c.epoch, c.configVersion, c.startTime, c.viewTime,
		c.periodLength, c.periodLast, c.periods, c.overruns,
		c.sensorTemp, c.sensorAge, c.sensorState, c.sensorBattery,
		c.zoneTemp, c.zoneSetpoint, c.zoneHottest, c.zoneHottestSensor, c.zoneDemand, c.zoneValid, c.zoneTotal, c.zoneOK, c.zoneAlarm,
		c.unitInfo, c.unitFanCmd, c.unitFanFb, c.unitValveCmd, c.unitValveFb, c.unitSupply, c.unitReturn, c.unitPower, c.unitMode, c.unitAlarm, c.unitTripped, c.unitIsolated,
		c.lineRequests, c.lineFailures, c.mesh, c.dbCommits, c.dbBytes, c.dbFailures, c.alarms, c.alarmsUnacked,
		c.pairRole, c.pairPeerAge, c.pairLease, c.pairLink,
	} {
		ch <- d
	}
}

// Collect reads the latest View once; before the first one there is nothing to say.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	v := c.p.Latest()
	if v == nil {
		return
	}
	g := func(d *prometheus.Desc, f float64, lv ...string) {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, f, lv...)
	}
	cnt := func(d *prometheus.Desc, n uint64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(n), lv...)
	}
	b := func(d *prometheus.Desc, on bool, lv ...string) {
		f := 0.0
		if on {
			f = 1
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, f, lv...)
	}

	g(c.buildInfo, 1, label(v.Software))
	g(c.controllerInfo, 1, label(v.Site), label(v.Role))
	g(c.state, 1, label(v.State))
	g(c.epoch, float64(v.Epoch))
	g(c.configVersion, float64(v.ConfigVersion))
	if !v.Time.IsZero() {
		g(c.viewTime, unixSeconds(v.Time))
		if v.Uptime > 0 {
			g(c.startTime, unixSeconds(v.Time.Add(-v.Uptime)))
		}
	}

	if p := v.Pair; p != nil {
		for _, r := range []string{"waiting", "standby", "active"} {
			b(c.pairRole, p.Role == r, r)
		}
		if p.PeerHeard {
			g(c.pairPeerAge, p.PeerAgo.Seconds())
		}
		g(c.pairLease, p.Lease.Seconds())
		for k, n := range p.Drops {
			cnt(c.pairLink, n, label(k))
		}
	}

	g(c.periodLength, v.Period.Length.Seconds())
	g(c.periodLast, v.Period.Last.Seconds())
	cnt(c.periods, v.Period.Count)
	cnt(c.overruns, v.Period.Overruns)

	for i := range v.Sensors {
		s := &v.Sensors[i]
		id, zone := label(s.ID), label(s.Zone)
		g(c.sensorTemp, s.ValueC, id, zone, label(s.Rack))
		if s.Age >= 0 {
			g(c.sensorAge, s.Age.Seconds(), id, zone)
		}
		g(c.sensorState, 1, id, zone, label(s.State))
		g(c.sensorBattery, s.BatteryV, id, zone)
	}

	for i := range v.Zones {
		z := &v.Zones[i]
		n := label(z.Name)
		g(c.zoneTemp, z.MeasureC, n)
		g(c.zoneSetpoint, z.SetpointC, n)
		g(c.zoneHottest, z.HottestC, n)
		if z.HottestID != "" && !math.IsNaN(z.HottestC) {
			g(c.zoneHottestSensor, 1, n, label(z.HottestID))
		}
		g(c.zoneDemand, z.DemandPct/100, n)
		g(c.zoneValid, float64(z.Valid), n)
		g(c.zoneTotal, float64(z.Total), n)
		b(c.zoneOK, z.OK, n)
		b(c.zoneAlarm, z.Alarm, n)
	}

	for i := range v.Units {
		u := &v.Units[i]
		n := label(u.Name)
		g(c.unitInfo, 1, n, label(u.Line), strconv.Itoa(u.UnitID), label(u.Profile))
		g(c.unitFanCmd, u.FanCmdPct/100, n)
		g(c.unitFanFb, u.FanFbPct/100, n)
		g(c.unitValveCmd, u.ValveCmdPct/100, n)
		g(c.unitValveFb, u.ValveFbPct/100, n)
		g(c.unitSupply, u.SupplyC, n)
		g(c.unitReturn, u.ReturnC, n)
		g(c.unitPower, u.FanKW*1000, n)
		known := false
		for _, m := range unitModes {
			b(c.unitMode, u.Mode == m, n, m)
			known = known || u.Mode == m
		}
		if !known && u.Mode != "" { // a mode added later still shows rather than vanishing
			g(c.unitMode, 1, n, label(u.Mode))
		}
		b(c.unitAlarm, u.Alarm, n)
		b(c.unitTripped, u.Tripped, n)
		b(c.unitIsolated, u.Isolated, n)
	}

	for i := range v.Lines {
		l := &v.Lines[i]
		n := label(l.Name)
		cnt(c.lineRequests, l.Requests, n)
		// Failures by kind; a View that only knows the total (older builders) says "error".
		if kinds := l.Exceptions + l.CRCErrors + l.ProtocolErrors + l.ConnectErrors; kinds == 0 && l.Errors > 0 {
			cnt(c.lineFailures, l.Errors, n, "error")
		} else {
			cnt(c.lineFailures, l.Exceptions, n, "exception")
			cnt(c.lineFailures, l.CRCErrors, n, "crc")
			cnt(c.lineFailures, l.ProtocolErrors, n, "protocol")
			cnt(c.lineFailures, l.ConnectErrors, n, "connect")
		}
		cnt(c.lineFailures, l.Timeouts, n, "timeout")
	}

	// Mesh counter names come from the session code; sanitized they might collide, so sum them
	// rather than expose a duplicate series (which would fail the whole scrape).
	if len(v.Mesh) > 0 {
		mesh := make(map[string]uint64, len(v.Mesh))
		for k, n := range v.Mesh {
			mesh[meshLabel(k)] += n
		}
		for k, n := range mesh {
			cnt(c.mesh, n, k)
		}
	}

	cnt(c.dbCommits, v.DB.Commits)
	cnt(c.dbBytes, v.DB.BytesWritten)
	cnt(c.dbFailures, v.DB.Failures)

	active := make(map[string]int, len(severities))
	unacked := make(map[string]int, len(severities))
	for _, s := range severities {
		active[s], unacked[s] = 0, 0
	}
	for i := range v.Alarms {
		s := label(v.Alarms[i].Severity)
		active[s]++
		if v.Alarms[i].AckedBy == "" {
			unacked[s]++
		}
	}
	for s, n := range active {
		g(c.alarms, float64(n), s)
		g(c.alarmsUnacked, float64(unacked[s]), s)
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// maxLabel bounds a label value: names are validated upstream, this only keeps a bad one from
// bloating every scrape.
const maxLabel = 128

// label makes s a safe label value: valid UTF-8 (client_golang refuses anything else and would
// fail the scrape), bounded in length. Escaping is client_golang's.
func label(s string) string {
	if len(s) <= maxLabel && utf8.ValidString(s) {
		return s
	}
	return clip(strings.ToValidUTF8(s, "\uFFFD"), maxLabel)
}

// meshLabel keeps a mesh counter name to [a-z0-9_.-] (others become _) and bounded length, so a
// counter name from the wire can never carry anything odd into a label.
func meshLabel(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i >= 64 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
