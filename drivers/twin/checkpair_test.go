package twin

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
)

// pairLog builds a hand-made write log: each write is "t unit owner epoch" accepted, or with a
// trailing "fenced" refused 0x04.
func pairLog(writes ...string) string {
	var b strings.Builder
	for i, w := range writes {
		var t float64
		var unit, owner, epoch int
		var refusal string
		n, _ := fmt.Sscanf(w, "%g %d %d %d %s", &t, &unit, &owner, &epoch, &refusal)
		if n < 4 {
			panic("pairLog: " + w)
		}
		acc, extra := "true", ""
		if refusal != "" {
			acc, extra = "false", `,"exception":4,"refusal":"`+refusal+`","reason":"fenced"`
		}
		fmt.Fprintf(&b, `{"t_plant":%g,"t_wall":"2026-01-01T00:00:%02d.000000000Z","unit":%d,"kind":"crah","fc":16,"addr":10,"values":[%d,%d,%d,500,500],`+
			`"owner":%d,"epoch":%d,"accepted":%s,"remote":true,"bms_timeout":10,"writer":%d,"writer_epoch":%d,"heartbeat":%d,"fan":50,"valve":50%s}`+"\n",
			t, int(t)%60, unit, owner, epoch, i, owner, epoch, acc, owner, epoch, i, extra)
	}
	return b.String()
}

