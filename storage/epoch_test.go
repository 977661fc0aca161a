package storage

import (
	"path/filepath"
	"testing"
	"time"
)

// StoreEpoch never lowers the stored epoch, and what it stored survives a reopen of the file.
func TestStoreEpochOnlyRaises(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.db")
	db, err := Open(path, &Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ store, want uint64 }{{7, 7}, {5, 7}, {9, 9}} {
		if got, err := db.StoreEpoch(c.store); err != nil || got != c.want {
			t.Fatalf("StoreEpoch(%d) = %d, %v; want %d", c.store, got, err, c.want)
		}
	}
	db.Close()
	db, err = Open(path, &Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if e, err := db.Epoch(); err != nil || e != 9 {
		t.Fatalf("after reopen: %d, %v", e, err)
	}
}
