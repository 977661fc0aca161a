package frame_test

import (
	"fmt"

	"github.com/coldaisle/coldaisle/drivers/modbus/internal/frame"
)

// A read-holding request for two registers of unit 1, its CRC, and how long the reply will be
// once its first three bytes are in.
func Example() {
	adu := frame.AppendCRC([]byte{1, 3, 0, 0, 0, 2})
	fmt.Printf("% x\n", adu)
	fmt.Println(frame.CheckCRC(adu), frame.RTURequestLen(adu))

	fmt.Println(frame.RTUResponseLen(frame.FuncReadHolding, []byte{1, 3}))       // count not here yet
	fmt.Println(frame.RTUResponseLen(frame.FuncReadHolding, []byte{1, 3, 4}))    // unit, function, count, 4 bytes, CRC
	fmt.Println(frame.RTUResponseLen(frame.FuncReadHolding, []byte{1, 0x83, 2})) // exception
	// Output:
	// 01 03 00 00 00 02 c4 0b
	// true 8
	// -1
	// 9
	// 5
}
