package ahusim

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// Hand-written logs: only the keys the checker needs, in the log's own format.
const cleanLog = `
{"t_plant":0,"unit":1,"kind":"crah","fc":16,"addr":0,"values":[1,10,1000,180,300],"owner":0,"epoch":0,"accepted":true,"reason":"","remote":true,"bms_timeout":10}
{"t_plant":1,"unit":1,"kind":"crah","fc":16,"addr":10,"values":[1,1,1,500,400],"owner":1,"epoch":1,"accepted":true,"reason":"","remote":true,"bms_timeout":10}
{"t_plant":6,"unit":1,"kind":"crah","fc":16,"addr":10,"values":[1,1,2,500,400],"owner":1,"epoch":1,"accepted":true,"reason":"","remote":true,"bms_timeout":10}
{"t_plant":11,"unit":1,"kind":"crah","fc":16,"addr":10,"values":[1,1,3,500,400],"owner":1,"epoch":1,"accepted":true,"reason":"","remote":true,"bms_timeout":10}
{"t_plant":13,"unit":1,"kind":"crah","fc":16,"addr":10,"values":[2,1,3,500,400],"owner":1,"epoch":1,"accepted":false,"reason":"modbussim: exception 0x04 slave device failure: fenced","remote":true,"bms_timeout":10}
{"t_plant":20,"unit":1,"kind":"crah","fc":16,"addr":10,"values":[1,1,4,500,400],"owner":1,"epoch":1,"accepted":true,"reason":"","remote":true,"bms_timeout":10}
{"t_plant":22,"unit":1,"kind":"crah","fc":16,"addr":10,"values":[2,2,5,500,400],"owner":1,"epoch":1,"accepted":false,"reason":"modbussim: exception 0x04 slave device failure: fenced","remote":true,"bms_timeout":10}
{"t_plant":30,"unit":1,"kind":"crah","fc":16,"addr":10,"values":[2,2,1,600,400],"owner":2,"epoch":2,"accepted":true,"reason":"","remote":true,"bms_timeout":10}
{"t_plant":35,"unit":1,"kind":"crah","fc":16,"addr":10,"values":[2,2,2,600,400],"owner":2,"epoch":2,"accepted":true,"reason":"","remote":true,"bms_timeout":10}

{"t_plant":2,"unit":7,"kind":"vfd","fc":16,"addr":0,"values":[1,10000],"owner":0,"epoch":0,"accepted":true,"reason":"","remote":true,"bms_timeout":10}
{"t_plant":10,"unit":7,"kind":"vfd","fc":6,"addr":1,"values":[12000],"owner":0,"epoch":0,"accepted":true,"reason":"","remote":true,"bms_timeout":10}
{"t_plant":19,"unit":7,"kind":"vfd","fc":16,"addr":0,"values":[1,12000],"owner":0,"epoch":0,"accepted":true,"reason":"","remote":true,"bms_timeout":10}
{"t_plant":27,"unit":7,"kind":"vfd","fc":6,"addr":6,"values":[100],"owner":0,"epoch":0,"accepted":true,"reason":"","remote":true,"bms_timeout":10}
{"t_plant":28,"unit":7,"kind":"vfd","fc":6,"addr":0,"values":[1],"owner":0,"epoch":0,"accepted":true,"reason":"","remote":true,"bms_timeout":10}
`

