package ahusim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// Violation kinds reported by CheckWrites.
const (
	ViolationTwoOwners    = "two-owners"
	ViolationHeartbeatGap = "heartbeat-gap"
)

// DefaultBMSTimeout is the timeout CheckWrites assumes for a unit until the log shows one
// (the power-up value of both profiles), in seconds.
const DefaultBMSTimeout = 10.0

// ErrBadLog: a write-log line is not a JSON object with the keys CheckWrites needs.
var ErrBadLog = errors.New("ahusim: bad write log")

// Violation is one breach of the single-writer rules found in a write log.
type Violation struct {
	Kind    string  // ViolationTwoOwners or ViolationHeartbeatGap
	Unit    int     // Modbus unit id
	From    float64 // plant s: the previous owner's last write, or the last heartbeat (or remote enable)
	At      float64 // plant s: the new owner's write, or the heartbeat that ended the gap (end of log if none)
	Timeout float64 // the BMS timeout the interval was held against, s
	Owners  [2]int  // previous and new owner (two-owners only)
	Line    int     // log line of At; 0 when the gap runs to the end of the log
}

func (v Violation) String() string {
	switch v.Kind {
	case ViolationTwoOwners:
		return fmt.Sprintf("unit %d: owner %d wrote at t=%.3f s, %.3f s after owner %d (within the %g s BMS timeout; line %d)",
			v.Unit, v.Owners[1], v.At, v.At-v.From, v.Owners[0], v.Timeout, v.Line)
	case ViolationHeartbeatGap:
		end := fmt.Sprintf("line %d", v.Line)
		if v.Line == 0 {
			end = "end of log"
		}
		return fmt.Sprintf("unit %d: no heartbeat from t=%.3f s to t=%.3f s (%.3f s > %g s BMS timeout; %s)",
			v.Unit, v.From, v.At, v.At-v.From, v.Timeout, end)
	}
	return fmt.Sprintf("unit %d: %s at t=%.3f s", v.Unit, v.Kind, v.At)
}

// logLine is an Entry with presence detection for the keys the checker needs.
type logLine struct {
	TPlant     *float64 `json:"t_plant"`
	Unit       *int     `json:"unit"`
	Kind       string   `json:"kind"`
	Addr       *int     `json:"addr"`
	Values     []uint16 `json:"values"`
	Owner      *int     `json:"owner"`
	Accepted   *bool    `json:"accepted"`
	Remote     *bool    `json:"remote"`
	BMSTimeout *float64 `json:"bms_timeout"`
}

func (l *logLine) covers(reg int) (uint16, bool) {
	i := reg - *l.Addr
	if i < 0 || i >= len(l.Values) {
		return 0, false
	}
	return l.Values[i], true
}

type track struct {
	remote     bool
	timeout    float64
	monitoring bool
	lastHB     float64
	owner      int
	ownerT     float64
	ownerSet   bool
	lastChange float64
	changed    bool
}

// TimeoutsFrom turns a per-unit map (seconds) into the function CheckWrites takes; units not in
// the map get def.
func TimeoutsFrom(m map[int]float64, def float64) func(unit int) float64 {
	return func(unit int) float64 {
		if v, ok := m[unit]; ok {
			return v
		}
		return def
	}
}

// CheckOptions tune CheckWritesWith.
type CheckOptions struct {
	// BMSTimeout gives each unit's timeout in seconds; nil takes it from the log (key
	// bms_timeout, or writes to CRAH register 1 / drive register 6), DefaultBMSTimeout until one
	// is seen. 0 (never time out) disables both checks for that unit.
	BMSTimeout func(unit int) float64
	// Handover: an owner change counts only when it comes less than one BMS timeout after the
	// unit's previous owner change (controllers fighting, or a stale writer coming back), so a
	// single prompt takeover passes. Off: every owner change less than one timeout after the
	// previous owner's last command write counts.
	Handover bool
	// GapGrace: seconds a heartbeat gap may exceed the BMS timeout before it counts.
	GapGrace float64
}

// CheckWrites reads a write log (JSON lines as written by Log) and reports:
//   - two-owners: an accepted CRAH command write (registers 10..14) whose owner differs from the
//     owner of the previous accepted command write to the same unit less than one BMS timeout
//     earlier;
//   - heartbeat-gap: a unit with remote control on (from its first accepted write with remote
//     control enabled) left longer than its BMS timeout without an accepted heartbeat write
//     (CRAH register 12; drive register 0 or 1), up to the next heartbeat, the write that
//     disabled remote control, or the end of the log.
//
// Refused writes change nothing on a unit and are ignored. bmsTimeout: see
// CheckOptions.BMSTimeout. Drives have no owner registers and get only the gap check.
// Violations come sorted by time.
//
// The two rules together leave a takeover by a second controller no slack: it must come no
// sooner than one timeout after the first controller's last write (or it is two owners) and no
// later (or it is a gap). CheckWritesWith relaxes either rule.
func CheckWrites(r io.Reader, bmsTimeout func(unit int) float64) ([]Violation, error) {
	return CheckWritesWith(r, CheckOptions{BMSTimeout: bmsTimeout})
}

