package ops

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"
)

// The JSON API: stable snake_case names, temperatures in °C, percentages 0..100 as the View has
// them, durations in seconds, times in RFC 3339 (null when unset), NaN and Inf as null.

// num is a float64 that encodes NaN and ±Inf as null (encoding/json refuses them).
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func secs(d time.Duration) num { return num(d.Seconds()) }

// stamp encodes a zero time as null.
func stamp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type jsonStatus struct {
	Time          *time.Time        `json:"time"`
	Site          string            `json:"site"`
	Software      string            `json:"software"`
	ConfigVersion int               `json:"config_version"`
	Role          string            `json:"role"`
	Epoch         uint16            `json:"epoch"`
	UptimeSeconds num               `json:"uptime_seconds"`
	State         string            `json:"state"`
	Period        jsonPeriod        `json:"period"`
	Zones         []jsonZone        `json:"zones"`
	Units         []jsonUnit        `json:"units"`
	Sensors       []jsonSensor      `json:"sensors"`
	Alarms        []jsonAlarm       `json:"alarms"`
	Lines         []jsonLine        `json:"lines"`
	Mesh          map[string]uint64 `json:"mesh"`
	DB            jsonDB            `json:"db"`
	Pair          *jsonPair         `json:"pair,omitempty"`
}

type jsonPair struct {
	*Pair
	LeaseSeconds          num `json:"lease_seconds"`
	PeerAgoSeconds        num `json:"peer_ago_seconds"`
	TakeoverBudgetSeconds num `json:"takeover_budget_seconds"`
}

type jsonPeriod struct {
	LengthSeconds num    `json:"length_seconds"`
	LastSeconds   num    `json:"last_seconds"`
	Count         uint64 `json:"count"`
	Overruns      uint64 `json:"overruns"`
}

type jsonZone struct {
	Name      string `json:"name"`
	MeasureC  num    `json:"measure_c"`
	SetpointC num    `json:"setpoint_c"`
	HottestC  num    `json:"hottest_c"`
	HottestID string `json:"hottest_id"`
	DemandPct num    `json:"demand_pct"`
	Valid     int    `json:"valid"`
	Total     int    `json:"total"`
	OK        bool   `json:"ok"`
	Alarm     bool   `json:"alarm"`
}

type jsonUnit struct {
	Name        string   `json:"name"`
	Line        string   `json:"line"`
	UnitID      int      `json:"unit_id"`
	Profile     string   `json:"profile"`
	Mode        string   `json:"mode"`
	Reason      string   `json:"reason"`
	FanCmdPct   num      `json:"fan_cmd_pct"`
	FanFbPct    num      `json:"fan_fb_pct"`
	ValveCmdPct num      `json:"valve_cmd_pct"`
	ValveFbPct  num      `json:"valve_fb_pct"`
	SupplyC     num      `json:"supply_c"`
	ReturnC     num      `json:"return_c"`
	FanKW       num      `json:"fan_kw"`
	Zones       []string `json:"zones"`
	Why         string   `json:"why"`
	Isolated    bool     `json:"isolated"`
	Tripped     bool     `json:"tripped"`
	Alarm       bool     `json:"alarm"`
}

type jsonSensor struct {
	ID         string `json:"id"`
	Zone       string `json:"zone"`
	Rack       string `json:"rack"`
	ValueC     num    `json:"value_c"`
	AgeSeconds num    `json:"age_seconds"` // null when never heard
	State      string `json:"state"`
	BatteryV   num    `json:"battery_v"`
}

type jsonAlarm struct {
	Key          string     `json:"key"`
	Source       string     `json:"source"`
	Kind         string     `json:"kind"`
	Severity     string     `json:"severity"`
	Text         string     `json:"text"`
	Raised       *time.Time `json:"raised"`
	AckedBy      string     `json:"acked_by"`
	AckedAt      *time.Time `json:"acked_at"`
	ShelvedUntil *time.Time `json:"shelved_until"`
}

type jsonLine struct {
	Name     string `json:"name"`
	Target   string `json:"target"`
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	Timeouts uint64 `json:"timeouts"`
}

type jsonDB struct {
	Commits      uint64 `json:"commits"`
	BytesWritten uint64 `json:"bytes_written"`
	Failures     uint64 `json:"failures"`
}

