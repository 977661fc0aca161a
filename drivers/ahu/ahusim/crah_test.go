package ahusim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// fakeClock is plant time moved by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Duration      { return time.Duration(c.ns.Load()) }
func (c *fakeClock) set(d time.Duration)     { c.ns.Store(int64(d)) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func exceptionOf(err error) modbussim.Exception {
	var e modbussim.Exception
	if errors.As(err, &e) {
		return e
	}
	return 0
}

func hold(t *testing.T, d modbussim.Device, addr, count uint16) []uint16 {
	t.Helper()
	v, err := d.ReadHoldingRegisters(addr, count)
	if err != nil {
		t.Fatalf("read holding %d/%d: %v", addr, count, err)
	}
	return v
}

func input(t *testing.T, d modbussim.Device, addr, count uint16) []uint16 {
	t.Helper()
	v, err := d.ReadInputRegisters(addr, count)
	if err != nil {
		t.Fatalf("read input %d/%d: %v", addr, count, err)
	}
	return v
}

func write(t *testing.T, d modbussim.Device, addr uint16, values ...uint16) {
	t.Helper()
	fc := byte(16)
	if len(values) == 1 {
		fc = 6
	}
	if err := d.WriteHoldingRegisters("test", fc, addr, values); err != nil {
		t.Fatalf("write %d %v: %v", addr, values, err)
	}
}

func newTestCRAH(remote bool) (*CRAH, *fakeClock) {
	clk := &fakeClock{}
	return NewCRAH(1, Options{Clock: clk.now, RemoteEnabled: remote}), clk
}

func TestCRAHPowerUp(t *testing.T) {
	c, _ := newTestCRAH(false)
	if got, want := hold(t, c, 0, 5), []uint16{0, 10, 1000, 180, 300}; !reflect.DeepEqual(got, want) {
		t.Errorf("holding 0..4 = %v, want %v", got, want)
	}
	if got, want := hold(t, c, 10, 6), []uint16{0, 0, 0, 1000, 1000, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("holding 10..15 = %v, want %v", got, want)
	}
	e := c.Effective()
	if e.Remote || e.Fallback || e.LocalFan != 1 || e.LocalSupplySP != 18 {
		t.Errorf("power-up effective %+v: want local control, 100 %% fan, 18 °C", e)
	}
	in := input(t, c, 0, 10)
	if in[0] != 240 || in[1] != 180 || in[2] != 1000 || in[4] != 1 {
		t.Errorf("power-up inputs %v", in)
	}
}

func TestCRAHBMSTimeoutAndFallback(t *testing.T) {
	c, clk := newTestCRAH(false)
	clk.set(100 * time.Second)
	write(t, c, 0, 1) // remote enable: the timer starts now
	write(t, c, 10, 1, 1, 1, 500, 400)
	e := c.Effective()
	if !e.Remote || e.Fallback || e.Fan != 0.5 || e.Valve != 0.4 {
		t.Fatalf("after first command: %+v", e)
	}
	// Reads and writes to other registers never reset the timer.
	clk.advance(5 * time.Second)
	hold(t, c, 10, 5)
	input(t, c, 0, 10)
	write(t, c, 13, 600)
	write(t, c, 2, 900)
	clk.advance(4999 * time.Millisecond)
	if e := c.Effective(); !e.Remote || e.Fallback {
		t.Fatalf("9.999 s after the heartbeat: %+v", e)
	}
	clk.advance(time.Millisecond)
	e = c.Effective()
	if e.Remote || !e.Fallback || e.LocalFan != 0.9 || e.LocalSupplySP != 18 {
		t.Fatalf("10 s after the heartbeat: %+v, want local fallback at 90 %%", e)
	}
	if st := input(t, c, 4, 1)[0]; st&(1<<2) == 0 || st&(1<<4) == 0 {
		t.Errorf("status %05b: want fallback and remote bits", st)
	}
	// Still in fallback much later, and raising the timeout does not end it: only a heartbeat.
	clk.advance(time.Minute)
	write(t, c, 1, 600)
	if !c.Effective().Fallback {
		t.Error("fallback ended without a heartbeat")
	}
	write(t, c, 12, 2)
	if e := c.Effective(); !e.Remote || e.Fallback || e.Fan != 0.6 {
		t.Errorf("after heartbeat: %+v", e)
	}
	if st := input(t, c, 4, 1)[0]; st&(1<<2) != 0 {
		t.Errorf("status %05b: fallback bit still set", st)
	}

	// Timeout 0: never time out.
	write(t, c, 1, 0)
	clk.advance(time.Hour)
	if c.Effective().Fallback {
		t.Error("fallback with BMS timeout 0")
	}
	// Remote disabled: local control, not fallback.
	write(t, c, 1, 5)
	clk.advance(time.Hour)
	write(t, c, 0, 0)
	if e := c.Effective(); e.Remote || e.Fallback {
		t.Errorf("remote disabled: %+v", e)
	}
	if st := input(t, c, 4, 1)[0]; st&(1<<2|1<<4) != 0 {
		t.Errorf("status %05b with remote disabled", st)
	}
}

func TestCRAHMinimumFan(t *testing.T) {
	c, _ := newTestCRAH(true)
	write(t, c, 10, 1, 1, 1, 100, 0) // 10 % asked, minimum 30 %
	if e := c.Effective(); e.Fan != 0.3 {
		t.Errorf("fan %v, want the 30 %% minimum", e.Fan)
	}
	if got := hold(t, c, 13, 1)[0]; got != 100 {
		t.Errorf("register 13 reads %d: it keeps what was written", got)
	}
	write(t, c, 4, 450)
	write(t, c, 2, 200)
	c.ForceFallback(true)
	if e := c.Effective(); e.LocalFan != 0.45 || e.Fan != 0.45 {
		t.Errorf("minimum 45 %%: %+v", e)
	}
}

func TestCRAHFencing(t *testing.T) {
	c, clk := newTestCRAH(true)
	log := &bytes.Buffer{}
	c.log = NewLog(log)
	write(t, c, 10, 1, 5, 1, 500, 500)
	// Without fencing a lower epoch is accepted.
	write(t, c, 10, 2, 4, 1, 600, 600)
	write(t, c, 15, 1)
	write(t, c, 10, 1, 5, 2, 500, 500)
	before := hold(t, c, 10, 6)
	clk.advance(9 * time.Second)
	err := c.WriteHoldingRegisters("stale", 16, 10, []uint16{2, 4, 9, 1000, 1000})
	if exceptionOf(err) != modbussim.ExSlaveDeviceFailure || !strings.Contains(err.Error(), "epoch 4 is below the stored epoch 5") {
		t.Fatalf("stale epoch: %v, want exception 0x04", err)
	}
	if after := hold(t, c, 10, 6); !reflect.DeepEqual(before, after) {
		t.Errorf("refused write changed %v to %v", before, after)
	}
	clk.advance(time.Second)
	if !c.Effective().Fallback {
		t.Error("a refused heartbeat reset the BMS timer")
	}
	write(t, c, 10, 1, 5, 3, 500, 500) // same epoch: accepted
	write(t, c, 10, 3, 6, 4, 700, 500) // higher epoch: accepted, new owner
	if got := hold(t, c, 10, 3); !reflect.DeepEqual(got, []uint16{3, 6, 4}) {
		t.Errorf("owner block %v", got)
	}
	err = c.WriteHoldingRegisters("old owner", 16, 10, []uint16{1, 5, 4, 500, 500})
	if exceptionOf(err) != modbussim.ExSlaveDeviceFailure {
		t.Errorf("old owner after takeover: %v", err)
	}
	// The log shows the refusal with the owner still in force.
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	var last Entry
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Accepted || last.Owner != 3 || last.Epoch != 6 || last.Client != "old owner" || !strings.Contains(last.Reason, "0x04") {
		t.Errorf("last log entry %+v", last)
	}
}

func TestCRAHRangeAndAddressExceptions(t *testing.T) {
	c, _ := newTestCRAH(true)
	before := hold(t, c, 0, 5)
	cases := []struct {
		addr   uint16
		values []uint16
		want   modbussim.Exception
	}{
		{13, []uint16{1001}, modbussim.ExIllegalValue},
		{14, []uint16{65535}, modbussim.ExIllegalValue},
		{2, []uint16{1001}, modbussim.ExIllegalValue},
		{4, []uint16{1001}, modbussim.ExIllegalValue},
		{3, []uint16{801}, modbussim.ExIllegalValue},                  // 80.1 °C
		{3, []uint16{uint16(0xFFFF - 400)}, modbussim.ExIllegalValue}, // -40.1 °C
		{0, []uint16{2}, modbussim.ExIllegalValue},
		{15, []uint16{2}, modbussim.ExIllegalValue},
		{5, []uint16{0}, modbussim.ExIllegalAddress},
		{9, []uint16{0}, modbussim.ExIllegalAddress},
		{16, []uint16{0}, modbussim.ExIllegalAddress},
		{3, []uint16{100, 100, 0}, modbussim.ExIllegalAddress}, // runs into 5
		{0, []uint16{1, 10, 1000, 180, 300, 0}, modbussim.ExIllegalAddress},
		{0, []uint16{}, modbussim.ExIllegalValue},
	}
	for _, cse := range cases {
		err := c.WriteHoldingRegisters("test", 16, cse.addr, cse.values)
		if got := exceptionOf(err); got != cse.want {
			t.Errorf("write %d %v: %v, want %v", cse.addr, cse.values, err, cse.want)
		}
	}
	if after := hold(t, c, 0, 5); !reflect.DeepEqual(before, after) {
		t.Errorf("refused writes changed holding 0..4 from %v to %v", before, after)
	}
	write(t, c, 3, uint16(0xFFFF-399)) // -40.0 °C is in range
	write(t, c, 3, 800)
	if err := c.WriteHoldingRegisters("test", 5, 0, []uint16{1}); exceptionOf(err) != modbussim.ExIllegalFunction {
		t.Errorf("function 5: %v", err)
	}
	for _, r := range []struct{ addr, count uint16 }{{0, 16}, {4, 2}, {9, 2}, {16, 1}} {
		if _, err := c.ReadHoldingRegisters(r.addr, r.count); exceptionOf(err) != modbussim.ExIllegalAddress {
			t.Errorf("read holding %d/%d: %v", r.addr, r.count, err)
		}
	}
	if _, err := c.ReadInputRegisters(9, 2); exceptionOf(err) != modbussim.ExIllegalAddress {
		t.Errorf("read input 9/2: %v", err)
	}
	if _, err := c.ReadInputRegisters(65535, 1); exceptionOf(err) != modbussim.ExIllegalAddress {
		t.Errorf("read input 65535/1: %v", err)
	}
}

func TestCRAHBlockIsAtomic(t *testing.T) {
	c, _ := newTestCRAH(true)
	write(t, c, 10, 7, 7, 7, 700, 700)
	// One bad value refuses the whole block.
	err := c.WriteHoldingRegisters("test", 16, 10, []uint16{8, 8, 8, 800, 1001})
	if exceptionOf(err) != modbussim.ExIllegalValue {
		t.Fatalf("bad valve: %v", err)
	}
	if got := hold(t, c, 10, 5); !reflect.DeepEqual(got, []uint16{7, 7, 7, 700, 700}) {
		t.Errorf("partial apply: %v", got)
	}
	// Concurrent writers and readers never see a mixed block.
	write(t, c, 10, 7, 7, 7, 7, 7)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				k := uint16(w*200 + i%200)
				if err := c.WriteHoldingRegisters("w", 16, 10, []uint16{k, k, k, k, k}); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	var mixed atomic.Int32
	var rg sync.WaitGroup
	rg.Add(1)
	go func() {
		defer rg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			v, err := c.ReadHoldingRegisters(10, 5)
			if err != nil {
				t.Error(err)
				return
			}
			for _, x := range v[1:] {
				if x != v[0] {
					mixed.Add(1)
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	rg.Wait()
	if mixed.Load() != 0 {
		t.Errorf("%d mixed blocks read", mixed.Load())
	}
}

func TestCRAHTripAndFeedback(t *testing.T) {
	c, _ := newTestCRAH(true)
	write(t, c, 10, 1, 1, 1, 550, 400)
	c.SetFeedback(Feedback{ReturnC: 23.4, SupplyC: -1.5, FanFrac: 0.555, ValveFrac: 0.4, FanKW: 3.25, CoolKW: 41.5})
	in := input(t, c, 0, 10)
	if in[0] != 234 || int16(in[1]) != -15 || in[2] != 555 || in[3] != 400 || in[4] != 1|1<<4 || in[5] != 0 {
		t.Errorf("inputs %v", in)
	}
	if v := math.Float32frombits(uint32(in[6])<<16 | uint32(in[7])); v != 3.25 {
		t.Errorf("fan kW (ABCD) %v", v)
	}
	if v := math.Float32frombits(uint32(in[9])<<16 | uint32(in[8])); v != 41.5 {
		t.Errorf("cooling kW (CDAB) %v", v)
	}
	// Out-of-range feedback saturates instead of wrapping.
	c.SetFeedback(Feedback{ReturnC: 5000, SupplyC: math.NaN(), FanFrac: 1.7})
	if in := input(t, c, 0, 3); int16(in[0]) != math.MaxInt16 || in[1] != 0 || in[2] != 1000 {
		t.Errorf("saturated inputs %v", in)
	}
	c.Trip(true)
	e := c.Effective()
	if !e.Tripped || e.Fan != 0 || e.LocalFan != 0 {
		t.Errorf("tripped effective %+v", e)
	}
	st := input(t, c, 4, 2)
	if st[0]&(1<<3) == 0 || st[0]&(1<<1) == 0 || st[0]&1 != 0 || st[1] != AlarmFanFault {
		t.Errorf("tripped status %05b alarm %d", st[0], st[1])
	}
	c.Trip(false)
	c.SetAlarm(12)
	if st := input(t, c, 4, 2); st[0]&(1<<3) != 0 || st[0]&(1<<1) == 0 || st[1] != 12 {
		t.Errorf("alarm 12: status %05b alarm %d", st[0], st[1])
	}
	c.ForceFallback(true)
	write(t, c, 12, 9)
	if e := c.Effective(); !e.Fallback || e.Remote {
		t.Errorf("forced fallback survived a heartbeat? %+v", e)
	}
	c.ForceFallback(false)
	if e := c.Effective(); e.Fallback || !e.Remote {
		t.Errorf("forced fallback off: %+v", e)
	}
}

func TestWriteLogLines(t *testing.T) {
	var buf bytes.Buffer
	log := NewLog(&buf)
	wall := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	log.SetWallClock(func() time.Time { return wall })
	clk := &fakeClock{}
	c := NewCRAH(4, Options{Clock: clk.now, Log: log})
	v := NewVFD(5, Options{Clock: clk.now, Log: log})
	clk.set(1500 * time.Millisecond)
	write(t, c, 0, 1)
	_ = c.WriteHoldingRegisters("10.0.0.2:5000", 16, 10, []uint16{2, 3, 4, 500, 1200})
	write(t, c, 10, 2, 3, 4, 500, 600)
	write(t, v, 0, 1, 10000)
	_ = v.WriteHoldingRegisters("rtu", 6, 3, []uint16{1})
	if log.Lines() != 5 || log.Err() != nil {
		t.Fatalf("%d lines, err %v", log.Lines(), log.Err())
	}
	keys := []string{"t_plant", "t_wall", "unit", "kind", "fc", "addr", "values", "client", "owner", "epoch", "accepted", "reason", "remote", "bms_timeout"}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d lacks %q: %s", i+1, k, l)
			}
		}
		if m["t_plant"] != 1.5 {
			t.Errorf("line %d t_plant %v", i+1, m["t_plant"])
		}
		tw, err := time.Parse(time.RFC3339Nano, m["t_wall"].(string))
		if err != nil || !tw.Equal(wall) || !strings.Contains(m["t_wall"].(string), ".000000000") {
			t.Errorf("line %d t_wall %v: %v", i+1, m["t_wall"], err)
		}
	}
	var es []Entry
	for _, l := range lines {
		var e Entry
		_ = json.Unmarshal([]byte(l), &e)
		es = append(es, e)
	}
	if e := es[1]; e.Accepted || e.Unit != 4 || e.FC != 16 || e.Addr != 10 || !reflect.DeepEqual(e.Values, []uint16{2, 3, 4, 500, 1200}) ||
		e.Client != "10.0.0.2:5000" || e.Owner != 0 || !strings.Contains(e.Reason, "0x03") || !e.Remote || e.BMSTimeout != 10 {
		t.Errorf("refused entry %+v", e)
	}
	if e := es[2]; !e.Accepted || e.Owner != 2 || e.Epoch != 3 || e.Reason != "" {
		t.Errorf("accepted entry %+v", e)
	}
	if e := es[3]; !e.Accepted || e.Kind != "vfd" || e.Unit != 5 || e.BMSTimeout != 10 {
		t.Errorf("vfd entry %+v", e)
	}
	if e := es[4]; e.Accepted || e.FC != 6 || !strings.Contains(e.Reason, "0x02") || !strings.Contains(e.Reason, "read-only") {
		t.Errorf("vfd refused entry %+v", e)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.n++
	if w.n > 1 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteLogConcurrentAndErrors(t *testing.T) {
	var buf safeBuffer
	log := NewLog(&buf)
	units := []Unit{NewCRAH(1, Options{Log: log}), NewCRAH(2, Options{Log: log}), NewVFD(3, Options{Log: log})}
	var wg sync.WaitGroup
	for _, u := range units {
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func(u Unit) {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					_ = u.WriteHoldingRegisters("c", 16, 0, []uint16{1, uint16(i)})
				}
			}(u)
		}
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 600 {
		t.Fatalf("%d lines, want 600", len(lines))
	}
	for i, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("line %d torn: %q", i+1, l)
		}
	}
	fw := &failWriter{}
	flog := NewLog(fw)
	c := NewCRAH(1, Options{Log: flog})
	write(t, c, 0, 1)
	write(t, c, 0, 0) // the unit still works when the log fails
	write(t, c, 0, 1)
	if err := flog.Err(); err == nil || !strings.Contains(err.Error(), "disk full") || flog.Lines() != 1 || fw.n != 2 {
		t.Errorf("log error %v, lines %d, writes %d", err, flog.Lines(), fw.n)
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The write log says who sent each write and what it carried, accepted or refused: a stale
// epoch on a fencing unit is refused 0x04 ("fenced") with the writer's own owner and epoch beside
// the unit's stored ones; a drive's write and a lone heartbeat take the writer from the
// connection.
func TestWriteLogWriterFields(t *testing.T) {
	var buf bytes.Buffer
	log := NewLog(&buf)
	clk := &fakeClock{}
	conn := map[string]int{"10.0.0.1:4000": 1, "10.0.0.2:4000": 2}
	owner := func(client string) (int, bool) { o, ok := conn[client]; return o, ok }
	c := NewCRAH(4, Options{Clock: clk.now, Log: log, ConnOwner: owner, RemoteEnabled: true})
	v := NewVFD(5, Options{Clock: clk.now, Log: log, ConnOwner: owner})
	a, b := "10.0.0.1:4000", "10.0.0.2:4000"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.WriteHoldingRegisters(a, 6, CRAHFencing, []uint16{1}))
	must(c.WriteHoldingRegisters(a, 16, CRAHOwner, []uint16{1, 5, 77, 655, 420}))
	err := c.WriteHoldingRegisters(b, 16, CRAHOwner, []uint16{2, 3, 1, 800, 800})
	if exceptionOf(err) != modbussim.ExSlaveDeviceFailure {
		t.Fatalf("stale epoch: %v, want 0x04", err)
	}
	must(c.WriteHoldingRegisters(b, 6, CRAHHeartbeat, []uint16{2}))
	must(v.WriteHoldingRegisters(b, 16, VFDControlWord, []uint16{1, 15000}))
	var es []Entry
	var raw []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var e Entry
		var m map[string]any
		if json.Unmarshal([]byte(l), &e) != nil || json.Unmarshal([]byte(l), &m) != nil {
			t.Fatalf("line %q", l)
		}
		es, raw = append(es, e), append(raw, m)
	}
	if len(es) != 5 {
		t.Fatalf("%d lines", len(es))
	}
	iv := func(p *int) int {
		if p == nil {
			return -1
		}
		return *p
	}
	fv := func(p *float64) float64 {
		if p == nil {
			return -1
		}
		return *p
	}
	if e := es[1]; !e.Accepted || iv(e.Writer) != 1 || iv(e.WriterEpoch) != 5 || iv(e.Heartbeat) != 77 || fv(e.Fan) != 65.5 || fv(e.Valve) != 42 || e.Exception != 0 {
		t.Errorf("accepted block %+v", e)
	}
	if e := es[2]; e.Accepted || iv(e.Writer) != 2 || iv(e.WriterEpoch) != 3 || e.Owner != 1 || e.Epoch != 5 || e.Exception != 4 || e.Refusal != "fenced" ||
		!strings.Contains(e.Reason, "fenced") {
		t.Errorf("fenced write %+v", e)
	}
	if e := es[3]; !e.Accepted || iv(e.Writer) != 2 || e.WriterEpoch != nil || iv(e.Heartbeat) != 2 || e.Fan != nil {
		t.Errorf("lone heartbeat %+v", e)
	}
	if e := es[4]; !e.Accepted || iv(e.Writer) != 2 || fv(e.Fan) != 75 || e.Valve != nil {
		t.Errorf("drive write %+v", e)
	}
	if _, ok := raw[3]["writer_epoch"]; ok {
		t.Errorf("writer_epoch present on a write without register 11: %v", raw[3])
	}
	if _, ok := raw[1]["exception"]; ok {
		t.Errorf("exception present on an accepted write: %v", raw[1])
	}
}
