package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/storage"
)

// TestDBExportEvents runs `db export-events` on a real bbolt file: CSV read back with
// encoding/csv, JSONL with encoding/json, --since as a time and as a duration, formula-looking
// cells neutralized in CSV only, usage errors exit 2, a held database exits 1 with the hint.
func TestDBExportEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testBinary(t)
	db := filepath.Join(t.TempDir(), "coldaisle.db")
	now := time.Now().UTC()
	old := now.Add(-48 * time.Hour).Truncate(time.Second).Add(123456789) // nanoseconds survive
	recent := now.Add(-2 * time.Hour)
	latest := now.Add(-time.Hour)
	evs := []storage.Event{
		{Time: old, Kind: storage.KindSystem, Text: "start"},
		{Time: recent, Kind: storage.KindLogin, Who: "=cmd|' /C calc'!A0", Text: "=HYPERLINK(\"http://x\",\"y\")"},
		{Time: recent.Add(time.Second), Kind: storage.KindAlarm, Who: "bob", Text: "zone row-a, \"hot\"\nsecond line"},
		{Time: latest, Kind: storage.KindMode, Who: "@alice", Text: "-1+1"},
		{Time: latest.Add(time.Second), Kind: storage.KindMode, Text: "+crah-1 manual"},
	}
	s, err := storage.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	readCSV := func(out string) [][]string {
		t.Helper()
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("csv: %v\n%s", err, out)
		}
		if len(rows) == 0 || strings.Join(rows[0], ",") != "time,kind,who,text" {
			t.Fatalf("header %v", rows)
		}
		return rows[1:]
	}
	r := runBin(t, bin, "db", "export-events", "--db", db)
	expect(t, r, 0, "time,kind,who,text", "")
	rows := readCSV(r.stdout)
	if len(rows) != len(evs) {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), len(evs), r.stdout)
	}
	want := [][]string{
		{"system", "", "start"},
		{"login", "'=cmd|' /C calc'!A0", "'=HYPERLINK(\"http://x\",\"y\")"},
		{"alarm", "bob", "zone row-a, \"hot\"\nsecond line"},
		{"mode", "'@alice", "'-1+1"},
		{"mode", "", "'+crah-1 manual"},
	}
	for i, row := range rows {
		tm, err := time.Parse(time.RFC3339Nano, row[0])
		if err != nil || !tm.Equal(evs[i].Time) || !strings.HasSuffix(row[0], "Z") {
			t.Errorf("row %d time %q (%v), want %v in UTC", i, row[0], err, evs[i].Time)
		}
		if strings.Join(row[1:], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d: %q, want %q", i, row[1:], want[i])
		}
	}

	// --since as a duration and as an RFC 3339 time (inclusive).
	rows = readCSV(runBin(t, bin, "db", "export-events", "--db", db, "--since", "24h").stdout)
	if len(rows) != 4 || rows[0][1] != "login" {
		t.Fatalf("--since 24h: %q", rows)
	}
	r = runBin(t, bin, "db", "--since", latest.Format(time.RFC3339Nano), "export-events", "--db", db)
	expect(t, r, 0, "", "")
	if rows = readCSV(r.stdout); len(rows) != 2 || rows[0][2] != "'@alice" {
		t.Fatalf("--since %s: %q", latest.Format(time.RFC3339Nano), rows)
	}
	if rows = readCSV(runBin(t, bin, "db", "export-events", "--db", db, "--since", now.Add(time.Hour).Format(time.RFC3339)).stdout); len(rows) != 0 {
		t.Fatalf("--since in the future: %q", rows)
	}

	// JSONL: one object per line, the texts as stored.
	r = runBin(t, bin, "db", "export-events", "--db", db, "--format", "jsonl", "--since", "3h")
	expect(t, r, 0, "", "")
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	var got []storage.Event
	for sc.Scan() {
		var o struct{ Time, Kind, Who, Text string }
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		tm, err := time.Parse(time.RFC3339Nano, o.Time)
		if err != nil {
			t.Fatalf("time %q: %v", o.Time, err)
		}
		got = append(got, storage.Event{Time: tm, Kind: o.Kind, Who: o.Who, Text: o.Text})
	}
	if len(got) != 4 {
		t.Fatalf("jsonl: %d lines, want 4:\n%s", len(got), r.stdout)
	}
	for i, e := range got {
		w := evs[i+1]
		if !e.Time.Equal(w.Time) || e.Kind != w.Kind || e.Who != w.Who || e.Text != w.Text {
			t.Errorf("jsonl %d: %+v, want %+v", i, e, w)
		}
	}

	// Usage errors: exit 2, nothing on stdout.
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"--format", "xml"}, `--format "xml": use csv or jsonl`},
		{[]string{"--since", "yesterday"}, `--since: "yesterday" is neither an RFC 3339 time`},
		{[]string{"--since", "24"}, `"24" is neither`},
		{[]string{"--since", "-5h"}, "must be positive"},
		{[]string{"--since", "0s"}, "must be positive"},
		{[]string{"--since", "2026-13-01T00:00:00Z"}, "neither an RFC 3339 time"},
		{[]string{"extra"}, "takes no argument"},
		{[]string{"--version", "1"}, "--version is only for export-config"},
		{[]string{"--bogus"}, "flag provided but not defined"},
	} {
		r := runBin(t, bin, append([]string{"db", "export-events", "--db", db}, c.args...)...)
		expect(t, r, 2, "", c.err)
		if r.stdout != "" {
			t.Errorf("%v: stdout %q", c.args, r.stdout)
		}
	}
	expect(t, runBin(t, bin, "db", "check", "--db", db, "--since", "1h"), 2, "", "--since is only for export-events")
	expect(t, runBin(t, bin, "db", "export-config", "--db", db, "--format", "jsonl"), 2, "", "--format is only for export-events")
	expect(t, runBin(t, bin, "db", "export-events", "--db", filepath.Join(t.TempDir(), "none.db")), 1, "", "does not exist")

	// The running controller's exclusive lock keeps even a reader out: say so and what to do.
	held, err := storage.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	r = runBin(t, bin, "db", "export-events", "--db", db, "--timeout", "100ms")
	expect(t, r, 1, "", "is in use by another process")
	expect(t, r, 1, "", "the running controller holds the database's lock")
	expect(t, r, 1, "", "coldaisle db backup COPY --db "+db)
	if r.stdout != "" {
		t.Errorf("in use: stdout %q", r.stdout)
	}
}
