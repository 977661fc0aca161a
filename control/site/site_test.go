package site

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLoadGood(t *testing.T) {
	c, err := Load("testdata/small.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Control.Period.Duration != 2*time.Second || c.Units[1].Profile != "crah-generic" || c.Units[0].MinFanPct != 30 {
		t.Fatalf("defaults not applied: %+v", c.Units[1])
	}
	if c.Zones[0].MinValid != 2 || c.Zones[0].InfluenceOf("crah-1") != 0.7 {
		t.Fatalf("zone defaults: %+v", c.Zones[0])
	}
	data, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse(data, "round-trip")
	if err != nil {
		t.Fatalf("encoded config does not parse back: %v\n%s", err, data)
	}
	if c2.Units[0].BMSTimeout != c.Units[0].BMSTimeout || c2.Zones[0].Influence["crah-2"] != 0.3 {
		t.Fatal("round trip lost data")
	}
}

func TestErrorsNameFileAndField(t *testing.T) {
	base, err := os.ReadFile("testdata/small.toml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, from, to, want string
	}{
		{"typo key", "unit_id = 2", "unit_idd = 2", "site.toml:24: unit[1](crah-2).unit_idd: unknown key \"unit_idd\"; did you mean unit_id?"},
		{"fan range", "profile = \"crah-generic\"", "profile = \"crah-generic\"\nmin_fan_pct = 120", "unit[0](crah-1).min_fan_pct: 120 is outside 0..100"},
		{"bad profile", "profile = \"crah-generic\"", "profile = \"crah-genric\"", "unit[0](crah-1).profile: \"crah-genric\" is not a known profile"},
		{"unknown unit in zone", "units = [\"crah-1\", \"crah-2\"]", "units = [\"crah-1\", \"crah-3\"]", "zone[0](row-a).units[1]: \"crah-3\" is not a declared unit"},
		{"bad sensor", "00-17-0d-00-00-38-0a-20/1", "00-17-0d-00-00-38-0a/1", "zone[0](row-a).sensors[2]"},
		{"syntax", "period = \"2s\"", "period = 2s", "site.toml:5:"},
		{"bad duration", "period = \"2s\"", "period = \"2 sec\"", "bad duration"},
		{"bms below period", "unit_id = 2", "unit_id = 2\nbms_timeout = \"3s\"", "must be more than twice control.period"},
		{"target", "tcp://127.0.0.1:5020", "udp://x", "site.toml:13: line[0](bms).target"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(string(base), tc.from, tc.to, 1)
			if src == string(base) {
				t.Fatalf("case did not change the file")
			}
			_, err := Parse([]byte(src), "site.toml")
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
