package appliance

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/bms"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/drivers/modbus"
)

// The operations face on a running controller (issue 12): the HTTP server and the BMS server start
// from the site file; 200 clients at once and a stuck one do not delay a control period; the BMS
// image says what the engine says.
func TestOperationsFaceOnARunningController(t *testing.T) {
	if testing.Short() {
		t.Skip("200 HTTP clients against a running controller")
	}
	var mu sync.Mutex
	var worst time.Duration
	var overruns uint64
	measuring := false
	r := startRig(t, func(o *Options) {
		o.HTTPListen = "127.0.0.1:0"
		o.OnPeriod = func(rep engine.PeriodReport, _ engine.Snapshot) {
			mu.Lock()
			defer mu.Unlock()
			if measuring {
				worst = max(worst, rep.Elapsed)
				if rep.Overrun {
					overruns++
				}
			}
		}
		withSite(t, o, func(s string) string { return s + "\n[bms]\nlisten = \"127.0.0.1:0\"\n" })
	})
	feedInlets(t, r)
	waitFor(t, 10*time.Second, "the servers", func() bool { return r.a.HTTPAddr() != "" && r.a.BMSAddr() != "" })
	base := "http://" + r.a.HTTPAddr()

	// A stuck client: connects, sends half a request, never more.
	stuck, err := net.Dial("tcp", r.a.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	if _, err := stuck.Write([]byte("GET /metrics HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	measuring = true
	mu.Unlock()
	start := r.a.periods.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var served, refused sync.Map
	for c := 0; c < 200; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			path := []string{"/metrics", "/", "/api/status", "/api/trend?minutes=5"}[c%4]
			for i := 0; i < 5 && ctx.Err() == nil; i++ {
				resp, err := http.Get(base + path)
				if err != nil {
					refused.Store(c*10+i, true)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				served.Store(c*10+i, resp.StatusCode)
			}
		}(c)
	}
	wg.Wait()
	waitFor(t, 10*time.Second, "periods after the clients", func() bool { return r.a.periods.Load() > start+5 })
	mu.Lock()
	w, ov := worst, overruns
	mu.Unlock()
	n, ok := 0, 0
	served.Range(func(_, v any) bool {
		n++
		if v.(int) == 200 {
			ok++
		}
		return true
	})
	t.Logf("%d requests answered (%d with 200), %d periods meanwhile, slowest period %v, %d overruns", n, ok, r.a.periods.Load()-start, w, ov)
	if ok == 0 {
		t.Fatal("no request was served")
	}
	// A loop the server blocked would stop for seconds (the stuck client holds its connection
	// for the whole test); a period a little over its length on a loaded machine is load, and
	// the timing itself is the PeriodOps benchmark's to report.
	if period := r.a.eng.Config().Control.Period.Duration; w > 5*period {
		t.Errorf("a control period took %v (%d overran) while 200 clients and a stuck one hit the server", w, ov)
	}

	// The BMS server answers from the same View.
	bus, err := modbus.Dial("tcp://"+r.a.BMSAddr(), modbus.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	hdr, err := bus.ReadInput(context.Background(), 1, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	if hdr[0] != bms.MapVersion {
		t.Fatalf("BMS header: map version %d, want %d", hdr[0], bms.MapVersion)
	}
	z, err := bus.ReadHolding(context.Background(), 1, bms.ZoneBase, bms.ZoneStride)
	if err != nil {
		t.Fatal(err)
	}
	want := r.a.pub.Latest().Zones[0].SetpointC
	const setpointOffset = 5 // board/bms/register-map.md: zone block +5, setpoint, 0.1 °C
	if z[0] != 1 {
		t.Fatalf("BMS zone 0 not present: %v", z)
	}
	if got := float64(int16(z[setpointOffset])) / 10; math.Abs(got-want) > 0.05 {
		t.Fatalf("BMS zone setpoint %g, the View says %g", got, want)
	}
}

// withSite edits the rig's site file before it is imported.
func withSite(t *testing.T, o *Options, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(o.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	writeSite(t, filepath.Dir(o.ConfigPath), edit(string(b)))
}
