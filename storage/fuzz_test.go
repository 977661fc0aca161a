package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds damaged database files to Open and Check: the only acceptable outcomes are a
// sound database or an error; a panic or a fault fails the fuzzer.
func FuzzOpen(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.db")
	db, err := Open(path, nil)
	if err != nil {
		f.Fatal(err)
	}
	db.SaveConfig([]byte("[site]\nname = \"fuzz\"\n"), "fuzz", "seed")
	loops, counters := sampleState(4, 1)
	db.SaveCheckpoint(Checkpoint{Loops: loops, Counters: counters})
	db.AppendEvent(Event{Kind: KindSystem, Text: "seed"})
	db.Close()
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.db")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(p, &Options{MustExist: true})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrSchema) {
				t.Fatalf("Open: %v", err)
			}
			return
		}
		defer db.Close()
		if err := db.Check(); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Check: %v", err)
		}
		db.ConfigHistory()
		db.Events(0)
		db.LoadCheckpoint()
		db.Users()
	})
}
