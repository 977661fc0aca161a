package ahusim

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Entry is one line of the write log. Every write a simulated unit receives, accepted or
// refused, becomes one JSON object on its own line.
type Entry struct {
	TPlant   float64  `json:"t_plant"`  // plant seconds when the write arrived
	TWall    string   `json:"t_wall"`   // RFC 3339 with nanoseconds
	Unit     int      `json:"unit"`     // Modbus unit id
	Kind     string   `json:"kind"`     // "crah" or "vfd"
	FC       int      `json:"fc"`       // 6 or 16
	Addr     int      `json:"addr"`     // first register
	Values   []uint16 `json:"values"`   // raw register values as sent
	Client   string   `json:"client"`   // TCP peer address or "rtu"
	Owner    int      `json:"owner"`    // owner node id in force after the write (0 on a drive)
	Epoch    int      `json:"epoch"`    // owner epoch in force after the write (0 on a drive)
	Accepted bool     `json:"accepted"` //
	Reason   string   `json:"reason"`   // exception text when refused, "" when accepted
	// Remote (remote control enabled) and BMSTimeout (seconds; a drive's comm-loss timeout) in
	// force after the write; CheckWrites uses them.
	Remote     bool    `json:"remote"`
	BMSTimeout float64 `json:"bms_timeout"`
	// Who sent the write and what it carried, accepted or not (a refused write's owner and
	// epoch above are still the unit's). Each is absent when unknown or not in the write.
	//   writer: the owner id that sent it: register 10 in the write, else the owner last
	//           written on the same connection (Options.ConnOwner), so a drive's writes and a
	//           lone heartbeat are attributed too;
	//   writer_epoch, heartbeat: registers 11 and 12 as written;
	//   fan, valve: the commands as written, % (CRAH 13 and 14; a drive's speed reference);
	//   exception, refusal: the exception code of a refused write and its class ("function"
	//           0x01, "address" 0x02, "value" 0x03, "fenced" 0x04 with a stale epoch).
	Writer      *int     `json:"writer,omitempty"`
	WriterEpoch *int     `json:"writer_epoch,omitempty"`
	Heartbeat   *int     `json:"heartbeat,omitempty"`
	Fan         *float64 `json:"fan,omitempty"`
	Valve       *float64 `json:"valve,omitempty"`
	Exception   int      `json:"exception,omitempty"`
	Refusal     string   `json:"refusal,omitempty"`
}

// wallFormat is RFC 3339 with all nine fraction digits, so lines sort and align.
const wallFormat = "2006-01-02T15:04:05.000000000Z07:00"

// Log writes Entries as JSON lines to an io.Writer shared by many units; a mutex keeps lines
// whole. The first write error is kept (Err) and later entries are dropped.
type Log struct {
	mu   sync.Mutex
	w    io.Writer
	wall func() time.Time
	n    int
	err  error
}

// NewLog returns a Log writing to w.
func NewLog(w io.Writer) *Log { return &Log{w: w, wall: time.Now} }

// SetWallClock replaces time.Now for t_wall (tests).
func (l *Log) SetWallClock(now func() time.Time) {
	l.mu.Lock()
	l.wall = now
	l.mu.Unlock()
}

// Err is the first write error, if any.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Lines is the number of lines written.
func (l *Log) Lines() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func (l *Log) record(e Entry) {
	if l == nil {
		return
	}
	if e.Values == nil {
		e.Values = []uint16{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	e.TWall = l.wall().Format(wallFormat)
	b, err := json.Marshal(e)
	if err == nil {
		b = append(b, '\n')
		_, err = l.w.Write(b)
	}
	if err != nil {
		l.err = fmt.Errorf("ahusim: write log: %w", err)
		return
	}
	l.n++
}
