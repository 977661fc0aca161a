//go:build !linux

package serialport

import (
	"errors"
	"os"
)

// PTY is a pseudo-terminal pair; only implemented on Linux.
type PTY struct {
	Master    *os.File
	SlavePath string
}

// OpenPTY is only implemented on Linux.
func OpenPTY() (*PTY, error) {
	return nil, errors.New("serialport: OpenPTY is only implemented on linux")
}

// Close closes both sides.
func (p *PTY) Close() error { return nil }
