package appliance

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/ops"
	"github.com/coldaisle/coldaisle/control/engine"
)

// benchApp opens (without serving) an App over 16 simulated CRAHs and 1,000 sensors in 8 zones,
// with every sensor reporting, as a large room would be.
func benchApp(b *testing.B) *App {
	b.Helper()
	ids := make([]byte, 16)
	for i := range ids {
		ids[i] = byte(i + 1)
	}
	addr, _ := simulator(b, ids...)
	var site strings.Builder
	fmt.Fprintf(&site, "site = \"bench\"\n[control]\nperiod = \"2s\"\n[[line]]\nname = \"bms\"\ntarget = \"tcp://%s\"\n", addr)
	for u := 1; u <= 16; u++ {
		fmt.Fprintf(&site, "[[unit]]\nname = \"crah-%d\"\nline = \"bms\"\nunit_id = %d\n", u, u)
	}
	n := 0
	for z := 0; z < 8; z++ {
		fmt.Fprintf(&site, "[[zone]]\nname = \"z%d\"\nunits = [\"crah-%d\", \"crah-%d\"]\nsensors = [", z+1, 2*z+1, 2*z+2)
		for s := 0; s < 125; s++ {
			if s > 0 {
				site.WriteString(", ")
			}
			fmt.Fprintf(&site, "\"00-17-0d-00-00-00-%02x-%02x/1\"", n/256, n%256)
			n++
		}
		site.WriteString("]\n")
	}
	dir := b.TempDir()
	a, err := Open(context.Background(), Options{ConfigPath: writeSite(b, dir, site.String()), DBPath: filepath.Join(dir, "state.db"), NoBoard: true, Logf: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.db.Close() })
	now := time.Now()
	for i := 0; i < n; i++ {
		a.eng.Observe(engine.Reading{Sensor: fmt.Sprintf("00-17-0d-00-00-00-%02x-%02x/1", i/256, i%256), Value: 22 + float64(i%7)/10, Time: now, Arrival: now})
	}
	a.eng.Tick(now)
	return a
}

// BenchmarkPeriodOpsOff and BenchmarkPeriodOpsOn measure what the operations face costs a
// control period (building and publishing the View), with no HTTP client, and with 8 clients
// scraping /metrics and the status page as fast as they can.
func BenchmarkPeriodOpsOff(b *testing.B) {
	a := benchApp(b)
	rep := engine.PeriodReport{Elapsed: time.Millisecond}
	for b.Loop() {
		a.publish(rep)
	}
}

func BenchmarkPeriodOpsOn(b *testing.B) {
	a := benchApp(b)
	rep := engine.PeriodReport{Elapsed: time.Millisecond}
	a.publish(rep)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	srv := ops.NewServer(a.pub, ops.ServerOptions{})
	wg.Add(1)
	go func() { defer wg.Done(); _ = srv.Serve(ctx, ln) }()
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			path := "/metrics"
			if c%2 == 1 {
				path = "/"
			}
			for ctx.Err() == nil {
				resp, err := http.Get("http://" + ln.Addr().String() + path)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}(c)
	}
	b.ResetTimer()
	for b.Loop() {
		a.publish(rep)
	}
	b.StopTimer()
	cancel()
	wg.Wait()
}
