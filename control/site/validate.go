package site

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coldaisle/coldaisle/control/pair"
	"github.com/coldaisle/coldaisle/control/tomlpos"
)

var sensorIDRe = regexp.MustCompile(`^[0-9a-f]{2}(-[0-9a-f]{2}){7}/[0-9]{1,3}$`)

// builtinProfiles are the register-map profiles the drivers ship, as RegisterBuiltinProfiles gave
// them; nil when no driver registered (control code alone: a profile is then only checked to be a
// name, and drivers/field checks it against the real list before anything is stored or run).
var (
	builtinMu       sync.RWMutex
	builtinProfiles []string
)

// RegisterBuiltinProfiles tells site the built-in register-map profile names, so that the one list
// lives with the profiles themselves (drivers/ahu, registered by drivers/field at init) while
// control code imports no driver. It is meant for init functions.
func RegisterBuiltinProfiles(names ...string) {
	builtinMu.Lock()
	defer builtinMu.Unlock()
	builtinProfiles = append([]string(nil), names...)
}

// BuiltinProfiles returns the registered built-in profile names (nil if none registered).
func BuiltinProfiles() []string {
	builtinMu.RLock()
	defer builtinMu.RUnlock()
	return append([]string(nil), builtinProfiles...)
}

type checker struct {
	file  string
	cfg   *Config
	loc   *tomlpos.Locator // nil for a configuration built in code
	errs  []error
	warns []string
}

var elemNameRe = regexp.MustCompile(`\]\([^)]*\)`)

func (k *checker) add(field, format string, args ...any) {
	fe := &FieldError{File: k.file, Field: field, Msg: fmt.Sprintf(format, args...), Path: FieldPath(k.cfg, field)}
	if k.loc != nil {
		p := elemNameRe.ReplaceAllString(field, "]")
		fe.Line = k.loc.Line(p)
	}
	k.errs = append(k.errs, fe)
}

func (k *checker) warn(field, format string, args ...any) {
	k.warns = append(k.warns, field+": "+fmt.Sprintf(format, args...))
}

func (k *checker) rangeF(field string, v, lo, hi float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		k.add(field, "%g is not a finite number", v)
		return
	}
	if v < lo || v > hi {
		k.add(field, "%g is outside %g..%g", v, lo, hi)
	}
}

// okRange reports whether v is a finite number within lo..hi.
func okRange(v, lo, hi float64) bool { return !math.IsNaN(v) && v >= lo && v <= hi }

// safeNameRe is what a name may be made of: it is printed on the console (the prompt too), in
// logs and in metrics labels, so no spaces, quotes, control characters or escape sequences.
var safeNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (k *checker) name(field, v string) {
	if v == "" {
		k.add(field, "must not be empty")
		return
	}
	k.label(field, v, 32)
}

// label checks an optional name-like value.
func (k *checker) label(field, v string, maxLen int) {
	if v == "" {
		return
	}
	if len(v) > maxLen {
		k.add(field, "%s is longer than %d characters", Quote(v), maxLen)
	} else if !safeNameRe.MatchString(v) {
		k.add(field, "%s may hold only letters, digits, '.', '_' and '-' (starting with a letter or digit)", Quote(v))
	}
}

// text checks free text (a tuning's data, a device path): printable, one line.
func (k *checker) text(field, v string, maxLen int) {
	if len(v) > maxLen {
		k.add(field, "is longer than %d characters", maxLen)
		return
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			k.add(field, "%s holds a control character or invalid text", Quote(v))
			return
		}
	}
}

// Quote renders a value from outside for a message: control characters and escape sequences are
// shown escaped, never written raw to a terminal.
func Quote(v string) string {
	if len(v) > 80 {
		v = v[:80] + "..."
	}
	return strconv.QuoteToGraphic(v)
}

func (k *checker) tuning(field string, t Tuning) {
	// A gain far below 0.01 %/K is a loop that never acts: refused as surely as a negative one.
	k.rangeF(field+".kp", t.Kp, 0.01, 1000)
	if t.Ti != 0 { // 0: no integral action
		k.rangeF(field+".ti_s", t.Ti, 0.001, 36000)
	}
	k.rangeF(field+".td_s", t.Td, 0, 3600)
	k.text(field+".date", t.Date, 64)
	k.text(field+".method", t.Method, 64)
	k.text(field+".data", t.Data, 2000)
}

