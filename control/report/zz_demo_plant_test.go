package report

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/control/plant"
)

// Temporary: drive the plant demo with a crude controller and render it.
func TestZZDemoPlant(t *testing.T) {
	name := os.Getenv("ZZ_SCENARIO")
	if name == "" {
		t.Skip()
	}
	sc, err := plant.LoadScenario(name)
	if err != nil {
		t.Fatal(err)
	}
	m, b := plant.New(sc, 1), plant.New(sc, 1)
	for i := range sc.Units {
		b.SetUnitInput(i, plant.UnitInput{LocalFan: 1})
	}
	run := &Run{Title: "coldaisle sim: " + sc.Name}
	var live bytes.Buffer
	lv, _ := NewLive(&live, LiveOptions{Title: run.Title, MaxFPS: 1e9})
	var hl bytes.Buffer
	hv, _ := NewLive(&hl, LiveOptions{Title: run.Title, Headless: true})
	fan := make([]float64, len(sc.Units))
	for i := range fan {
		fan[i] = 0.6
	}
	wall := time.Now()
	var evs []Event
	for k := 0; m.Time() < sc.Duration; k++ {
		mx, _ := m.MaxInletC()
		for i := range sc.Units {
			fan[i] = math.Max(0.3, math.Min(1, fan[i]+0.002*(mx-(sc.SetpointC-0.5))))
			m.SetUnitInput(i, plant.UnitInput{Remote: true, Fan: fan[i], Valve: 0.8})
		}
		m.Step(1)
		b.Step(1)
		for _, e := range m.DueEvents() {
			lbl := string(e.Kind)
			if e.Unit != "" {
				lbl = e.Unit + " " + lbl
			}
			if e.Note != "" {
				lbl = e.Note
			}
			evs = append(evs, Event{T: e.At, Label: lbl})
		}
		if k%5 != 4 {
			continue
		}
		s := Sample{T: m.Time(), Events: evs}
		evs = nil
		var kw, bkw float64
		for i, u := range m.Units() {
			mode := "auto"
			if u.Tripped {
				mode = "tripped"
			}
			s.Units = append(s.Units, Unit{Name: u.Name, FanPct: u.Fan * 100, ValvePct: u.Valve * 100, Mode: mode,
				Zone: fmt.Sprint("zone-", i), ZoneC: mx, SetpointC: sc.SetpointC, Alarm: u.Tripped})
			kw += u.FanKW
		}
		for _, u := range b.Units() {
			bkw += u.FanKW
		}
		for _, se := range m.Sensors() {
			s.InletsC = append(s.InletsC, se.TrueC)
		}
		s.FanKW, s.BaselineFanKW = kw, bkw
		s.FanKWh, s.BaselineFanKWh = m.Energy().FanKWh, b.Energy().FanKWh
		if err := run.Add(s); err != nil {
			t.Fatal(err)
		}
		lv.Update(s, wall.Add(time.Duration(k)*time.Millisecond))
		hv.Update(s, wall)
	}
	lv.Close()
	hv.Close()
	t0 := time.Now()
	if err := SavePNG("/tmp/coldaisle-demo-plot.png", run, PlotOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("png %v", time.Since(t0))
	fs := frames(live.String())
	fmt.Println(stripANSI(fs[len(fs)-1]))
	fmt.Println(hl.String())
	fmt.Println(Summarize(run))
}