func TestCheckPairCleanHandover(t *testing.T) {
	log := pairLog(
		"0 1 1 1", "0.1 2 1 1", "2 1 1 1", "2.1 2 1 1",
		"4 1 1 1 fenced-not", // refused (a class name), does not count as a write of owner 1
		"16 1 2 2", "16.2 2 2 2", "18 1 2 2", "18.2 2 2 2",
		"19 1 1 1 fenced", "19.1 2 1 1 fenced",
	)
	rep, err := CheckPairLog(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Writes != 11 || rep.Accepted != 8 || rep.Refused != 3 || len(rep.Units) != 2 || fmt.Sprint(rep.Owners) != "[1 2]" {
		t.Fatalf("report %+v", rep)
	}
	if len(rep.Handovers) != 2 || len(rep.Overall) != 1 {
		t.Fatalf("handovers %+v overall %+v", rep.Handovers, rep.Overall)
	}
	h := rep.Handovers[0]
	if h.Unit != 1 || h.From != 1 || h.To != 2 || h.Gap != 14 || h.Last.Line != 3 || h.First.Line != 6 || h.WallGap == nil || *h.WallGap != 14 {
		t.Fatalf("unit 1 handover %+v", h)
	}
	if s := h.String(); !strings.Contains(s, "gap 14.000 s") || !strings.Contains(s, "the unit fell back") {
		t.Errorf("handover text %q", s)
	}
	if o := rep.Overall[0]; o.Gap < 13.89 || o.Gap > 13.91 || o.Last.TPlant != 2.1 || o.First.TPlant != 16 {
		t.Fatalf("overall handover %+v", o)
	}
	if len(rep.Refusals) != 1 || rep.Refusals[0].Owner != 1 || rep.Refusals[0].Count != 3 || rep.Refusals[0].ByClass["fenced"] != 2 ||
		fmt.Sprint(rep.Refusals[0].Units) != "[1 2]" {
		t.Fatalf("refusals %+v", rep.Refusals)
	}
}

func TestCheckPairDualWriter(t *testing.T) {
	// Owner 2 takes unit 1 promptly (a handover within the timeout is not by itself two
	// writers), then owner 1 comes back while 2 still writes: a fight, one moment.
	log := pairLog("0 1 1 1", "2 1 1 1", "4 1 2 2", "6 1 2 2", "7 1 1 2", "8 1 2 2", "9 1 1 2", "10 1 2 2")
	rep, err := CheckPairLog(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.DualWriters) != 2 {
		t.Fatalf("dual writers %+v", rep.DualWriters)
	}
	// Owner 1's write at 7 came 5 s after its own at 2, with owner 2's in between (the last at
	// 6): both held the unit. It goes on at 9.
	d := rep.DualWriters[0]
	if d.Unit != 1 || d.Owner != 1 || d.Other != 2 || d.From.TPlant != 2 || d.Between.TPlant != 6 || d.At.TPlant != 7 || d.Count != 2 || d.End.TPlant != 9 {
		t.Fatalf("first moment %+v", d)
	}
	// Owner 2's at 8 had owner 1's at 7 between its own at 6 and 8; and again at 10.
	if d := rep.DualWriters[1]; d.Owner != 2 || d.Other != 1 || d.From.TPlant != 6 || d.At.TPlant != 8 || d.Count != 2 || d.End.TPlant != 10 {
		t.Fatalf("second moment %+v", d)
	}
	if s := d.String(); !strings.Contains(s, "unit 1: owner 2 wrote at t=6.000 s") || !strings.Contains(s, "2 such writes") {
		t.Errorf("text %q", s)
	}
	if len(rep.StaleEpochs) != 0 {
		t.Fatalf("stale %+v", rep.StaleEpochs)
	}
	if len(rep.Handovers) != 5 || rep.Handovers[0].Gap != 2 || !strings.Contains(rep.Handovers[0].String(), "within the 10 s BMS timeout") {
		t.Fatalf("handovers %+v", rep.Handovers)
	}
}

func TestCheckPairStaleEpoch(t *testing.T) {
	// Owner 2 took over with epoch 5 after a clean gap; owner 1 comes back later with epoch 4
	// on a unit without fencing and is accepted: stale, even though owner 2 has gone quiet.
	log := pairLog("0 1 1 4", "12 1 2 5", "14 1 2 5", "40 1 1 4", "42 1 1 4")
	rep, err := CheckPairLog(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.DualWriters) != 0 || len(rep.StaleEpochs) != 1 {
		t.Fatalf("report %+v", rep)
	}
	s := rep.StaleEpochs[0]
	if s.Unit != 1 || s.Write.Owner != 1 || s.Write.Epoch != 4 || s.Write.Line != 4 || s.Above.Epoch != 5 || s.Above.Line != 2 || s.Count != 2 {
		t.Fatalf("stale %+v", s)
	}
	if txt := s.String(); !strings.Contains(txt, "epoch 4 accepted at t=40.000 s") || !strings.Contains(txt, "after epoch 5 of owner 2 at t=12.000 s") {
		t.Errorf("text %q", s.String())
	}
}

func TestCheckPairOldLogAndBadLines(t *testing.T) {
	// A log from before the writer keys: owner and epoch come from registers 10 and 11; a lone
	// heartbeat is unattributed.
	old := `{"t_plant":0,"unit":1,"kind":"crah","addr":10,"values":[1,1,1,500,500],"owner":1,"epoch":1,"accepted":true,"bms_timeout":10}
{"t_plant":1,"unit":1,"kind":"crah","addr":12,"values":[2],"owner":1,"epoch":1,"accepted":true,"bms_timeout":10}
{"t_plant":15,"unit":1,"kind":"crah","addr":10,"values":[2,2,1,500,500],"owner":2,"epoch":2,"accepted":true,"bms_timeout":10}
`
	rep, err := CheckPairLog(strings.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Unattributed != 1 || len(rep.Handovers) != 1 || rep.Handovers[0].Gap != 15 || rep.Handovers[0].WallGap != nil {
		t.Fatalf("old log %+v", rep)
	}
	for _, bad := range []string{
		`{`,
		`{"unit":1,"accepted":true}`,
		`{"t_plant":1,"accepted":true}`,
		`{"t_plant":1,"unit":1}`,
		`{"t_plant":-1,"unit":1,"accepted":true}`,
		`{"t_plant":1,"unit":300,"accepted":true}`,
		`{"t_plant":1,"unit":1,"accepted":true,"writer":70000}`,
		`{"t_plant":1,"unit":1,"accepted":true,"writer_epoch":-2}`,
		`{"t_plant":1,"unit":1,"accepted":true,"t_wall":"yesterday"}`,
		`{"t_plant":1,"unit":1,"accepted":false,"refusal":"x\u001b[2J"}`,
		`{"t_plant":1,"unit":1,"accepted":true,"bms_timeout":-1}`,
	} {
		_, err := CheckPairLog(strings.NewReader(pairLog("0 1 1 1") + bad + "\n"))
		if !errors.Is(err, ahusim.ErrBadLog) || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%s: %v, want ErrBadLog at line 2", bad, err)
		}
	}
}
