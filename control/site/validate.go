package site

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var sensorIDRe = regexp.MustCompile(`^[0-9a-f]{2}(-[0-9a-f]{2}){7}/[0-9]{1,3}$`)

// ValidProfiles lists the built-in register-map profiles. Custom profiles are checked by drivers/ahu
// when the configuration is applied; here a name must be either built in or declared in Profiles.
var ValidProfiles = []string{"crah-generic", "vfd-fan"}

type checker struct {
	file string
	errs []error
}

func (k *checker) add(field, format string, args ...any) {
	k.errs = append(k.errs, fmt.Errorf("%w: %s: %s: %s", ErrInvalid, k.file, field, fmt.Sprintf(format, args...)))
}

func (k *checker) rangeF(field string, v, lo, hi float64) {
	if v < lo || v > hi {
		k.add(field, "%g is outside %g..%g", v, lo, hi)
	}
}

func (k *checker) name(field, v string) {
	if v == "" {
		k.add(field, "must not be empty")
		return
	}
	if strings.ContainsAny(v, " \t\"'") {
		k.add(field, "%q must not contain spaces or quotes", v)
	}
}

func (k *checker) tuning(field string, t Tuning) {
	if t.Kp <= 0 || t.Kp > 1000 {
		k.add(field+".kp", "%g is outside (0, 1000]", t.Kp)
	}
	if t.Ti < 0 || t.Ti > 36000 {
		k.add(field+".ti_s", "%g is outside 0..36000", t.Ti)
	}
	if t.Td < 0 || t.Td > 3600 {
		k.add(field+".td_s", "%g is outside 0..3600", t.Td)
	}
}

