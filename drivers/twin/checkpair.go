package twin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
)

// PairWrite is one write of a write log as the pair check names it.
type PairWrite struct {
	Line   int     `json:"line"`
	TPlant float64 `json:"t_plant"`
	TWall  string  `json:"t_wall,omitempty"`
	Owner  int     `json:"owner"` // the writer
	Epoch  int     `json:"epoch"` // the epoch it carried; -1 when the write carried none
}

// DualWriter is one moment two owners were both accepted on a unit: Other's accepted writes
// came between two accepted writes of Owner less than one BMS timeout apart (Owner's first at
// From), so both held the unit at once. A fight is one moment: Count dual writes from At to End,
// each within a timeout of the one before.
type DualWriter struct {
	Unit    int       `json:"unit"`
	Owner   int       `json:"owner"`
	Other   int       `json:"other"`
	From    PairWrite `json:"from"` // Owner's write before Other's
	Between PairWrite `json:"other_write"`
	At      PairWrite `json:"at"`  // Owner's write after Other's
	End     PairWrite `json:"end"` // the last dual write of the moment
	Count   int       `json:"count"`
	Timeout float64   `json:"bms_timeout"` // s; 0: the unit never times out
}

// StaleEpoch is an accepted write whose epoch is below one already accepted on that unit. Later
// stale writes of the same owner against the same higher epoch are counted in it (Count, End).
type StaleEpoch struct {
	Unit  int       `json:"unit"`
	Write PairWrite `json:"write"`
	Above PairWrite `json:"above"` // the accepted write with the highest epoch before it
	End   PairWrite `json:"end"`
	Count int       `json:"count"`
}

// Handover is one change of owner: Last is the old owner's last accepted write, First the new
// owner's first. Unit 0 is all units together (the site's owner).
type Handover struct {
	Unit    int       `json:"unit"`
	From    int       `json:"from"`
	To      int       `json:"to"`
	Last    PairWrite `json:"last"`
	First   PairWrite `json:"first"`
	Gap     float64   `json:"gap"`                // plant s
	WallGap *float64  `json:"wall_gap,omitempty"` // wall s, when both writes have t_wall
	Timeout float64   `json:"bms_timeout,omitempty"`
}

// Refusals are one owner's refused writes (Owner -1: writes nobody could be named for).
type Refusals struct {
	Owner   int            `json:"owner"`
	Count   int            `json:"count"`
	ByClass map[string]int `json:"by_class"` // "fenced", "value", ... ("exception N" in logs without the class)
	Units   []int          `json:"units"`
}

// PairReport is what CheckPairLog found in the write log of an active/standby pair.
type PairReport struct {
	Writes       int          `json:"writes"`
	Accepted     int          `json:"accepted"`
	Refused      int          `json:"refused"`
	Unattributed int          `json:"unattributed"` // accepted writes with no known writer (not judged)
	Units        []int        `json:"units"`
	Owners       []int        `json:"owners"`
	Handovers    []Handover   `json:"handovers"`         // per unit, in log order
	Overall      []Handover   `json:"overall_handovers"` // all units together
	Refusals     []Refusals   `json:"refusals"`
	DualWriters  []DualWriter `json:"dual_writers"`
	StaleEpochs  []StaleEpoch `json:"stale_epochs"`
}

// OK reports whether the log shows neither a dual writer nor a stale epoch accepted.
func (r PairReport) OK() bool { return len(r.DualWriters) == 0 && len(r.StaleEpochs) == 0 }

// pairLine is a write-log line with presence detection.
type pairLine struct {
	TPlant      *float64 `json:"t_plant"`
	TWall       *string  `json:"t_wall"`
	Unit        *int     `json:"unit"`
	Kind        string   `json:"kind"`
	Addr        *int     `json:"addr"`
	Values      []uint16 `json:"values"`
	Accepted    *bool    `json:"accepted"`
	Writer      *int     `json:"writer"`
	WriterEpoch *int     `json:"writer_epoch"`
	BMSTimeout  *float64 `json:"bms_timeout"`
	Exception   int      `json:"exception"`
	Refusal     string   `json:"refusal"`
}

var refusalRE = regexp.MustCompile(`^[a-z][a-z-]{0,31}$`)

