package bms

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/ops"
	"github.com/coldaisle/coldaisle/drivers/modbus"
)

var t0 = time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)

// testView is a small room: two zones (the second short of sensors, NaN measurement), a CRAH
// and a fan drive (no valve, no power reading), three alarms.
func testView() *ops.View {
	nan := math.NaN()
	return &ops.View{
		Time: t0, Site: "hall-1", Software: "v1.2.3", ConfigVersion: 70000, Role: "active", Epoch: 9,
		Uptime: 90 * time.Minute, State: "controlling",
		Period: ops.Period{Length: time.Second, Last: 42 * time.Millisecond, Count: 5400, Overruns: 3},
		Zones: []ops.Zone{
			{Name: "row-a", MeasureC: 24.26, SetpointC: 25, HottestC: 24.3, HottestID: "s1", DemandPct: 62.5, Valid: 4, Total: 4, OK: true},
			{Name: "row-b-with-a-long-name", MeasureC: nan, SetpointC: 24, HottestC: nan, DemandPct: 100, Valid: 0, Total: 3, OK: false, Alarm: true},
		},
		Units: []ops.Unit{
			{Name: "crah-1", UnitID: 3, Mode: "auto", FanCmdPct: 55.5, FanFbPct: 55.4, ValveCmdPct: 40, ValveFbPct: 39.9, SupplyC: 18.2, ReturnC: -1.5, FanKW: 7.25},
			{Name: "fan-2", UnitID: 4, Mode: "fail-safe", FanCmdPct: 100, FanFbPct: nan, ValveCmdPct: nan, ValveFbPct: nan, SupplyC: nan, ReturnC: nan, FanKW: nan, Isolated: true, Tripped: true, Alarm: true},
		},
		Alarms: []ops.Alarm{
			{Key: "unit/fan-2/tripped", Source: "unit fan-2", Kind: "tripped", Severity: "critical", Raised: t0.Add(-30 * time.Second), AckedBy: "admin"},
			{Key: "zone/row-b-with-a-long-name/sensors", Source: "zone row-b-with-a-long-name", Kind: "too-few-sensors", Severity: "major", Raised: t0.Add(-time.Hour), ShelvedUntil: t0.Add(time.Hour)},
			{Key: "controller/storage", Source: "controller", Kind: "storage", Severity: "warning", Raised: t0.Add(-2 * time.Hour)},
		},
	}
}

