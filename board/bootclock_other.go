//go:build !linux

package board

import "time"

var processStart = time.Now()

// BootClock on other systems has no boot id; it counts from the process start (a restart then
// counts as a new boot).
func BootClock() (id string, up time.Duration) { return "", time.Since(processStart) }
