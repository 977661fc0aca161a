//go:build linux

package serialport

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// PTY is a pseudo-terminal pair. SlavePath behaves like a UART device (open it with Open);
// Master is the other end of the "cable": what is written to Master is read from the slave and
// vice versa.
type PTY struct {
	Master    *os.File
	SlavePath string

	// slave keeps one slave descriptor open for the PTY's lifetime so the master never sees a
	// hang-up (EIO) between Opens of the slave path, and so the raw termios setting sticks.
	slave int
}

// OpenPTY creates a pseudo-terminal pair with the slave side in raw mode (no echo, no line
// discipline, 8 bits clean). Master is non-blocking under the hood, so its Read honours
// SetReadDeadline and Close unblocks a pending Read.
func OpenPTY() (*PTY, error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("serialport: open /dev/ptmx: %w", err)
	}
	fail := func(what string, err error) (*PTY, error) {
		unix.Close(mfd)
		return nil, fmt.Errorf("serialport: pty %s: %w", what, err)
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return fail("unlock (TIOCSPTLCK)", err)
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		return fail("name (TIOCGPTN)", err)
	}
	path := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	sfd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("open slave "+path, err)
	}
	if err := makeRaw(sfd); err != nil {
		unix.Close(sfd)
		return fail("raw mode on "+path, err)
	}
	return &PTY{Master: os.NewFile(uintptr(mfd), "/dev/ptmx"), SlavePath: path, slave: sfd}, nil
}

// makeRaw is cfmakeraw(3): no input or output processing, no echo, no signals, 8 data bits.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// Close closes both sides. A port opened on SlavePath then reads an error (hang-up).
func (p *PTY) Close() error {
	if p == nil {
		return nil
	}
	var err error
	if p.slave >= 0 {
		err = unix.Close(p.slave)
		p.slave = -1
	}
	if p.Master != nil {
		if e := p.Master.Close(); e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return fmt.Errorf("serialport: pty close: %w", err)
	}
	return nil
}
