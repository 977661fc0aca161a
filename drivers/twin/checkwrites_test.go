package twin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/internal/peertest"
	"github.com/coldaisle/coldaisle/drivers/modbus"
)

// logLine is one CRAH write as ahusim logs it.
func logLine(t float64, unit, addr int, owner int, vals ...int) string {
	vs := make([]string, len(vals))
	for i, v := range vals {
		vs[i] = fmt.Sprint(v)
	}
	return fmt.Sprintf(`{"t_plant":%g,"t_wall":"2025-06-01T00:00:00.000000000Z","unit":%d,"kind":"crah","fc":16,"addr":%d,"values":[%s],"client":"c","owner":%d,"epoch":1,"accepted":true,"reason":"","remote":true,"bms_timeout":10}`,
		t, unit, addr, strings.Join(vs, ","), owner)
}

func TestCheckWriteLogSmall(t *testing.T) {
	block := func(tp float64, unit, owner, hb int) string {
		return logLine(tp, unit, 10, owner, owner, 1, hb, 500, 500)
	}
	cases := []struct {
		name     string
		lines    []string
		handover bool
		want     []string // violation kinds
	}{
		{"clean", []string{block(0, 1, 1, 1), block(2, 1, 1, 2), block(4, 1, 1, 3), block(3, 2, 1, 1), block(5, 2, 1, 2)}, false, nil},
		{"two owners", []string{block(0, 1, 1, 1), block(2, 1, 1, 2), block(5, 1, 2, 3), block(6, 1, 2, 4)}, false, []string{ahusim.ViolationTwoOwners}},
		{"gap", []string{block(0, 1, 1, 1), block(2, 1, 1, 2), block(15, 1, 1, 3)}, false, []string{ahusim.ViolationHeartbeatGap}},
		{"silent at end", []string{block(0, 1, 1, 1), block(1, 2, 1, 1), block(9, 2, 1, 2), block(17, 2, 1, 3), block(20, 2, 1, 4)}, false, []string{ahusim.ViolationHeartbeatGap}},
		{"prompt takeover literal", []string{block(0, 1, 1, 1), block(2, 1, 1, 2), block(8, 1, 2, 3), block(10, 1, 2, 4)}, false, []string{ahusim.ViolationTwoOwners}},
		{"prompt takeover handover", []string{block(0, 1, 1, 1), block(2, 1, 1, 2), block(8, 1, 2, 3), block(10, 1, 2, 4)}, true, nil},
		{"fighting handover", []string{block(0, 1, 1, 1), block(2, 1, 2, 2), block(4, 1, 1, 3)}, true, []string{ahusim.ViolationTwoOwners}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := CheckWriteLog(strings.NewReader(strings.Join(c.lines, "\n")+"\n"), c.handover)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range res.Violations {
				got = append(got, v.Kind)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("violations %v, want %v", res.Violations, c.want)
			}
			if res.Writes != len(c.lines) || res.Accepted != len(c.lines) || len(res.Units) == 0 || res.OK() != (len(c.want) == 0) {
				t.Fatalf("result %+v", res)
			}
		})
	}
	if _, err := CheckWriteLog(strings.NewReader(block(0, 1, 1, 1)+"\nnot json\n"), false); !errors.Is(err, ahusim.ErrBadLog) {
		t.Fatalf("bad line: %v, want ErrBadLog", err)
	}
	if _, err := CheckWriteLog(strings.NewReader(`{"unit":1}`+"\n"), false); !errors.Is(err, ahusim.ErrBadLog) {
		t.Fatalf("missing keys: %v, want ErrBadLog", err)
	}
}

// End to end: a Modbus client (drivers/modbus over TCP) takes two units, writes heartbeats, then
// goes silent on one of them while it keeps writing the other; the twin's write log then shows a
// heartbeat gap on the silent unit only.
func TestCheckWritesEndToEnd(t *testing.T) {
	needLong(t)
	sc := scenario(t, "demo")
	logBuf := &peertest.Buffer{}
	tw := startTwin(t, Options{Scenario: sc, Seed: 1, Speed: 50, WriteLog: logBuf})
	bus, err := modbus.Dial("tcp://"+tw.ModbusAddr(), modbus.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u1, u2 := byte(sc.Units[0].ModbusID), byte(sc.Units[1].ModbusID)
	const timeout = 10 // plant s
	for _, u := range []byte{u1, u2} {
		if err := bus.WriteSingle(ctx, u, ahusim.CRAHBMSTimeout, timeout); err != nil {
			t.Fatal(err)
		}
		if err := bus.WriteSingle(ctx, u, ahusim.CRAHRemoteEnable, 1); err != nil {
			t.Fatal(err)
		}
	}
	// Heartbeats every 2 plant seconds (awaited on the twin's plant clock).
	hb := uint16(0)
	beat := func(units ...byte) {
		next := tw.PlantTime() + 2*time.Second
		waitFor(t, 10*time.Second, "plant time", func() bool { return tw.PlantTime() >= next })
		hb++
		for _, u := range units {
			if err := bus.WriteMultiple(ctx, u, ahusim.CRAHOwner, []uint16{1, 1, hb, 700, 500}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 5 {
		beat(u1, u2)
	}
	silentFrom := tw.PlantTime()
	for range 10 { // 20 plant s: u1 hears nothing
		beat(u2)
	}
	if snap := tw.Snapshot(); !snap.Units[0].Fallback || snap.Units[1].Fallback {
		t.Fatalf("after %v without heartbeats: unit %d fallback %v, unit %d fallback %v",
			tw.PlantTime()-silentFrom, u1, snap.Units[0].Fallback, u2, snap.Units[1].Fallback)
	}
	res, err := CheckWriteLog(bytes.NewReader(logBuf.Bytes()), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Violations) != 1 {
		t.Fatalf("violations %v, want one heartbeat gap on unit %d", res.Violations, u1)
	}
	v := res.Violations[0]
	if v.Kind != ahusim.ViolationHeartbeatGap || v.Unit != int(u1) || v.At-v.From <= timeout || v.Timeout != timeout {
		t.Fatalf("violation %v", v)
	}
	if res.Writes != 4+5*2+10 || fmt.Sprint(res.Units) != fmt.Sprint([]int{int(u1), int(u2)}) {
		t.Fatalf("result: %d writes, units %v", res.Writes, res.Units)
	}
	t.Logf("%s", v)
}

// CheckWriteLog never panics and either errors or counts every non-blank line.
func FuzzCheckWriteLog(f *testing.F) {
	f.Add([]byte(logLine(0, 1, 10, 1, 1, 1, 1, 500, 500) + "\n" + logLine(12, 1, 10, 2, 2, 1, 2, 500, 500) + "\n"))
	f.Add([]byte(`{"t_plant":1,"unit":1,"addr":0,"accepted":true,"kind":"vfd","values":[1]}` + "\n\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := CheckWriteLog(bytes.NewReader(data), len(data)%2 == 0)
		if err != nil {
			return
		}
		if res.Accepted > res.Writes || len(res.Units) > res.Writes {
			t.Fatalf("result %+v", res)
		}
	})
}
