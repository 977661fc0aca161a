package pair

import (
	"flag"
	"fmt"
	"github.com/coldaisle/coldaisle/control/internal/transcript"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the transcripts under testdata with what the machine does now")

// TestTranscripts replays testdata/*.txt, in the style of etcd-io/raft's interaction tests: a
// block is a command line and the machine's output below it, blocks are separated by a blank line.
//
//	config node=1 prio=100 heartbeat=100ms peer_timeout=350ms witness=250ms stored=4
//	tick +100ms                      advance the monotonic clock and tick
//	peer node=2 role=active epoch=5 prio=100 field=ok|none [yield] [hold=standby]
//	witness crah-1=2/5/17 crah-2=-   owner/epoch/heartbeat per unit, - when unreachable
//	field 2/2                        units reached / units
//	     [fresh=DUR|none]             the heartbeat echoes ours sent DUR ago (default 20ms)
//	wrote                            a unit accepted our write now (WriteAccepted)
//	fenced crah-1 epoch=7
//	stored 7                         the asked epoch is durable
//	switchover | hold standby|active|off
//	canwrite [+10ms]                 CanWrite now (or that much later, without ticking)
//	status
func TestTranscripts(t *testing.T) {
	transcript.Run(t, "testdata/*.txt", *update, func(t *testing.T) func(string) string {
		r := &runner{t: t, now: time.Unix(1000, 0)}
		return r.run
	})
}

type runner struct {
	t   *testing.T
	m   *Machine
	now time.Time
}

func kv(words []string) map[string]string {
	m := map[string]string{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			v = "true"
		}
		m[k] = v
	}
	return m
}

func (r *runner) dur(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		r.t.Fatalf("duration %q: %v", s, err)
	}
	return d
}

func (r *runner) num(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		r.t.Fatalf("number %q: %v", s, err)
	}
	return n
}

func fx(effs []Effect) string {
	var lines []string
	for _, e := range effs {
		lines = append(lines, e.String())
	}
	return strings.Join(lines, "\n")
}

func (r *runner) run(line string) string {
	w := strings.Fields(line)
	a := kv(w[1:])
	switch w[0] {
	case "config":
		c := Config{NodeID: uint16(r.num(a["node"])), Priority: r.num(a["prio"]), Heartbeat: r.dur(a["heartbeat"]),
			PeerTimeout: r.dur(a["peer_timeout"]), WitnessInterval: r.dur(a["witness"])}
		if s, ok := a["stored"]; ok {
			c.StoredEpoch = uint16(r.num(s))
		}
		m, err := New(c)
		if err != nil {
			return "error: " + err.Error()
		}
		r.m = m
		return fmt.Sprintf("takeover budget %v, witness window %v", c.TakeoverBudget(), c.WitnessWindow())
	case "tick":
		r.now = r.now.Add(r.dur(strings.TrimPrefix(w[1], "+")))
		return fx(r.m.Tick(r.now))
	case "peer":
		roles := map[string]Role{"waiting": Waiting, "standby": Standby, "active": Active}
		p := PeerState{NodeID: uint16(r.num(a["node"])), Role: roles[a["role"]], Epoch: uint16(r.num(a["epoch"])),
			Priority: r.num(a["prio"]), FieldOK: a["field"] == "ok", Yield: a["yield"] == "true"}
		if h := a["hold"]; h == "standby" {
			p.Hold = HoldStandby
		} else if h == "active" {
			p.Hold = HoldActive
		}
		// By default the heartbeat echoes one of ours sent 20 ms ago; fresh=DUR says how long
		// ago, fresh=none that it echoes nothing (a first contact, a frame from a queue).
		fresh := r.now.Add(-20 * time.Millisecond)
		if f, ok := a["fresh"]; ok {
			fresh = time.Time{}
			if f != "none" {
				fresh = r.now.Add(-r.dur(f))
			}
		}
		return fx(r.m.Step(PeerHeard{At: r.now, State: p, Fresh: fresh}))
	case "wrote":
		return fx(r.m.Step(WriteAccepted{At: r.now, Epoch: r.m.Epoch()}))
	case "witness":
		var us []Owner
		for _, x := range w[1:] {
			name, v, _ := strings.Cut(x, "=")
			o := Owner{Unit: name}
			if v != "-" {
				p := strings.Split(v, "/")
				o.Reachable, o.Owner, o.Epoch, o.Heartbeat = true, uint16(r.num(p[0])), uint16(r.num(p[1])), uint16(r.num(p[2]))
			}
			us = append(us, o)
		}
		return fx(r.m.Step(Witnessed{At: r.now, Units: us}))
	case "field":
		reach, total, _ := strings.Cut(w[1], "/")
		return fx(r.m.Step(FieldHealth{At: r.now, Reachable: r.num(reach), Total: r.num(total)}))
	case "fenced":
		return fx(r.m.Step(Fenced{At: r.now, Unit: w[1], Epoch: uint16(r.num(a["epoch"]))}))
	case "stored":
		return fx(r.m.Step(EpochStored{Epoch: uint16(r.num(w[1]))}))
	case "switchover":
		return fx(r.m.Step(Switchover{At: r.now}))
	case "hold":
		h := map[string]Hold{"off": HoldOff, "standby": HoldStandby, "active": HoldActive}[w[1]]
		return fx(r.m.Step(SetHold{Hold: h}))
	case "canwrite":
		at := r.now
		if len(w) > 1 {
			at = at.Add(r.dur(strings.TrimPrefix(w[1], "+")))
		}
		return fmt.Sprint(r.m.CanWrite(at))
	case "status":
		s := r.m.Status()
		out := s.String()
		al := s.Alarms
		sort.Strings(al)
		for _, x := range al {
			out += "\nalarm " + x
		}
		return out
	}
	r.t.Fatalf("unknown command %q", line)
	return ""
}
