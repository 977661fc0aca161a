package storage

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
)

type recordingSaver struct {
	clk   *fakeClock
	times []time.Time
	fail  bool
	last  Checkpoint
}

func (r *recordingSaver) SaveCheckpoint(cp Checkpoint) (uint64, error) {
	if r.fail {
		return 0, errors.New("disk on fire")
	}
	r.times = append(r.times, r.clk.t)
	r.last = cp
	return uint64(len(r.times)), nil
}

func TestCheckpointerSteadyState(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	s := &recordingSaver{clk: clk}
	c := NewCheckpointer(s, 5*time.Second, clk.Now)
	start := clk.t
	for i := range 60 { // one control period per second for a minute, state changing each time
		loops, counters := sampleState(4, i)
		if _, err := c.Offer(loops, counters); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	if len(s.times) != 12 {
		t.Fatalf("%d commits in 60 s at a 5 s interval, want 12", len(s.times))
	}
	for i := 1; i < len(s.times); i++ {
		if d := s.times[i].Sub(s.times[i-1]); d < 5*time.Second {
			t.Fatalf("commits %d and %d only %v apart", i-1, i, d)
		}
	}
	if !s.times[0].Equal(start) {
		t.Fatalf("first commit at %v, want at the first offer", s.times[0])
	}
	// The last offer (t=59 s) is pending; Flush commits it, a second Flush does nothing.
	want, _ := sampleState(4, 59)
	if err := c.Flush(); err != nil || !maps.EqualFunc(s.last.Loops, want, LoopState.equal) {
		t.Fatalf("Flush: %v; committed %v", err, s.last.Loops)
	}
	n := len(s.times)
	c.Flush()
	if len(s.times) != n {
		t.Fatal("a second Flush committed again")
	}
	if st := c.Stats(); st.Offers != 60 || st.Commits != 13 || st.LastSeq != 13 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestCheckpointerUrgentAndUnchanged(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	s := &recordingSaver{clk: clk}
	c := NewCheckpointer(s, 20*time.Second, clk.Now)
	loops, counters := sampleState(2, 1)
	c.Offer(loops, counters) // commits (first)
	clk.Advance(3 * time.Second)
	loops2, counters2 := sampleState(2, 2)
	if err := c.Urgent(loops2, counters2); err != nil { // a role change: at once
		t.Fatal(err)
	}
	if len(s.times) != 2 || !s.times[1].Equal(clk.t) {
		t.Fatalf("Urgent did not commit at once: %v", s.times)
	}
	// The interval restarts at the urgent commit.
	clk.Advance(19 * time.Second)
	loops3, counters3 := sampleState(2, 3)
	if ok, _ := c.Offer(loops3, counters3); ok {
		t.Fatal("steady commit 19 s after an urgent one")
	}
	clk.Advance(time.Second)
	if ok, _ := c.Offer(loops3, counters3); !ok {
		t.Fatal("no steady commit 20 s after the urgent one")
	}
	// Nothing changed: nothing is written.
	clk.Advance(time.Minute)
	if ok, _ := c.Offer(loops3, counters3); ok {
		t.Fatal("committed an unchanged state")
	}
	if st := c.Stats(); st.Unchanged != 1 || st.Commits != 3 {
		t.Fatalf("Stats = %+v", st)
	}
	// The offered maps were copied: changing them afterwards changes nothing committed.
	loops3["crah-01"] = LoopState{Mode: "mutated"}
	if s.last.Loops["crah-01"].Mode == "mutated" {
		t.Fatal("the Checkpointer kept the caller's map")
	}
}

func TestCheckpointerFailureBackoff(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	s := &recordingSaver{clk: clk, fail: true}
	c := NewCheckpointer(s, 10*time.Second, clk.Now)
	loops, counters := sampleState(2, 1)
	if _, err := c.Offer(loops, counters); err == nil {
		t.Fatal("a failing save reported no error")
	}
	s.fail = false
	clk.Advance(time.Second)
	if ok, err := c.Offer(loops, counters); ok || err != nil {
		t.Fatalf("retried 1 s after a failure: %v %v", ok, err)
	}
	clk.Advance(9 * time.Second)
	if ok, err := c.Offer(loops, counters); !ok || err != nil {
		t.Fatalf("no retry after the interval: %v %v", ok, err)
	}
	if st := c.Stats(); st.Failures != 1 || st.Commits != 1 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestCheckpointerOnDB(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 11, 23, 0, 0, 0, 0, time.UTC)}
	db, _ := openTest(t, &Options{Now: clk.Now})
	c := NewCheckpointer(db, 0, clk.Now)
	if c.Interval() != DefaultCheckpointInterval {
		t.Fatalf("Interval %v", c.Interval())
	}
	for i := range 100 {
		loops, counters := sampleState(16, i)
		if _, err := c.Offer(loops, counters); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	cp, err := db.LoadCheckpoint()
	want, wantC := sampleState(16, 99)
	if err != nil || !maps.EqualFunc(cp.Loops, want, LoopState.equal) || !maps.Equal(cp.Counters, wantC) || cp.Seq != c.Stats().LastSeq {
		t.Fatalf("stored checkpoint seq %d (Checkpointer says %d), %v", cp.Seq, c.Stats().LastSeq, err)
	}
	if st := db.Stats(); st.Commits != c.Stats().Commits || st.BytesWritten <= 0 {
		t.Fatalf("DB stats %+v, checkpointer %+v", st, c.Stats())
	}
}

// An alarm that flaps every control period costs no commit of its own: its events wait for the
// next interval commit and go in it, each distinct event once with a count; a failed commit
// keeps them.
func TestCheckpointerEventsRideOnCommits(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	s := &recordingSaver{clk: clk}
	c := NewCheckpointer(s, 5*time.Second, clk.Now)
	loops, counters := sampleState(2, 1)
	var got []Event
	for i := range 60 {
		text := "crah-1: alarm stale"
		if i%2 == 1 {
			text = "crah-1: cleared stale"
		}
		if err := c.Log(Event{Kind: KindAlarm, Who: "engine", Text: text}); err != nil {
			t.Fatal(err)
		}
		before := len(s.times)
		if _, err := c.Offer(loops, counters); err != nil { // the state itself never changes
			t.Fatal(err)
		}
		if len(s.times) > before {
			if len(s.last.Events) > 2 {
				t.Fatalf("a commit carried %d records for one flapping alarm, want at most 2: %+v", len(s.last.Events), s.last.Events)
			}
			got = append(got, s.last.Events...)
		}
		clk.Advance(time.Second)
	}
	if len(s.times) != 12 {
		t.Fatalf("%d commits in 60 periods of a flapping alarm at a 5 s interval, want 12", len(s.times))
	}
	// After the commit at t=55 s: t=56 alarm (again at 58), t=57 cleared (again at 59).
	p := c.Pending()
	if len(p) != 2 || p[0].Text != "crah-1: alarm stale (and 1 more times until 00:17:38)" || !p[1].Time.Equal(time.Unix(1057, 0)) {
		t.Fatalf("pending after the last commit: %+v", p)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	got = append(got, s.last.Events...)
	total := 0
	for i, e := range got {
		n := 1
		if _, rest, ok := strings.Cut(e.Text, " (and "); ok {
			var more int
			if _, err := fmt.Sscanf(rest, "%d more times until", &more); err != nil {
				t.Fatalf("record %q: %v", e.Text, err)
			}
			n += more
		}
		total += n
		if i > 0 && !e.Time.After(got[i-1].Time) {
			t.Fatalf("record %d %q at %v is not after the one before it (%v): order lost", i, e.Text, e.Time, got[i-1].Time)
		}
	}
	if total != 60 || len(got) != 1+11*2+2 || len(c.Pending()) != 0 {
		t.Fatalf("%d records standing for %d events, want 25 for 60", len(got), total)
	}

	// A failing disk: the events stay pending, bounded; the oldest go first and are counted.
	s.fail = true
	for i := range MaxPendingEvents + 10 {
		c.Log(Event{Kind: KindAlarm, Text: fmt.Sprintf("x%d", i)})
	}
	clk.Advance(time.Minute)
	if _, err := c.Offer(loops, counters); err == nil {
		t.Fatal("a failing save reported no error")
	}
	if p := c.Pending(); len(p) != MaxPendingEvents || c.Stats().Dropped != 10 {
		t.Fatalf("%d pending, %d dropped; want %d and 10", len(p), c.Stats().Dropped, MaxPendingEvents)
	}
	s.fail = false
	if err := c.Flush(); err != nil || len(s.last.Events) != MaxPendingEvents {
		t.Fatalf("Flush after the disk came back: %v, %d events", err, len(s.last.Events))
	}

	// A bad event is refused at once and queues nothing.
	if err := c.Log(Event{Kind: KindAlarm, Text: "ok"}, Event{Kind: "Bad Kind", Text: "x"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Log with a bad kind: %v", err)
	}
	if len(c.Pending()) != 0 {
		t.Fatal("a refused Log queued events")
	}
}

// On a real database the events land in the log in the checkpoint's own commit.
func TestCheckpointerEventsOnDB(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 11, 23, 0, 0, 0, 0, time.UTC)}
	db, _ := openTest(t, &Options{Now: clk.Now})
	c := NewCheckpointer(db, 20*time.Second, clk.Now)
	loops, counters := sampleState(4, 1)
	for i := range 100 {
		c.Log(Event{Kind: KindAlarm, Who: "engine", Text: fmt.Sprintf("flap %d", i)})
		if _, err := c.Offer(loops, counters); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if st := db.Stats(); st.Commits != 6 { // t=0, 20, 40, 60, 80 and the flush
		t.Fatalf("%d commits for 100 periods of a flapping alarm, want 6", st.Commits)
	}
	evs, err := db.Events(1000)
	if err != nil || len(evs) != 100 {
		t.Fatalf("%d events in the log (%v), want 100", len(evs), err)
	}
	for i, e := range evs { // newest first
		if want := fmt.Sprintf("flap %d", 99-i); e.Text != want {
			t.Fatalf("event %d is %q, want %q", i, e.Text, want)
		}
	}
}
