package board

import (
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Profile describes a gateway board: which GPIO pins carry the status LEDs and the RS-485
// bus-transfer relay, and where its watchdog is. It is the [board] table of the site
// configuration:
//
//	[board]
//	name = "rpi4-hat"
//	led_role = "GPIO17"
//	led_health = "GPIO27"
//	led_field = "GPIO22"
//	relay = "GPIO23"
//	watchdog = "/dev/watchdog"
//	watchdog_timeout = "15s"
//
// An empty pin name or watchdog path means the board has none.
type Profile struct {
	Name           string        `toml:"name"`
	LEDRole        string        `toml:"led_role"`
	LEDHealth      string        `toml:"led_health"`
	LEDField       string        `toml:"led_field"`
	LEDActiveLow   bool          `toml:"led_active_low"`
	Relay          string        `toml:"relay"`
	RelayActiveLow bool          `toml:"relay_active_low"`
	RelayPulse     bool          `toml:"relay_pulse"` // toggle the pin while controlling (see Relay)
	Watchdog       string        `toml:"watchdog"`
	WatchdogTime   time.Duration `toml:"watchdog_timeout"`
	// Strict turns missing parts (a pin not found, no watchdog) into Open errors instead of
	// warnings: for production boards, where running without the relay or watchdog is a fault.
	Strict bool `toml:"strict"`
}

// DefaultWatchdogTimeout is used when the profile names a watchdog without a timeout.
const DefaultWatchdogTimeout = 15 * time.Second

// DefaultProfile is a board with no GPIO and the standard watchdog device.
func DefaultProfile() Profile {
	return Profile{Name: "generic", Watchdog: "/dev/watchdog", WatchdogTime: DefaultWatchdogTimeout}
}

// DecodeProfile reads the [board] table of a site configuration (TOML). A configuration
// without one gets DefaultProfile. Unknown keys in [board] are errors (a typo in a pin key would
// otherwise silently disable a LED or the relay).
func DecodeProfile(config []byte) (Profile, error) {
	var doc struct {
		Board *Profile `toml:"board"`
	}
	md, err := toml.Decode(string(config), &doc)
	if err != nil {
		return Profile{}, fmt.Errorf("board: configuration: %v: %w", err, ErrConfig)
	}
	var unknown []string
	for _, k := range md.Undecoded() {
		if len(k) > 0 && k[0] == "board" {
			unknown = append(unknown, k.String())
		}
	}
	if len(unknown) > 0 {
		return Profile{}, fmt.Errorf("board: unknown key(s) %s in [board]: %w", strings.Join(unknown, ", "), ErrConfig)
	}
	if doc.Board == nil {
		return DefaultProfile(), nil
	}
	p := *doc.Board
	if p.Watchdog != "" && p.WatchdogTime == 0 {
		p.WatchdogTime = DefaultWatchdogTimeout
	}
	return p, p.Validate()
}

// Validate checks the profile's own consistency (not whether the pins exist: Open does).
func (p Profile) Validate() error {
	seen := map[string]string{}
	for _, u := range []struct{ what, pin string }{
		{"led_role", p.LEDRole}, {"led_health", p.LEDHealth}, {"led_field", p.LEDField}, {"relay", p.Relay},
	} {
		if u.pin == "" {
			continue
		}
		if strings.TrimSpace(u.pin) != u.pin {
			return fmt.Errorf("board: %s pin %q has surrounding spaces: %w", u.what, u.pin, ErrConfig)
		}
		if other, ok := seen[u.pin]; ok {
			return fmt.Errorf("board: pin %s is used for both %s and %s: %w", u.pin, other, u.what, ErrConfig)
		}
		seen[u.pin] = u.what
	}
	if p.Watchdog != "" {
		if p.WatchdogTime < time.Second || p.WatchdogTime%time.Second != 0 {
			return fmt.Errorf("board: watchdog_timeout %v must be a whole number of seconds, at least 1s: %w", p.WatchdogTime, ErrConfig)
		}
	}
	return nil
}
