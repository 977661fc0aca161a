package twin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
)

// CheckResult is what CheckWriteLog found in a write log.
type CheckResult struct {
	Writes     int   // log lines (writes received, accepted or refused)
	Accepted   int   // of which accepted
	Units      []int // Modbus ids that received writes, sorted
	Violations []ahusim.Violation
}

// OK reports whether the log breaks no rule.
func (r CheckResult) OK() bool { return len(r.Violations) == 0 }

// CheckWriteLog reads a write log and checks it with ahusim's single-writer rules: the literal
// rules (ahusim.CheckWrites, timeouts from the log) by default, CheckWritesWith{Handover: true}
// with handover (a single prompt 2N takeover passes). Malformed lines are an error wrapping
// ahusim.ErrBadLog.
func CheckWriteLog(r io.Reader, handover bool) (CheckResult, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return CheckResult{}, fmt.Errorf("twin: read write log: %w", err)
	}
	var res CheckResult
	if handover {
		res.Violations, err = ahusim.CheckWritesWith(bytes.NewReader(data), ahusim.CheckOptions{Handover: true})
	} else {
		res.Violations, err = ahusim.CheckWrites(bytes.NewReader(data), nil)
	}
	if err != nil {
		return CheckResult{}, err
	}
	// CheckWrites has validated every line; count them.
	units := map[int]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var e struct {
			Unit     int  `json:"unit"`
			Accepted bool `json:"accepted"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			return CheckResult{}, fmt.Errorf("%w: %v", ahusim.ErrBadLog, err)
		}
		res.Writes++
		if e.Accepted {
			res.Accepted++
		}
		units[e.Unit] = true
	}
	for u := range units {
		res.Units = append(res.Units, u)
	}
	sort.Ints(res.Units)
	return res, nil
}
