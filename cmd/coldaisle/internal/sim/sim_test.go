package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSimShowsWhatTheControllerDid runs the twin and the controller on a short trip story and
// reads the headless output as a new user would: true and measured are labelled, the
// controller's actions and alarms are there with their reasons, the start-up raises no alarm,
// and the flash-wear line is no daily figure from a few seconds of a x60 simulation.
func TestSimShowsWhatTheControllerDid(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the twin and the controller for about 5 s")
	}
	var out, log lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{Scenario: "testdata/trip.toml", Speed: 60, Headless: true, Out: &out, Log: &log, Seed: 1})
	if err != nil {
		t.Fatalf("sim: %v\n%s", err, log.String())
	}
	o := out.String()
	for _, want := range []string{
		"true_C: hottest TRUE rack inlet",
		"meas_C: hottest zone value the controller MEASURED",
		"  scenario    crah-2 fan fault: the unit trips\n",
		"  controller  crah-2 alarm: tripped: not running, fan fault reported",
		"crah-1, fan-3 pick up its share",
		"  controller  crah-2 alarm cleared: tripped\n",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(o, "alarm on") || strings.Contains(o, "alarm off") {
		t.Error("an alarm without its reason")
	}
	// no alarm before the trip: the start-up (units taken over, sensors' first reports) is none
	alarmAt := regexp.MustCompile(`(?m)^\s+(\d+):(\d\d)  controller  .* alarm: `)
	for _, m := range alarmAt.FindAllStringSubmatch(o, -1) {
		if min, _ := strconv.Atoi(m[1]); min < 2 {
			t.Errorf("alarm before the trip: %q", m[0])
		}
	}
	if len(res.Summary.Actions) == 0 || math.IsNaN(res.Summary.MaxMeasuredC) || math.IsNaN(res.Summary.MaxInletC) {
		t.Errorf("summary: %d actions, max measured %v, max true %v", len(res.Summary.Actions), res.Summary.MaxMeasuredC, res.Summary.MaxInletC)
	}
	l := log.String()
	if !strings.Contains(l, "too short for a daily figure") || !strings.Contains(l, "simulated room at x60") || strings.Contains(l, "MB/day") {
		t.Errorf("flash-wear line:\n%s", l)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s\nlog:\n%s", o, l)
	}
}

// The operations face on the twin-driven controller (issue 12): a live scrape passes promtool, the
// status API names the units with why, and a unit trip on the twin reaches a real syslog
// collector socket as an RFC 5424 alarm, and its clear after.
func TestOperationsFaceOnTheTwin(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the twin and the controller for about 5 s")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (scripts/deps.sh installs Debian's prometheus package)")
	}
	col, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer col.Close()
	got := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := col.ReadFrom(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:n])
		}
	}()
	var out, log lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Options{Scenario: "testdata/trip.toml", Speed: 60, Headless: true, Out: &out, Log: &log, Seed: 1,
			HTTP: "127.0.0.1:0", Syslog: "udp://" + col.LocalAddr().String()})
		done <- err
	}()
	urlRe := regexp.MustCompile(`status page and metrics: (http://\S+/)`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == "" && time.Now().Before(deadline); {
		if m := urlRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		} else {
			time.Sleep(20 * time.Millisecond) // polling the output for the address
		}
	}
	if base == "" {
		t.Fatalf("no status page address in the output:\n%s", out.String())
	}
	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return b
	}
	// The server listens before the first control period has published a View.
	metrics := get("metrics")
	for deadline := time.Now().Add(20 * time.Second); !bytes.Contains(metrics, []byte("coldaisle_zone_")) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond) // polling for the first published View
		metrics = get("metrics")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(metrics)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	for _, want := range []string{"coldaisle_zone_", "coldaisle_unit_", "coldaisle_sensor_", "coldaisle_control_period"} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	var st struct {
		Units []struct {
			Name string `json:"name"`
			Why  string `json:"why"`
		} `json:"units"`
	}
	if err := json.Unmarshal(get("api/status"), &st); err != nil || len(st.Units) != 3 || st.Units[0].Why == "" {
		t.Fatalf("api/status: %+v %v", st, err)
	}
	var raised, cleared string
	timeout := time.After(60 * time.Second)
	for raised == "" || cleared == "" {
		select {
		case m, ok := <-got:
			if !ok {
				t.Fatal("collector closed")
			}
			switch {
			case strings.Contains(m, " RAISED ") && strings.Contains(m, "unit/crah-2/tripped"):
				raised = m
			case strings.Contains(m, " CLEARED ") && strings.Contains(m, "unit/crah-2/tripped"):
				cleared = m
			}
		case <-timeout:
			t.Fatalf("collector got no raise and clear of crah-2's trip; raised %q cleared %q", raised, cleared)
		}
	}
	// <PRI>1 TIMESTAMP HOST coldaisle - RAISED [alarm@32473 ...] text: PRI 131 = local0 (16) * 8 + err (3).
	if !regexp.MustCompile(`^<131>1 \d{4}-\d\d-\d\dT\S+ \S+ coldaisle - RAISED \[alarm@32473 key="unit/crah-2/tripped" severity="major"`).MatchString(raised) {
		t.Errorf("raised: %q", raised)
	}
	if !strings.HasPrefix(cleared, "<134>1 ") {
		t.Errorf("cleared (want local0.info): %q", cleared)
	}
	if err := <-done; err != nil {
		t.Fatalf("sim: %v\n%s", err, log.String())
	}
}
