package frame

import "testing"

func TestCRC16KnownFrames(t *testing.T) {
	// Read holding registers 0..1 of unit 1: the CRC every Modbus tool prints for it.
	req := []byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x02}
	if got := CRC16(req); got != 0x0BC4 {
		t.Fatalf("CRC16 = %#04x, want 0x0bc4", got)
	}
	adu := AppendCRC(append([]byte(nil), req...))
	if adu[6] != 0xC4 || adu[7] != 0x0B {
		t.Fatalf("AppendCRC = % x, want low byte first c4 0b", adu)
	}
	if !CheckCRC(adu) {
		t.Fatal("CheckCRC rejects a good frame")
	}
	adu[3] ^= 0x01
	if CheckCRC(adu) {
		t.Fatal("CheckCRC accepts a corrupted frame")
	}
	if CheckCRC([]byte{1, 2, 3}) {
		t.Fatal("CheckCRC accepts a frame shorter than 4 bytes")
	}
}

func TestRTULengths(t *testing.T) {
	cases := []struct {
		name string
		got  int
		want int
	}{
		{"request empty", RTURequestLen(nil), NeedMore},
		{"request fc3", RTURequestLen([]byte{1, 3}), 8},
		{"request fc16 short", RTURequestLen([]byte{1, 16, 0, 0, 0, 2}), NeedMore},
		{"request fc16", RTURequestLen([]byte{1, 16, 0, 0, 0, 2, 4}), 13},
		{"request unknown", RTURequestLen([]byte{1, 0x2b}), Unknown},
		{"response short", RTUResponseLen(3, []byte{1}), NeedMore},
		{"response exception", RTUResponseLen(3, []byte{1, 0x83}), 5},
		{"response read needs count", RTUResponseLen(4, []byte{1, 4}), NeedMore},
		{"response read", RTUResponseLen(4, []byte{1, 4, 20}), 25},
		{"response write", RTUResponseLen(16, []byte{1, 16}), 8},
		{"response other function", RTUResponseLen(3, []byte{1, 4}), Unknown},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
}