// pairUnit is the pair check's state of one unit.
type pairUnit struct {
	last     map[int]PairWrite // each owner's last accepted write
	cur      int               // owner of the last accepted write; -1 none yet
	maxEpoch PairWrite         // the accepted write with the highest epoch; Epoch -1 none
	dual     map[[2]int]int    // open dual-writer moment per (owner, other): index in DualWriters
	stale    int               // the unit's last StaleEpochs entry; -1 none
}

// CheckPairLog reads a write log (ahusim JSON lines) of two or more controllers on one plant and
// reports, per unit:
//   - dual writers: an owner's accepted write, less than the unit's BMS timeout after its own
//     previous accepted write, with another owner's accepted write in between (both held the
//     unit); a timeout of 0 (never) makes any interleaving count;
//   - stale epochs: an accepted write carrying an epoch below one already accepted on the unit;
//   - handovers: every change of owner, with the gap from the old owner's last accepted write
//     to the new owner's first, per unit and over all units;
//   - refused writes by writer and class.
//
// A write's owner is its writer key, else register 10 when it carries it; accepted writes with
// neither are counted as unattributed and not judged. Its epoch is writer_epoch, else register
// 11 when carried. Times are plant seconds (the units' BMS clocks run on plant time). Malformed
// lines are an error wrapping ahusim.ErrBadLog.
func CheckPairLog(r io.Reader) (PairReport, error) {
	var rep PairReport
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	units := map[int]*pairUnit{}
	owners, seenUnits := map[int]bool{}, map[int]bool{}
	refused := map[int]*Refusals{}
	refusedUnits := map[int]map[int]bool{}
	overallCur, overallLast := -1, map[int]PairWrite{}
	n := 0
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: line %d: %s", ahusim.ErrBadLog, n, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var l pairLine
		if err := json.Unmarshal(b, &l); err != nil {
			return PairReport{}, bad("%v", err)
		}
		switch {
		case l.TPlant == nil:
			return PairReport{}, bad("missing key %q", "t_plant")
		case l.Unit == nil:
			return PairReport{}, bad("missing key %q", "unit")
		case l.Accepted == nil:
			return PairReport{}, bad("missing key %q", "accepted")
		case math.IsNaN(*l.TPlant) || math.IsInf(*l.TPlant, 0) || *l.TPlant < 0:
			return PairReport{}, bad("t_plant %v is not a time", *l.TPlant)
		case *l.Unit < 0 || *l.Unit > 255:
			return PairReport{}, bad("unit %d is outside 0..255", *l.Unit)
		case l.Writer != nil && (*l.Writer < 0 || *l.Writer > 65535):
			return PairReport{}, bad("writer %d is outside 0..65535", *l.Writer)
		case l.WriterEpoch != nil && (*l.WriterEpoch < 0 || *l.WriterEpoch > 65535):
			return PairReport{}, bad("writer_epoch %d is outside 0..65535", *l.WriterEpoch)
		case l.BMSTimeout != nil && (math.IsNaN(*l.BMSTimeout) || *l.BMSTimeout < 0 || *l.BMSTimeout > 1e6):
			return PairReport{}, bad("bms_timeout %v is outside 0..1e6 s", *l.BMSTimeout)
		case l.Refusal != "" && !refusalRE.MatchString(l.Refusal):
			return PairReport{}, bad("refusal %q is not a class name", l.Refusal)
		case l.Exception < 0 || l.Exception > 255:
			return PairReport{}, bad("exception %d is outside 0..255", l.Exception)
		}
		w := PairWrite{Line: n, TPlant: *l.TPlant, Owner: -1, Epoch: -1}
		if l.TWall != nil && *l.TWall != "" {
			if _, err := time.Parse(time.RFC3339Nano, *l.TWall); err != nil {
				return PairReport{}, bad("t_wall %q is not RFC 3339", *l.TWall)
			}
			w.TWall = *l.TWall
		}
		covers := func(reg int) (int, bool) {
			if l.Addr == nil {
				return 0, false
			}
			i := reg - *l.Addr
			if i < 0 || i >= len(l.Values) || l.Kind == "vfd" {
				return 0, false
			}
			return int(l.Values[i]), true
		}
		if l.Writer != nil {
			w.Owner = *l.Writer
		} else if v, ok := covers(ahusim.CRAHOwner); ok {
			w.Owner = v
		}
		if l.WriterEpoch != nil {
			w.Epoch = *l.WriterEpoch
		} else if v, ok := covers(ahusim.CRAHEpoch); ok {
			w.Epoch = v
		}
		rep.Writes++
		unit := *l.Unit
		seenUnits[unit] = true
		if !*l.Accepted {
			rep.Refused++
			rf := refused[w.Owner]
			if rf == nil {
				rf = &Refusals{Owner: w.Owner, ByClass: map[string]int{}}
				refused[w.Owner], refusedUnits[w.Owner] = rf, map[int]bool{}
			}
			class := l.Refusal
			if class == "" {
				class = fmt.Sprintf("exception %d", l.Exception)
				if l.Exception == 0 {
					class = "unknown"
				}
			}
			rf.Count++
			rf.ByClass[class]++
			refusedUnits[w.Owner][unit] = true
			if w.Owner >= 0 {
				owners[w.Owner] = true
			}
			continue
		}
		rep.Accepted++
		u := units[unit]
		if u == nil {
			u = &pairUnit{last: map[int]PairWrite{}, cur: -1, maxEpoch: PairWrite{Epoch: -1}, dual: map[[2]int]int{}, stale: -1}
			units[unit] = u
		}
		if w.Owner < 0 {
			rep.Unattributed++
			continue
		}
		owners[w.Owner] = true
		timeout := ahusim.DefaultBMSTimeout
		if l.BMSTimeout != nil {
			timeout = *l.BMSTimeout
		}
		window := timeout
		if window == 0 {
			window = math.Inf(1)
		}

		// Dual writers: another owner wrote since this owner's previous write, which is still
		// holding the unit (less than one timeout ago).
		if prev, ok := u.last[w.Owner]; ok && w.TPlant-prev.TPlant < window {
			for other, ow := range u.last {
				if other == w.Owner || ow.Line <= prev.Line {
					continue
				}
				key := [2]int{w.Owner, other}
				if i, open := u.dual[key]; open && w.TPlant-rep.DualWriters[i].End.TPlant < window {
					rep.DualWriters[i].End = w
					rep.DualWriters[i].Count++
					continue
				}
				u.dual[key] = len(rep.DualWriters)
				rep.DualWriters = append(rep.DualWriters, DualWriter{Unit: unit, Owner: w.Owner, Other: other,
					From: prev, Between: ow, At: w, End: w, Count: 1, Timeout: timeout})
			}
		}

		// Stale epochs.
		if w.Epoch >= 0 {
			if u.maxEpoch.Epoch >= 0 && w.Epoch < u.maxEpoch.Epoch {
				if i := u.stale; i >= 0 && rep.StaleEpochs[i].Write.Owner == w.Owner && rep.StaleEpochs[i].Above == u.maxEpoch {
					rep.StaleEpochs[i].End = w
					rep.StaleEpochs[i].Count++
				} else {
					u.stale = len(rep.StaleEpochs)
					rep.StaleEpochs = append(rep.StaleEpochs, StaleEpoch{Unit: unit, Write: w, Above: u.maxEpoch, End: w, Count: 1})
				}
			} else if w.Epoch > u.maxEpoch.Epoch {
				u.maxEpoch = w
			}
		}

		// Handovers, per unit and over all units.
		if u.cur >= 0 && u.cur != w.Owner {
			rep.Handovers = append(rep.Handovers, handover(unit, u.last[u.cur], w, timeout))
		}
		u.cur = w.Owner
		u.last[w.Owner] = w
		if overallCur >= 0 && overallCur != w.Owner {
			rep.Overall = append(rep.Overall, handover(0, overallLast[overallCur], w, 0))
		}
		overallCur = w.Owner
		overallLast[w.Owner] = w
	}
	if err := sc.Err(); err != nil {
		return PairReport{}, fmt.Errorf("%w: after line %d: %v", ahusim.ErrBadLog, n, err)
	}
	for _, rf := range refused {
		for id := range refusedUnits[rf.Owner] {
			rf.Units = append(rf.Units, id)
		}
		sort.Ints(rf.Units)
		rep.Refusals = append(rep.Refusals, *rf)
	}
	for id := range seenUnits {
		rep.Units = append(rep.Units, id)
	}
	sort.Ints(rep.Units)
	for id := range owners {
		rep.Owners = append(rep.Owners, id)
	}
	sort.Ints(rep.Owners)
	sort.Slice(rep.Refusals, func(i, j int) bool { return rep.Refusals[i].Owner < rep.Refusals[j].Owner })
	return rep, nil
}