// SafeFanFloorPct is the fail-safe or fallback fan speed below which validation warns: fail-safe
// must mean enough air, whatever a unit's minimum allows.
const SafeFanFloorPct = 50.0

// elemField names element i of a list for messages: "unit[2](crah-3)", the name left out when it
// is not a safe name (it is reported on its own).
func elemField(list string, i int, name string) string {
	if name == "" || len(name) > 32 || !safeNameRe.MatchString(name) {
		return fmt.Sprintf("%s[%d]", list, i)
	}
	return fmt.Sprintf("%s[%d](%s)", list, i, name)
}

// PhaseBudget is how long each of a control period's two I/O phases (read every unit, write every
// unit) may take: two fifths of the period each, the last fifth for the loops and slack. Every
// request's deadline lies within it, so a line's timeout must fit.
func (ct Control) PhaseBudget() time.Duration { return ct.Period.Duration * 2 / 5 }

// Warnings validates c and returns what is allowed but unwise (a fail-safe fan speed that gives
// little air), one line each; nil when there is nothing to say.
func (c *Config) Warnings() []string {
	k := &checker{file: "site", cfg: c}
	c.rules(k)
	return k.warns
}

// check runs every rule; loc (may be nil) gives the lines of a decoded file.
func (c *Config) check(file string, loc *tomlpos.Locator) error {
	k := &checker{file: file, cfg: c, loc: loc}
	c.rules(k)
	return errors.Join(k.errs...)
}