func (c *Config) validate(file string) error {
	k := &checker{file: file}
	if c.NodeID < 1 || c.NodeID > 65535 {
		k.add("node_id", "%d is outside 1..65535", c.NodeID)
	}
	ct := c.Control
	if ct.Period.Duration < 100*time.Millisecond || ct.Period.Duration > time.Minute {
		k.add("control.period", "%v is outside 100ms..1m", ct.Period.Duration)
	}
	k.rangeF("control.setpoint_c", ct.SetpointC, 15, 32)
	k.rangeF("control.alarm_c", ct.AlarmC, ct.SetpointC, 45)
	k.rangeF("control.supply_sp_c", ct.SupplySPC, 10, 30)
	k.rangeF("control.safe_fan_pct", ct.SafeFanPct, 0, 100)
	k.rangeF("control.fan_rate_pct_s", ct.FanRatePct, 0.01, 100)
	k.rangeF("control.valve_rate_pct_s", ct.ValveRatePct, 0.01, 100)
	k.rangeF("control.low_battery_v", ct.LowBatteryV, 1, 5)
	if ct.ValidMinC >= ct.ValidMaxC {
		k.add("control.valid_min_c", "%g must be below valid_max_c %g", ct.ValidMinC, ct.ValidMaxC)
	}
	if ct.MaxAge.Duration < 10*time.Second {
		k.add("control.max_age", "%v is below 10s", ct.MaxAge.Duration)
	}
	if ct.FrozenAfter.Duration <= ct.MaxAge.Duration {
		k.add("control.frozen_after", "%v must be longer than max_age %v", ct.FrozenAfter.Duration, ct.MaxAge.Duration)
	}
	if ct.Checkpoint.Duration < time.Second {
		k.add("control.checkpoint", "%v is below 1s (flash wear)", ct.Checkpoint.Duration)
	}
	k.tuning("control.fan_tuning", ct.FanTuning)
	k.tuning("control.valve_tuning", ct.ValveTuning)
	if c.Mesh.Baud < 1200 || c.Mesh.Baud > 4000000 {
		k.add("mesh.baud", "%d is outside 1200..4000000", c.Mesh.Baud)
	}

	lines := map[string]bool{}
	for i, l := range c.Lines {
		f := fmt.Sprintf("line[%d]", i)
		k.name(f+".name", l.Name)
		if lines[l.Name] {
			k.add(f+".name", "%q is used twice", l.Name)
		}
		lines[l.Name] = true
		if err := checkTarget(l.Target); err != nil {
			k.add(f+".target", "%v", err)
		}
		if l.Timeout.Duration < 10*time.Millisecond || l.Timeout.Duration > 10*time.Second {
			k.add(f+".timeout", "%v is outside 10ms..10s", l.Timeout.Duration)
		}
	}
	profiles := map[string]bool{}
	for _, p := range ValidProfiles {
		profiles[p] = true
	}
	for _, n := range customProfileNames(c.Profiles) {
		profiles[n] = true
	}
	units := map[string]bool{}
	addrs := map[string]string{}
	for i, u := range c.Units {
		f := fmt.Sprintf("unit[%d]", i)
		if u.Name != "" {
			f = fmt.Sprintf("unit[%d](%s)", i, u.Name)
		}
		k.name(f+".name", u.Name)
		if units[u.Name] {
			k.add(f+".name", "%q is used twice", u.Name)
		}
		units[u.Name] = true
		if !lines[u.Line] {
			k.add(f+".line", "%q is not a declared line", u.Line)
		}
		if u.UnitID < 1 || u.UnitID > 247 {
			k.add(f+".unit_id", "%d is outside 1..247", u.UnitID)
		}
		key := fmt.Sprintf("%s/%d", u.Line, u.UnitID)
		if other, ok := addrs[key]; ok {
			k.add(f+".unit_id", "%d on line %q is already used by unit %q", u.UnitID, u.Line, other)
		}
		addrs[key] = u.Name
		if !profiles[u.Profile] {
			k.add(f+".profile", "%q is not a known profile (built in: %s)", u.Profile, strings.Join(ValidProfiles, ", "))
		}
		k.rangeF(f+".min_fan_pct", u.MinFanPct, 0, 100)
		k.rangeF(f+".max_fan_pct", u.MaxFanPct, u.MinFanPct, 100)
		// Fail safe is more air: the safe speed may not sit below the minimum.
		k.rangeF(f+".safe_fan_pct", u.SafeFanPct, u.MinFanPct, 100)
		k.rangeF(f+".fallback_fan_pct", u.FallbackFanPct, u.MinFanPct, 100)
		k.rangeF(f+".fan_rate_pct_s", u.FanRatePct, 0.01, 100)
		k.rangeF(f+".min_valve_pct", u.MinValvePct, 0, 100)
		k.rangeF(f+".max_valve_pct", u.MaxValvePct, u.MinValvePct, 100)
		k.rangeF(f+".valve_rate_pct_s", u.ValveRatePct, 0.01, 100)
		k.rangeF(f+".supply_sp_c", u.SupplySPC, 10, 30)
		if u.BMSTimeout.Duration < time.Second || u.BMSTimeout.Duration > time.Hour {
			k.add(f+".bms_timeout", "%v is outside 1s..1h", u.BMSTimeout.Duration)
		} else if u.BMSTimeout.Duration <= 2*ct.Period.Duration {
			k.add(f+".bms_timeout", "%v must be more than twice control.period %v, or the unit falls back between writes", u.BMSTimeout.Duration, ct.Period.Duration)
		} else if c.Board.Watchdog != "" && c.Board.WatchdogTimeout.Duration <= u.BMSTimeout.Duration {
			k.add("board.watchdog_timeout", "%v must be longer than unit %q bms_timeout %v (period < bms timeout < watchdog)", c.Board.WatchdogTimeout.Duration, u.Name, u.BMSTimeout.Duration)
		}
		if u.FanTuning != nil {
			k.tuning(f+".fan_tuning", *u.FanTuning)
		}
		if u.ValveTuning != nil {
			k.tuning(f+".valve_tuning", *u.ValveTuning)
		}
		if u.ManualFanPct != nil {
			k.rangeF(f+".manual_fan_pct", *u.ManualFanPct, u.MinFanPct, u.MaxFanPct)
		}
	}
	known := map[string]bool{}
	for i, s := range c.Sensors {
		f := fmt.Sprintf("sensor[%d].id", i)
		if !sensorIDRe.MatchString(s.ID) {
			k.add(f, "%q is not a sensor id like 00-17-0d-00-00-38-0a-1f/2", s.ID)
		}
		if known[s.ID] {
			k.add(f, "%q is declared twice", s.ID)
		}
		known[s.ID] = true
	}
	zones := map[string]bool{}
	served := map[string]bool{}
	for i, z := range c.Zones {
		f := fmt.Sprintf("zone[%d]", i)
		if z.Name != "" {
			f = fmt.Sprintf("zone[%d](%s)", i, z.Name)
		}
		k.name(f+".name", z.Name)
		if zones[z.Name] {
			k.add(f+".name", "%q is used twice", z.Name)
		}
		zones[z.Name] = true
		if len(z.Sensors) == 0 {
			k.add(f+".sensors", "a zone needs at least one sensor")
		}
		seen := map[string]bool{}
		for j, s := range z.Sensors {
			if !sensorIDRe.MatchString(s) {
				k.add(fmt.Sprintf("%s.sensors[%d]", f, j), "%q is not a sensor id like 00-17-0d-00-00-38-0a-1f/2", s)
			}
			if seen[s] {
				k.add(fmt.Sprintf("%s.sensors[%d]", f, j), "%q is listed twice", s)
			}
			seen[s] = true
		}
		if len(z.Units) == 0 {
			k.add(f+".units", "a zone needs at least one unit")
		}
		for j, u := range z.Units {
			if !units[u] {
				k.add(fmt.Sprintf("%s.units[%d]", f, j), "%q is not a declared unit", u)
			}
			served[u] = true
		}
		sum := 0.0
		for u, w := range z.Influence {
			if !units[u] {
				k.add(f+".influence", "%q is not a declared unit", u)
			}
			if w < 0 || w > 1 {
				k.add(f+".influence."+u, "%g is outside 0..1", w)
			}
			sum += w
		}
		if len(z.Influence) > 0 && sum <= 0 {
			k.add(f+".influence", "weights sum to %g; at least one unit must carry the zone", sum)
		}
		k.rangeF(f+".setpoint_c", z.SetpointC, 15, 32)
		if z.MinValid < 1 || z.MinValid > len(z.Sensors) {
			k.add(f+".min_valid", "%d is outside 1..%d (the zone's sensors)", z.MinValid, len(z.Sensors))
		}
		if _, err := ParseAggregate(z.Aggregate); err != nil {
			k.add(f+".aggregate", "%v", err)
		}
	}
	for _, u := range c.Units {
		if u.Name != "" && !served[u.Name] && !u.DisableControls {
			k.add("unit("+u.Name+")", "serves no zone; add it to a zone or set disabled = true")
		}
	}
	return errors.Join(k.errs...)
}

