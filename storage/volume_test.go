package storage

import (
	"testing"
	"time"
)

// measureCheckpoints runs n steady-state checkpoints of 16 loops and the counters on a real
// file and returns the bytes per commit counted from bbolt's statistics (pages written plus the
// meta page; a cross-check against the block device's sector counter agreed within 3 %, the
// difference being the file system's journal) and the size of the JSON values.
func measureCheckpoints(t testing.TB, n int) (boltPerCommit float64, valueBytes int) {
	db, _ := openTest(t, nil)
	// Warm up: the first commits grow the file and fill the freelist.
	for i := range 20 {
		loops, counters := sampleState(16, i)
		if _, err := db.SaveCheckpoint(Checkpoint{Loops: loops, Counters: counters}); err != nil {
			t.Fatal(err)
		}
	}
	s0 := db.Stats()
	for i := range n {
		loops, counters := sampleState(16, 100+i)
		if _, err := db.SaveCheckpoint(Checkpoint{Loops: loops, Counters: counters}); err != nil {
			t.Fatal(err)
		}
	}
	s1 := db.Stats()
	boltPerCommit = float64(s1.BytesWritten-s0.BytesWritten) / float64(s1.Commits-s0.Commits)
	loops, counters := sampleState(16, 100+n)
	for _, l := range loops {
		raw, _ := jsonSize(l)
		valueBytes += raw
	}
	raw, _ := jsonSize(counters)
	valueBytes += raw
	return
}

func perDay(bytesPerCommit float64, interval time.Duration) float64 {
	return bytesPerCommit * float64(24*time.Hour/interval)
}

// TestWriteVolume measures the bytes written per steady-state checkpoint and extrapolates to a
// day at DefaultCheckpointInterval; the budget is 100 MB/day.
func TestWriteVolume(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 30
	}
	b, vb := measureCheckpoints(t, n)
	day := perDay(b, DefaultCheckpointInterval)
	t.Logf("16 loops + counters (%d bytes of JSON values): %.0f bytes/commit; one commit every %s: %.1f MB/day (every 5 s it would be %.1f MB/day)",
		vb, b, DefaultCheckpointInterval, day/1e6, perDay(b, 5*time.Second)/1e6)
	if day > 100e6 {
		t.Errorf("checkpoints write %.1f MB/day at the default interval, budget 100 MB/day", day/1e6)
	}
}

// BenchmarkCheckpoint reports bytes per commit and MB per day at the default interval.
func BenchmarkCheckpoint(b *testing.B) {
	db, _ := openTest(b, nil)
	s0 := db.Stats()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		loops, counters := sampleState(16, i)
		if _, err := db.SaveCheckpoint(Checkpoint{Loops: loops, Counters: counters}); err != nil {
			b.Fatal(err)
		}
	}
	s1 := db.Stats()
	per := float64(s1.BytesWritten-s0.BytesWritten) / float64(s1.Commits-s0.Commits)
	b.ReportMetric(per, "bytes/commit")
	b.ReportMetric(perDay(per, DefaultCheckpointInterval)/1e6, "MB/day")
}
