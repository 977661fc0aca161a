package ops

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The status page is one self-contained document rendered by html/template (which escapes every
// value from the View): inline CSS, inline SVG for the bars and the trend, and a few lines of
// script that re-fetch the page every Refresh and swap its <main>, so it refreshes without a
// flash. Without script a <noscript> meta refresh does the same. The CSP allows exactly this CSS
// and this script, by hash, and lets the script fetch from this origin; nothing else loads.

const pageCSS = `
:root{--bg:#f4f6f8;--fg:#18202a;--mute:#5b6775;--line:#d5dbe1;--card:#fff;--crit:#b3132b;--major:#d4520c;--minor:#b58900;--warn:#5a6b00;--ok:#1d7a3a;--cmd:#2f6fb0;--fb:#18202a}
*{box-sizing:border-box}
body{margin:0;font:14px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 18px;padding:10px 18px;background:#18202a;color:#fff}
header h1{margin:0;font-size:22px;font-weight:600}
header .kv{color:#c9d2dc}
header .kv b{color:#fff;font-weight:600}
#live{margin-left:auto;font-size:12px;color:#c9d2dc}
#live.bad{color:#ffb3b3}
main{padding:12px 18px;display:grid;gap:12px}
section{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px 12px}
h2{margin:0 0 6px;font-size:15px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:3px 8px 3px 0;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--mute);font-weight:600}
td.n{font-variant-numeric:tabular-nums;white-space:nowrap}
.sev{font-weight:700;text-transform:uppercase;font-size:12px}
.sev-critical{color:var(--crit)}.sev-major{color:var(--major)}.sev-minor{color:var(--minor)}.sev-warning{color:var(--warn)}
.pill{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600;background:#e3e8ee;color:var(--fg)}
.pill.bad{background:#f9d7dc;color:var(--crit)}.pill.good{background:#d6f0de;color:var(--ok)}.pill.warn{background:#fbe7c6;color:#7a4a00}
header .pill{background:#2d3a48;color:#fff}
header .pill.good{background:#1d7a3a;color:#fff}header .pill.bad{background:#b3132b;color:#fff}
.hot{color:var(--crit);font-weight:600}.cool{color:var(--ok)}
.why{color:var(--mute);font-size:13px}
.mute{color:var(--mute)}
.none{color:var(--ok)}
.trends{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.chart svg{width:100%;height:auto;display:block}
.legend{font-size:12px;color:var(--mute);display:flex;flex-wrap:wrap;gap:2px 12px}
.legend svg{vertical-align:middle}
svg text{font:11px system-ui,sans-serif;fill:#5b6775}
.grid{stroke:#e3e8ee;stroke-width:1}
.axis{stroke:#9aa5b1;stroke-width:1}
.series{fill:none;stroke-width:2;stroke-linejoin:round}
.sp{fill:none;stroke-width:1.5;stroke-dasharray:5 4}
footer{padding:0 18px 14px;font-size:12px;color:var(--mute)}
footer a{color:var(--mute)}
@media (max-width:900px){.trends{grid-template-columns:1fr}}
`

const pageJS = `(function(){
var live=document.getElementById("live");
var every=parseInt(document.body.getAttribute("data-refresh-ms"),10)||5000;
function tick(){
fetch(location.pathname,{cache:"no-store",credentials:"omit"}).then(function(r){
if(!r.ok){throw new Error("HTTP "+r.status);}return r.text();
}).then(function(t){
var d=new DOMParser().parseFromString(t,"text/html");
var m=d.getElementById("main"),h=d.getElementById("head");
if(!m||!h){throw new Error("unexpected page");}
document.getElementById("main").replaceWith(document.adoptNode(m));
document.getElementById("head").replaceWith(document.adoptNode(h));
document.title=d.title;
live=document.getElementById("live");
live.textContent="live \u00b7 refreshed "+new Date().toLocaleTimeString();
live.className="";
}).catch(function(e){
live.textContent="connection lost ("+e.message+"), retrying";
live.className="bad";
});
}
tick();
setInterval(tick,every);
})();`

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{with .V}}{{if .Alarms}}({{len .Alarms}}) {{end}}{{.Site}} · {{end}}coldaisle</title>
<noscript><meta http-equiv="refresh" content="{{.RefreshS}}"></noscript>
<style>{{.CSS}}</style></head>
<body data-refresh-ms="{{.RefreshMS}}">
<header id="head">{{with .V}}
<h1>{{.Site}}</h1>
<span class="pill {{if eq .State "controlling"}}good{{else}}bad{{end}}">{{.State}}</span>
<span class="kv">role <b>{{.Role}}</b> · epoch <b>{{.Epoch}}</b></span>
<span class="kv">software <b>{{.Software}}</b></span>
<span class="kv">configuration <b>v{{.ConfigVersion}}</b></span>
<span class="kv">as of <b>{{.Time}}</b>{{if $.Stale}} <span class="pill bad">{{$.Stale}}</span>{{end}}</span>
<span class="kv">up <b>{{.Uptime}}</b></span>
<span class="kv">period <b>{{.PeriodLast}}</b> of {{.PeriodLength}} · {{.Periods}} done · {{.Overruns}} overruns</span>
{{else}}<h1>coldaisle</h1><span class="pill bad">waiting for the first control period</span>{{end}}
<span id="live">static page</span>
</header>
<main id="main">{{with .V}}
<section id="alarms"><h2>Alarms ({{len .Alarms}})</h2>
{{if .Alarms}}<table><thead><tr><th>Severity</th><th>Source</th><th>Alarm</th><th>Since</th><th>Handling</th></tr></thead><tbody>
{{range .Alarms}}<tr><td class="sev sev-{{.Severity}}">{{.Severity}}</td><td>{{.Source}}</td><td>{{.Text}}</td><td class="n">{{.Since}}</td><td>{{.Handling}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="none">No active alarms.</p>{{end}}
</section>
<section id="zones"><h2>Zones</h2>
<table><thead><tr><th>Zone</th><th>Hottest inlet</th><th>Setpoint</th><th></th><th>Against setpoint</th><th>Measurement</th><th>Demand</th><th>Sensors</th><th>Loop</th></tr></thead><tbody>
{{range .Zones}}<tr><td><b>{{.Name}}</b></td><td class="n">{{.Hottest}} <span class="mute">{{.HottestID}}</span></td><td class="n">{{.Setpoint}}</td>
<td><svg width="120" height="14" viewBox="0 0 120 14" role="img" aria-label="hottest inlet against setpoint"><rect x="0" y="3" width="120" height="8" fill="#eef1f4"/>{{if .Bar.OK}}<rect x="{{.Bar.X}}" y="3" width="{{.Bar.W}}" height="8" fill="{{.Bar.Fill}}"/>{{end}}<line x1="60" y1="0" x2="60" y2="14" stroke="#18202a" stroke-width="2"/></svg></td>
<td class="n {{.DeltaClass}}">{{.Delta}}</td><td class="n">{{.Measure}}</td><td class="n">{{.Demand}}</td><td class="n">{{.Valid}}/{{.Total}}</td>
<td>{{if .Alarm}}<span class="pill bad">alarm</span>{{else if .OK}}<span class="pill good">ok</span>{{else}}<span class="pill warn">too few sensors</span>{{end}}</td></tr>
{{end}}</tbody></table></section>
<section id="units"><h2>Air handlers</h2>
<table><thead><tr><th>Unit</th><th>Mode</th><th>Fan cmd / read-back</th><th></th><th>Valve cmd / read-back</th><th>Supply / return</th><th>Fan power</th><th>Why it runs at that speed</th></tr></thead><tbody>
{{range .Units}}<tr><td class="n"><b>{{.Name}}</b> <span class="mute">{{.Line}} #{{.UnitID}}</span></td>
<td><span class="pill {{.ModeClass}}">{{.Mode}}</span>{{if .Flags}} <span class="pill bad">{{.Flags}}</span>{{end}}{{if .Reason}} <span class="why">{{.Reason}}</span>{{end}}</td>
<td class="n">{{.Fan}}</td>
<td><svg width="100" height="14" viewBox="0 0 100 14" role="img" aria-label="fan command and read-back"><rect x="0" y="3" width="100" height="8" fill="#eef1f4"/><rect x="0" y="3" width="{{.FanBar}}" height="8" fill="#2f6fb0"/>{{if .FanFbOK}}<line x1="{{.FanFbX}}" y1="0" x2="{{.FanFbX}}" y2="14" stroke="#18202a" stroke-width="2"/>{{end}}</svg></td>
<td class="n">{{.Valve}}</td><td class="n">{{.Temps}}</td><td class="n">{{.Power}}</td>
<td class="why">{{.Why}}</td></tr>
{{end}}</tbody></table></section>
<section id="trend"><h2>Last hour</h2><div class="trends">
{{range $.Charts}}<div class="chart"><svg class="trend" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="{{.Title}}">
<text x="{{.X0}}" y="12">{{.Title}}</text>
{{range .Grid}}<line class="grid" x1="{{$.ChartX0}}" y1="{{.Y}}" x2="{{$.ChartX1}}" y2="{{.Y}}"/><text x="{{$.ChartLabelX}}" y="{{.LabelY}}" text-anchor="end">{{.Label}}</text>
{{end}}<line class="axis" x1="{{.X0}}" y1="{{.Y1}}" x2="{{.X1}}" y2="{{.Y1}}"/>
{{range .Ticks}}<text x="{{.X}}" y="{{.Y}}" text-anchor="{{.Anchor}}">{{.Label}}</text>
{{end}}{{range .Series}}{{$c := .Color}}{{$cls := .Class}}{{$d := .Dash}}{{range .Lines}}<polyline class="{{$cls}}" stroke="{{$c}}"{{if $d}} stroke-dasharray="{{$d}}"{{end}} points="{{.}}"/>
{{end}}{{end}}{{if not .Series}}<text x="{{.MidX}}" y="{{.MidY}}" text-anchor="middle">no samples yet</text>{{end}}
</svg><div class="legend">{{range .Legend}}<span><svg width="22" height="8" viewBox="0 0 22 8"><line x1="0" y1="4" x2="22" y2="4" stroke="{{.Color}}" stroke-width="2"{{if .Dashed}} stroke-dasharray="2 3"{{end}}/></svg> {{.Label}}</span>{{end}}</div></div>
{{end}}</div></section>
{{if .BadSensors}}<section id="sensors"><h2>Sensors needing attention ({{.BadCount}} of {{.SensorCount}})</h2>
<table><thead><tr><th>Sensor</th><th>Zone</th><th>Rack</th><th>State</th><th>Value</th><th>Age</th><th>Battery</th></tr></thead><tbody>
{{range .BadSensors}}<tr><td>{{.ID}}</td><td>{{.Zone}}</td><td>{{.Rack}}</td><td><span class="pill warn">{{.State}}</span></td><td class="n">{{.Value}}</td><td class="n">{{.Age}}</td><td class="n">{{.Battery}}</td></tr>
{{end}}</tbody></table>{{if .BadMore}}<p class="mute">and {{.BadMore}} more (all in /api/status)</p>{{end}}</section>{{end}}
{{else}}<section><p>No view has been published yet: the controller has not completed a control period.</p></section>{{end}}
</main>
<footer>Read-only. Machine-readable: <a href="/api/status">/api/status</a> · <a href="/api/trend?minutes=60">/api/trend</a> · <a href="/metrics">/metrics</a></footer>
<script>{{.JS}}</script>
</body></html>
`))

type page struct {
	refresh time.Duration
	csp     string
}

func newPage(refresh time.Duration) *page {
	hash := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	}
	return &page{refresh: refresh, csp: "default-src 'none'; style-src " + hash(pageCSS) + "; script-src " + hash(pageJS) +
		"; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"}
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, s.pageData()); err != nil {
		http.Error(w, "ops: rendering the page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", s.page.csp)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.Bytes())
	}
}

// The page's data: everything pre-formatted here, so the template only places and escapes text.

type pageData struct {
	CSS              template.CSS
	JS               template.JS
	RefreshS         int
	RefreshMS        int64
	Stale            string
	V                *pageView
	Charts           []chart
	ChartX0, ChartX1 int
	ChartLabelX      int
}

type pageView struct {
	Site, Software, Role, State string
	ConfigVersion               int
	Epoch                       uint16
	Time, Uptime                string
	PeriodLast, PeriodLength    string
	Periods, Overruns           uint64
	Alarms                      []pageAlarm
	Zones                       []pageZone
	Units                       []pageUnit
	BadSensors                  []pageSensor
	BadCount, BadMore           int
	SensorCount                 int
}

type pageAlarm struct{ Severity, Source, Text, Since, Handling string }

type bar struct {
	OK   bool
	X, W string
	Fill string
}

type pageZone struct {
	Name, Hottest, HottestID, Setpoint, Measure, Demand, Delta, DeltaClass string
	Bar                                                                    bar
	Valid, Total                                                           int
	OK, Alarm                                                              bool
}

type pageUnit struct {
	Name, Line, Mode, ModeClass, Reason, Flags, Fan, Valve, Temps, Power, Why string
	UnitID                                                                    int
	FanBar, FanFbX                                                            string
	FanFbOK                                                                   bool
}

type pageSensor struct{ ID, Zone, Rack, State, Value, Age, Battery string }

// maxBadSensors bounds the sensor table: a hall with a dead gateway must not make a page of a
// thousand rows.
const maxBadSensors = 30

func (s *Server) pageData() pageData {
	d := pageData{
		CSS: template.CSS(pageCSS), JS: template.JS(pageJS),
		RefreshS: int(s.page.refresh / time.Second), RefreshMS: s.page.refresh.Milliseconds(),
		ChartX0: chartX0, ChartX1: chartW - chartRight, ChartLabelX: chartX0 - 4,
	}
	v := s.p.Latest()
	if v == nil {
		return d
	}
	if age := s.o.Now().Sub(v.Time); v.Period.Length > 0 && age > 3*v.Period.Length && age > 10*time.Second {
		d.Stale = "stale: " + dur(age) + " old"
	}
	pv := &pageView{
		Site: v.Site, Software: v.Software, Role: v.Role, State: v.State, ConfigVersion: v.ConfigVersion, Epoch: v.Epoch,
		Time: v.Time.Format("2006-01-02 15:04:05 MST"), Uptime: dur(v.Uptime),
		PeriodLast: ms(v.Period.Last), PeriodLength: ms(v.Period.Length), Periods: v.Period.Count, Overruns: v.Period.Overruns,
		SensorCount: len(v.Sensors),
	}
	for _, a := range v.Alarms {
		pv.Alarms = append(pv.Alarms, pageAlarm{Severity: a.Severity, Source: a.Source, Text: a.Text, Since: since(a.Raised, v.Time), Handling: handling(a, v.Time)})
	}
	for _, z := range v.Zones {
		pz := pageZone{Name: z.Name, Hottest: degC(z.HottestC), HottestID: z.HottestID, Setpoint: degC(z.SetpointC),
			Measure: degC(z.MeasureC), Demand: pct(z.DemandPct), Valid: z.Valid, Total: z.Total, OK: z.OK, Alarm: z.Alarm, Delta: "—"}
		if d := z.HottestC - z.SetpointC; !math.IsNaN(d) && !math.IsInf(d, 0) {
			pz.Delta = fmt.Sprintf("%+.1f °C", d)
			pz.DeltaClass = "cool"
			if d > 0 {
				pz.DeltaClass = "hot"
			}
			// ±6 °C around the setpoint at the middle of 120 px.
			x := 60 + math.Max(-6, math.Min(6, d))*10
			pz.Bar = bar{OK: true, X: f1(math.Min(60, x)), W: f1(math.Abs(x - 60)), Fill: "#1d7a3a"}
			if d > 0 {
				pz.Bar.Fill = "#b3132b"
			}
		}
		pv.Zones = append(pv.Zones, pz)
	}
	for _, u := range v.Units {
		pu := pageUnit{Name: u.Name, Line: u.Line, UnitID: u.UnitID, Mode: u.Mode, Reason: u.Reason, Why: u.Why,
			Fan: pct(u.FanCmdPct) + " / " + pct(u.FanFbPct), Power: kw(u.FanKW),
			FanBar: f1(clamp01(u.FanCmdPct/100) * 100)}
		switch u.Mode {
		case "auto":
			pu.ModeClass = "good"
		case "fail-safe", "disabled":
			pu.ModeClass = "bad"
		default:
			pu.ModeClass = "warn"
		}
		var flags []string
		if u.Tripped {
			flags = append(flags, "tripped")
		}
		if u.Isolated {
			flags = append(flags, "no read-back")
		}
		if u.Alarm && !u.Tripped {
			flags = append(flags, "alarm")
		}
		pu.Flags = strings.Join(flags, ", ")
		if !math.IsNaN(u.FanFbPct) {
			pu.FanFbOK, pu.FanFbX = true, f1(clamp01(u.FanFbPct/100)*100)
		}
		if math.IsNaN(u.ValveCmdPct) {
			pu.Valve = "no valve"
		} else {
			pu.Valve = pct(u.ValveCmdPct) + " / " + pct(u.ValveFbPct)
		}
		pu.Temps = degC(u.SupplyC) + " / " + degC(u.ReturnC)
		pv.Units = append(pv.Units, pu)
	}
	for _, x := range v.Sensors {
		if x.State == "ok" {
			continue
		}
		pv.BadCount++
		if len(pv.BadSensors) < maxBadSensors {
			age := "never heard"
			if x.Age >= 0 {
				age = dur(x.Age)
			}
			pv.BadSensors = append(pv.BadSensors, pageSensor{x.ID, x.Zone, x.Rack, x.State, degC(x.ValueC), age, volts(x.BatteryV)})
		}
	}
	pv.BadMore = pv.BadCount - len(pv.BadSensors)
	d.V = pv
	d.Charts = s.charts(v)
	return d
}

func handling(a Alarm, now time.Time) string {
	var parts []string
	if a.AckedBy != "" {
		p := "acknowledged by " + a.AckedBy
		if !a.AckedAt.IsZero() {
			p += " " + since(a.AckedAt, now)
		}
		parts = append(parts, p)
	}
	if !a.ShelvedUntil.IsZero() && a.ShelvedUntil.After(now) {
		parts = append(parts, "shelved until "+a.ShelvedUntil.Format("15:04"))
	}
	if len(parts) == 0 {
		return "unacknowledged"
	}
	return strings.Join(parts, "; ")
}

// since is a time of day and how long ago, relative to the View's time.
func since(t, now time.Time) string {
	if t.IsZero() {
		return "—"
	}
	f := "15:04:05"
	if t.YearDay() != now.YearDay() || t.Year() != now.Year() {
		f = "Jan 2 15:04"
	}
	return t.Format(f) + " (" + dur(now.Sub(t)) + " ago)"
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func degC(f float64) string {
	if !finite(f) {
		return "—"
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " °C"
}

func pct(f float64) string {
	if !finite(f) {
		return "—"
	}
	return strconv.FormatFloat(f, 'f', 0, 64) + " %"
}

func kw(f float64) string {
	if !finite(f) {
		return "—"
	}
	return strconv.FormatFloat(f, 'f', 2, 64) + " kW"
}

func volts(f float64) string {
	if !finite(f) {
		return "—"
	}
	return strconv.FormatFloat(f, 'f', 2, 64) + " V"
}

func f1(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func clamp01(f float64) float64 {
	if !finite(f) {
		return 0
	}
	return math.Max(0, math.Min(1, f))
}

func ms(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

// dur is a short human duration: 42 s, 12 min, 3 h 5 min, 2 d 4 h.
func dur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		return fmt.Sprintf("%d d %d h", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
}

// The trend charts.

const (
	chartW, chartH                = 600, 230
	chartX0, chartRight, chartTop = 44, 8, 22
	chartBottom                   = 22
)

var palette = []string{"#2f6fb0", "#d4520c", "#1d7a3a", "#8e3ab0", "#b3132b", "#0f8c8c", "#8a6d00", "#5b6775"}

type chart struct {
	Title            string
	W, H, X0, X1, Y1 int
	MidX, MidY       int
	Grid             []gridLine
	Ticks            []tick
	Series           []series
	Legend           []legend
}

type gridLine struct {
	Y, LabelY string
	Label     string
}

type tick struct {
	X, Y          string
	Label, Anchor string
}

type series struct {
	Color, Class string
	Dash         string   // stroke-dasharray, for the second round of the palette
	Lines        []string // polylines' points; a gap (NaN) splits the series
}

type legend struct {
	Color, Label string
	Dashed       bool
}

// charts draws the last hour ending at the View's time: zone hottest inlets against their
// setpoints, and unit fan commands.
func (s *Server) charts(v *View) []chart {
	end := v.Time
	start := end.Add(-time.Hour)
	pts := s.p.Trend(start)

	zones := make([]string, 0, len(v.Zones))
	for _, z := range v.Zones {
		zones = append(zones, z.Name)
	}
	units := make([]string, 0, len(v.Units))
	for _, u := range v.Units {
		units = append(units, u.Name)
	}

	// The temperature scale: every hottest inlet and setpoint in view, to whole degrees, at
	// least 4 °C tall so noise does not look like a storm.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		for _, z := range zones {
			zp, ok := p.Zones[z]
			if !ok {
				continue
			}
			for _, f := range []float64{zp.HottestC, zp.SetpointC} {
				if finite(f) {
					lo, hi = math.Min(lo, f), math.Max(hi, f)
				}
			}
		}
	}
	if lo > hi {
		lo, hi = 18, 27
	}
	lo, hi = math.Floor(lo-0.5), math.Ceil(hi+0.5)
	if hi-lo < 4 {
		mid := (hi + lo) / 2
		lo, hi = math.Floor(mid-2), math.Ceil(mid+2)
	}

	temp := newChart("Hottest inlet (solid) against setpoint (dashed), °C", start, end, lo, hi)
	for i, z := range zones {
		c := palette[i%len(palette)]
		temp.add(c, "series", pts, func(p TrendPoint) float64 { return zoneValue(p, z, false) })
		temp.add(c, "sp", pts, func(p TrendPoint) float64 { return zoneValue(p, z, true) })
		temp.Legend = append(temp.Legend, legend{Color: c, Label: z})
	}
	fans := newChart("Fan command, %", start, end, 0, 100)
	for i, u := range units {
		c := palette[i%len(palette)]
		dash := i/len(palette)%2 == 1 // past eight units the colours repeat, dotted
		fans.add(c, "series", pts, func(p TrendPoint) float64 {
			if up, ok := p.Units[u]; ok {
				return up.FanPct
			}
			return math.NaN()
		})
		if dash && len(fans.Series) > 0 && fans.Series[len(fans.Series)-1].Color == c {
			fans.Series[len(fans.Series)-1].Dash = "2 3"
		}
		fans.Legend = append(fans.Legend, legend{Color: c, Label: u, Dashed: dash})
	}
	return []chart{temp.chart, fans.chart}
}

func zoneValue(p TrendPoint, z string, setpoint bool) float64 {
	zp, ok := p.Zones[z]
	switch {
	case !ok:
		return math.NaN()
	case setpoint:
		return zp.SetpointC
	default:
		return zp.HottestC
	}
}

type chartScale struct {
	chart
	start, end time.Time
	lo, hi     float64
}

func newChart(title string, start, end time.Time, lo, hi float64) chartScale {
	c := chartScale{start: start, end: end, lo: lo, hi: hi}
	c.Title, c.W, c.H = title, chartW, chartH
	c.X0, c.X1, c.Y1 = chartX0, chartW-chartRight, chartH-chartBottom
	c.MidX, c.MidY = (c.X0+c.X1)/2, (chartTop+c.Y1)/2
	step := niceStep(hi - lo)
	for g := math.Ceil(lo/step) * step; g <= hi+1e-9; g += step {
		y := c.y(g)
		c.Grid = append(c.Grid, gridLine{Y: f1(y), LabelY: f1(y + 4), Label: strconv.FormatFloat(g, 'f', -1, 64)})
	}
	for m := 0; m <= 60; m += 15 {
		t := end.Add(time.Duration(m-60) * time.Minute)
		tk := tick{X: f1(c.x(t)), Y: strconv.Itoa(c.Y1 + 15), Label: t.Format("15:04"), Anchor: "middle"}
		if m == 60 {
			tk.Label, tk.Anchor = "now", "end" // at the right edge: inside the chart
		}
		c.Ticks = append(c.Ticks, tk)
	}
	return c
}

func niceStep(span float64) float64 {
	for _, s := range []float64{0.5, 1, 2, 5, 10, 20, 25, 50} {
		if span/s <= 6 {
			return s
		}
	}
	return 100
}

func (c *chartScale) x(t time.Time) float64 {
	f := float64(t.Sub(c.start)) / float64(c.end.Sub(c.start))
	return float64(c.X0) + math.Max(0, math.Min(1, f))*float64(c.X1-c.X0)
}

func (c *chartScale) y(f float64) float64 {
	r := (f - c.lo) / (c.hi - c.lo)
	return float64(c.Y1) - math.Max(0, math.Min(1, r))*float64(c.Y1-chartTop)
}

// add draws one series; a NaN ends a polyline and the next finite value starts another.
func (c *chartScale) add(color, class string, pts []TrendPoint, value func(TrendPoint) float64) {
	sr := series{Color: color, Class: class}
	var b strings.Builder
	n := 0
	flush := func() {
		if n > 0 {
			sr.Lines = append(sr.Lines, b.String())
		}
		b.Reset()
		n = 0
	}
	for _, p := range pts {
		f := value(p)
		if !finite(f) {
			flush()
			continue
		}
		if n > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f1(c.x(p.Time)))
		b.WriteByte(',')
		b.WriteString(f1(c.y(f)))
		n++
	}
	flush()
	if len(sr.Lines) > 0 {
		c.Series = append(c.Series, sr)
	}
}
