//go:build !linux

package board

import "fmt"

func openDevice(path string) (wdDevice, error) {
	return nil, &noDevice{fmt.Sprintf("board: no watchdog at %s (only Linux has one)", path)}
}