func newTestImage(t *testing.T, v *ops.View, now time.Time) (*Image, *ops.Publisher) {
	t.Helper()
	p := ops.NewPublisher(time.Minute, 10*time.Second)
	if v != nil {
		p.Publish(v)
	}
	img, err := NewImage(p, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return img, p
}

func regs(t *testing.T, img *Image, addr, count int) []uint16 {
	t.Helper()
	r, err := img.Registers(modbus.Input, uint16(addr), uint16(count))
	if err != nil {
		t.Fatal(err)
	}
	h, err := img.Registers(modbus.Holding, uint16(addr), uint16(count))
	if err != nil || len(h) != len(r) {
		t.Fatal(err)
	}
	for i := range r {
		if r[i] != h[i] {
			t.Fatalf("holding %d = %d, input %d", addr+i, h[i], r[i])
		}
	}
	return r
}

func want(t *testing.T, what string, got []uint16, w ...int) {
	t.Helper()
	for i, v := range w {
		if got[i] != uint16(v) {
			t.Errorf("%s: register +%d = %d (int16 %d), want %d; all %v", what, i, got[i], int16(got[i]), uint16(v), got[:len(w)])
		}
	}
}

const na = 0x8000

func TestImageEncodesTheView(t *testing.T) {
	img, _ := newTestImage(t, testView(), t0.Add(2500*time.Millisecond))
	h := regs(t, img, 0, HeaderSize)
	want(t, "header", h,
		1, 1, 1, hdrViewAvailable|hdrCritical, 9, 1, 70000-65536, 2, 2, 3, 1, 1, 0, 1,
		0, 5400, 0, 3, 0, 5400, 0, 2, 1000, 42,
		100, 24, 32, 1000, 32, 64, 4000, 32, 32, 1, 1, 1)
	if s := Text(h[40:48]); s != "hall-1" {
		t.Errorf("site %q", s)
	}
	if s, st, r := Text(h[48:56]), Text(h[56:64]), Text(h[64:72]); s != "v1.2.3" || st != "controlling" || r != "active" {
		t.Errorf("software %q state %q role %q", s, st, r)
	}
	for i := 72; i < HeaderSize; i++ {
		if h[i] != 0 {
			t.Errorf("reserved header %d = %d", i, h[i])
		}
	}

	z := regs(t, img, ZoneBase, 2*ZoneStride)
	want(t, "zone 0", z, 1, 1, 0, 0, 243, 250, 243, 625, 4, 4)
	want(t, "zone 1", z[ZoneStride:], 1, 2, 0b10, 1, na, 240, na, 1000, 0, 3)
	if a, b := Text(z[16:24]), Text(z[ZoneStride+16:ZoneStride+24]); a != "row-a" || b != "row-b-with-a-lon" {
		t.Errorf("zone names %q %q", a, b)
	}
	want(t, "zone 2 absent", regs(t, img, ZoneBase+2*ZoneStride, ZoneStride), 0, 0, 0, 0, na, na, na, na, 0, 0, 0)
	want(t, "zone 31 absent", regs(t, img, ZoneBase+31*ZoneStride, ZoneStride), 0, 0, 0, 0, na, na, na, na)

	u := regs(t, img, UnitBase, 2*UnitStride)
	want(t, "unit 0", u, 1, 0, 0, 0, 1, 555, 554, 400, 399, 182, 0xFFF1, 725, 3)
	want(t, "unit 1", u[UnitStride:], 1, 0b111, 0b1, 1, 3, 1000, na, na, na, na, na, na, 4)
	if a, m := Text(u[16:24]), Text(u[UnitStride+24:]); a != "crah-1" || m != "fail-safe" {
		t.Errorf("unit 0 %q, unit 1 mode %q", a, m)
	}
	want(t, "unit 63 absent", regs(t, img, UnitBase+63*UnitStride, UnitStride), 0, 0, 0, 0, 0, na, na, na, na, na, na, na, 0)

	a := regs(t, img, AlarmBase, 4*AlarmStride)
	want(t, "alarm 0", a, 1, 1, 0b01, srcUnit, 1, 0, 32)
	want(t, "alarm 1", a[AlarmStride:], 1, 2, 0b10, srcZone, 1, 0, 3602)
	want(t, "alarm 2", a[2*AlarmStride:], 1, 4, 0, srcController, 0xFFFF, 0, 7202)
	want(t, "alarm 3 absent", a[3*AlarmStride:], 0, 0, 0, 0, 0, 0, 0)
	if k, s := Text(a[8:16]), Text(a[AlarmStride+16:AlarmStride+24]); k != "tripped" || s != "row-b-with-a-lon" {
		t.Errorf("alarm 0 kind %q, alarm 1 source %q", k, s)
	}
	if s := Text(a[2*AlarmStride+16 : 2*AlarmStride+24]); s != "controller" {
		t.Errorf("alarm 2 source %q", s)
	}

	if _, err := img.Registers(modbus.Input, Size-1, 2); !isException(err, modbus.ExIllegalDataAddress) {
		t.Fatalf("read past the image: %v", err)
	}
	if r := regs(t, img, Size-1, 1); r[0] != 0 {
		t.Fatalf("last register %d", r[0])
	}
}

func isException(err error, code byte) bool {
	ex, ok := err.(modbus.ExceptionError)
	return ok && ex.Code == code
}

func TestImageBeforeTheFirstView(t *testing.T) {
	img, p := newTestImage(t, nil, t0)
	h := regs(t, img, 0, 36)
	want(t, "header", h, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFFFF, 0xFFFF, 0, 0, 100, 24, 32)
	if s := Text(regs(t, img, 56, 8)); s != "starting" {
		t.Fatalf("state text %q", s)
	}
	want(t, "zone 0", regs(t, img, ZoneBase, 8), 0, 0, 0, 0, na, na, na, na)
	// Then a view is published: the next request sees it.
	p.Publish(testView())
	want(t, "header after publish", regs(t, img, 0, 2), 1, 1)
}

func TestImageStaleAndSaturated(t *testing.T) {
	v := testView()
	v.Zones[0].MeasureC = 5000   // past int16 tenths
	v.Zones[0].SetpointC = -5000 // and below
	v.Zones[0].HottestC = math.Inf(1)
	v.Units[0].FanKW = -0.004 // rounds to -0
	v.ConfigVersion = -1
	v.State, v.Role = "rebooting", "observer"
	for range 40 { // past every maximum
		v.Zones = append(v.Zones, ops.Zone{Name: "z"})
		v.Alarms = append(v.Alarms, ops.Alarm{Source: "zone z", Severity: "minor", Kind: "x"})
	}
	for range 70 {
		v.Units = append(v.Units, ops.Unit{Name: "u"})
	}
	img, _ := newTestImage(t, v, t0.Add(11*time.Second)) // default stale: max(3 s, 10 s)
	h := regs(t, img, 0, 14)
	want(t, "header", h, 1, codeOther, codeOther,
		hdrViewAvailable|hdrStale|hdrZonesTruncated|hdrUnitsTruncated|hdrAlarmsTruncated|hdrCritical,
		9, 0, 0, 42, 72, 43, 1, 1, 40, 1)
	want(t, "zone 0", regs(t, img, ZoneBase+4, 3), 32767, 0x8001, na)
	want(t, "unit 0 power", regs(t, img, UnitBase+11, 1), 0)
	// An alarm of zone z points at its first block (index 2); the 4th alarm is the first minor.
	want(t, "alarm 3", regs(t, img, AlarmBase+3*AlarmStride, 5), 1, 3, 0, srcZone, 2)

	img2, _ := newTestImage(t, testView(), t0.Add(10*time.Second))
	if h := regs(t, img2, 3, 1); h[0]&hdrStale != 0 {
		t.Fatal("stale at exactly 10 s")
	}
	if _, err := NewImage(nil, Options{}); err == nil {
		t.Fatal("nil publisher accepted")
	}
	if _, err := NewImage(ops.NewPublisher(time.Minute, time.Second), Options{StaleAfter: -1}); err == nil {
		t.Fatal("negative stale_after accepted")
	}
}

func TestTextEncoding(t *testing.T) {
	r := make([]uint16, 8)
	putText(r, "ab\ncé")
	if r[0] != 'a'<<8|'b' || r[1] != '?'<<8|'c' || r[2] != '?'<<8|'?' || r[3] != 0 {
		t.Fatalf("%04x", r)
	}
	if got := Text(r); got != "ab?c??" {
		t.Fatalf("%q", got)
	}
	putText(r, strings.Repeat("x", 20))
	if got := Text(r); got != strings.Repeat("x", 16) {
		t.Fatalf("%q", got)
	}
}

// One request is one view: while views are published as fast as possible, a read spanning the
// header and zone 0 always shows one view's config version and setpoint together.
func TestImageOneRequestOneView(t *testing.T) {
	p := ops.NewPublisher(time.Minute, 10*time.Second)
	p.Publish(&ops.View{Time: t0, ConfigVersion: 0, Zones: []ops.Zone{{Name: "z", SetpointC: 0}}})
	img, err := NewImage(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 1; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			p.Publish(&ops.View{Time: t0, ConfigVersion: k % 1000, Zones: []ops.Zone{{Name: "z", SetpointC: float64(k%1000) / 10}}})
		}
	}()
	seen := map[uint16]bool{}
	// At least 2000 reads, and on until two views were seen (a loaded machine may not schedule
	// the publisher at first), within a bound.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; i < 2000 || (len(seen) < 2 && time.Now().Before(deadline)); i++ {
		r, err := img.Registers(modbus.Holding, 0, ZoneBase+ZoneStride)
		if err != nil {
			t.Fatal(err)
		}
		if r[6] != r[ZoneBase+5] {
			t.Fatalf("config version %d with setpoint %d: two views in one reply", r[6], r[ZoneBase+5])
		}
		seen[r[6]] = true
	}
	close(stop)
	wg.Wait()
	if len(seen) < 2 {
		t.Fatalf("only %d views seen: the test proved nothing", len(seen))
	}
}

