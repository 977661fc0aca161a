// Package frame holds the Modbus framing rules shared by the client (drivers/modbus) and the
// simulator (drivers/modbus/modbussim): the RTU CRC and the length of an RTU frame from its
// function code and byte count. It is internal so both sides agree on one implementation
// without the simulator importing the client.
//
// Example shows a request built and checked and the length of its reply.
//
// Caveats: the length functions only know the function codes this project meets (1..6, 15 and
// 16; RTUResponseLen also 23); for others they return Unknown and the caller must fall back on
// line silence.
package frame
