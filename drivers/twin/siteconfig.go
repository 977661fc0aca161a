package twin

import (
	"fmt"
	"math"
	"net/url"
	"time"

	"github.com/coldaisle/coldaisle/control/bench"
	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/site"
)

// Line names in a twin's site configuration.
const (
	LineTCP = "twin-tcp"
	LineRTU = "twin-rtu"
)

// Links say where a twin's field links are, for its site configuration.
type Links struct {
	GatewayLink string  // the mesh gateway's serial device (the symlink)
	ModbusAddr  string  // host:port of the Modbus TCP gateway
	RTULink     string  // the RTU line's device; "" = no RTU line
	Speed       float64 // plant seconds per wall second; <= 1 means real time
}

// SiteConfig is the site configuration that controls this twin: control/bench's mapping of the
// scenario (units, zones with influence, sensors, setpoint) with the twin's links filled in and
// its time constants fitted to Speed (see BuildSiteConfig). Call it once ready (it needs the
// bound Modbus address).
func (t *Twin) SiteConfig() *site.Config { return t.SiteConfigFor(0) }

// SiteConfigFor is SiteConfig for the controller on gateway i (0-based; a 2N pair's second
// board is 1): the same units and lines, mesh.port on that gateway. An i out of range gets
// gateway 0's.
func (t *Twin) SiteConfigFor(i int) *site.Config {
	if i < 0 || i >= len(t.gws) {
		i = 0
	}
	return BuildSiteConfig(t.sc, Links{GatewayLink: t.gws[i].path, ModbusAddr: t.modbusAddr, RTULink: t.rtuPath, Speed: t.speed})
}

// BuildSiteConfig maps a scenario and a twin's links to a site configuration:
//   - bench.SiteConfig(sc) for units (profile, Modbus id, minimum and fallback fan, BMS timeout,
//     supply setpoint, rate limits), zones, sensors and setpoint;
//   - mesh.port = GatewayLink; line "twin-tcp" = tcp://ModbusAddr with every unit on it, and,
//     with RTULink, line "twin-rtu" = rtu://RTULink?baud=19200&parity=N&stop=1 (ptys refuse
//     parity, so 8N1 rather than the Modbus default 8E1);
//   - at Speed > 1 the controller runs on the wall clock while the room runs Speed times faster,
//     so the controller's time constants are divided by Speed within the site's limits: control
//     period 2 s/Speed (at least 100 ms), PI integral and derivative times, max_age and
//     frozen_after; rate limits (%/s) are multiplied by Speed (at most 100). The units count
//     their BMS timeout in plant seconds, so each unit's bms_timeout is raised to at least five
//     control periods of plant time (capped at 1 h): a controller writing every period keeps them
//     in remote control. Line timeouts are capped at the period's I/O phase budget
//     (site.Control.PhaseBudget). At Speed 1 nothing is scaled.
func BuildSiteConfig(sc *plant.Scenario, l Links) *site.Config {
	c := bench.SiteConfig(sc)
	c.Mesh.Port = l.GatewayLink
	c.Lines = []site.Line{{Name: LineTCP, Target: "tcp://" + l.ModbusAddr}}
	if l.RTULink != "" {
		u := url.URL{Scheme: "rtu", Path: l.RTULink, RawQuery: "baud=19200&parity=N&stop=1"}
		c.Lines = append(c.Lines, site.Line{Name: LineRTU, Target: u.String()})
	}
	for i := range c.Units {
		c.Units[i].Line = LineTCP
	}
	c.ApplyDefaults()
	if l.Speed > 1 {
		scaleForSpeed(c, l.Speed)
	}
	return c
}

func scaleForSpeed(c *site.Config, s float64) {
	ct := &c.Control
	period := time.Duration(float64(ct.Period.Duration) / s).Round(time.Millisecond)
	ct.Period = site.D(max(period, 100*time.Millisecond))
	scaleTuning := func(tu *site.Tuning) {
		tu.Ti /= s
		tu.Td /= s
		note := fmt.Sprintf("time-scaled for twin speed x%g", s)
		if tu.Data == "" {
			tu.Data = note
		} else {
			tu.Data += "; " + note
		}
	}
	scaleTuning(&ct.FanTuning)
	scaleTuning(&ct.ValveTuning)
	rate := func(v float64) float64 { return math.Min(100, v*s) }
	ct.FanRatePct = rate(ct.FanRatePct)
	ct.ValveRatePct = rate(ct.ValveRatePct)
	ct.MaxAge = site.D(max(time.Duration(float64(ct.MaxAge.Duration)/s), 10*time.Second).Round(time.Second))
	ct.FrozenAfter = site.D(max(time.Duration(float64(ct.FrozenAfter.Duration)/s), 2*ct.MaxAge.Duration).Round(time.Second))
	// Five periods of plant time, and at least 3 s of wall time: a loaded test machine can miss
	// a few 100 ms periods, which at x90 is minutes of plant time.
	need := time.Duration(math.Ceil(max(5*ct.Period.Duration.Seconds(), 3)*s)) * time.Second
	maxBMS := time.Duration(0)
	for i := range c.Units {
		u := &c.Units[i]
		if u.FanTuning != nil {
			scaleTuning(u.FanTuning)
		}
		if u.ValveTuning != nil {
			scaleTuning(u.ValveTuning)
		}
		u.FanRatePct = rate(u.FanRatePct)
		u.ValveRatePct = rate(u.ValveRatePct)
		u.BMSTimeout = site.D(min(max(u.BMSTimeout.Duration, need), time.Hour))
		maxBMS = max(maxBMS, u.BMSTimeout.Duration)
	}
	c.Board.WatchdogTimeout = site.D(max(c.Board.WatchdogTimeout.Duration, 2*maxBMS))
	// A request's deadline is its line's timeout, within the period's I/O phase.
	for i := range c.Lines {
		c.Lines[i].Timeout = site.D(min(c.Lines[i].Timeout.Duration, ct.PhaseBudget()))
	}
}
