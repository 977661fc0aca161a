package serialport

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"go.bug.st/serial"
)

// Parity is the UART parity: 'N' (none), 'E' (even) or 'O' (odd). Zero means 'N'.
type Parity byte

// Parity values.
const (
	ParityNone Parity = 'N'
	ParityEven Parity = 'E'
	ParityOdd  Parity = 'O'
)

// Config is the line setting. Zero fields take the defaults: Baud 115200, DataBits 8,
// Parity 'N', StopBits 1, ReadTimeout 0 (Read blocks until data arrives).
type Config struct {
	Baud        int
	DataBits    int
	Parity      Parity
	StopBits    int
	ReadTimeout time.Duration
}

// Port is an open serial line.
type Port interface {
	io.ReadWriteCloser
	// ResetInputBuffer drops bytes received but not yet read.
	ResetInputBuffer() error
	// SetReadTimeout sets how long Read waits for the first byte; 0 means forever.
	SetReadTimeout(time.Duration) error
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "serialport: read timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// ErrTimeout is wrapped by the error Read returns when nothing arrived within the read
// timeout. The error also reports Timeout() == true.
var ErrTimeout error = timeoutError{}

// ErrClosed is wrapped by errors from operations on a closed port.
var ErrClosed = errors.New("serialport: port closed")

// ErrConfig is wrapped by errors about an invalid Config or one the device refused.
var ErrConfig = errors.New("serialport: bad config")

// normalize fills defaults and checks ranges before any system call, so a bad setting is
// reported by name instead of as an ioctl errno.
func (c Config) normalize() (Config, error) {
	if c.Baud == 0 {
		c.Baud = 115200
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.Parity == 0 {
		c.Parity = ParityNone
	}
	if c.StopBits == 0 {
		c.StopBits = 1
	}
	switch {
	case c.Baud < 0:
		return c, fmt.Errorf("%w: baud %d is negative", ErrConfig, c.Baud)
	case c.DataBits < 5 || c.DataBits > 8:
		return c, fmt.Errorf("%w: data bits %d not in 5..8", ErrConfig, c.DataBits)
	case c.Parity != ParityNone && c.Parity != ParityEven && c.Parity != ParityOdd:
		return c, fmt.Errorf("%w: parity %q not one of N, E, O", ErrConfig, rune(c.Parity))
	case c.StopBits != 1 && c.StopBits != 2:
		return c, fmt.Errorf("%w: stop bits %d not 1 or 2", ErrConfig, c.StopBits)
	case c.ReadTimeout < 0:
		return c, fmt.Errorf("%w: read timeout %v is negative", ErrConfig, c.ReadTimeout)
	}
	return c, nil
}

func (c Config) mode() *serial.Mode {
	m := &serial.Mode{BaudRate: c.Baud, DataBits: c.DataBits, StopBits: serial.OneStopBit}
	if c.StopBits == 2 {
		m.StopBits = serial.TwoStopBits
	}
	switch c.Parity {
	case ParityEven:
		m.Parity = serial.EvenParity
	case ParityOdd:
		m.Parity = serial.OddParity
	default:
		m.Parity = serial.NoParity
	}
	// InitialStatusBits stays nil on purpose: pseudo-terminals refuse TIOCMSET.
	return m
}

// Open opens the serial device at path with the given line setting.
func Open(path string, cfg Config) (Port, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, fmt.Errorf("serialport: open %s: %w", path, err)
	}
	sp, err := serial.Open(path, cfg.mode())
	if err != nil {
		return nil, mapOpenError(path, cfg, err)
	}
	p := &port{p: sp, path: path}
	p.timeoutErr = fmt.Errorf("serialport: read %s: %w", path, ErrTimeout)
	p.closedErr = fmt.Errorf("serialport: %s: %w", path, ErrClosed)
	if err := p.SetReadTimeout(cfg.ReadTimeout); err != nil {
		sp.Close()
		return nil, err
	}
	return p, nil
}

// mapOpenError turns go.bug.st/serial's errors (which do not unwrap) into ones that name the
// device and the likely cause.
func mapOpenError(path string, cfg Config, err error) error {
	var pe *serial.PortError
	if !errors.As(err, &pe) {
		// Plain errno from open(2), e.g. ENOENT; keep it wrapped so errors.Is(err, fs.ErrNotExist) works.
		return fmt.Errorf("serialport: open %s: %w", path, err)
	}
	switch pe.Code() {
	case serial.PortBusy:
		return fmt.Errorf("serialport: open %s: device busy (already open elsewhere?)", path)
	case serial.PermissionDenied:
		return fmt.Errorf("serialport: open %s: permission denied", path)
	case serial.PortNotFound:
		return fmt.Errorf("serialport: open %s: no such device", path)
	case serial.InvalidSpeed:
		return fmt.Errorf("serialport: open %s: %w: baud %d not supported", path, ErrConfig, cfg.Baud)
	case serial.InvalidDataBits:
		return fmt.Errorf("serialport: open %s: %w: data bits %d not supported", path, ErrConfig, cfg.DataBits)
	case serial.InvalidParity:
		return fmt.Errorf("serialport: open %s: %w: parity %q not supported", path, ErrConfig, rune(cfg.Parity))
	case serial.InvalidStopBits:
		return fmt.Errorf("serialport: open %s: %w: stop bits %d not supported", path, ErrConfig, cfg.StopBits)
	}
	msg := pe.Error()
	if cfg.Parity != ParityNone && strings.Contains(msg, "invalid argument") {
		// Linux ptys (and some USB adapters) answer TCSETS with EINVAL when parity is enabled.
		return fmt.Errorf("serialport: open %s: %w: device refused parity %q (pseudo-terminals accept only N): %s",
			path, ErrConfig, rune(cfg.Parity), msg)
	}
	if strings.Contains(msg, "invalid argument") {
		return fmt.Errorf("serialport: open %s: %w: device refused the line setting %d %d%c%d: %s",
			path, ErrConfig, cfg.Baud, cfg.DataBits, rune(cfg.Parity), cfg.StopBits, msg)
	}
	return fmt.Errorf("serialport: open %s: %s", path, msg)
}

type port struct {
	p          serial.Port
	path       string
	closed     atomic.Bool
	timeoutErr error
	closedErr  error
}

func (p *port) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, err := p.p.Read(b)
	if err != nil {
		return n, p.mapErr("read", err)
	}
	if n == 0 {
		// go.bug.st/serial signals a read timeout as (0, nil).
		return 0, p.timeoutErr
	}
	return n, nil
}

