package storage_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/coldaisle/coldaisle/storage"
)

// The controller's database: configuration versions with history, the failover epoch, loop
// checkpoints, the event log, a check and a hot backup. Every method commits durably before it
// returns; a second open of the same file is refused while the first holds it.
func Example() {
	dir, err := os.MkdirTemp("", "storage-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "coldaisle.db")

	clock := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	db, err := storage.Open(path, &storage.Options{Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	_, err = storage.Open(path, &storage.Options{Timeout: 50 * time.Millisecond})
	fmt.Println("second open in use:", errors.Is(err, storage.ErrInUse))

	v1, _ := db.SaveConfig([]byte("site = \"crah-room-1\"\n"), "alice", "first")
	v2, _ := db.SaveConfig([]byte("site = \"crah-room-2\"\n"), "alice", "rename")
	v3, _ := db.RestoreConfig(v1, "bob") // version 1 saved again as a new version
	cur, err := db.Config()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("versions %d %d %d; current %d by %s: %q\n", v1, v2, v3, cur.Version, cur.Who, cur.Data)

	epoch, _ := db.BumpEpoch() // on taking over control
	fmt.Println("epoch", epoch)

	cp := storage.NewCheckpointer(db, 0, now) // 0: the default 20 s between commits
	loops := map[string]storage.LoopState{"crah-1": {Mode: "auto", Integrator: 41.5, LastOut: 55}}
	_ = cp.Log(storage.Event{Kind: storage.KindAlarm, Who: "engine", Text: "row-a: inlet-high"})
	done, _ := cp.Offer(loops, map[string]uint64{"periods": 1})
	fmt.Println("first offer commits:", done)
	clock = clock.Add(2 * time.Second)
	done, _ = cp.Offer(loops, map[string]uint64{"periods": 2})
	fmt.Println("offer 2 s later commits:", done)
	_ = cp.Flush() // on shutdown
	saved, _ := db.LoadCheckpoint()
	fmt.Println("checkpoint", saved.Seq, saved.Loops["crah-1"].Mode, saved.Counters["periods"])

	_, _ = db.AppendEvent(storage.Event{Kind: storage.KindSystem, Who: "appliance", Text: "stop"})
	evs, _ := db.Events(3)
	for _, e := range evs { // newest first
		fmt.Println(e.Kind, e.Who, e.Text)
	}

	fmt.Println("check:", db.Check())
	backup := filepath.Join(dir, "backup.db")
	fmt.Println("backup:", db.BackupFile(backup), storage.Verify(backup))
	// Output:
	// second open in use: true
	// versions 1 2 3; current 3 by bob: "site = \"crah-room-1\"\n"
	// epoch 1
	// first offer commits: true
	// offer 2 s later commits: false
	// checkpoint 2 auto 2
	// system appliance stop
	// alarm engine row-a: inlet-high
	// config bob configuration version 3 saved (21 bytes): restore of version 1
	// check: <nil>
	// backup: <nil> <nil>
}
