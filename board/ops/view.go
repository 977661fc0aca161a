package ops

import "time"

// View is everything the operations face shows, as of one control period. The appliance builds
// one after each period and publishes it (Publisher); the HTTP server, the metrics, the status page
// and the BMS server only ever read a published View, so no client can slow a control period.
// A View is never modified once published.
type View struct {
	Time          time.Time     // when it was built (wall clock, for display)
	Site          string        // site name (safe characters only: validated)
	Software      string        // software version
	ConfigVersion int           // configuration version in force
	Role          string        // "active" for a board alone; the pair's roles later
	Epoch         uint16        // failover epoch written to the units
	Uptime        time.Duration // since the controller started
	State         string        // "controlling", ...

	Period Period
	Zones  []Zone
	Units  []Unit
	// Sensors are every configured sensor, zone by zone.
	Sensors []Sensor
	Alarms  []Alarm // active (raised, not cleared) alarms, newest first
	Lines   []Line
	Mesh    map[string]uint64 // mesh session counters by name ("frames_rx", "drops.fcs", ...)
	DB      DB
	Pair    *Pair // nil: a board alone
}

// Pair is this board's side of a 2N pair.
type Pair struct {
	NodeID         uint16            `json:"node_id"`
	Role           string            `json:"role"` // waiting, standby, active
	Epoch          uint16            `json:"epoch"`
	Highest        uint16            `json:"highest_epoch"`
	Hold           string            `json:"hold"`
	Lease          time.Duration     `json:"-"`
	PeerNodeID     uint16            `json:"peer_node_id"`
	PeerRole       string            `json:"peer_role"`
	PeerHeard      bool              `json:"peer_heard"`
	PeerAgo        time.Duration     `json:"-"`
	TakeoverBudget time.Duration     `json:"-"`
	Drops          map[string]uint64 `json:"counters"` // peer-link counters by name
	Alarms         []string          `json:"alarms"`
}

// Period is the control loop's own health.
type Period struct {
	Length   time.Duration // configured control period
	Last     time.Duration // how long the last period took (read + tick + write)
	Count    uint64        // periods completed since start
	Overruns uint64        // periods that took longer than Length
}

// Zone is one zone.
type Zone struct {
	Name      string
	MeasureC  float64 // the loop's measurement; NaN when there are too few valid sensors
	SetpointC float64
	HottestC  float64 // hottest counted inlet (raw); NaN when none
	HottestID string  // its sensor
	DemandPct float64 // zone loop output: weighted airflow demand
	Valid     int     // valid sensors
	Total     int     // configured sensors
	OK        bool    // enough valid sensors for the loop
	Alarm     bool
}

// Unit is one air handler.
type Unit struct {
	Name        string
	Line        string
	UnitID      int
	Profile     string
	Mode        string  // auto, manual, fail-safe, tracking, autotune, disabled
	Reason      string  // why it is in that mode
	FanCmdPct   float64 // last command
	FanFbPct    float64 // read back; NaN when unknown
	ValveCmdPct float64 // NaN for a fan drive (no valve)
	ValveFbPct  float64 // NaN when unknown or no valve
	SupplyC     float64 // NaN when unknown or none
	ReturnC     float64 // NaN when unknown or none
	FanKW       float64 // NaN when the unit does not report it
	Zones       []string
	// Why says in words why the fan runs at this speed: the binding zone and its demand, the
	// unit's share, and the limit or mode that applies ("zone row-a demand 62 %, share 0.7;
	// at min_fan_pct 30 %").
	Why      string
	Isolated bool // no read-back
	Tripped  bool
	Alarm    bool
}

// Sensor is one rack-inlet sensor.
type Sensor struct {
	ID       string
	Zone     string
	Rack     string
	ValueC   float64       // latest value; NaN when missing or faulty
	Age      time.Duration // since it arrived; negative when never heard
	State    string        // ok, stale, frozen, fault, implausible, missing
	BatteryV float64       // NaN when unknown
}

// Alarm is one active alarm.
type Alarm struct {
	Key          string // stable identity, e.g. "zone/row-a/inlet-high", "unit/crah-2/tripped", "controller/storage"
	Source       string // "zone row-a", "unit crah-2", "controller"
	Kind         string // "inlet-high", "tripped", "storage", ...
	Severity     string // "critical", "major", "minor", "warning"
	Text         string // the reason in words
	Raised       time.Time
	AckedBy      string // empty when not acknowledged
	AckedAt      time.Time
	ShelvedUntil time.Time // zero when not shelved
}

// Line is one Modbus line's counters.
type Line struct {
	Name     string
	Target   string // tcp://host:port or rtu:///dev/tty...
	Requests uint64
	Errors   uint64 // all failed answers: the sum of the four kinds below
	Timeouts uint64

	Exceptions     uint64 // exception replies
	CRCErrors      uint64 // RTU replies with a bad CRC
	ProtocolErrors uint64 // replies that do not fit the request
	ConnectErrors  uint64 // no connection (TCP) or a failed line
}

// DB is the database's write volume since start.
type DB struct {
	Commits      uint64
	BytesWritten uint64
	Failures     uint64 // failed writes (a full disk, ...)
}
