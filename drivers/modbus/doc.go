// Package modbus is the controller's Modbus master for air handlers and fan drives, over RTU
// serial lines and Modbus TCP. It is the only importer of github.com/goburrow/modbus: the
// library's client encodes requests and decodes replies, and this package plugs its own
// transports under it, because the library's transports corrupt the line after ordinary faults:
//
//   - RTU: the library reads "at least 4 bytes" and never recognises an exception reply (it
//     compares against request function & 0x80, which is 0), so a 5-byte exception that
//     arrives in two pieces is cut to 4 bytes and its last byte answers the next request. It
//     also never flushes or resynchronises after an error. Here the reply length is computed
//     from the function code and byte count (exception: 5 bytes), the unit id, function, byte
//     count and CRC are checked, the t3.5 inter-frame silence (fixed 1.75 ms above 19200 baud)
//     is kept before sending, input is flushed before each request and, after any error, read
//     and discarded until the line is silent.
//   - TCP: after a timeout the library keeps the connection, so the late reply is read as the
//     answer to the next request, and every later request reads the previous one's reply.
//     Here any error or timeout closes the connection (the next request opens a new one) and
//     the MBAP transaction id, protocol id, unit id and length are checked.
//
// A Bus owns one line with one goroutine and serves many unit ids through a request queue, so
// callers never interleave on the wire. Each unit has its own timeout and circuit breaker:
// after BreakerThreshold consecutive timeouts the unit is isolated and its requests fail fast
// with ErrUnitIsolated; one probe is let through after ProbeInterval, doubling up to ProbeMax
// while it keeps failing. A dead unit therefore costs one timeout per probe interval instead of
// one per request, and the other units on the line keep their poll rate. ReadBlocks merges the
// ranges of a register map into as few reads as possible (Plan) and splits the replies back.
//
// Example dials a TCP gateway, reads a register map with ReadBlocks (one request for touching
// ranges), decodes a float, and tells a refusal (errors.As an ExceptionError) from a silent unit
// (ErrTimeout, then ErrUnitIsolated once the breaker opens). An RTU line is dialled the same way:
// "rtu:///dev/ttyUSB0?baud=19200&parity=E&stop=1".
//
// Functions: 3 and 4 (ReadHolding, ReadInput, Read, ReadBlocks), 6 and 16 (WriteSingle,
// WriteMultiple) for registers; 1 and 2 (ReadCoils, ReadDiscreteInputs), 5 and 15 (WriteCoil,
// WriteCoils) for bits, which the controller itself does not use but a technician's probe does.
//
// DecodeValues, EncodeValue and EncodeValues convert registers to and from int16, uint16,
// int32, uint32 and float32 in the word orders ABCD, CDAB, BADC and DCBA (no scaling).
//
// Server is the other side: a read-only Modbus TCP server of an Image (the BMS northbound,
// board/bms). Functions 3 and 4 read the image (the same or different tables, the Image decides);
// every other function, writes included, is refused with exception 0x01 illegal function. A
// count of 0 or above 125, or a read PDU of the wrong length, gets 0x03; addresses outside the
// image 0x02. It answers its own unit id (default 1) and 0 and 255 ("this device" on TCP);
// a request for any other unit id gets no answer, as on a serial line, and the connection stays
// open. A malformed MBAP header (protocol id not 0, length outside 2..254, checked before the PDU
// is read) closes the connection. Connections are bounded (extra ones closed at once), and each
// is closed after IdleTimeout without a complete request.
//
// Sentinel errors: ErrTimeout, ErrUnitIsolated, ErrClosed, ErrConnect, ErrCRC, ErrProtocol,
// ErrBadTarget, ErrBadRequest; a refusal by the unit is an ExceptionError{Function, Code}.
//
// Caveats:
//   - RTU has no transaction id: a reply that arrives after its timeout and after the
//     following request went out is taken for that request's reply if it has the same unit,
//     function and length. The flush before each request and the resynchronisation after each
//     timeout make that window small, not zero.
//   - One request is on a line at a time, TCP included (no pipelining): a gateway with many
//     units costs one round trip per request.
//   - Unit ids: 1..247 on RTU (no broadcast), 0..255 on TCP.
//   - Bridging gaps (Options.MaxGap) reads registers outside the map; units that refuse those
//     with exception 0x02 are detected and read without bridging from then on.
package modbus
