// Package sim is `coldaisle sim`: the twin and the controller meeting the way they meet in the
// field. The twin runs the room (mesh gateway on a pseudo-terminal, air handlers on Modbus TCP on
// loopback); the controller is the board program (board/appliance) with a database in a temporary
// folder, opening the twin's pseudo-terminal as its serial port. The package only wires and
// presents; it lives under cmd/coldaisle so that the main stays thin.
package sim

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/board/appliance"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/report"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/twin"
)

// Options configure a simulation run.
type Options struct {
	Scenario string        // built-in name or file
	Speed    float64       // plant seconds per wall second
	Duration time.Duration // plant time; 0 = the scenario's duration
	Seed     int64
	Plot     string // PNG path; "" = none
	Headless bool
	Version  string
	Out      io.Writer // the live view or plain lines
	Log      io.Writer // the controller's and the twin's log lines (default: discarded unless headless)
	// HTTP is where the controller's operations server listens (status page, /metrics): an
	// ADDR:PORT, or "" / "off" for none. A port in use falls back to any free one.
	HTTP string
	// Syslog sends the controller's alarms to this RFC 5424 collector ("udp://HOST:PORT"), as a
	// site's [alarms] syslog would.
	Syslog string
}

// Result is what the run measured.
type Result struct {
	Summary      report.Summary
	FirstCommand time.Duration
	PlotPath     string
	HTTP         string // the status page's URL ("" when off)
}

// Run runs the simulation until the duration is reached or ctx ends.
func Run(ctx context.Context, o Options) (*Result, error) {
	sc, err := plant.LoadScenario(o.Scenario)
	if err != nil {
		return nil, err
	}
	if o.Speed <= 0 {
		o.Speed = 30
	}
	dur := o.Duration
	if dur <= 0 {
		dur = time.Duration(sc.Duration * float64(time.Second))
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(logw, format+"\n", args...)
	}
	dir, err := os.MkdirTemp("", "coldaisle-sim-")
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()

	var evMu sync.Mutex
	var pending []report.Event   // the controller's events not shown yet
	zoneAlarms := zoneAlarmSet{} // under evMu
	tw, err := twin.New(twin.Options{
		Scenario: sc, Seed: o.Seed, Speed: o.Speed,
		GatewayLink:  filepath.Join(dir, "gateway"),
		ModbusListen: "127.0.0.1:0",
		Logf: func(format string, args ...any) {
			logf("twin: "+format, args...)
		},
	})
	if err != nil {
		return nil, err
	}
	twinErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		twinErr <- tw.Run(ctx)
	}()
	if err := tw.WaitReady(ctx); err != nil {
		return nil, fmt.Errorf("sim: %w", err) // the twin's errors say "twin: ..." themselves
	}
	cfg := tw.SiteConfig()
	cfg.Site = sc.Name
	cfg.Alarms.Syslog = o.Syslog
	data, err := site.Encode(cfg)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "site.toml")
	if err := os.WriteFile(cfgPath, data, 0o644); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}

	var snapMu sync.Mutex
	var esnap engine.Snapshot
	res := &Result{}
	firstCmd := make(chan time.Duration, 1)
	httpAddr := make(chan string, 1)
	app, err := appliance.Open(ctx, appliance.Options{
		ConfigPath: cfgPath, DBPath: filepath.Join(dir, "state.db"), NoBoard: true, Version: o.Version,
		Logf: func(format string, args ...any) { logf("controller: "+format, args...) },
		OnPeriod: func(_ engine.PeriodReport, s engine.Snapshot) {
			snapMu.Lock()
			esnap = s
			snapMu.Unlock()
		},
		OnFirstCommand: func(d time.Duration) { firstCmd <- d },
		OnEvents: func(evs []engine.Event) {
			now := tw.PlantTime().Seconds()
			evMu.Lock()
			defer evMu.Unlock()
			for _, e := range evs {
				// the engine stamps its own (wall) clock: back to plant time by the twin's speed
				t := math.Max(0, now-time.Since(e.Time).Seconds()*o.Speed)
				pending = append(pending, report.Event{T: t, Label: e.Text(), Controller: true})
				zoneAlarms.note(e)
			}
		},
		SimSpeed:    o.Speed,
		HTTPListen:  cmp.Or(o.HTTP, "off"),
		HTTPAnyPort: true,
		OnHTTP:      func(addr string) { httpAddr <- addr },
	})
	if err != nil {
		return nil, fmt.Errorf("sim: controller: %w", err)
	}
	appErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		appErr <- app.Serve(ctx)
	}()

	title := "coldaisle sim: " + sc.Name
	if o.HTTP != "" && o.HTTP != "off" {
		// The server starts with Serve; its address goes in the title so a new user sees it.
		select {
		case addr := <-httpAddr:
			res.HTTP = "http://" + addr + "/"
			title += "  (status page " + res.HTTP + ")"
			fmt.Fprintf(o.Out, "status page and metrics: %s (/metrics, /api/status)\n", res.HTTP)
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
		}
	}
	live, err := report.NewLive(o.Out, report.LiveOptions{Title: title, Headless: o.Headless,
		SetpointC: cfg.Control.SetpointC, ControllerEvents: true})
	if err != nil {
		return nil, err
	}
	run := &report.Run{Title: "coldaisle sim: " + sc.Name, SetpointC: cfg.Control.SetpointC}
	seen := map[string]bool{}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	lastT := -math.MaxFloat64
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-twinErr:
			runErr = fmt.Errorf("sim: twin stopped: %w", err)
			break loop
		case err := <-appErr:
			runErr = fmt.Errorf("sim: controller stopped: %v", err)
			break loop
		case d := <-firstCmd:
			res.FirstCommand = d
		case now := <-tick.C:
			ts := tw.Snapshot()
			snapMu.Lock()
			es := esnap
			snapMu.Unlock()
			evMu.Lock()
			s := sample(ts, es, seen, zoneAlarms.byUnit(cfg))
			s.Events = append(s.Events, pending...)
			pending = pending[:0]
			evMu.Unlock()
			if s.T > lastT {
				if err := run.Add(s); err == nil {
					lastT = s.T
				}
			}
			live.Update(s, now)
			if ts.PlantTime >= dur {
				break loop
			}
		}
	}
	live.Close()
	cancel()
	wg.Wait()
	if runErr != nil && ctx.Err() == nil {
		return nil, runErr
	}
	res.Summary = report.Summarize(run)
	if o.Plot != "" && len(run.Samples) > 1 {
		if err := report.SavePNG(o.Plot, run, report.PlotOptions{}); err != nil {
			return res, fmt.Errorf("sim: plot: %w", err)
		}
		res.PlotPath = o.Plot
	}
	return res, nil
}