func TestCheckWritesClean(t *testing.T) {
	// Owner 1 hands over to owner 2 exactly one timeout after its last write (20 -> 30 s): not
	// two owners within the timeout, and not a gap longer than it. The refused writes of owner
	// 2 at 13 and 22 s changed nothing. The drive's write to register 6 at 27 s is no heartbeat.
	vs, err := CheckWrites(strings.NewReader(cleanLog), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 0 {
		t.Errorf("clean log: %v", vs)
	}
	// One tenth of a second later the unit would have been left too long.
	late := strings.Replace(cleanLog, `"t_plant":30,`, `"t_plant":30.1,`, 1)
	vs, _ = CheckWrites(strings.NewReader(late), nil)
	if len(vs) != 1 || vs[0].Kind != ViolationHeartbeatGap || vs[0].From != 20 || vs[0].At != 30.1 {
		t.Errorf("late takeover: %v", vs)
	}
	if vs, _ := CheckWritesWith(strings.NewReader(late), CheckOptions{GapGrace: 0.5}); len(vs) != 0 {
		t.Errorf("late takeover with 0.5 s grace: %v", vs)
	}
	// Unit 7 silent from 28 s; a line of unit 1 at 40 s ends the log 12 s later.
	tail := cleanLog + `{"t_plant":40,"unit":1,"kind":"crah","addr":12,"values":[3],"owner":2,"epoch":2,"accepted":true}` + "\n"
	vs, _ = CheckWrites(strings.NewReader(tail), nil)
	if len(vs) != 1 || vs[0].Unit != 7 || vs[0].From != 28 || vs[0].At != 40 || vs[0].Line != 0 {
		t.Errorf("drive gap to the end of the log: %v", vs)
	}
}

func TestCheckWritesTwoOwners(t *testing.T) {
	log := `
{"t_plant":0,"unit":3,"kind":"crah","addr":0,"values":[1],"owner":0,"accepted":true,"remote":true,"bms_timeout":10}
{"t_plant":1,"unit":3,"kind":"crah","addr":10,"values":[1,1,1,500,400],"owner":1,"accepted":true,"remote":true,"bms_timeout":10}
{"t_plant":4,"unit":3,"kind":"crah","addr":10,"values":[2,1,1,700,400],"owner":2,"accepted":true,"remote":true,"bms_timeout":10}
{"t_plant":5,"unit":3,"kind":"crah","addr":12,"values":[2],"owner":2,"accepted":true,"remote":true,"bms_timeout":10}
{"t_plant":6,"unit":3,"kind":"crah","addr":10,"values":[1,1,3,500,400],"owner":1,"accepted":true,"remote":true,"bms_timeout":10}
`
	vs, err := CheckWrites(strings.NewReader(log), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 {
		t.Fatalf("got %v, want two owner changes", vs)
	}
	if v := vs[0]; v.Kind != ViolationTwoOwners || v.Unit != 3 || v.Owners != [2]int{1, 2} || v.From != 1 || v.At != 4 || v.Line != 4 {
		t.Errorf("first %+v", v)
	}
	if v := vs[1]; v.Owners != [2]int{2, 1} || v.From != 5 || v.At != 6 {
		t.Errorf("second %+v (the heartbeat at 5 s counts as owner 2's)", v)
	}
	if s := vs[0].String(); !strings.Contains(s, "unit 3") || !strings.Contains(s, "owner 2") || !strings.Contains(s, "owner 1") {
		t.Errorf("String() = %q", s)
	}
	// With a 2 s timeout given per unit, the 3 s handover is fine, the 1 s one is not.
	vs, _ = CheckWrites(strings.NewReader(log), TimeoutsFrom(map[int]float64{3: 2}, 10))
	var owners []Violation
	for _, v := range vs {
		if v.Kind == ViolationTwoOwners {
			owners = append(owners, v)
		}
	}
	if len(owners) != 1 || owners[0].At != 6 {
		t.Errorf("2 s timeout: %v", vs)
	}
	// Handover mode: the first change (1 -> 2 at 4 s) is a takeover; 2 -> 1 two seconds later
	// is a fight.
	vs, _ = CheckWritesWith(strings.NewReader(log), CheckOptions{Handover: true})
	if len(vs) != 1 || vs[0].Owners != [2]int{2, 1} || vs[0].From != 4 || vs[0].At != 6 {
		t.Errorf("handover mode: %v", vs)
	}
}

func TestCheckWritesGap(t *testing.T) {
	log := `
{"t_plant":0,"unit":1,"addr":10,"values":[1,1,1,500,400],"owner":1,"accepted":true}
{"t_plant":50,"unit":1,"addr":10,"values":[1,1,2,500,400],"owner":1,"accepted":true}
{"t_plant":60,"unit":1,"addr":0,"values":[1,5],"owner":1,"accepted":true}
{"t_plant":64,"unit":1,"addr":12,"values":[3],"owner":1,"accepted":true}
{"t_plant":70,"unit":1,"addr":12,"values":[4],"owner":1,"accepted":true}
{"t_plant":72,"unit":1,"addr":12,"values":[5],"owner":1,"accepted":false}
{"t_plant":80,"unit":1,"addr":0,"values":[0],"owner":1,"accepted":true}
{"t_plant":200,"unit":1,"addr":0,"values":[1],"owner":1,"accepted":true}
{"t_plant":203,"unit":1,"addr":12,"values":[6],"owner":1,"accepted":true}
{"t_plant":215,"unit":2,"addr":0,"values":[0],"accepted":true}
`
	// No remote/bms_timeout keys: the checker derives both from the writes. Remote control is
	// enabled at 60 s with a 5 s timeout; the gap from 50 s does not count (remote was off).
	vs, err := CheckWrites(strings.NewReader(log), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Violation{
		{Kind: ViolationHeartbeatGap, Unit: 1, From: 64, At: 70, Timeout: 5, Line: 6},
		{Kind: ViolationHeartbeatGap, Unit: 1, From: 70, At: 80, Timeout: 5, Line: 8}, // until remote off
		{Kind: ViolationHeartbeatGap, Unit: 1, From: 203, At: 215, Timeout: 5},        // to the end of the log
	}
	if len(vs) != len(want) {
		t.Fatalf("got %v, want %v", vs, want)
	}
	for i := range want {
		if vs[i] != want[i] {
			t.Errorf("violation %d: %+v, want %+v", i, vs[i], want[i])
		}
	}
	if s := vs[2].String(); !strings.Contains(s, "end of log") || !strings.Contains(s, "12.000 s > 5 s") {
		t.Errorf("String() = %q", s)
	}
	// Timeout 0 from the caller: never times out, nothing to report.
	if vs, _ := CheckWrites(strings.NewReader(log), func(int) float64 { return 0 }); len(vs) != 0 {
		t.Errorf("timeout 0: %v", vs)
	}
}

func TestCheckWritesBadLog(t *testing.T) {
	for _, c := range []struct{ log, want string }{
		{`{"t_plant":1,"unit":1,"addr":0,"accepted":true}` + "\nnot json\n", "line 2"},
		{`{"unit":1,"addr":0,"accepted":true}`, `line 1: missing key "t_plant"`},
		{`{"t_plant":1,"addr":0,"accepted":true}`, `missing key "unit"`},
		{`{"t_plant":1,"unit":1,"addr":0,"values":[70000],"accepted":true}`, "line 1"},
	} {
		_, err := CheckWrites(strings.NewReader(c.log), nil)
		if !errors.Is(err, ErrBadLog) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want ErrBadLog with %q", c.log, err, c.want)
		}
	}
}

// TestCheckWritesOnRealLog drives simulated units as two controllers would and checks the
// log they write: a clean handover after the timeout, then a controller that goes silent.
func TestCheckWritesOnRealLog(t *testing.T) {
	var buf bytes.Buffer
	log := NewLog(&buf)
	clk := &fakeClock{}
	c := NewCRAH(1, Options{Clock: clk.now, Log: log})
	write(t, c, 0, 1, 5) // remote on, 5 s timeout
	write(t, c, 15, 1)
	hb := uint16(0)
	block := func(owner, epoch uint16) {
		hb++
		_ = c.WriteHoldingRegisters("ctl", 16, 10, []uint16{owner, epoch, hb, 500, 500})
	}
	for i := 0; i < 10; i++ { // owner 1 every 2 s until t=18
		block(1, 1)
		clk.advance(2 * time.Second)
	}
	clk.advance(4 * time.Second) // t=24: 6 s of silence, the unit falls back
	if !c.Effective().Fallback {
		t.Fatal("no fallback")
	}
	for i := 0; i < 5; i++ { // owner 2 takes over with a higher epoch
		block(2, 2)
		clk.advance(2 * time.Second)
	}
	block(1, 1) // stale owner 1 is fenced out
	vs, err := CheckWrites(bytes.NewReader(buf.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Kind != ViolationHeartbeatGap || vs[0].From != 18 || vs[0].At != 24 {
		t.Errorf("violations %v, want only the 18..24 s gap", vs)
	}
	// Now without fencing: owner 1 comes back at once and is accepted.
	write(t, c, 15, 0)
	block(1, 1)
	vs, _ = CheckWrites(bytes.NewReader(buf.Bytes()), nil)
	if len(vs) != 2 || vs[1].Kind != ViolationTwoOwners || vs[1].Owners != [2]int{2, 1} {
		t.Errorf("violations %v, want the gap and owner 2 -> 1", vs)
	}
}