func statusJSON(v *View) jsonStatus {
	s := jsonStatus{
		Time: stamp(v.Time), Site: v.Site, Software: v.Software, ConfigVersion: v.ConfigVersion,
		Role: v.Role, Epoch: v.Epoch, UptimeSeconds: secs(v.Uptime), State: v.State,
		Period: jsonPeriod{LengthSeconds: secs(v.Period.Length), LastSeconds: secs(v.Period.Last), Count: v.Period.Count, Overruns: v.Period.Overruns},
		Zones:  make([]jsonZone, 0, len(v.Zones)), Units: make([]jsonUnit, 0, len(v.Units)),
		Sensors: make([]jsonSensor, 0, len(v.Sensors)), Alarms: make([]jsonAlarm, 0, len(v.Alarms)),
		Lines: make([]jsonLine, 0, len(v.Lines)), Mesh: v.Mesh,
		DB: jsonDB{Commits: v.DB.Commits, BytesWritten: v.DB.BytesWritten, Failures: v.DB.Failures},
	}
	if s.Mesh == nil {
		s.Mesh = map[string]uint64{}
	}
	if p := v.Pair; p != nil {
		s.Pair = &jsonPair{Pair: p, LeaseSeconds: secs(p.Lease), PeerAgoSeconds: secs(p.PeerAgo), TakeoverBudgetSeconds: secs(p.TakeoverBudget)}
	}
	for _, z := range v.Zones {
		s.Zones = append(s.Zones, jsonZone{z.Name, num(z.MeasureC), num(z.SetpointC), num(z.HottestC), z.HottestID, num(z.DemandPct), z.Valid, z.Total, z.OK, z.Alarm})
	}
	for _, u := range v.Units {
		zones := u.Zones
		if zones == nil {
			zones = []string{}
		}
		s.Units = append(s.Units, jsonUnit{u.Name, u.Line, u.UnitID, u.Profile, u.Mode, u.Reason,
			num(u.FanCmdPct), num(u.FanFbPct), num(u.ValveCmdPct), num(u.ValveFbPct),
			num(u.SupplyC), num(u.ReturnC), num(u.FanKW), zones, u.Why, u.Isolated, u.Tripped, u.Alarm})
	}
	for _, x := range v.Sensors {
		age := secs(x.Age)
		if x.Age < 0 {
			age = num(math.NaN())
		}
		s.Sensors = append(s.Sensors, jsonSensor{x.ID, x.Zone, x.Rack, num(x.ValueC), age, x.State, num(x.BatteryV)})
	}
	for _, a := range v.Alarms {
		s.Alarms = append(s.Alarms, jsonAlarm{a.Key, a.Source, a.Kind, a.Severity, a.Text, stamp(a.Raised), a.AckedBy, stamp(a.AckedAt), stamp(a.ShelvedUntil)})
	}
	for _, l := range v.Lines {
		s.Lines = append(s.Lines, jsonLine{l.Name, l.Target, l.Requests, l.Errors, l.Timeouts})
	}
	return s
}

type jsonTrend struct {
	Minutes int              `json:"minutes"`
	Points  []jsonTrendPoint `json:"points"`
}

type jsonTrendPoint struct {
	Time  time.Time                `json:"time"`
	Zones map[string]jsonZonePoint `json:"zones"`
	Units map[string]jsonUnitPoint `json:"units"`
}

type jsonZonePoint struct {
	MeasureC  num `json:"measure_c"`
	HottestC  num `json:"hottest_c"`
	SetpointC num `json:"setpoint_c"`
}

type jsonUnitPoint struct {
	FanPct   num `json:"fan_pct"`
	ValvePct num `json:"valve_pct"`
}

func trendJSON(minutes int, pts []TrendPoint) jsonTrend {
	t := jsonTrend{Minutes: minutes, Points: make([]jsonTrendPoint, 0, len(pts))}
	for _, p := range pts {
		jp := jsonTrendPoint{Time: p.Time, Zones: make(map[string]jsonZonePoint, len(p.Zones)), Units: make(map[string]jsonUnitPoint, len(p.Units))}
		for k, z := range p.Zones {
			jp.Zones[k] = jsonZonePoint{num(z.MeasureC), num(z.HottestC), num(z.SetpointC)}
		}
		for k, u := range p.Units {
			jp.Units[k] = jsonUnitPoint{num(u.FanPct), num(u.ValvePct)}
		}
		t.Points = append(t.Points, jp)
	}
	return t
}

// maxTrendMinutes is the longest trend the API serves (the Publisher keeps an hour).
const maxTrendMinutes = 60

// trendMinutes reads ?minutes=N: absent means the whole hour; anything but an integer 1..60 is an
// error naming the field.
func trendMinutes(r *http.Request) (int, error) {
	q := r.URL.Query()
	vals, ok := q["minutes"]
	if !ok {
		return maxTrendMinutes, nil
	}
	if len(vals) != 1 {
		return 0, errorf("minutes: give it once")
	}
	n, err := strconv.Atoi(vals[0])
	if err != nil || n < 1 || n > maxTrendMinutes {
		return 0, errorf("minutes: want an integer 1..%d, got %q", maxTrendMinutes, clip(vals[0], 20))
	}
	return n, nil
}

// writeJSON encodes into a buffer first, so an encoding failure is a clean 500, not half a body.
func writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		http.Error(w, "ops: encoding the answer failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.Bytes())
	}
}
