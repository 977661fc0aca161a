package appliance

import (
	"math"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/ops"
	"github.com/coldaisle/coldaisle/control/engine"
)

// The View is built from the running controller against a simulated CRAH: zones, units with why,
// sensors, lines, database and period counters.
func TestBuildView(t *testing.T) {
	r := startRig(t, nil)
	feedInlets(t, r)
	waitFor(t, 10*time.Second, "the zone measured", func() bool { return r.a.eng.Snapshot().Zones[0].OK })
	n := r.a.periods.Load()
	waitFor(t, 10*time.Second, "more periods", func() bool { return r.a.periods.Load() > n+3 })
	// The sensors' part is cached for up to sensorViewMin after new readings, so a View built
	// just before the first reading may still say "missing" for that long: await the refresh.
	var v *ops.View
	waitFor(t, 10*time.Second, "the sensors in the view", func() bool {
		v = r.a.buildView(engine.PeriodReport{Elapsed: 3 * time.Millisecond})
		return len(v.Sensors) == 2 && v.Sensors[0].State == "ok"
	})
	if v.Site != "test-room" || v.ConfigVersion != 1 || v.Role != "active" || v.Period.Count < 3 || v.Period.Length != 200*time.Millisecond {
		t.Fatalf("header: %+v", v)
	}
	if len(v.Zones) != 1 || !v.Zones[0].OK || math.IsNaN(v.Zones[0].HottestC) || v.Zones[0].HottestID == "" || v.Zones[0].Valid != 2 {
		t.Fatalf("zones: %+v", v.Zones)
	}
	u := v.Units[0]
	if len(v.Units) != 1 || u.Name != "crah-1" || u.Line != "bms" || u.Why == "" || len(u.Zones) != 1 || math.IsNaN(u.FanFbPct) {
		t.Fatalf("units: %+v", v.Units)
	}
	if len(v.Sensors) != 2 || v.Sensors[0].State != "ok" || math.IsNaN(v.Sensors[0].ValueC) {
		t.Fatalf("sensors: %+v", v.Sensors)
	}
	if len(v.Lines) != 1 || v.Lines[0].Requests == 0 {
		t.Fatalf("lines: %+v", v.Lines)
	}
	if v.DB.Commits == 0 {
		t.Fatalf("db: %+v", v.DB)
	}
}
