package board

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
)

func fakeOpts(clk *fakeClock, pins map[string]*countingPin, dev *fakeDevice) *Options {
	return &Options{
		ControlPeriod: time.Second,
		Now:           clk.Now,
		hostInit:      func() error { return nil },
		lookup: func(name string) gpio.PinIO {
			if p, ok := pins[name]; ok {
				return p
			}
			return nil
		},
		openDevice: func(path string) (wdDevice, error) {
			if dev == nil {
				return nil, ErrNoDevice
			}
			return dev, nil
		},
	}
}

func TestBoardWithAllParts(t *testing.T) {
	clk := newClock()
	pins := map[string]*countingPin{"GPIO17": newPin("GPIO17"), "GPIO27": newPin("GPIO27"), "GPIO22": newPin("GPIO22"), "GPIO23": newPin("GPIO23")}
	pins["GPIO23"].L = gpio.High
	dev := &fakeDevice{clk: clk}
	p := Profile{Name: "test", LEDRole: "GPIO17", LEDHealth: "GPIO27", LEDField: "GPIO22", Relay: "GPIO23", Watchdog: "/dev/watchdog", WatchdogTime: 10 * time.Second}
	b, err := Open(p, fakeOpts(clk, pins, dev))
	if err != nil {
		t.Fatal(err)
	}
	if w := b.Warnings(); len(w) != 0 {
		t.Fatalf("warnings with every part present: %v", w)
	}
	if pins["GPIO23"].Read() != gpio.Low {
		t.Fatal("Open left the relay energised")
	}
	if b.Watchdog == nil || dev.timeout != 10*time.Second {
		t.Fatal("watchdog not set up")
	}
	b.SetRole(RoleActive)
	b.SetField(FieldDegraded)
	if err := b.SetControlling(true); err != nil || pins["GPIO23"].Read() != gpio.High {
		t.Fatal("relay not energised while controlling")
	}
	// Run the board for 10 s of fake time with a healthy loop.
	for i := range 400 {
		clk.Advance(25 * time.Millisecond)
		if i%40 == 0 {
			b.Watchdog.Pet(clk.Now())
		}
		if err := b.Tick(); err != nil {
			t.Fatal(err)
		}
		if dev.expired() {
			t.Fatal("watchdog expired with a healthy loop")
		}
	}
	if pins["GPIO17"].Read() != gpio.High {
		t.Fatal("active role LED not steady on")
	}
	if pins["GPIO22"].writes < 15 {
		t.Fatalf("field LED (slow blink) written %d times in 10 s", pins["GPIO22"].writes)
	}
	if b.Health.Pattern() != Heartbeat {
		t.Fatalf("health %v with a healthy loop", b.Health.Pattern())
	}
	// The loop stalls: the health LED goes to fast blink and the watchdog starves.
	clk.Advance(4 * time.Second)
	b.Tick()
	if b.Health.Pattern() != Fast {
		t.Fatalf("health %v with a stalled loop, want fast", b.Health.Pattern())
	}
	// The loop recovers: the health the caller reported comes back.
	b.SetHealth(HealthDegraded)
	b.Watchdog.Pet(clk.Now())
	b.Tick()
	if b.Health.Pattern() != Double {
		t.Fatalf("health %v after the loop recovered, want double (degraded)", b.Health.Pattern())
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if pins["GPIO23"].Read() != gpio.Low || pins["GPIO17"].Read() != gpio.Low || !dev.magic {
		t.Fatalf("Close: relay %v, role LED %v, magic close %v", pins["GPIO23"].Read(), pins["GPIO17"].Read(), dev.magic)
	}
	if err := b.SetControlling(true); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetControlling after Close: %v", err)
	}
	b.Close()
}

