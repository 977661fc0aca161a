package modbus

import (
	"errors"
	"fmt"
	"net"
	"os"
)

// Sentinel errors. Test with errors.Is; the returned errors wrap them with detail.
var (
	// ErrTimeout: no (complete) reply within the unit's timeout. Errors wrapping it also wrap
	// the underlying deadline error (os.ErrDeadlineExceeded, serialport.ErrTimeout) when there
	// is one.
	ErrTimeout = errors.New("modbus: timeout")
	// ErrUnitIsolated: the unit's circuit breaker is open after consecutive timeouts; the
	// request failed fast without touching the line.
	ErrUnitIsolated = errors.New("modbus: unit isolated")
	// ErrClosed: the bus was closed (Close, or the context given to DialContext ended).
	ErrClosed = errors.New("modbus: bus closed")
	// ErrWriteGated: Options.WriteGate refused a write at the moment it was to go on the wire
	// (a board that is not the pair's active, or whose lease ran out); nothing was sent.
	ErrWriteGated = errors.New("modbus: write not permitted now")
	// ErrConnect: the TCP endpoint could not be reached or dropped the connection.
	ErrConnect = errors.New("modbus: no connection")
	// ErrCRC: an RTU reply failed its CRC check.
	ErrCRC = errors.New("modbus: bad crc")
	// ErrProtocol: a reply that does not fit the request (wrong unit, function, transaction
	// id, length or byte count).
	ErrProtocol = errors.New("modbus: protocol error")
	// ErrBadTarget: Dial's target string is malformed.
	ErrBadTarget = errors.New("modbus: bad target")
	// ErrBadRequest: a request outside the protocol limits (unit id, count, address range);
	// nothing was sent.
	ErrBadRequest = errors.New("modbus: bad request")
)

// Exception codes (Modbus application protocol v1.1b3, section 7).
const (
	ExIllegalFunction        byte = 0x01
	ExIllegalDataAddress     byte = 0x02
	ExIllegalDataValue       byte = 0x03
	ExServerDeviceFailure    byte = 0x04
	ExAcknowledge            byte = 0x05
	ExServerDeviceBusy       byte = 0x06
	ExNegativeAcknowledge    byte = 0x07
	ExMemoryParityError      byte = 0x08
	ExGatewayPathUnavailable byte = 0x0A
	ExGatewayTargetFailed    byte = 0x0B
)

var exceptionNames = map[byte]string{
	ExIllegalFunction:        "illegal function",
	ExIllegalDataAddress:     "illegal data address",
	ExIllegalDataValue:       "illegal data value",
	ExServerDeviceFailure:    "server device failure",
	ExAcknowledge:            "acknowledge",
	ExServerDeviceBusy:       "server device busy",
	ExNegativeAcknowledge:    "negative acknowledge",
	ExMemoryParityError:      "memory parity error",
	0x09:                     "unassigned exception",
	ExGatewayPathUnavailable: "gateway path unavailable",
	ExGatewayTargetFailed:    "gateway target device failed to respond",
}

// ExceptionName returns the name of a Modbus exception code ("illegal data address"), or
// "unknown exception" for codes outside 0x01..0x0B.
func ExceptionName(code byte) string {
	if n, ok := exceptionNames[code]; ok {
		return n
	}
	return "unknown exception"
}

// ExceptionError is a Modbus exception reply: the unit understood the request and refused it.
// Function is the function code of the request (without the 0x80 bit).
type ExceptionError struct {
	Function, Code byte
}

func (e ExceptionError) Error() string {
	return fmt.Sprintf("modbus: exception 0x%02x %s (function %d)", e.Code, ExceptionName(e.Code), e.Function)
}

// Name returns the exception's name, e.g. "illegal data address".
func (e ExceptionError) Name() string { return ExceptionName(e.Code) }

// isDeadline reports whether err is an I/O deadline expiring (net, os or serialport).
func isDeadline(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// timeoutError wraps ErrTimeout and the deadline error that caused it.
func timeoutError(what string, cause error) error {
	if cause == nil {
		return fmt.Errorf("%w: %s", ErrTimeout, what)
	}
	return fmt.Errorf("%w: %s: %w", ErrTimeout, what, cause)
}
