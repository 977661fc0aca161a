//go:build linux

package board

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// linuxDevice is /dev/watchdog through the kernel's watchdog API (linux/watchdog.h).
type linuxDevice struct {
	f *os.File
}

func openDevice(path string) (wdDevice, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, &noDevice{fmt.Sprintf("board: no watchdog at %s (%v)", path, err)}
		}
		return nil, fmt.Errorf("board: watchdog: %w", err)
	}
	// A watchdog answers WDIOC_GETTIMEOUT; a regular file or another device does not.
	if _, err := unix.IoctlGetInt(int(f.Fd()), unix.WDIOC_GETTIMEOUT); err != nil {
		f.Close()
		return nil, &noDevice{fmt.Sprintf("board: %s is not a watchdog device (WDIOC_GETTIMEOUT: %v)", path, err)}
	}
	return &linuxDevice{f: f}, nil
}

func (d *linuxDevice) SetTimeout(t time.Duration) error {
	return unix.IoctlSetPointerInt(int(d.f.Fd()), unix.WDIOC_SETTIMEOUT, int(t/time.Second))
}

func (d *linuxDevice) Timeout() (time.Duration, error) {
	s, err := unix.IoctlGetInt(int(d.f.Fd()), unix.WDIOC_GETTIMEOUT)
	return time.Duration(s) * time.Second, err
}

func (d *linuxDevice) KeepAlive() error {
	return unix.IoctlSetInt(int(d.f.Fd()), unix.WDIOC_KEEPALIVE, 0)
}

func (d *linuxDevice) MagicClose() error {
	_, werr := d.f.Write([]byte("V"))
	cerr := d.f.Close()
	return errors.Join(werr, cerr)
}

func (d *linuxDevice) Close() error { return d.f.Close() }
