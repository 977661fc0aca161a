package bench

import (
	"fmt"
	"math"
	"time"

	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/site"
)

// SimLine is the Modbus line name SiteConfig gives the simulated units; SimTarget is its target
// (the twin listens there; the bench never dials it).
const (
	SimLine   = "sim"
	SimTarget = "tcp://127.0.0.1:5020"
)

// ZoneMapping chooses how scenario zones become site zones.
type ZoneMapping int

const (
	// ZonesAsScenario: one site zone per scenario zone, all its rack sensors, influence = the
	// airflow-weighted mean of its racks' rows of the influence matrix. N-of-M over many sensors.
	ZonesAsScenario ZoneMapping = iota
	// ZonesPerRack: one site zone per rack (its 1-3 sensors, influence = its row of the
	// influence matrix, min_valid 1). The allocator then knows which unit cools which rack.
	ZonesPerRack
)

// SiteConfig builds the site configuration the controller would run for a scenario: one line,
// the scenario's units (min fan = min_speed, fallback and BMS timeout as the units have them, the
// units' local supply setpoint as the supply-air setpoint), one zone per scenario zone and the
// scenario's setpoint. The twin uses the same mapping.
func SiteConfig(sc *plant.Scenario) *site.Config { return SiteConfigWith(sc, ZonesAsScenario) }

// SiteConfigWith is SiteConfig with a choice of zone mapping.
func SiteConfigWith(sc *plant.Scenario, zm ZoneMapping) *site.Config {
	c := &site.Config{Site: sc.Name, NodeID: 1}
	c.Control.SetpointC = clampF(sc.SetpointC, 15, 32)
	c.Control.AlarmC = math.Max(27, c.Control.SetpointC)
	c.Control.FanTuning = DefaultFanTuning
	c.Control.FanRatePct = DefaultFanRatePct
	c.Lines = []site.Line{{Name: SimLine, Target: SimTarget}}
	maxBMS := 0.0
	for _, u := range sc.Units {
		bms := u.BMSTimeout
		if bms <= 0 || bms > 3600 {
			bms = 10 // "never" on the unit: the controller programs its own
		}
		bms = math.Max(bms, 5)
		maxBMS = math.Max(maxBMS, bms)
		minFan := 100 * u.MinSpeed
		fb := math.Max(100*u.FallbackFan, minFan)
		su := site.Unit{
			Name: u.Name, Line: SimLine, UnitID: u.ModbusID, Profile: u.Profile,
			MinFanPct: minFan, MaxFanPct: 100, SafeFanPct: 100,
			FallbackFanPct: fb, BMSTimeout: site.D(time.Duration(bms * float64(time.Second))),
			SupplySPC:    clampF(u.LocalSupplySP, 10, 30),
			FanRatePct:   math.Min(DefaultFanRatePct, 100*u.FanRamp),
			ValveRatePct: clampF(100*u.ValveRamp, 0.01, 100),
		}
		if su.MinFanPct == 0 {
			su.MinFanPct = 0.001 // site treats 0 as "unset"
		}
		c.Units = append(c.Units, su)
	}
	c.Board.WatchdogTimeout = site.D(time.Duration(math.Max(30, 3*maxBMS) * float64(time.Second)))
	for _, s := range sc.Sensors {
		c.Sensors = append(c.Sensors, site.Sensor{ID: s.ID, Rack: s.Rack, Height: fmt.Sprint(s.Height)})
	}
	mat := sc.InfluenceMatrix()
	sensorsOf := func(rack string) []string {
		var out []string
		for _, s := range sc.Sensors {
			if s.Rack == rack {
				out = append(out, s.ID)
			}
		}
		return out
	}
	switch zm {
	case ZonesPerRack:
		for r, rk := range sc.Racks {
			z := site.Zone{Name: rk.Name, Sensors: sensorsOf(rk.Name), MinValid: 1, Influence: map[string]float64{}}
			for u, w := range mat[r] {
				if w > 1e-3 {
					z.Units = append(z.Units, sc.Units[u].Name)
					z.Influence[sc.Units[u].Name] = w
				}
			}
			c.Zones = append(c.Zones, z)
		}
	default:
		// A unit's air is spread over the racks it reaches in proportion to influence x rack
		// airflow (the plant's distribution); the cold air zone z gets from unit u at speed f is
		// then rated_airflow_u * f * dist[u][z], so u's share of z's cold air at equal speeds is
		// w[z][u] = rated_u dist[u][z] / sum_v rated_v dist[v][z]: exactly the linear model the
		// engine's allocator uses (zone demand = sum_u w[z][u] f_u).
		dist := make([][]float64, len(sc.Units)) // [unit][zone]
		for u := range sc.Units {
			dist[u] = make([]float64, len(sc.Zones))
			tot := 0.0
			for r, rk := range sc.Racks {
				tot += mat[r][u] * rk.Airflow
			}
			for r, rk := range sc.Racks {
				for zi, zn := range sc.Zones {
					if rk.Zone == zn.Name && tot > 0 {
						dist[u][zi] += mat[r][u] * rk.Airflow / tot
					}
				}
			}
		}
		for zi, zn := range sc.Zones {
			z := site.Zone{Name: zn.Name, Influence: map[string]float64{}}
			for _, rk := range sc.Racks {
				if rk.Zone == zn.Name {
					z.Sensors = append(z.Sensors, sensorsOf(rk.Name)...)
				}
			}
			w := make([]float64, len(sc.Units))
			sum := 0.0
			for u := range sc.Units {
				w[u] = sc.Units[u].RatedAirflow * dist[u][zi]
				sum += w[u]
			}
			for u, v := range w {
				if sum > 0 && v/sum > 1e-3 {
					z.Units = append(z.Units, sc.Units[u].Name)
					z.Influence[sc.Units[u].Name] = v / sum
				}
			}
			if len(z.Units) == 0 { // racks draw nothing: fall back to the declared units
				z.Units = zn.Units
				z.Influence = nil
			}
			c.Zones = append(c.Zones, z)
		}
	}
	c.ApplyDefaults()
	return c
}

// Default loop settings the bench (and SiteConfig) uses; tuned on the built-in scenarios (seeds
// 1..5): Kp 4 %/K and Ti 150 s hold the inlets without chasing the sensors' noise, and 5 %/s (what
// CRAH fans tolerate; the site default is 2 %/s) lets the start and the feed-forward act in
// seconds.
var (
	DefaultFanTuning  = site.Tuning{Kp: 4, Ti: 150, Method: "bench", Data: "tuned on the built-in scenarios (coldaisle bench)"}
	DefaultFanRatePct = 5.0
)

func clampF(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