// zoneAlarmSet holds the zones' raised alarms (zone -> key -> reason) from the engine's events:
// the engine's snapshot flags a unit whose zone is in alarm, the events say why.
type zoneAlarmSet map[string]map[string]string

func (z zoneAlarmSet) note(e engine.Event) {
	if e.Zone == "" {
		return
	}
	switch e.Kind {
	case engine.EventAlarm:
		if z[e.Zone] == nil {
			z[e.Zone] = map[string]string{}
		}
		z[e.Zone][e.Alarm] = e.Reason
	case engine.EventClear:
		delete(z[e.Zone], e.Alarm)
	}
}

// byUnit gives each unit the reasons of the alarms of the zones it serves ("zone row-a: ...").
func (z zoneAlarmSet) byUnit(cfg *site.Config) map[string][]string {
	out := map[string][]string{}
	for _, zc := range cfg.Zones {
		keys := make([]string, 0, len(z[zc.Name]))
		for k := range z[zc.Name] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, un := range zc.Units {
				out[un] = append(out[un], "zone "+zc.Name+": "+z[zc.Name][k])
			}
		}
	}
	return out
}

// sample turns the twin's truth and the controller's view into one report sample: InletsC are
// the plant's true rack inlets, a unit's ZoneC the zone value the controller measured.
func sample(ts twin.Snapshot, es engine.Snapshot, seen map[string]bool, zoneAlarms map[string][]string) report.Sample {
	s := report.Sample{
		T:              ts.PlantTime.Seconds(),
		FanKW:          ts.FanKW,
		BaselineFanKW:  ts.BaselineFanKW,
		FanKWh:         ts.Energy.FanKWh,
		BaselineFanKWh: ts.BaselineFanKWh,
	}
	byName := map[string]engine.UnitSnapshot{}
	for _, u := range es.Units {
		byName[u.Name] = u
	}
	for _, u := range ts.Units {
		eu, ok := byName[u.Name]
		mode := "local"
		switch {
		case u.Tripped:
			mode = "tripped"
		case u.NoAnswer:
			mode = "no answer"
		case u.Fallback:
			mode = "fallback"
		case ok:
			mode = eu.Mode.String()
		}
		zc, sp, zone := math.NaN(), math.NaN(), ""
		var alarms []string
		if ok {
			zc, sp, zone = eu.MeasureC, eu.SetpointC, eu.Zone
			alarms = append(append(alarms, eu.Alarms...), zoneAlarms[u.Name]...)
		}
		s.Units = append(s.Units, report.Unit{Name: u.Name, FanPct: u.FanPct, ValvePct: u.ValvePct, Mode: mode, Zone: zone, ZoneC: zc, SetpointC: sp,
			Alarm: ok && (eu.Alarm || len(alarms) > 0), Alarms: alarms})
	}
	for _, r := range ts.Racks {
		s.InletsC = append(s.InletsC, r.InletC)
	}
	// Timeline events: the twin keeps the latest ones; show each once.
	for _, e := range ts.Events {
		k := fmt.Sprintf("%g|%s|%s", e.At, e.Kind, e.Unit+e.Rack+e.Zone+e.Sensor)
		if !seen[k] {
			seen[k] = true
			s.Events = append(s.Events, report.Event{T: e.At, Label: label(e)})
		}
	}
	return s
}

func label(e plant.Event) string {
	who := e.Unit + e.Rack + e.Zone + e.Sensor
	if e.Note != "" {
		return e.Note
	}
	return strings.TrimSpace(strings.ReplaceAll(string(e.Kind), "_", " ") + " " + who)
}
