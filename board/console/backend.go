package console

import (
	"context"
	"errors"
	"time"

	"github.com/coldaisle/coldaisle/control/site"
)

// Backend is everything the console needs from the rest of the controller. The main program
// implements it by wiring storage (users, configuration versions, event log), the loop engine and
// the drivers; consoletest.Backend is an in-memory fake. The console calls it from its session
// goroutines and from its commit-confirmed timers, so it must be safe for concurrent use. Errors are
// shown to the technician on one line: keep them short and lowercase.
type Backend interface {
	Users
	Configs
	EventLog
	Controller
	AlarmDesk
}

// Users stores the console accounts.
type Users interface {
	// LookupUser returns the user called name, or an error wrapping ErrNoUser.
	LookupUser(ctx context.Context, name string) (User, error)
	// SaveUser creates or replaces a user.
	SaveUser(ctx context.Context, u User) error
	// ListUsers returns the user names (the console creates the factory account when there is none).
	ListUsers(ctx context.Context) ([]string, error)
}

// User is one console account.
type User struct {
	Name       string
	Hash       string // from HashPassword: "$argon2id$v=19$m=12288,t=3,p=1$salt$key"
	MustChange bool   // the next login must set a new password (the factory account)
}

// Configs stores the site configuration as numbered versions and applies the running one.
type Configs interface {
	// RunningConfig returns the configuration in force and its version.
	RunningConfig(ctx context.Context) (*site.Config, ConfigVersion, error)
	// CommitConfig stores cfg as a new version (who, when, why) and applies it without a restart.
	// It is atomic: on error nothing is stored and nothing changes. cfg has passed site Validate.
	CommitConfig(ctx context.Context, cfg *site.Config, info CommitInfo) (ConfigVersion, error)
	// ConfigVersion returns stored version n, or an error wrapping ErrNoVersion.
	ConfigVersion(ctx context.Context, n int) (*site.Config, ConfigVersion, error)
	// ConfigHistory returns up to limit versions, newest first.
	ConfigHistory(ctx context.Context, limit int) ([]ConfigVersion, error)
	// PendingCommit returns the commit confirmed the backend holds (stored, so that it survives a
	// restart of the controller), or nil. The console re-arms its rollback from it when it starts.
	PendingCommit(ctx context.Context) (*PendingCommit, error)
	// ConfirmCommit confirms the pending commit of version n: it stays, and is no longer pending.
	// A later CommitConfig without ConfirmWithin clears a pending commit too.
	ConfirmCommit(ctx context.Context, n int) error
}

// PendingCommit is a commit confirmed waiting for its confirmation.
type PendingCommit struct {
	Version    int           // the version waiting
	RollbackTo int           // what the automatic rollback restores
	User       string        // who committed it
	Window     time.Duration // the whole window
	Remaining  time.Duration // what is left of it now (on the monotonic clock)
}

// ConfigVersion describes one stored configuration.
type ConfigVersion struct {
	N       int
	Time    time.Time
	User    string
	Comment string
}

// CommitInfo says who commits, when and why.
type CommitInfo struct {
	User    string
	Time    time.Time
	Comment string // e.g. "commit confirmed 5m", "automatic rollback to version 6: not confirmed"
	// ConfirmWithin, when set, makes this a commit confirmed: the backend stores it as pending,
	// with RollbackTo, until ConfirmCommit or the next commit.
	ConfirmWithin time.Duration
	RollbackTo    int
}

// EventLog is the controller's event log.
type EventLog interface {
	LogEvent(ctx context.Context, e Event) error
	// Events returns the newest limit events, oldest first.
	Events(ctx context.Context, limit int) ([]Event, error)
}

// Event is one entry of the event log.
type Event struct {
	Time time.Time
	User string
	Kind string // one of the Event* kinds below for the console's entries
	Text string
}

// Kinds of the events the console logs.
const (
	EventLogin        = "login"
	EventLoginFailed  = "login-failed"
	EventLockout      = "lockout"
	EventLogout       = "logout"
	EventPassword     = "password"
	EventCommit       = "commit"
	EventConfirm      = "commit-confirmed"
	EventRollback     = "rollback"
	EventLoopMode     = "loop"
	EventTune         = "tune"
	EventTestUnit     = "test-unit"
	EventReboot       = "reboot"
	EventAlarm        = "alarm" // an operator acknowledged, shelved or unshelved an alarm
	EventConsoleError = "console-error"
)

