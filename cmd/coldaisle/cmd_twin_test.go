package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/coldaisle/coldaisle/control/site"
)

func TestTwinBadScenarioFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "room.toml")
	data := "name = \"x\"\nduration = \"1m\"\n\n[[units]]\nname = \"u\"\nmin_speed = 1.5\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := runTwin(context.Background(), []string{"--scenario", path}, &out, &errb)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if want := path + ":6: units[0].min_speed"; !strings.Contains(errb.String(), want) {
		t.Fatalf("stderr lacks %q:\n%s", want, errb.String())
	}
	code = runTwin(context.Background(), []string{"--scenario", "no-such-room"}, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "unknown scenario") {
		t.Fatalf("unknown scenario: exit %d: %s", code, errb.String())
	}
}

func TestTwinCheckWrites(t *testing.T) {
	dir := t.TempDir()
	line := func(tp float64, unit, owner, hb int) string {
		return `{"t_plant":` + ftoa(tp) + `,"unit":` + itoa(unit) + `,"kind":"crah","fc":16,"addr":10,"values":[` +
			itoa(owner) + `,1,` + itoa(hb) + `,500,500],"owner":` + itoa(owner) + `,"accepted":true,"remote":true,"bms_timeout":10}`
	}
	write := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	clean := write("clean.log", line(0, 1, 1, 1), line(2, 2, 1, 1), line(5, 1, 1, 2), line(7, 2, 1, 2))
	twoOwners := write("two.log", line(0, 1, 1, 1), line(2, 1, 1, 2), line(8, 1, 2, 3), line(10, 1, 2, 4))
	gap := write("gap.log", line(0, 1, 1, 1), line(15, 1, 1, 2))
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{clean}, exitOK, "ok: 4 writes, 2 units"},
		{[]string{twoOwners}, exitFailure, "two-owners: unit 1: owner 2 wrote at t=8.000 s"},
		{[]string{"--handover", twoOwners}, exitOK, "ok: 4 writes, 1 units"},
		{[]string{gap}, exitFailure, "heartbeat-gap: unit 1: no heartbeat from t=0.000 s to t=15.000 s"},
		{[]string{filepath.Join(dir, "missing.log")}, exitUsage, ""},
		{[]string{write("bad.log", "{")}, exitUsage, ""},
		{nil, exitUsage, ""},
	} {
		var out, errb bytes.Buffer
		code := runTwin(context.Background(), append([]string{"check-writes"}, c.args...), &out, &errb)
		if code != c.code || !strings.Contains(out.String(), c.want) {
			t.Errorf("check-writes %v: exit %d, want %d; stdout %q (want %q); stderr %q", c.args, code, c.code, out.String(), c.want, errb.String())
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// The twin subcommand end to end: the demo room at a high speed to its end, one status line per
// simulated minute, the site configuration written and valid, the write log created.
func TestTwinRunsDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("real ptys and sockets")
	}
	dir := t.TempDir()
	cfg, wlog := filepath.Join(dir, "site.toml"), filepath.Join(dir, "writes.log")
	var out, errb bytes.Buffer
	code := runTwin(context.Background(), []string{"--scenario", "demo", "--speed", "1500", "--stop-at-end",
		"--gateway-link", filepath.Join(dir, "mesh"), "--modbus-listen", "127.0.0.1:0", "--rtu-link", filepath.Join(dir, "rtu"),
		"--write-log", wlog, "--site-config-out", cfg}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	status := strings.Count(out.String(), "max inlet")
	if status < 24 || !strings.Contains(out.String(), "t=0:13:00") || !strings.Contains(out.String(), "event t=780s unit_trip") {
		t.Fatalf("%d status lines; output:\n%s", status, out.String())
	}
	c, err := site.Load(cfg)
	if err != nil {
		t.Fatalf("written site configuration: %v", err)
	}
	if c.Mesh.Port != filepath.Join(dir, "mesh") || len(c.Lines) != 2 || len(c.Units) != 3 {
		t.Fatalf("site configuration: mesh %+v lines %+v units %d", c.Mesh, c.Lines, len(c.Units))
	}
	if _, err := os.Stat(wlog); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"mesh", "rtu"} {
		if _, err := os.Lstat(filepath.Join(dir, l)); !os.IsNotExist(err) {
			t.Errorf("symlink %s left behind", l)
		}
	}
}
