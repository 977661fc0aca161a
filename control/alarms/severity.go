package alarms

// Severity ranks an alarm. The zero value is Critical, so a Severity nobody set is the loudest.
type Severity int

// The severities, loudest first.
const (
	Critical Severity = iota
	Major
	Minor
	Warning
)

var severityNames = [...]string{"critical", "major", "minor", "warning"}

func (s Severity) String() string {
	if s >= 0 && int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "unknown"
}

// RFC 5424 severities (section 6.2.1) used by Syslog and Effect.Syslog.
const (
	SyslogCrit    = 2
	SyslogErr     = 3
	SyslogWarning = 4
	SyslogNotice  = 5
	SyslogInfo    = 6
)

// Syslog is the RFC 5424 severity an alarm of this severity is sent with: critical 2 (crit),
// major 3 (err), minor 4 (warning), warning 5 (notice). A value out of range is sent as crit
// (loud). A clear is not an alarm severity: Effect.Syslog sends it as 6 (info).
func (s Severity) Syslog() int {
	switch s {
	case Major:
		return SyslogErr
	case Minor:
		return SyslogWarning
	case Warning:
		return SyslogNotice
	}
	return SyslogCrit
}

// severityOfKind is the table behind SeverityOf. Keys are the engine's alarm keys
// (control/engine) and the appliance's own ("storage", "config").
var severityOfKind = map[string]Severity{
	"inlet-high": Critical, // the servers are getting hot air now

	"insufficient": Major, // a zone without enough sensors runs blind (fail-safe air)
	"tripped":      Major,
	"isolated":     Major,
	"storage":      Major,
	"config":       Major,
	"implausible":  Major,
	"sensor-range": Major,
	"hot-spot":     Major,

	"fallback":   Minor,
	"degraded":   Minor,
	"unit-alarm": Minor,
	"write":      Minor,
	"read-back":  Minor,

	"battery": Warning,
}

// SeverityOf is the severity of an alarm kind. A kind the table does not know is Major: an alarm
// nobody classified is still shown loudly.
func SeverityOf(kind string) Severity {
	if s, ok := severityOfKind[kind]; ok {
		return s
	}
	return Major
}
