package frame

// Function codes this project speaks.
const (
	FuncReadCoils     = 0x01
	FuncReadDiscrete  = 0x02
	FuncReadHolding   = 0x03
	FuncReadInput     = 0x04
	FuncWriteCoil     = 0x05
	FuncWriteSingle   = 0x06
	FuncWriteCoils    = 0x0F
	FuncWriteMultiple = 0x10

	// ExceptionBit is set in the function code of an exception reply.
	ExceptionBit = 0x80
)

// Protocol limits (Modbus application protocol v1.1b3, 6.3, 6.4, 6.12).
const (
	MaxReadCount  = 125
	MaxWriteCount = 123
	MaxReadBits   = 2000
	MaxWriteBits  = 1968
	MaxRTUFrame   = 256 // unit + PDU (253) + CRC
	MaxPDU        = 253
)

var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// CRC16 is the Modbus RTU CRC (reflected polynomial 0xA001, initial value 0xFFFF).
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, v := range b {
		crc = crc>>8 ^ crcTable[byte(crc)^v]
	}
	return crc
}

// AppendCRC appends the CRC of b, low byte first as RTU sends it.
func AppendCRC(b []byte) []byte {
	c := CRC16(b)
	return append(b, byte(c), byte(c>>8))
}

// CheckCRC reports whether the last two bytes of adu are the CRC of the rest.
func CheckCRC(adu []byte) bool {
	if len(adu) < 4 {
		return false
	}
	n := len(adu) - 2
	c := CRC16(adu[:n])
	return adu[n] == byte(c) && adu[n+1] == byte(c>>8)
}

// Length results for a partial frame.
const (
	NeedMore = -1 // more bytes are needed before the length is known
	Unknown  = -2 // the function code gives no length: only line silence ends the frame
)

// RTURequestLen returns the total length (unit to CRC) of the RTU request frame that starts
// b, NeedMore if b is too short to tell, or Unknown for function codes whose request length
// this package does not know.
func RTURequestLen(b []byte) int {
	if len(b) < 2 {
		return NeedMore
	}
	switch b[1] {
	case 0x01, 0x02, 0x03, 0x04, 0x05, 0x06:
		return 8
	case 0x0F, 0x10:
		if len(b) < 7 {
			return NeedMore
		}
		return 9 + int(b[6])
	}
	return Unknown
}

// RTUResponseLen returns the total length of the RTU response frame that starts b and answers a
// request with function code reqFC: 5 for an exception, 5+byte count for reads, 8 for writes.
// It returns NeedMore if b is too short to tell and Unknown if b's function code is neither
// reqFC nor its exception form, or the function is not one this package knows.
func RTUResponseLen(reqFC byte, b []byte) int {
	if len(b) < 2 {
		return NeedMore
	}
	switch b[1] {
	case reqFC | ExceptionBit:
		return 5
	case reqFC:
	default:
		return Unknown
	}
	switch reqFC {
	case 0x01, 0x02, 0x03, 0x04, 0x17:
		if len(b) < 3 {
			return NeedMore
		}
		return 5 + int(b[2])
	case 0x05, 0x06, 0x0F, 0x10:
		return 8
	}
	return Unknown
}
