package mesh

// FCS-16 of RFC 1662 (CRC-16/X-25): reflected polynomial 0x8408, init 0xFFFF, final XOR 0xFFFF.
// Slicing-by-8 tables let the deframer check a whole frame at about a byte per cycle; the
// FCS is the bulk of its per-frame cost.

var fcsTables = func() (t [8][256]uint16) {
	for i := range t[0] {
		v := uint16(i)
		for range 8 {
			if v&1 != 0 {
				v = v>>1 ^ 0x8408
			} else {
				v >>= 1
			}
		}
		t[0][i] = v
	}
	for k := 1; k < 8; k++ {
		for i := range t[k] {
			v := t[k-1][i]
			t[k][i] = v>>8 ^ t[0][byte(v)]
		}
	}
	return t
}()

const (
	fcsInit = 0xFFFF
	fcsGood = 0xF0B8 // residue of the register over data+FCS (RFC 1662 §C.2)
)

// fcsRegister runs the CRC register over p (no final XOR).
func fcsRegister(fcs uint16, p []byte) uint16 {
	t := &fcsTables
	for len(p) >= 8 {
		fcs ^= uint16(p[0]) | uint16(p[1])<<8
		fcs = t[7][byte(fcs)] ^ t[6][fcs>>8] ^ t[5][p[2]] ^ t[4][p[3]] ^
			t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]]
		p = p[8:]
	}
	for _, b := range p {
		fcs = fcs>>8 ^ t[0][byte(fcs)^b]
	}
	return fcs
}

// FCS16 returns the frame check sequence of p as sent on the wire (after the final XOR).
// FCS16([]byte("123456789")) == 0x906E.
func FCS16(p []byte) uint16 { return ^fcsRegister(fcsInit, p) }