// ParseAggregate returns the percentile a zone aggregate asks for: 100 for "max", NN for "pNN".
func ParseAggregate(s string) (float64, error) {
	if s == "max" {
		return 100, nil
	}
	if strings.HasPrefix(s, "p") {
		if v, err := strconv.Atoi(s[1:]); err == nil && v >= 50 && v <= 100 {
			return float64(v), nil
		}
	}
	return 0, fmt.Errorf("%q is not \"max\" or a percentile p50..p100", s)
}

func checkTarget(t string) error {
	u, err := url.Parse(t)
	if err != nil {
		return fmt.Errorf("%q is not a target URL: %v", t, err)
	}
	switch u.Scheme {
	case "tcp":
		if u.Host == "" || u.Port() == "" {
			return fmt.Errorf("%q needs host:port, e.g. tcp://10.0.0.5:502", t)
		}
	case "rtu":
		if u.Path == "" {
			return fmt.Errorf("%q needs a device, e.g. rtu:///dev/ttyUSB0?baud=19200", t)
		}
		if b := u.Query().Get("baud"); b != "" {
			if _, err := strconv.Atoi(b); err != nil {
				return fmt.Errorf("%q: baud %q is not a number", t, b)
			}
		}
	default:
		return fmt.Errorf("%q: scheme must be tcp:// or rtu://", t)
	}
	return nil
}

var profileNameRe = regexp.MustCompile(`(?m)^\s*\[\s*profile\.["']?([A-Za-z0-9_-]+)`)

// customProfileNames finds the [profile.NAME] tables of the raw custom-profile TOML; drivers/ahu does
// the full parse when the configuration is applied.
func customProfileNames(raw string) []string {
	var out []string
	for _, m := range profileNameRe.FindAllStringSubmatch(raw, -1) {
		out = append(out, m[1])
	}
	return out
}
