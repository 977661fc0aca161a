package modbussim

import "fmt"

// Device is one simulated Modbus slave (one unit id). The Server decodes requests, checks the
// function code and the address/count limits of the protocol, and calls a Device; the Device
// answers for its own register map. Return an Exception to make the server reply with that
// exception code; any other error is answered with ExSlaveDeviceFailure.
type Device interface {
	ReadInputRegisters(addr, count uint16) ([]uint16, error)
	ReadHoldingRegisters(addr, count uint16) ([]uint16, error)
	// WriteHoldingRegisters applies a write of function 6 (one value) or 16 (several). client is
	// the remote address of the TCP connection, or "rtu" on a serial line; it feeds the write log.
	WriteHoldingRegisters(client string, fc byte, addr uint16, values []uint16) error
}

// Exception is a Modbus exception code returned by a Device.
type Exception byte

// Exception codes used by the simulated units (Modbus application protocol v1.1b3, section 7).
const (
	ExIllegalFunction    Exception = 0x01
	ExIllegalAddress     Exception = 0x02
	ExIllegalValue       Exception = 0x03
	ExSlaveDeviceFailure Exception = 0x04
	ExSlaveDeviceBusy    Exception = 0x06
)

func (e Exception) Error() string {
	switch e {
	case ExIllegalFunction:
		return "modbussim: exception 0x01 illegal function"
	case ExIllegalAddress:
		return "modbussim: exception 0x02 illegal data address"
	case ExIllegalValue:
		return "modbussim: exception 0x03 illegal data value"
	case ExSlaveDeviceFailure:
		return "modbussim: exception 0x04 slave device failure"
	case ExSlaveDeviceBusy:
		return "modbussim: exception 0x06 slave device busy"
	}
	return fmt.Sprintf("modbussim: exception 0x%02x", byte(e))
}
