package syslog

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var testHeader = header{facility: 16, hostname: "board-1", appName: "coldaisle", procID: "77"}

func mustParse(t *testing.T, b []byte) parsed {
	t.Helper()
	p, err := parse5424(b)
	if err != nil {
		t.Fatalf("%v in %q", err, b)
	}
	return p
}

func TestFormatExact(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.FixedZone("", 2*3600))
	got, cut := testHeader.format(Message{Time: at, Severity: 2, MsgID: "RAISED",
		SD:   []SDElement{{ID: "alarm@32473", Params: []SDParam{{"key", `zone/row-a/inlet-high`}, {"text", `a "q" \ b] c`}}}},
		Text: "inlet 28.1 C above limit"}, time.Time{})
	want := `<130>1 2026-03-01T10:00:00.123456+02:00 board-1 coldaisle 77 RAISED [alarm@32473 key="zone/row-a/inlet-high" text="a \"q\" \\ b\] c"] inlet 28.1 C above limit`
	if string(got) != want || cut {
		t.Fatalf("got  %s\nwant %s (cut %v)", got, want, cut)
	}
	// UTC is "Z"; no SD and no MSGID are NILVALUEs; no text: no MSG at all.
	got, _ = testHeader.format(Message{Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Severity: 6}, time.Time{})
	if want := `<134>1 2026-03-01T10:00:00.000000Z board-1 coldaisle 77 - -`; string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestFormatCleans(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		m    Message
		sev  int
		msg  string
		bom  bool
		sd   []SDElement
		id   string
		ts   string
	}{
		{name: "ascii without BOM", m: Message{Text: "plain"}, msg: "plain"},
		{name: "non-ASCII gets a BOM", m: Message{Text: "28.1 °C"}, msg: "28.1 °C", bom: true},
		{name: "control characters escaped", m: Message{Text: "a\nb\r\tc\x1b[2J\x7fd\u0085e\u2028f\u202eg\U000E0001h"},
			msg: `a\nb\r\tc\x1b[2J\x7fd\u0085e\u2028f\u202eg\U000e0001h`, bom: true},
		{name: "invalid UTF-8 becomes U+FFFD", m: Message{Text: "a\xffb"}, msg: "a\ufffdb", bom: true},
		{name: "zero time is now", m: Message{}, ts: "2026-03-01T10:00:00.000000Z"},
		{name: "year 10000 is NILVALUE", m: Message{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, ts: "-"},
		{name: "severity out of range is crit", m: Message{Severity: 9}, sev: 2},
		{name: "negative severity is crit", m: Message{Severity: -1}, sev: 2},
		{name: "MSGID made PRINTUSASCII and cut", m: Message{MsgID: "a b\nc°" + strings.Repeat("x", 40)},
			id: "a_b_c_" + strings.Repeat("x", 26)},
		{name: "SD names repaired, duplicates and empty ids dropped, values cleaned",
			m: Message{SD: []SDElement{
				{ID: "a b=c]d\"e@1@2", Params: []SDParam{{"p@q", "v\n\xff"}, {"", "dropped"}}},
				{ID: "a b=c]d\"e@1@2"},
				{ID: ""},
				{ID: strings.Repeat("n", 40)},
			}},
			sd: []SDElement{
				{ID: "a_b_c_d_e@1_2", Params: []SDParam{{"p_q", `v\n` + "\ufffd"}}},
				{ID: strings.Repeat("n", 32)},
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := testHeader.format(c.m, now)
			p := mustParse(t, b)
			if p.Severity != c.sev || p.Facility != 16 {
				t.Errorf("PRI: facility %d severity %d, want 16 %d", p.Facility, p.Severity, c.sev)
			}
			if p.Msg != c.msg || p.BOM != c.bom || p.HasMsg != (c.msg != "") {
				t.Errorf("MSG %q BOM %v, want %q BOM %v", p.Msg, p.BOM, c.msg, c.bom)
			}
			if !reflect.DeepEqual(p.SD, c.sd) {
				t.Errorf("SD %+v, want %+v", p.SD, c.sd)
			}
			if c.id == "" {
				c.id = "-"
			}
			if p.MsgID != c.id {
				t.Errorf("MSGID %q, want %q", p.MsgID, c.id)
			}
			if c.ts != "" && p.Timestamp != c.ts {
				t.Errorf("TIMESTAMP %q, want %q", p.Timestamp, c.ts)
			}
		})
	}
}

