// Package frame holds the Modbus framing rules shared by the client (drivers/modbus) and the
// simulator (drivers/modbus/modbussim): the RTU CRC and the length of an RTU frame from its
// function code and byte count. It is internal so both sides agree on one implementation
// without the simulator importing the client.
//
// Usage:
//
//	adu := frame.AppendCRC([]byte{1, 3, 0, 0, 0, 2}) // 01 03 00 00 00 02 c4 0b
//	ok := frame.CheckCRC(adu)
//	n := frame.RTUResponseLen(3, []byte{1, 3, 4}) // 9: unit, function, count, 4 bytes, CRC
//
// Caveats: the length functions only know the function codes this project meets (1..6, 15,
// 16, 23); for others they return Unknown and the caller must fall back on line silence.
package frame
