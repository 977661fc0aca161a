package main

import (
	"io"
	"os"

	"golang.org/x/term"

	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// openConsole opens the technician's console: "stdio" (raw mode when stdin is a terminal) or a
// serial device at 115200 8N1.
func openConsole(dev string) (io.ReadWriter, func(), error) {
	if dev == "stdio" {
		fd := int(os.Stdin.Fd())
		restore := func() {}
		if term.IsTerminal(fd) {
			old, err := term.MakeRaw(fd)
			if err != nil {
				return nil, nil, err
			}
			restore = func() { term.Restore(fd, old) }
		}
		return struct {
			io.Reader
			io.Writer
		}{os.Stdin, os.Stdout}, restore, nil
	}
	p, err := serialport.Open(dev, serialport.Config{Baud: 115200})
	if err != nil {
		return nil, nil, err
	}
	return p, func() { p.Close() }, nil
}