func TestBoardMissingPartsAreWarnings(t *testing.T) {
	clk := newClock()
	p := Profile{LEDRole: "GPIO17", Relay: "GPIO99", Watchdog: "/dev/watchdog", WatchdogTime: 10 * time.Second}
	b, err := Open(p, fakeOpts(clk, map[string]*countingPin{"GPIO17": newPin("GPIO17")}, nil))
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(b.Warnings(), "\n")
	if !strings.Contains(w, `relay pin "GPIO99" not found`) || !strings.Contains(w, "without a hardware watchdog") {
		t.Fatalf("warnings: %s", w)
	}
	if b.Relay.Present() || b.Watchdog != nil || !b.Role.Present() {
		t.Fatal("parts")
	}
	// The missing parts are no-ops.
	if err := b.SetControlling(true); err != nil {
		t.Fatal(err)
	}
	if err := b.Tick(); err != nil {
		t.Fatal(err)
	}
	b.Close()

	// Strict: the same profile fails.
	p.Strict = true
	if _, err := Open(p, fakeOpts(clk, map[string]*countingPin{"GPIO17": newPin("GPIO17")}, nil)); !errors.Is(err, ErrNoDevice) {
		t.Fatalf("strict Open with a missing relay: %v", err)
	}
	// Host init failing (no GPIO drivers) disables the pins with one warning.
	o := fakeOpts(clk, nil, nil)
	o.hostInit = func() error { return errors.New("no drivers") }
	b2, err := Open(Profile{LEDRole: "GPIO17"}, o)
	if err != nil || len(b2.Warnings()) != 1 || !strings.Contains(b2.Warnings()[0], "host init failed") {
		t.Fatalf("host init failure: %v %v", err, b2.Warnings())
	}
}

// TestOpenOnThisMachine uses the real periph host and device paths: on a CI machine there is no
// GPIO and no watchdog at the path given, which must give warnings, not a failure. (The path is
// a temporary one: a test must never arm a real /dev/watchdog.)
func TestOpenOnThisMachine(t *testing.T) {
	p := Profile{Name: "ci", LEDRole: "GPIO17", Relay: "GPIO23", Watchdog: t.TempDir() + "/watchdog", WatchdogTime: 10 * time.Second}
	b, err := Open(p, nil)
	if err != nil {
		t.Fatalf("Open on a machine without the hardware: %v", err)
	}
	defer b.Close()
	t.Logf("warnings: %q", b.Warnings())
	if len(b.Warnings()) == 0 {
		t.Log("this machine has the GPIO pins (a real board)")
	}
	if b.Watchdog != nil {
		t.Fatal("a watchdog was opened at a temporary path")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := b.Run(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v", err)
	}
}

func TestDecodeProfile(t *testing.T) {
	cfg := `
[site]
name = "hall-b"

[board]
name = "rpi4-hat"
led_role = "GPIO17"
led_health = "GPIO27"
relay = "GPIO23"
relay_active_low = true
watchdog = "/dev/watchdog"
watchdog_timeout = "20s"
`
	p, err := DecodeProfile([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "rpi4-hat" || p.LEDRole != "GPIO17" || p.LEDField != "" || !p.RelayActiveLow || p.WatchdogTime != 20*time.Second {
		t.Fatalf("profile %+v", p)
	}
	d, err := DecodeProfile([]byte("[site]\nname = \"x\"\n"))
	if err != nil || d != DefaultProfile() {
		t.Fatalf("no [board]: %+v, %v", d, err)
	}
	if p, err := DecodeProfile([]byte("[board]\nwatchdog = \"/dev/watchdog1\"\n")); err != nil || p.WatchdogTime != DefaultWatchdogTimeout {
		t.Fatalf("default watchdog timeout: %+v %v", p, err)
	}
	for _, c := range []struct{ cfg, want string }{
		{"[board]\nled_rol = \"GPIO17\"\n", "unknown key(s) board.led_rol"},
		{"[board]\nled_role = \"GPIO17\"\nrelay = \"GPIO17\"\n", "used for both led_role and relay"},
		{"[board]\nwatchdog = \"/dev/watchdog\"\nwatchdog_timeout = \"1500ms\"\n", "whole number of seconds"},
		{"[board]\nwatchdog_timeout = \"soon\"\n", "configuration"},
		{"[board\n", "configuration"},
		{"[board]\nrelay = \" GPIO1\"\n", "surrounding spaces"},
	} {
		if _, err := DecodeProfile([]byte(c.cfg)); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("DecodeProfile(%q) = %v, want %q", c.cfg, err, c.want)
		}
	}
}
