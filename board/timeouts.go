package board

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors.
var (
	// ErrConfig: a board profile or timing setting is wrong; the message names it.
	ErrConfig = errors.New("board: bad configuration")
	// ErrNoDevice: the watchdog device (or a pin) is not there; Open turns it into a warning.
	ErrNoDevice = errors.New("board: no such device")
	// ErrClosed: the part was closed.
	ErrClosed = errors.New("board: closed")
)

// noDevice names a missing device; it unwraps to ErrNoDevice without repeating its text.
type noDevice struct{ msg string }

func (e *noDevice) Error() string { return e.msg }
func (e *noDevice) Unwrap() error { return ErrNoDevice }

// ValidateTimeouts checks the ordering every deployment must keep:
//
//	control period < unit BMS timeout < watchdog timeout
//
// The control loop writes every unit once per period, so a BMS timeout shorter than a period
// would drop the units into local fallback between two healthy writes. And if the controller
// hangs, the units must fall back to their own local control (more air, safe) before the
// watchdog resets the board: a reset that comes first leaves the units holding the last
// command, with nobody watching, for the rest of their BMS timeout plus the boot time.
func ValidateTimeouts(period, bms, watchdog time.Duration) error {
	switch {
	case period <= 0:
		return fmt.Errorf("board: control period %v must be positive: %w", period, ErrConfig)
	case bms <= 0:
		return fmt.Errorf("board: unit BMS timeout %v must be positive (0 would mean the units never fall back): %w", bms, ErrConfig)
	case watchdog <= 0:
		return fmt.Errorf("board: watchdog timeout %v must be positive: %w", watchdog, ErrConfig)
	case period >= bms:
		return fmt.Errorf("board: control period %v must be shorter than the unit BMS timeout %v, or the units fall back to local control between two writes: %w", period, bms, ErrConfig)
	case bms >= watchdog:
		return fmt.Errorf("board: unit BMS timeout %v must be shorter than the watchdog timeout %v, so that a hung controller hands the units to their local fallback before the board resets: %w", bms, watchdog, ErrConfig)
	}
	return nil
}