func (c *Config) rules(k *checker) {
	if c.NodeID < 1 || c.NodeID > 65535 {
		k.add("node_id", "%d is outside 1..65535", c.NodeID)
	}
	k.label("site", c.Site, 64)
	ct := c.Control
	if ct.Period.Duration < 100*time.Millisecond || ct.Period.Duration > time.Minute {
		k.add("control.period", "%v is outside 100ms..1m", ct.Period.Duration)
	}
	k.rangeF("control.setpoint_c", ct.SetpointC, 15, 32)
	k.rangeF("control.alarm_c", ct.AlarmC, ct.SetpointC, 45)
	k.rangeF("control.supply_sp_c", ct.SupplySPC, 10, 30)
	// 0 would make every unit's fail-safe "no air"; a unit's own safe speed is checked against its
	// minimum below.
	k.rangeF("control.safe_fan_pct", ct.SafeFanPct, 1, 100)
	k.rangeF("control.fan_rate_pct_s", ct.FanRatePct, 0.01, 100)
	k.rangeF("control.valve_rate_pct_s", ct.ValveRatePct, 0.01, 100)
	k.rangeF("control.low_battery_v", ct.LowBatteryV, 1, 5)
	// The plausible range must hold every reading that matters: a hot inlet above valid_max_c is
	// treated as a probe fault, so valid_max_c must sit well above the alarm limit, and a window
	// of -300..1000 would let any garbage through.
	k.rangeF("control.valid_min_c", ct.ValidMinC, -40, ct.SetpointC-5)
	k.rangeF("control.valid_max_c", ct.ValidMaxC, ct.AlarmC+5, 100)
	if ct.RestoreMaxAge.Duration < 0 || ct.RestoreMaxAge.Duration > 24*time.Hour {
		k.add("control.restore_max_age", "%v is outside 0s..24h", ct.RestoreMaxAge.Duration)
	}
	if ct.ManualMax.Duration < time.Minute || ct.ManualMax.Duration > 7*24*time.Hour {
		k.add("control.manual_max", "%v is outside 1m..168h", ct.ManualMax.Duration)
	}
	if ct.ManualDefault.Duration < time.Minute || ct.ManualDefault.Duration > ct.ManualMax.Duration {
		k.add("control.manual_default", "%v is outside 1m..manual_max %v", ct.ManualDefault.Duration, ct.ManualMax.Duration)
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
	k.text("mesh.port", c.Mesh.Port, 256)
	b := c.Board
	k.text("board.name", b.Name, 64)
	for _, p := range []struct{ f, v string }{{"board.led_role", b.LEDRole}, {"board.led_health", b.LEDHealth}, {"board.led_field", b.LEDField}, {"board.relay", b.Relay}} {
		k.label(p.f, p.v, 32)
	}
	k.text("board.watchdog", b.Watchdog, 256)
	k.text("profiles", strings.NewReplacer("\n", "", "\r", "", "\t", "").Replace(c.Profiles), 1<<20)
	checkListen(k, "http.listen", c.HTTP.Listen)
	checkListen(k, "bms.listen", c.BMS.Listen)
	if c.BMS.UnitID < 1 || c.BMS.UnitID > 247 {
		k.add("bms.unit_id", "%d is outside 1..247", c.BMS.UnitID)
	}
	if c.HTTP.Listen != "" && c.HTTP.Listen == c.BMS.Listen {
		k.add("bms.listen", "%q is also http.listen", c.BMS.Listen)
	}
	if c.Alarms.Syslog != "" {
		if err := checkSyslog(c.Alarms.Syslog); err != nil {
			k.add("alarms.syslog", "%v", err)
		}
	}
	if d := c.Alarms.MaxShelf.Duration; d < time.Minute || d > 7*24*time.Hour {
		k.add("alarms.max_shelve", "%v is outside 1m..168h", d)
	}
	pc := pair.Config{NodeID: 1, Heartbeat: c.Pair.Heartbeat.Duration, PeerTimeout: c.Pair.PeerTimeout.Duration, WitnessInterval: c.Pair.WitnessInterval.Duration}
	if err := pc.Check(); err != nil {
		k.add("pair", "%s", strings.TrimPrefix(err.Error(), pair.ErrConfig.Error()+": "))
	} else if c.Pair.Heartbeat.Duration < 10*time.Millisecond {
		k.add("pair.heartbeat", "%v is below 10ms", c.Pair.Heartbeat.Duration)
	}
	takeover := pc.TakeoverBudget()
	budget := ct.PhaseBudget()
	perLine := map[string]int{}
	for _, u := range c.Units {
		if !u.DisableControls {
			perLine[u.Line]++
		}
	}

	lines := map[string]bool{}
	for i, l := range c.Lines {
		f := elemField("line", i, l.Name)
		k.name(f+".name", l.Name)
		if lines[l.Name] {
			k.add(f+".name", "%q is used twice", l.Name)
		}
		lines[l.Name] = true
		if err := checkTarget(l.Target); err != nil {
			k.add(f+".target", "%v", err)
		}
		switch to := l.Timeout.Duration; {
		case to < 10*time.Millisecond || to > 10*time.Second:
			k.add(f+".timeout", "%v is outside 10ms..10s", to)
		case to > budget:
			// Each request's deadline is its line's timeout, inside a phase of the period; a
			// timeout the phase cannot hold would cut off units that answer within it.
			k.add(f+".timeout", "%v does not fit the %v each I/O phase of control.period %v allows (two fifths); lower the timeout or raise the period", to, budget, ct.Period.Duration)
		case time.Duration(perLine[l.Name])*to > budget:
			k.warn(f+".timeout", "%d units × %v is more than the %v phase budget: if they all answer slowly at once, the period overruns (a silent unit is isolated after %d periods)", perLine[l.Name], to, budget, 3)
		}
	}
	builtin := BuiltinProfiles()
	profiles := map[string]bool{}
	for _, p := range builtin {
		profiles[p] = true
	}
	for _, n := range customProfileNames(c.Profiles) {
		profiles[n] = true
	}
	units := map[string]bool{}
	addrs := map[string]string{}
	for i, u := range c.Units {
		f := elemField("unit", i, u.Name)
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
		if builtin == nil {
			k.label(f+".profile", u.Profile, 64)
		} else if !profiles[u.Profile] {
			k.add(f+".profile", "%q is not a known profile (built in: %s)", u.Profile, strings.Join(builtin, ", "))
		}
		k.rangeF(f+".min_fan_pct", u.MinFanPct, 0, 100)
		// The other speeds are judged against the minimum only when the minimum itself is valid:
		// one mistake, one error.
		lo := 1.0
		if okRange(u.MinFanPct, 0, 100) {
			lo = max(u.MinFanPct, 1)
		}
		k.rangeF(f+".max_fan_pct", u.MaxFanPct, lo, 100)
		// Fail safe is more air: the safe and fallback speeds may not sit below the minimum, and
		// not at "no air" whatever the minimum.
		k.rangeF(f+".safe_fan_pct", u.SafeFanPct, lo, 100)
		k.rangeF(f+".fallback_fan_pct", u.FallbackFanPct, lo, 100)
		if u.SafeFanPct < SafeFanFloorPct {
			k.warn(f+".safe_fan_pct", "%g %% is little air for fail-safe (below %g %%)", u.SafeFanPct, SafeFanFloorPct)
		}
		if u.FallbackFanPct < SafeFanFloorPct {
			k.warn(f+".fallback_fan_pct", "%g %% is little air for the unit's own fallback (below %g %%)", u.FallbackFanPct, SafeFanFloorPct)
		}
		if u.MinFanPct == 0 {
			k.warn(f+".min_fan_pct", "0 %% lets the controller stop this fan")
		}
		k.rangeF(f+".fan_rate_pct_s", u.FanRatePct, 0.01, 100)
		k.rangeF(f+".min_valve_pct", u.MinValvePct, 0, 100)
		vlo := 0.0
		if okRange(u.MinValvePct, 0, 100) {
			vlo = u.MinValvePct
		}
		k.rangeF(f+".max_valve_pct", u.MaxValvePct, vlo, 100)
		k.rangeF(f+".valve_rate_pct_s", u.ValveRatePct, 0.01, 100)
		k.rangeF(f+".supply_sp_c", u.SupplySPC, 10, 30)
		if u.BMSTimeout.Duration < time.Second || u.BMSTimeout.Duration > time.Hour {
			k.add(f+".bms_timeout", "%v is outside 1s..1h", u.BMSTimeout.Duration)
		} else if u.BMSTimeout.Duration <= 2*ct.Period.Duration {
			k.add(f+".bms_timeout", "%v must be more than twice control.period %v, or the unit falls back between writes", u.BMSTimeout.Duration, ct.Period.Duration)
		} else if c.Board.WatchdogTimeout.Duration <= u.BMSTimeout.Duration {
			// Checked with or without a watchdog device: the order is part of the site's design,
			// and a board that gains a watchdog later must not inherit a broken one.
			k.add("board.watchdog_timeout", "%v must be longer than unit %q bms_timeout %v (period < bms timeout < watchdog)", c.Board.WatchdogTimeout.Duration, u.Name, u.BMSTimeout.Duration)
		}
		if u.BMSTimeout.Duration > 0 && u.BMSTimeout.Duration <= takeover {
			// A board alone does not take over; a 2N pair refuses to start with this.
			k.warn(f+".bms_timeout", "%v is not longer than the pair's takeover budget %v: in a 2N pair the unit would fall back during a takeover", u.BMSTimeout.Duration, takeover)
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
			k.add(f, "%s is not a sensor id like 00-17-0d-00-00-38-0a-1f/2", Quote(s.ID))
		}
		k.label(fmt.Sprintf("sensor[%d].rack", i), s.Rack, 32)
		k.label(fmt.Sprintf("sensor[%d].height", i), s.Height, 32)
		if known[s.ID] {
			k.add(f, "%q is declared twice", s.ID)
		}
		known[s.ID] = true
	}
	zones := map[string]bool{}
	served := map[string]bool{}
	for i, z := range c.Zones {
		f := elemField("zone", i, z.Name)
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
				k.add(fmt.Sprintf("%s.sensors[%d]", f, j), "%s is not a sensor id like 00-17-0d-00-00-38-0a-1f/2", Quote(s))
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
				k.add(f+".influence", "%s is not a declared unit", Quote(u))
			}
			k.rangeF(f+".influence."+u, w, 0, 1)
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
			k.add(elemField("unit", c.UnitIndex(u.Name), u.Name), "serves no zone; add it to a zone or set disabled = true")
		}
	}
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

// checkListen checks an optional "ADDR:PORT" to listen on (ADDR may be empty: every address).
func checkListen(k *checker, field, v string) {
	if v == "" {
		return
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		k.add(field, "%s is not ADDR:PORT (e.g. 127.0.0.1:9100 or :9100): %v", Quote(v), err)
		return
	}
	// Port 0 is "any free port": of no use to a BMS, but what tests listen on.
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		k.add(field, "%s: port %s is not 0..65535", Quote(v), Quote(port))
	}
	if host != "" && net.ParseIP(host) == nil && !safeNameRe.MatchString(host) {
		k.add(field, "%s: %s is not an IP address or host name", Quote(v), Quote(host))
	}
}

// checkSyslog checks a syslog collector "udp://HOST:PORT".
func checkSyslog(t string) error {
	u, err := url.Parse(t)
	if err != nil {
		return fmt.Errorf("%s is not a URL: %v", Quote(t), err)
	}
	if u.Scheme != "udp" || u.Hostname() == "" || u.Port() == "" || u.Path != "" || u.RawQuery != "" {
		return fmt.Errorf("%s: want udp://HOST:PORT (RFC 5424 over UDP)", Quote(t))
	}
	return nil
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