// TestFormatTruncates: a long MSG is cut to exactly fit MaxDatagram or one character short,
// never inside a character or an escape; SD that cannot fit is dropped whole.
func TestFormatTruncates(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for pad := range 8 {
		for _, unit := range []string{"°", "€", "𝄞", "\x1b", "a"} {
			text := strings.Repeat("x", pad) + strings.Repeat(unit, 3000)
			b, cut := testHeader.format(Message{Text: text}, now)
			p := mustParse(t, b)
			if !cut || len(b) > MaxDatagram || len(b) < MaxDatagram-len(`\x1b`)+1 {
				t.Fatalf("pad %d %q: %d bytes, cut %v", pad, unit, len(b), cut)
			}
			if !utf8.ValidString(p.Msg) || strings.HasSuffix(p.Msg, `\`) || strings.HasSuffix(p.Msg, `\x`) || strings.HasSuffix(p.Msg, `\x1`) {
				t.Fatalf("pad %d %q: MSG ends badly: %q", pad, unit, p.Msg[len(p.Msg)-8:])
			}
		}
	}
	big := []SDElement{{ID: "small@1", Params: []SDParam{{"k", "v"}}}, {ID: "huge@1", Params: []SDParam{{"k", strings.Repeat("v", 3000)}}}}
	b, cut := testHeader.format(Message{SD: big, Text: "still here"}, now)
	p := mustParse(t, b)
	if !cut || len(p.SD) != 1 || p.SD[0].ID != "small@1" || p.Msg != "still here" {
		t.Fatalf("huge SD: cut %v, %d elements, MSG %q", cut, len(p.SD), p.Msg)
	}
	// A text that fits exactly is not cut.
	b, _ = testHeader.format(Message{Text: "x"}, now)
	room := MaxDatagram - len(b) + 1
	b, cut = testHeader.format(Message{Text: strings.Repeat("y", room)}, now)
	if cut || len(b) != MaxDatagram {
		t.Fatalf("exact fit: %d bytes, cut %v", len(b), cut)
	}
}

// FuzzFormat: whatever goes into a Message, the datagram is strict RFC 5424 within 2048 bytes,
// and a text that fits arrives as sent once the escapes are undone.
func FuzzFormat(f *testing.F) {
	f.Add("RAISED", "alarm@32473", "key", "zone/row-a", "inlet 28.1 °C", 3, int64(0))
	f.Add("\x00\xff", "a\"]=@@", "b@]", "\\\"]", "\n\r\x1b\u202e\xff", -7, int64(-1e18))
	f.Fuzz(func(t *testing.T, msgID, sdID, pname, pvalue, text string, sev int, unixNano int64) {
		m := Message{Time: time.Unix(0, unixNano), Severity: sev, MsgID: msgID, Text: text,
			SD: []SDElement{{ID: sdID, Params: []SDParam{{pname, pvalue}}}, {ID: sdID}}}
		b, cut := testHeader.format(m, time.Unix(0, 0))
		p, err := parse5424(b)
		if err != nil {
			t.Fatalf("%v in %q", err, b)
		}
		if len(p.SD) > 1 {
			t.Fatalf("duplicate SD-ID sent")
		}
		if p.BOM == isASCII(text) && text != "" && p.HasMsg {
			t.Fatalf("BOM %v for text %q", p.BOM, text)
		}
		if strings.ContainsFunc(p.Msg, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("control character in MSG %q", p.Msg)
		}
		plain := utf8.ValidString(text) && !strings.ContainsFunc(text, func(r rune) bool {
			return string(appendRune(nil, r)) != string(r)
		})
		if plain && !cut && p.Msg != text {
			t.Fatalf("MSG %q, sent %q", p.Msg, text)
		}
	})
}
