package board

import (
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// BootClock returns the kernel's boot id and how long the board has been up on its monotonic boot
// clock (CLOCK_BOOTTIME: it counts suspend too, and no wall-clock step moves it). Together they
// place an instant on this boot's clock; a different id means the board has restarted since.
func BootClock() (id string, up time.Duration) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err == nil {
		up = time.Duration(ts.Nano())
	}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		id = strings.TrimSpace(string(b))
	}
	return id, up
}