func handover(unit int, last, first PairWrite, timeout float64) Handover {
	h := Handover{Unit: unit, From: last.Owner, To: first.Owner, Last: last, First: first, Gap: first.TPlant - last.TPlant, Timeout: timeout}
	if last.TWall != "" && first.TWall != "" {
		a, _ := time.Parse(time.RFC3339Nano, last.TWall)
		b, _ := time.Parse(time.RFC3339Nano, first.TWall)
		g := b.Sub(a).Seconds()
		h.WallGap = &g
	}
	return h
}

func ownerName(o int) string {
	if o < 0 {
		return "unknown writer"
	}
	return fmt.Sprintf("owner %d", o)
}

func (w PairWrite) at() string {
	s := fmt.Sprintf("t=%.3f s", w.TPlant)
	if w.TWall != "" {
		s += " (" + w.TWall + ")"
	}
	return s
}

func timeoutStr(t float64) string {
	if t == 0 {
		return "no BMS timeout"
	}
	return fmt.Sprintf("BMS timeout %g s", t)
}

func (h Handover) String() string {
	where := fmt.Sprintf("unit %d", h.Unit)
	if h.Unit == 0 {
		where = "all units"
	}
	s := fmt.Sprintf("%s: owner %d -> %d: last of %d at %s, first of %d at %s, gap %.3f s",
		where, h.From, h.To, h.From, h.Last.at(), h.To, h.First.at(), h.Gap)
	if h.WallGap != nil {
		s += fmt.Sprintf(" (wall %.3f s)", *h.WallGap)
	}
	if h.Unit != 0 {
		switch {
		case h.Timeout == 0:
		case h.Gap > h.Timeout:
			s += fmt.Sprintf(", over the %g s BMS timeout: the unit fell back", h.Timeout)
		default:
			s += fmt.Sprintf(", within the %g s BMS timeout", h.Timeout)
		}
	}
	return s + fmt.Sprintf("; lines %d, %d", h.Last.Line, h.First.Line)
}