// Controller is the live controller: readings, units, loops and the commands that act on them.
type Controller interface {
	Status(ctx context.Context) (Status, error)
	Sensors(ctx context.Context) ([]SensorReading, error)
	Units(ctx context.Context) ([]UnitStatus, error)
	Loops(ctx context.Context) ([]LoopStatus, error)
	Counters(ctx context.Context) ([]Counter, error)
	// SetLoopMode puts a unit's fan loop in manual at mode.FanPct (already checked against the
	// unit's min..max fan) or back in auto.
	SetLoopMode(ctx context.Context, unit string, mode LoopMode) error
	// Autotune runs a tuning experiment on a unit's loop ("fan" or "valve"), reporting progress
	// lines, and returns the gains found without applying them. Cancelling ctx aborts it; the
	// backend then puts the loop back as it was.
	Autotune(ctx context.Context, unit, loop string, progress func(line string)) (site.Tuning, error)
	// TestUnit commissions a unit: steps the fan and valve, checks the feedback and the effect on
	// the zone's inlets, reporting progress lines. Cancelling ctx aborts it and restores the unit.
	TestUnit(ctx context.Context, unit string, progress func(line string)) (UnitTest, error)
	// ModbusRead reads registers on a line (a target URL as in site.Line.Target).
	ModbusRead(ctx context.Context, req ModbusRequest) ([]uint16, error)
	// RebootPermitted says whether Reboot may restart this machine (nil) or why not; the console
	// asks it before asking the technician to confirm.
	RebootPermitted(ctx context.Context) error
	// Reboot restarts the board (after the console has asked for confirmation).
	Reboot(ctx context.Context) error
	// Trend returns the samples of the controller's in-memory trend taken at or after since,
	// oldest first; none (and no error) before the first sample.
	Trend(ctx context.Context, since time.Time) ([]TrendPoint, error)
}

// TrendPoint is one sample of the trend: every zone and unit as of one control period.
type TrendPoint struct {
	Time  time.Time
	Zones map[string]TrendZone // by zone name
	Units map[string]TrendUnit // by unit name
}

// TrendZone is a zone in a TrendPoint. NaN: no valid value (too few sensors, no inlet).
type TrendZone struct{ MeasureC, HottestC, SetpointC float64 }

// TrendUnit is a unit in a TrendPoint: its last commands. ValvePct is NaN for a unit without a
// valve (a fan drive).
type TrendUnit struct{ FanPct, ValvePct float64 }

// Status is the controller's summary state.
type Status struct {
	Software string        // build version
	State    string        // e.g. "controlling", "standby", "fail-safe"
	Uptime   time.Duration //
	Alarms   []string      // active alarms, one line each
}

// SensorReading is the latest reading of one sensor.
type SensorReading struct {
	ID        string // 00-17-0d-00-00-38-0a-1f/2
	Zone      string
	Rack      string
	Kind      string // temperature, humidity, pressure
	Value     float64
	Unit      string // C, %RH, Pa
	Age       time.Duration
	State     string // ok, stale, frozen, fault, implausible, missing
	BatteryMV int
}

// UnitStatus is the live state of one air handler. A value that is NaN is not available (the
// unit answered its "no value" sentinel or an implausible number): the table shows "n/a".
type UnitStatus struct {
	Name     string
	Line     string
	UnitID   int
	Mode     string // auto, manual, fallback, disabled, offline, fail-safe
	FanPct   float64
	ValvePct float64
	SupplyC  float64
	ReturnC  float64
	FanKW    float64
	Alarm    string // empty when none
	// The unit has no such point (a fan drive has no coil and no temperatures): "-".
	NoValve, NoSupply, NoReturn bool
}

// LoopStatus is the live state of one control loop.
type LoopStatus struct {
	Unit      string
	Loop      string // fan or valve
	Zone      string // every zone the loop serves, "row-a,row-b"
	Mode      string // auto, manual, fail-safe, tracking, held, off: the loop's own mode
	SetpointC float64
	MeasuredC float64 // NaN: no valid measurement ("n/a")
	OutputPct float64
	Kp        float64
	Ti        float64
	Td        float64
}

// Counter is one named counter (driver statistics, loop events).
type Counter struct {
	Name  string
	Value uint64
}

// LoopMode is a manual or automatic fan loop.
type LoopMode struct {
	Manual bool
	FanPct float64
	For    time.Duration // how long manual lasts (0: the site's control.manual_default)
}

// UnitTest is the outcome of a commissioning test.
type UnitTest struct {
	Unit   string
	Pass   bool
	Checks []TestCheck
}

// TestCheck is one check of a commissioning test, with the numbers.
type TestCheck struct {
	Name string // "fan feedback at 80%"
	Want string // "80 ±5 %"
	Got  string // "79.4 %"
	Pass bool
}

// ModbusRequest is a raw read of registers or bits.
type ModbusRequest struct {
	Target string // tcp://host:port or rtu:///dev/ttyX?baud=...
	Unit   byte   // Modbus unit id
	Table  string // "holding", "input" (registers), "coil" or "discrete" (bits, read as 0 or 1)
	Addr   uint16
	Count  uint16 // registers or bits
}

// Sentinel errors of the Backend.
var (
	ErrNoUser    = errors.New("console: no such user")
	ErrNoVersion = errors.New("console: no such configuration version")
)
