package ops

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// served is a Server on a real loopback listener.
type served struct {
	srv  *Server
	url  string
	addr string
}

// serve starts s on 127.0.0.1:0 and stops it at the end of the test, checking that Serve returns
// nil once its context ends.
func serve(t testing.TB, p *Publisher, o ServerOptions) served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(p, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return served{srv: s, url: "http://" + ln.Addr().String(), addr: ln.Addr().String()}
}

func get(t testing.TB, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// hall is a publisher holding an hour's trend of a synthetic hall, and its last View.
func hall(sensors, units int) (*Publisher, *View) {
	p := NewPublisher(time.Hour, 10*time.Second)
	v := fillTrend(p, sensors, units, time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	return p, v
}

func fixedNow(v *View) func() time.Time {
	return func() time.Time { return v.Time.Add(500 * time.Millisecond) }
}

func TestMetricsPassPromtool(t *testing.T) {
	p, v := hall(200, 8)
	v.Pair = &Pair{NodeID: 1, Role: "standby", Epoch: 5, Highest: 6, Hold: "off", PeerNodeID: 2, PeerRole: "active", PeerHeard: true,
		PeerAgo: 40 * time.Millisecond, TakeoverBudget: 800 * time.Millisecond, Drops: map[string]uint64{"sent": 120, "bad_mac": 3}}
	s := serve(t, p, ServerOptions{Now: fixedNow(v)})
	resp, body := get(t, s.url+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	text := string(body)
	for _, want := range []string{
		`coldaisle_build_info{version="v1.4.2-3-gdeadbee"} 1`,
		`coldaisle_controller_info{role="active",site="hall-b"} 1`,
		`coldaisle_controller_epoch 3`,
		`coldaisle_sensor_state{sensor="s0013",state="stale",zone="row-a"} 1`,
		`coldaisle_sensor_battery_volts{sensor="s0000",zone="row-a"} 2.9`,
		`coldaisle_zone_setpoint_celsius{zone="row-c"} 25`,
		`coldaisle_zone_sensors_configured{zone="row-a"} 40`,
		`coldaisle_unit_mode{mode="fail-safe",unit="crah-3"} 1`,
		`coldaisle_unit_mode{mode="auto",unit="crah-3"} 0`,
		`coldaisle_unit_fan_command_ratio{unit="crah-3"} 1`,
		`coldaisle_unit_info{line="tcp-b",profile="crah-generic",unit="crah-2",unit_id="1"} 1`,
		`coldaisle_modbus_request_failures_total{kind="timeout",line="bus-a"} 12`,
		`coldaisle_mesh_session_events_total{counter="drops.fcs"} 17`,
		`coldaisle_control_period_overruns_total 2`,
		`coldaisle_db_write_failures_total 0`,
		`coldaisle_alarms_active{severity="critical"} 1`,
		`coldaisle_alarms_active{severity="minor"} 0`,
		`coldaisle_alarms_unacknowledged{severity="critical"} 0`,
		`coldaisle_pair_role{role="standby"} 1`,
		`coldaisle_pair_role{role="active"} 0`,
		`coldaisle_pair_peer_heard_age_seconds 0.04`,
		`coldaisle_pair_lease_remaining_seconds 0`,
		`coldaisle_pair_link_messages_total{counter="bad_mac"} 3`,
		"go_goroutines ", "process_",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	// Unknown values are absent, never NaN: crah-3 has no read-back, s0041 a probe fault.
	for _, absent := range []string{`coldaisle_unit_fan_feedback_ratio{unit="crah-3"}`, `coldaisle_sensor_temperature_celsius{rack="r01-10",sensor="s0041"`, "NaN"} {
		if strings.Contains(text, absent) {
			t.Errorf("scrape has %s", absent)
		}
	}

	if testing.Short() {
		t.Skip("an external peer; the host run (not -short) checks the scrape with it")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (scripts/deps.sh installs Debian's prometheus package): " + err.Error())
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	t.Logf("promtool check metrics: clean on a %d-byte scrape", len(body))
}

func TestMetricsBeforeTheFirstView(t *testing.T) {
	s := serve(t, NewPublisher(time.Hour, 10*time.Second), ServerOptions{})
	resp, body := get(t, s.url+"/metrics")
	if resp.StatusCode != 200 || strings.Contains(string(body), "coldaisle_") {
		t.Fatalf("status %d, body has coldaisle_ metrics before any view:\n%.500s", resp.StatusCode, body)
	}
	if resp, _ := get(t, s.url+"/api/status"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/api/status before any view: %d", resp.StatusCode)
	}
	if resp, body := get(t, s.url+"/"); resp.StatusCode != 200 || !strings.Contains(string(body), "waiting for the first control period") {
		t.Fatalf("/ before any view: %d\n%s", resp.StatusCode, body)
	}
}

func TestMeshAndLabelSanitizing(t *testing.T) {
	p := NewPublisher(time.Hour, 10*time.Second)
	v := synthView(40, 2, time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), 0)
	v.Mesh = map[string]uint64{"Drops FCS": 2, "drops_fcs": 3, "weird\n\"}name": 1}
	v.Units[0].Name = "bad\xffname"
	p.Publish(v)
	s := serve(t, p, ServerOptions{})
	resp, body := get(t, s.url+"/metrics")
	text := string(body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// "Drops FCS" and "drops_fcs" both sanitize to drops_fcs: summed, not a duplicate series.
	for _, want := range []string{`coldaisle_mesh_session_events_total{counter="drops_fcs"} 5`, `coldaisle_mesh_session_events_total{counter="weird___name"} 1`, "unit=\"bad\ufffdname\""} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

func TestStatusAndTrendJSON(t *testing.T) {
	p, v := hall(200, 8)
	s := serve(t, p, ServerOptions{})
	resp, body := get(t, s.url+"/api/status")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var st struct {
		Site   string `json:"site"`
		Period struct {
			LengthSeconds float64 `json:"length_seconds"`
		} `json:"period"`
		Sensors []struct {
			ID         string   `json:"id"`
			ValueC     *float64 `json:"value_c"`
			AgeSeconds *float64 `json:"age_seconds"`
		} `json:"sensors"`
		Units []struct {
			Name        string   `json:"name"`
			FanFbPct    *float64 `json:"fan_fb_pct"`
			ValveCmdPct *float64 `json:"valve_cmd_pct"`
			Why         string   `json:"why"`
		} `json:"units"`
		Alarms []struct {
			AckedAt      *time.Time `json:"acked_at"`
			ShelvedUntil *time.Time `json:"shelved_until"`
		} `json:"alarms"`
		Mesh map[string]uint64 `json:"mesh"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("%v\n%.300s", err, body)
	}
	if st.Site != "hall-b" || st.Period.LengthSeconds != 1 || len(st.Sensors) != 200 || len(st.Units) != 8 || st.Mesh["drops.fcs"] != 17 {
		t.Fatalf("decoded %+v", st)
	}
	if st.Sensors[41].ValueC != nil || st.Sensors[77].AgeSeconds != nil || st.Sensors[0].ValueC == nil {
		t.Errorf("NaN value or a never-heard age is not null: s41 %v, s77 age %v", st.Sensors[41].ValueC, st.Sensors[77].AgeSeconds)
	}
	if st.Units[2].FanFbPct != nil || st.Units[7].ValveCmdPct != nil || st.Units[7].Why != v.Units[7].Why {
		t.Errorf("unit NaN not null or why lost: %+v", st.Units)
	}
	if st.Alarms[0].AckedAt != nil || st.Alarms[1].AckedAt == nil || st.Alarms[2].ShelvedUntil == nil {
		t.Errorf("alarm times: %+v", st.Alarms)
	}

	for q, want := range map[string]int{"": 361, "?minutes=60": 361, "?minutes=5": 31, "?minutes=1": 7} {
		resp, body := get(t, s.url+"/api/trend"+q)
		var tr struct {
			Minutes int `json:"minutes"`
			Points  []struct {
				Time  time.Time `json:"time"`
				Zones map[string]struct {
					HottestC  *float64 `json:"hottest_c"`
					SetpointC *float64 `json:"setpoint_c"`
				} `json:"zones"`
				Units map[string]struct {
					FanPct *float64 `json:"fan_pct"`
				} `json:"units"`
			} `json:"points"`
		}
		if err := json.Unmarshal(body, &tr); err != nil || resp.StatusCode != 200 {
			t.Fatalf("trend%s: %d %v", q, resp.StatusCode, err)
		}
		// The Publisher keeps an hour (360 samples); the 361st, an hour old, fell off.
		if want == 361 {
			want = 360
		}
		if len(tr.Points) != want {
			t.Errorf("trend%s: %d points, want %d", q, len(tr.Points), want)
			continue
		}
		last := tr.Points[len(tr.Points)-1]
		if !last.Time.Equal(v.Time) || last.Zones["row-a"].SetpointC == nil || *last.Zones["row-a"].SetpointC != 24 || last.Units["crah-1"].FanPct == nil {
			t.Errorf("trend%s last point %+v", q, last)
		}
	}
	for _, q := range []string{"?minutes=0", "?minutes=61", "?minutes=abc", "?minutes=-5", "?minutes=5&minutes=6", "?minutes=1e1"} {
		resp, body := get(t, s.url+"/api/trend"+q)
		if resp.StatusCode != 400 || !strings.Contains(string(body), "minutes") {
			t.Errorf("trend%s: %d %s, want 400 naming minutes", q, resp.StatusCode, body)
		}
	}
}

func TestPageEscapesAndHashesItsInlineParts(t *testing.T) {
	p := NewPublisher(time.Hour, 10*time.Second)
	v := synthView(40, 2, time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), 0)
	v.Alarms[0].Text = `<script>alert("x")</script> & <img src=x onerror=alert(1)>`
	v.Units[0].Why = `"><svg onload=alert(1)>`
	p.Publish(v)
	s := serve(t, p, ServerOptions{Now: fixedNow(v)})
	resp, body := get(t, s.url+"/")
	page := string(body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, bad := range []string{`<script>alert`, `<img src=x`, `<svg onload`} {
		if strings.Contains(page, bad) {
			t.Errorf("page carries %s unescaped", bad)
		}
	}
	if !strings.Contains(page, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img`) {
		t.Errorf("alarm text not shown escaped")
	}
	// The CSP names exactly the inline style and script the page carries.
	csp := resp.Header.Get("Content-Security-Policy")
	for _, re := range []string{`(?s)<style>(.*?)</style>`, `(?s)<script>(.*?)</script>`} {
		m := regexp.MustCompile(re).FindAllStringSubmatch(page, -1)
		if len(m) != 1 {
			t.Fatalf("%s: %d matches", re, len(m))
		}
		h := sha256.Sum256([]byte(m[0][1]))
		if want := "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"; !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if !strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if resp, _ := get(t, s.url+"/nope"); resp.StatusCode != 404 {
		t.Errorf("/nope: %d", resp.StatusCode)
	}
}

// rawRequest sends req on a fresh connection and returns the status line.
func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return strings.TrimSpace(line)
}

func TestReadOnlyAndBounded(t *testing.T) {
	p, v := hall(40, 2)
	s := serve(t, p, ServerOptions{ReadHeaderTimeout: 300 * time.Millisecond, Now: fixedNow(v)})

	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		req, _ := http.NewRequest(m, s.url+"/api/status", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	resp, err := http.Head(s.url + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD /metrics: %v %v", resp, err)
	}
	resp.Body.Close()

	if got := rawRequest(t, s.addr, "GET /api/status HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"); !strings.Contains(got, " 413 ") {
		t.Errorf("GET with a body: %q", got)
	}
	if got := rawRequest(t, s.addr, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 64<<10)+"\r\n\r\n"); !strings.Contains(got, " 431 ") {
		t.Errorf("64 KiB header: %q", got)
	}

	// A client that connects and says nothing is dropped by ReadHeaderTimeout.
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if held := time.Since(start); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) || held > 5*time.Second {
		t.Fatalf("stuck client: read %d, %v after %v; want the server to close it after 300 ms", n, err, held)
	} else {
		t.Logf("stuck client dropped after %v (%v)", held.Round(time.Millisecond), err)
	}
}

func TestParallelClientsServedOrRefusedCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("200 clients at once: the host run (not -short) does it")
	}
	p, v := hall(200, 8)
	s := serve(t, p, ServerOptions{MaxConns: 32, Now: fixedNow(v)})
	const clients = 200
	var ok, refused atomic.Int64
	var mu sync.Mutex
	var odd []string
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		wg.Go(func() {
			cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 20 * time.Second}
			<-start
			path := []string{"/api/status", "/", "/metrics", "/api/trend?minutes=10"}[i%4]
			resp, err := cl.Get(s.url + path)
			if err != nil {
				// Over the cap the server resets the connection at accept: the client sees a
				// reset or EOF, at once. Anything else (a timeout) is not clean.
				if strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "broken pipe") {
					refused.Add(1)
					return
				}
				mu.Lock()
				odd = append(odd, err.Error())
				mu.Unlock()
				return
			}
			_, rerr := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch {
			case rerr == nil && resp.StatusCode == 200:
				ok.Add(1)
			case rerr == nil && resp.StatusCode == 503: // waited BusyWait for a turn
				refused.Add(1)
			default:
				mu.Lock()
				odd = append(odd, fmt.Sprintf("%s: %d %v", path, resp.StatusCode, rerr))
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if len(odd) > 0 || ok.Load()+refused.Load() != clients || ok.Load() == 0 {
		t.Fatalf("%d served, %d refused, %d otherwise: %v", ok.Load(), refused.Load(), len(odd), odd)
	}
	t.Logf("%d clients at once, cap 32: %d served, %d refused (%d at accept)", clients, ok.Load(), refused.Load(), s.srv.Refused())
	// The cap lets go of its slots: afterwards a request is served.
	if resp, _ := get(t, s.url+"/api/status"); resp.StatusCode != 200 {
		t.Fatalf("after the storm: %d", resp.StatusCode)
	}
}

func TestPublishStaysFastUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("200 clients at once: the host run (not -short) does it")
	}
	p, _ := hall(1000, 16)
	s := serve(t, p, ServerOptions{MaxConns: 256, ReadHeaderTimeout: 30 * time.Second})

	// Views built beforehand: the measurement is Publish alone, as the control loop calls it.
	const n = 600
	base := p.Latest()
	t0 := base.Time
	views := make([]*View, n)
	for i := range views {
		vi := *base // sensors shared: Publish reads zones and units, which each view has its own
		vi.Time = t0.Add(time.Duration(i+1) * time.Second)
		vi.Zones = slices.Clone(base.Zones)
		vi.Units = slices.Clone(base.Units)
		vi.Zones[0].HottestC += float64(i%10) / 10
		views[i] = &vi
	}

	// A stuck client holds a connection through the whole run.
	stuck, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var requests atomic.Int64
	tr := &http.Transport{MaxIdleConnsPerHost: 200, MaxConnsPerHost: 200}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	for i := range 200 {
		path := []string{"/metrics", "/"}[i%2]
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", s.url+path, nil)
				resp, err := cl.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				requests.Add(1)
			}
		})
	}
	// Wait until the load is real before measuring.
	for requests.Load() < 200 {
		time.Sleep(5 * time.Millisecond)
	}

	lat := make([]time.Duration, n)
	before := requests.Load()
	runStart := time.Now()
	for i, v := range views {
		st := time.Now()
		p.Publish(v)
		lat[i] = time.Since(st)
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(runStart)
	served := requests.Load() - before
	cancel()
	wg.Wait()

	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[int(math.Min(float64(n-1), f*float64(n)))] }
	t.Logf("Publish under 200 clients on /metrics and / plus a stuck client: %d publishes, p50 %v, p90 %v, p99 %v, max %v; %d requests served meanwhile (%.0f/s)",
		n, q(0.5), q(0.9), q(0.99), lat[n-1], served, float64(served)/elapsed.Seconds())
	if p.Latest() != views[n-1] {
		t.Fatal("the last publish is not the latest view")
	}
	// Generous: a control period is a second; Publish takes no lock a reader holds.
	if q(0.99) > 50*time.Millisecond {
		t.Errorf("Publish p99 %v under load", q(0.99))
	}
	if served == 0 {
		t.Error("no request served during the run: the load was not real")
	}
}

func TestServeStopsWithinItsBound(t *testing.T) {
	p, _ := hall(40, 2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(p, ServerOptions{ShutdownTimeout: 300 * time.Millisecond, ReadHeaderTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	// A connection that sent half a request is active, not idle: Shutdown waits for it, and
	// the bound must cut it.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\n"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, "http://"+ln.Addr().String()+"/api/status"); resp.StatusCode != 200 {
		t.Fatalf("serving: %d", resp.StatusCode)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("stopping took %v, bound 300 ms", took)
	} else {
		t.Logf("stopped in %v with a half-sent request open", took.Round(time.Millisecond))
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting after stop")
	}
}

// A board of a pair says so in /api/status: its role, epoch, peer, lease and link counters; a
// board alone has no pair object at all.
func TestStatusJSONOfAPairBoard(t *testing.T) {
	p, v := hall(20, 2)
	v.Pair = &Pair{NodeID: 2, Role: "active", Epoch: 6, Highest: 6, Hold: "off", PeerNodeID: 1, PeerRole: "standby", PeerHeard: true,
		Lease: 180 * time.Millisecond, TakeoverBudget: 800 * time.Millisecond, Drops: map[string]uint64{"replay": 4}, Alarms: []string{}}
	s := serve(t, p, ServerOptions{})
	_, body := get(t, s.url+"/api/status")
	var st struct {
		Pair *struct {
			NodeID       int               `json:"node_id"`
			Role         string            `json:"role"`
			Epoch        int               `json:"epoch"`
			PeerRole     string            `json:"peer_role"`
			LeaseSeconds float64           `json:"lease_seconds"`
			Budget       float64           `json:"takeover_budget_seconds"`
			Counters     map[string]uint64 `json:"counters"`
		} `json:"pair"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Pair == nil || st.Pair.NodeID != 2 || st.Pair.Role != "active" || st.Pair.Epoch != 6 || st.Pair.PeerRole != "standby" ||
		st.Pair.LeaseSeconds != 0.18 || st.Pair.Budget != 0.8 || st.Pair.Counters["replay"] != 4 {
		t.Fatalf("pair: %s", body)
	}
	p2, _ := hall(20, 2)
	s2 := serve(t, p2, ServerOptions{})
	if _, body := get(t, s2.url+"/api/status"); strings.Contains(string(body), `"pair"`) {
		t.Fatal("a board alone has a pair object")
	}
}