func (d DualWriter) String() string {
	s := fmt.Sprintf("unit %d: owner %d wrote at %s between owner %d's writes at %s and %s (%.3f s apart, %s; lines %d, %d, %d)",
		d.Unit, d.Other, d.Between.at(), d.Owner, d.From.at(), d.At.at(), d.At.TPlant-d.From.TPlant, timeoutStr(d.Timeout),
		d.From.Line, d.Between.Line, d.At.Line)
	if d.Count > 1 {
		s += fmt.Sprintf("; %d such writes until %s (line %d)", d.Count, d.End.at(), d.End.Line)
	}
	return s
}

func (s StaleEpoch) String() string {
	out := fmt.Sprintf("unit %d: owner %d's write with epoch %d accepted at %s after epoch %d of owner %d at %s; lines %d, %d",
		s.Unit, s.Write.Owner, s.Write.Epoch, s.Write.at(), s.Above.Epoch, s.Above.Owner, s.Above.at(), s.Above.Line, s.Write.Line)
	if s.Count > 1 {
		out += fmt.Sprintf("; %d such writes until %s (line %d)", s.Count, s.End.at(), s.End.Line)
	}
	return out
}

func (r Refusals) String() string {
	classes := make([]string, 0, len(r.ByClass))
	for c := range r.ByClass {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	parts := make([]string, len(classes))
	for i, c := range classes {
		parts[i] = fmt.Sprintf("%s %d", c, r.ByClass[c])
	}
	us := make([]string, len(r.Units))
	for i, u := range r.Units {
		us[i] = fmt.Sprint(u)
	}
	return fmt.Sprintf("%s: %d refused (%s) on units %s", ownerName(r.Owner), r.Count, strings.Join(parts, ", "), strings.Join(us, ", "))
}
