package mesh

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParsePacketErrors(t *testing.T) {
	if _, err := ParsePacket([]byte{0, 1, 2}); !errors.Is(err, ErrShortPacket) {
		t.Errorf("short: %v", err)
	}
	if _, err := ParsePacket([]byte{0, 1, 2, 3, 9}); !errors.Is(err, ErrBadLength) || !strings.Contains(err.Error(), "says 3, has 1") {
		t.Errorf("bad length: %v", err)
	}
	if _, err := ParsePacket(make([]byte, MaxPacket+1)); !errors.Is(err, ErrTooLong) {
		t.Errorf("too long: %v", err)
	}
	p, err := ParsePacket([]byte{3, 22, 9, 1, 0})
	if err != nil || !p.IsResponse() || !p.WantsAck() || p.Type != 22 || p.Seq != 9 || len(p.Payload) != 1 {
		t.Errorf("ok packet: %+v %v", p, err)
	}
}

func recs(n int) []Record {
	r := make([]Record, n)
	for i := range r {
		r[i] = Record{Channel: uint8(i + 1), Kind: KindTemperature, Value: int16(2000 + i)}
	}
	return r
}

func TestPayloadRoundTripAndLimits(t *testing.T) {
	for n := 1; n <= MaxRecords; n++ {
		data := AppendPayload(nil, 9, 3100, recs(n))
		p, err := ParsePayload(data)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if p.NodeSeq != 9 || p.BatteryMV != 3100 || p.Len() != n {
			t.Fatalf("n=%d: %+v", n, p)
		}
		for i := range n {
			if p.Record(i) != recs(n)[i] {
				t.Fatalf("n=%d record %d: %+v", n, i, p.Record(i))
			}
		}
	}
	bad := map[string][]byte{
		"no records":     AppendPayload(nil, 1, 0, nil),
		"17 records":     AppendPayload(nil, 1, 0, recs(17)),
		"partial record": AppendPayload(nil, 1, 0, recs(2))[:10],
		"empty":          {},
	}
	for name, data := range bad {
		if _, err := ParsePayload(data); !errors.Is(err, ErrMalformedPayload) {
			t.Errorf("%s: %v, want ErrMalformedPayload", name, err)
		}
	}
	v2 := AppendPayload(nil, 1, 0, recs(1))
	v2[0] = 2
	if _, err := ParsePayload(v2); !errors.Is(err, ErrBadVersion) {
		t.Errorf("version 2: %v", err)
	}
}

func notifPayload(mac [8]byte, port uint16, data []byte, t time.Time) []byte {
	s, us := UTC(t)
	return AppendDataNotification(nil, DataNotification{UTCSecs: s, UTCUsecs: us, MAC: mac, SrcPort: port, DstPort: port, Data: data})
}

func TestDecoderDropsAndCounts(t *testing.T) {
	tm := time.Date(2026, 1, 2, 3, 4, 5, 678000, time.UTC)
	mixed := []Record{
		{Channel: 1, Kind: KindPressure, Value: -1234},
		{Channel: 2, Kind: 9, Value: 5},
		{Channel: 3, Kind: KindHumidity, Value: ProbeFault},
		{Channel: 4, Kind: KindTemperature, Value: 32767},
	}
	cnt := new(Counters)
	dec := NewDecoder(cnt)
	var got []Reading
	deliver := func(r Reading) { got = append(got, r) }
	if err := dec.Notification(notifPayload(workedMAC, SensorPort, AppendPayload(nil, 200, 0, mixed), tm), deliver); err != nil {
		t.Fatal(err)
	}
	want := []Reading{
		{Sensor: "00-17-0d-00-00-38-0a-1f/1", Kind: KindPressure, Value: -12.34, Time: tm, NodeSeq: 200},
		{Sensor: "00-17-0d-00-00-38-0a-1f/3", Kind: KindHumidity, Fault: true, Time: tm, NodeSeq: 200},
		{Sensor: "00-17-0d-00-00-38-0a-1f/4", Kind: KindTemperature, Value: 327.67, Time: tm, NodeSeq: 200},
	}
	assertReadings(t, got, want)
	if cnt.Get(CountUnknownKind) != 1 || cnt.Get(CountReadings) != 3 || cnt.Get(CountProbeFaults) != 1 || cnt.Get(CountDataNotification) != 1 {
		t.Errorf("counters %v", cnt.Snapshot())
	}

	got = nil
	drops := []struct {
		name    string
		payload []byte
		counter Counter
		err     error
	}{
		{"empty", nil, CountMalformedNotification, nil},
		{"short notifData", []byte{NotifData, 1, 2, 3}, CountMalformedNotification, ErrMalformedNotification},
		{"other port", notifPayload(workedMAC, 0xF0B9, AppendPayload(nil, 1, 0, recs(1)), tm), CountOtherPort, nil},
		{"bad version", notifPayload(workedMAC, SensorPort, []byte{2, 1, 0, 0, 1, 1, 0, 0}, tm), CountBadVersion, ErrBadVersion},
		{"17 records", notifPayload(workedMAC, SensorPort, AppendPayload(nil, 1, 0, recs(17)), tm), CountMalformedPayload, ErrMalformedPayload},
		{"event", []byte{NotifEvent, 1, 2}, CountNotifEvent, nil},
		{"log", []byte{NotifLog}, CountNotifLog, nil},
		{"ipData", []byte{NotifIPData, 0}, CountNotifIPData, nil},
		{"health", []byte{NotifHealth}, CountNotifHealth, nil},
		{"type 99", []byte{99}, CountNotifOther, nil},
	}
	for _, d := range drops {
		before := cnt.Get(d.counter)
		err := dec.Notification(d.payload, deliver)
		if cnt.Get(d.counter) != before+1 {
			t.Errorf("%s: %s not counted", d.name, d.counter)
		}
		if d.err != nil && !errors.Is(err, d.err) {
			t.Errorf("%s: err %v, want %v", d.name, err, d.err)
		}
	}
	badUsecs := notifPayload(workedMAC, SensorPort, AppendPayload(nil, 1, 0, recs(1)), tm)
	badUsecs[9], badUsecs[10], badUsecs[11], badUsecs[12] = 0, 0x0F, 0x42, 0x40 // 1000000
	if err := dec.Notification(badUsecs, deliver); !errors.Is(err, ErrMalformedNotification) || !strings.Contains(err.Error(), "utcUsecs") {
		t.Errorf("utcUsecs 1e6: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("dropped notifications delivered %+v", got)
	}
}

func TestSensorIDAndKinds(t *testing.T) {
	if got := SensorID([8]byte{0xAB, 0xCD, 0, 1, 2, 3, 4, 0xFF}, 255); got != "ab-cd-00-01-02-03-04-ff/255" {
		t.Errorf("SensorID = %q", got)
	}
	for k, want := range map[Kind][2]string{
		KindTemperature: {"temperature", "C"}, KindHumidity: {"humidity", "%RH"},
		KindPressure: {"pressure", "Pa"}, 0: {"kind(0)", ""}, 200: {"kind(200)", ""},
	} {
		if k.String() != want[0] || k.Unit() != want[1] {
			t.Errorf("Kind(%d) = %q %q", k, k.String(), k.Unit())
		}
	}
	if len(counterNames) != int(numCounters) {
		t.Fatal("counter names out of step")
	}
	seen := map[string]bool{}
	for c := Counter(0); c < numCounters; c++ {
		if c.String() == "" || seen[c.String()] {
			t.Errorf("counter %d name %q empty or repeated", c, c.String())
		}
		seen[c.String()] = true
	}
}