// CheckWritesWith is CheckWrites with options.
func CheckWritesWith(r io.Reader, o CheckOptions) ([]Violation, error) {
	bmsTimeout := o.BMSTimeout
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	units := map[int]*track{}
	var out []Violation
	end := math.Inf(-1)
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var l logLine
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrBadLog, n, err)
		}
		for _, k := range []struct {
			key string
			ok  bool
		}{{"t_plant", l.TPlant != nil}, {"unit", l.Unit != nil}, {"addr", l.Addr != nil}, {"accepted", l.Accepted != nil}} {
			if !k.ok {
				return nil, fmt.Errorf("%w: line %d: missing key %q", ErrBadLog, n, k.key)
			}
		}
		t := *l.TPlant
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, fmt.Errorf("%w: line %d: t_plant %v", ErrBadLog, n, t)
		}
		end = math.Max(end, t)
		if !*l.Accepted {
			continue
		}
		tr := units[*l.Unit]
		if tr == nil {
			tr = &track{timeout: DefaultBMSTimeout}
			units[*l.Unit] = tr
		}
		timeout := tr.timeout
		if bmsTimeout != nil {
			timeout = bmsTimeout(*l.Unit)
		}
		vfd := l.Kind == "vfd"

		// Heartbeat gaps, held against the timeout in force during the gap.
		heartbeat := false
		if vfd {
			_, a := l.covers(VFDControlWord)
			_, b := l.covers(VFDSpeedRef)
			heartbeat = a || b
		} else {
			_, heartbeat = l.covers(CRAHHeartbeat)
		}
		remote := tr.remote
		switch {
		case l.Remote != nil:
			remote = *l.Remote
		case vfd:
			remote = true
		default:
			if v, ok := l.covers(CRAHRemoteEnable); ok {
				remote = v == 1
			}
		}
		if tr.monitoring && (heartbeat || !remote) {
			if timeout > 0 && t-tr.lastHB > timeout+o.GapGrace {
				out = append(out, Violation{Kind: ViolationHeartbeatGap, Unit: *l.Unit, From: tr.lastHB, At: t, Timeout: timeout, Line: n})
			}
			tr.lastHB = t
		}
		if remote && !tr.monitoring {
			tr.monitoring, tr.lastHB = true, t
		}
		tr.monitoring = tr.monitoring && remote
		tr.remote = remote

		// Two owners within one timeout.
		if !vfd {
			owner, isCmd := -1, false
			if v, ok := l.covers(CRAHOwner); ok {
				owner, isCmd = int(v), true
			} else {
				for reg := CRAHEpoch; reg <= CRAHValveCmd; reg++ {
					if _, ok := l.covers(reg); ok {
						isCmd = true
					}
				}
				if l.Owner != nil {
					owner = *l.Owner
				} else if tr.ownerSet {
					owner = tr.owner
				}
			}
			if isCmd && owner >= 0 {
				if tr.ownerSet && owner != tr.owner {
					from := tr.ownerT
					if o.Handover {
						from = math.Inf(-1)
						if tr.changed {
							from = tr.lastChange
						}
					}
					if timeout > 0 && t-from < timeout {
						out = append(out, Violation{Kind: ViolationTwoOwners, Unit: *l.Unit, From: from, At: t, Timeout: timeout,
							Owners: [2]int{tr.owner, owner}, Line: n})
					}
					tr.lastChange, tr.changed = t, true
				}
				tr.owner, tr.ownerT, tr.ownerSet = owner, t, true
			}
		}

		// The timeout in force from now on.
		switch {
		case l.BMSTimeout != nil:
			tr.timeout = *l.BMSTimeout
		case vfd:
			if v, ok := l.covers(VFDCommLossTimeout); ok {
				tr.timeout = float64(v) / 10
			}
		default:
			if v, ok := l.covers(CRAHBMSTimeout); ok {
				tr.timeout = float64(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: after line %d: %v", ErrBadLog, n, err)
	}
	ids := make([]int, 0, len(units))
	for id := range units {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		tr := units[id]
		timeout := tr.timeout
		if bmsTimeout != nil {
			timeout = bmsTimeout(id)
		}
		if tr.monitoring && timeout > 0 && end-tr.lastHB > timeout+o.GapGrace {
			out = append(out, Violation{Kind: ViolationHeartbeatGap, Unit: id, From: tr.lastHB, At: end, Timeout: timeout})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].At != out[j].At {
			return out[i].At < out[j].At
		}
		return out[i].Unit < out[j].Unit
	})
	return out, nil
}