func TestListenAndServeChecksAndStops(t *testing.T) {
	p := ops.NewPublisher(time.Minute, 10*time.Second)
	for _, tc := range []struct {
		listen string
		o      Options
	}{
		{"localhost", Options{}},
		{"127.0.0.1:", Options{}},
		{"127.0.0.1:0", Options{UnitID: 248}},
		{"127.0.0.1:0", Options{UnitID: -1}},
		{"127.0.0.1:0", Options{MaxConns: -1}},
		{"127.0.0.1:0", Options{StaleAfter: -time.Second}},
		{"256.0.0.1:502", Options{}},
	} {
		if err := ListenAndServe(context.Background(), tc.listen, p, tc.o); err == nil || !strings.HasPrefix(err.Error(), "bms: ") {
			t.Errorf("listen %q %+v: %v", tc.listen, tc.o, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := ListenAndServe(ctx, "127.0.0.1:0", p, Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stopped with %v", err)
	}
}

// BenchmarkImageNewView measures one request after a new view: the whole image is built.
func BenchmarkImageNewView(b *testing.B) {
	p := ops.NewPublisher(time.Minute, 10*time.Second)
	img, err := NewImage(p, Options{})
	if err != nil {
		b.Fatal(err)
	}
	v := testView()
	for range 30 {
		v.Zones = append(v.Zones, v.Zones[0])
	}
	for range 60 {
		v.Units = append(v.Units, v.Units[0])
	}
	for b.Loop() {
		w := *v
		p.Publish(&w)
		if _, err := img.Registers(modbus.Holding, 0, 125); err != nil {
			b.Fatal(err)
		}
	}
}
