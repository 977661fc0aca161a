package appliance

import (
	"fmt"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/storage"
)

// The write volume (flash wear) is projected over a day only from a representative window: from
// wearWarmupCheckpoints checkpoint intervals after the start (the configuration import, the epoch
// and the start-up burst of events are behind) for at least wearMinCheckpoints intervals and
// wearMinWindow. A shorter run says what it wrote, not a daily figure.
const (
	wearWarmupCheckpoints = 2
	wearMinCheckpoints    = 5
	wearMinWindow         = 5 * time.Minute
)

// wearMeter keeps the database's write counters at the start of the representative window.
type wearMeter struct {
	mu     sync.Mutex
	have   bool
	base   storage.Stats
	baseAt time.Time
}

// mark takes the window's start once the run is past its warm-up (cheap until then).
func (w *wearMeter) mark(now, start time.Time, checkpoint time.Duration, stats func() storage.Stats) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.have || now.Sub(start) < wearWarmupCheckpoints*checkpoint {
		return
	}
	w.have, w.base, w.baseAt = true, stats(), now
}

func (w *wearMeter) window() (storage.Stats, time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.base, w.baseAt, w.have
}

// wearLine is the shutdown's write-volume line: what this run wrote and, from a representative
// window only, that rate over a day. speed > 1 is a simulated room running that many times faster
// than the wall clock: the checkpoints follow the wall clock but the room's events come speed
// times faster, so the line says that its figures are not a real day on a board.
func wearLine(st storage.Stats, up time.Duration, base storage.Stats, win time.Duration, haveWin bool, checkpoint time.Duration, speed float64) string {
	s := fmt.Sprintf("database: %d commits, %s written in %v of running", st.Commits, kB(st.BytesWritten), up.Round(time.Second))
	need := max(wearMinCheckpoints*checkpoint, wearMinWindow)
	if haveWin && win >= need && st.BytesWritten >= base.BytesWritten {
		rate := float64(st.BytesWritten-base.BytesWritten) / win.Seconds() * 86400 / 1e6
		s += fmt.Sprintf(" (%.1f MB/day at the rate of the last %v, start-up excluded)", rate, win.Round(time.Second))
	} else {
		s += fmt.Sprintf(" (too short for a daily figure: that needs %v of running after the start-up)", need.Round(time.Second))
	}
	if speed > 1 {
		s += fmt.Sprintf("; simulated room at x%g: that is %v of room time, with the room's events %g times faster than on a board, so no figure here is a real day in the field",
			speed, time.Duration(float64(up)*speed).Round(time.Second), speed)
	}
	return s
}

// kB formats a byte count in kB (or MB from 10 MB on).
func kB(n int64) string {
	if n >= 10e6 {
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.0f kB", float64(n)/1e3)
}