func (p *port) Write(b []byte) (int, error) {
	if p.closed.Load() {
		return 0, p.closedErr
	}
	n, err := p.p.Write(b)
	if err != nil {
		return n, p.mapErr("write", err)
	}
	return n, nil
}

func (p *port) mapErr(op string, err error) error {
	var pe *serial.PortError
	if p.closed.Load() || (errors.As(err, &pe) && pe.Code() == serial.PortClosed) {
		return p.closedErr
	}
	return fmt.Errorf("serialport: %s %s: %w", op, p.path, err)
}

func (p *port) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	if err := p.p.Close(); err != nil {
		return fmt.Errorf("serialport: close %s: %w", p.path, err)
	}
	return nil
}

func (p *port) ResetInputBuffer() error {
	if p.closed.Load() {
		return p.closedErr
	}
	if err := p.p.ResetInputBuffer(); err != nil {
		return fmt.Errorf("serialport: reset input %s: %w", p.path, err)
	}
	return nil
}

func (p *port) SetReadTimeout(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("serialport: %s: %w: read timeout %v is negative", p.path, ErrConfig, d)
	}
	if d == 0 {
		d = serial.NoTimeout
	}
	if err := p.p.SetReadTimeout(d); err != nil {
		return fmt.Errorf("serialport: %s: set read timeout: %w", p.path, err)
	}
	return nil
}
