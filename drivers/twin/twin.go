package twin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/drivers/ahu/ahusim"
	"github.com/coldaisle/coldaisle/drivers/mesh/meshsim"
	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// Sentinel errors.
var (
	// ErrOptions: the Options cannot make a twin (no scenario, a bad speed, a bad unit id...).
	ErrOptions = errors.New("twin: bad options")
	// ErrRunning: Run was called on a twin that is running or has run.
	ErrRunning = errors.New("twin: already run")
	// ErrLink: a link (listener, pty, symlink) could not be set up.
	ErrLink = errors.New("twin: link")
	// ErrStopped: WaitReady was waiting and Run ended before the links existed.
	ErrStopped = errors.New("twin: stopped before ready")
)

// DefaultEpoch is the simulated UTC time at plant t = 0 (the same as control/bench's): gateway
// time stamps are DefaultEpoch + plant seconds.
var DefaultEpoch = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// DefaultReportInterval is how often each sensor node reports, in plant time.
const DefaultReportInterval = 30 * time.Second

// Options configure a Twin. Scenario is required; zero fields take the defaults.
type Options struct {
	Scenario *plant.Scenario
	Seed     int64
	// Speed is plant seconds per wall second (default 1; 60 runs an hour in a minute).
	Speed float64
	// GatewayLink: path of a symlink to the mesh gateway pty's slave side ("" = no symlink; the
	// slave path is still available from GatewayPath). A symlink already there is replaced.
	GatewayLink string
	// GatewayLinks: more mesh gateways (after GatewayLink's, if set), one per controller of a
	// 2N pair: each its own pty and symlink, session, impairments and reboots, all reporting the
	// same sensor readings.
	GatewayLinks []string
	// Gateways is the least number of gateways (default 1); those without a link are on a pty
	// only (GatewayPathOf).
	Gateways int
	// ModbusListen: TCP address of the Modbus gateway (default "127.0.0.1:0"; ModbusAddr gives
	// the bound address).
	ModbusListen string
	// RTULink: path of a symlink to a pty serving the same units as Modbus RTU slaves
	// (multi-drop); "" = no RTU line.
	RTULink string
	// WriteLog receives the JSON-lines write log of every unit (ahusim.Log); nil = none.
	WriteLog io.Writer
	// Logf receives the story: field and physical events, link changes. nil = silent.
	Logf func(format string, args ...any)
	// Status, if set, is called with StatusLine once per simulated minute (from Run's goroutine,
	// without the twin's lock held: it may call Snapshot).
	Status func(line string)
	// ReportInterval is each sensor node's report period in plant time (default 30 s); nodes
	// start at seeded phases within it.
	ReportInterval time.Duration
	// Epoch is the gateway's UTC time at plant t = 0 (default DefaultEpoch).
	Epoch time.Time
	// StopAtEnd: Run returns nil once plant time reaches the scenario's duration. Otherwise the
	// room keeps running after its timeline (no more events) until ctx ends.
	StopAtEnd bool
}

// unitSim is one simulated air handler: the register bank and where it sits in the plant.
type unitSim struct {
	idx     int
	cfg     plant.Unit
	sim     ahusim.Unit
	crah    *ahusim.CRAH // nil for a drive
	tripped bool
	noAns   bool
}

// node is one mesh sensor node: a MAC and the scenario sensors (channels) it carries.
type node struct {
	mac     [8]byte
	macStr  string
	chans   []uint8
	sensors []int // scenario sensor index per channel
	phase   float64
	next    float64 // plant time of the next report
	seq     uint8
	battery uint16
}

// clockMark is plant time at a wall instant; the units' clock interpolates from it.
type clockMark struct {
	plant time.Duration
	wall  time.Time // zero: no interpolation (stepping without pacing)
}

// Twin is the simulated room wired to simulated field links. Make one with New, start it with
// Run. Snapshot, StatusLine and the failure injections are safe from any goroutine.
type Twin struct {
	opts  Options
	sc    *plant.Scenario
	speed float64

	srv     *modbussim.Server
	gws     []*gwLink
	wlog    *ahusim.Log
	logGate *gateWriter
	mark    atomic.Pointer[clockMark]

	ready   chan struct{}
	done    chan struct{}
	running atomic.Bool
	runErr  error

	// Set before ready closes; read-only afterwards.
	modbusAddr, rtuPath string

	mu         sync.Mutex // guards everything below: the stepping state
	m, base    *plant.Model
	units      []*unitSim
	nodes      []*node
	dead       []bool // per scenario sensor
	frozen     []bool
	frozenV    []float64
	sensorsBuf []plant.SensorOut
	lastMinute int64
	recent     []plant.Event
	pending    []string // log lines to emit after the lock is released
	statusDue  bool
	rackOf     map[string]string
	queuedBuf  []int
}

// gwLink is one simulated mesh gateway on its own pty, with its own session, impairments and
// reboots; every gateway gets the same node reports.
type gwLink struct {
	idx  int
	link string // the symlink to place ("" none)
	path string // where a controller opens it; set before ready
	rw   *fileRW
	gw   *meshsim.Gateway

	gen    atomic.Uint64 // reboot requests
	want   atomic.Bool   // true: the gateway should be down
	kick   chan struct{}
	active atomic.Bool // the gateway is running (not down for a reboot)

	// Guarded by Twin.mu.
	im        meshsim.Impairments
	down      bool
	downUntil float64
	stats     ReportStats
}

// ReportStats count the sensor reports the twin made.
type ReportStats struct {
	Sent        uint64 // node reports handed to the gateway
	Readings    uint64 // channel readings in them
	GatewayDown uint64 // reports lost because the gateway was down (rebooting)
	QueueFull   uint64 // reports dropped because the gateway already held too many (no controller)
	Dead        uint64 // node reports not sent because every channel of the node was dead
}

// New checks the options and builds the room, the simulated units and the gateway. Nothing is
// opened until Run.
func New(opts Options) (*Twin, error) {
	sc := opts.Scenario
	if sc == nil {
		return nil, fmt.Errorf("%w: no scenario", ErrOptions)
	}
	if opts.Speed == 0 {
		opts.Speed = 1
	}
	if math.IsNaN(opts.Speed) || math.IsInf(opts.Speed, 0) || opts.Speed < 0.01 || opts.Speed > 100000 {
		return nil, fmt.Errorf("%w: speed %v is outside 0.01..100000", ErrOptions, opts.Speed)
	}
	if opts.ModbusListen == "" {
		opts.ModbusListen = "127.0.0.1:0"
	}
	if opts.ReportInterval == 0 {
		opts.ReportInterval = DefaultReportInterval
	}
	if opts.ReportInterval < time.Second || opts.ReportInterval > time.Hour {
		return nil, fmt.Errorf("%w: report interval %v is outside 1s..1h", ErrOptions, opts.ReportInterval)
	}
	if opts.Epoch.IsZero() {
		opts.Epoch = DefaultEpoch
	}
	var gwLinks []string
	if opts.GatewayLink != "" {
		gwLinks = append(gwLinks, opts.GatewayLink)
	}
	for i, l := range opts.GatewayLinks {
		if l == "" {
			return nil, fmt.Errorf("%w: gateway link %d is empty", ErrOptions, i+1)
		}
		gwLinks = append(gwLinks, l)
	}
	if opts.Gateways < 0 || opts.Gateways > maxGateways || len(gwLinks) > maxGateways {
		return nil, fmt.Errorf("%w: %d gateways (%d links); at most %d", ErrOptions, max(opts.Gateways, len(gwLinks)), len(gwLinks), maxGateways)
	}
	for _, p := range append([]*string{&opts.RTULink}, ptrs(gwLinks)...) {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, fmt.Errorf("%w: link %q: %v", ErrOptions, *p, err)
		}
		*p = abs
	}
	seenLink := map[string]string{}
	if opts.RTULink != "" {
		seenLink[opts.RTULink] = "RTU link"
	}
	for i, l := range gwLinks {
		if other, ok := seenLink[l]; ok {
			return nil, fmt.Errorf("%w: gateway link %d and %s are the same path %s", ErrOptions, i+1, other, l)
		}
		seenLink[l] = fmt.Sprintf("gateway link %d", i+1)
	}
	t := &Twin{
		opts: opts, sc: sc, speed: opts.Speed,
		srv:    modbussim.NewServer(),
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
		rackOf: map[string]string{},
	}
	// Writes name the connection's owner (crah-generic register 10): per-connection faults
	// match on it and the write log attributes writes without it.
	t.srv.SetOwnerRegister(ahusim.CRAHOwner)
	t.mark.Store(&clockMark{})
	if opts.WriteLog != nil {
		t.logGate = &gateWriter{w: opts.WriteLog}
		t.wlog = ahusim.NewLog(t.logGate)
	}
	clock := func() time.Duration { return t.plantClock() }
	seen := map[int]string{}
	for i, u := range sc.Units {
		if u.ModbusID < 1 || u.ModbusID > 247 {
			return nil, fmt.Errorf("%w: unit %s: modbus id %d is outside 1..247", ErrOptions, u.Name, u.ModbusID)
		}
		if other, ok := seen[u.ModbusID]; ok {
			return nil, fmt.Errorf("%w: unit %s: modbus id %d is already used by %s", ErrOptions, u.Name, u.ModbusID, other)
		}
		seen[u.ModbusID] = u.Name
		us := &unitSim{idx: i, cfg: u}
		ao := ahusim.Options{Clock: clock, Log: t.wlog, ConnOwner: t.srv.ConnOwner}
		switch u.Profile {
		case plant.ProfileCRAH:
			us.crah = ahusim.NewCRAH(byte(u.ModbusID), ao)
			us.sim = us.crah
		case plant.ProfileVFD:
			us.sim = ahusim.NewVFD(byte(u.ModbusID), ao)
		default:
			return nil, fmt.Errorf("%w: unit %s: profile %q has no simulation", ErrOptions, u.Name, u.Profile)
		}
		if err := commission(us); err != nil {
			return nil, fmt.Errorf("%w: unit %s: %v", ErrOptions, u.Name, err)
		}
		t.srv.Add(byte(u.ModbusID), us.sim)
		t.units = append(t.units, us)
	}
	if t.logGate != nil {
		t.logGate.open.Store(true) // the commissioning writes above are not the controller's
	}
	nodes, err := groupNodes(sc, opts.Seed, opts.ReportInterval.Seconds())
	if err != nil {
		return nil, err
	}
	t.nodes = nodes
	for _, s := range sc.Sensors {
		t.rackOf[s.ID] = s.Rack
	}
	n := len(sc.Sensors)
	t.dead, t.frozen, t.frozenV = make([]bool, n), make([]bool, n), make([]float64, n)
	t.sensorsBuf = make([]plant.SensorOut, 0, n)

	t.m = plant.New(sc, opts.Seed)
	// The baseline in lockstep: every unit on its own control at 100 % fan (control/plant's
	// Baseline starts from that steady state; this one from the scenario's initial state).
	t.base = plant.New(sc, opts.Seed)
	for i, u := range sc.Units {
		t.base.SetUnitInput(i, plant.UnitInput{LocalFan: 1, LocalSupplySP: u.LocalSupplySP})
	}
	t.couple() // the registers show the initial state before the first step
	n = max(1, opts.Gateways, len(gwLinks))
	for i := range n {
		g := &gwLink{idx: i, rw: &fileRW{}, kick: make(chan struct{}, 1)}
		if i < len(gwLinks) {
			g.link = gwLinks[i]
		}
		logf := opts.Logf
		if logf != nil && n > 1 {
			prefix := fmt.Sprintf("gateway %d: ", i+1)
			logf = func(format string, args ...any) { opts.Logf(prefix+format, args...) }
		}
		// Gateway 1 keeps the twin's seed, so a single-gateway twin behaves as before.
		g.gw = meshsim.NewGateway(g.rw, meshsim.Options{Seed: opts.Seed + int64(i), Logf: logf})
		t.gws = append(t.gws, g)
	}
	return t, nil
}

// maxGateways bounds Options.Gateways and the links: each is a pty and goroutines.
const maxGateways = 16

func ptrs(ss []string) []*string {
	out := make([]*string, len(ss))
	for i := range ss {
		out[i] = &ss[i]
	}
	return out
}

// commission programs a unit's registers from the scenario, as a site's commissioning would:
// BMS (comm-loss) timeout, fallback speed, local supply setpoint, minimum fan. Remote control
// stays off: the controller enables it.
func commission(u *unitSim) error {
	c := u.cfg
	bms := math.Round(c.BMSTimeout)
	if u.crah != nil {
		vals := map[uint16]uint16{
			ahusim.CRAHBMSTimeout:    uint16(math.Max(0, math.Min(65535, bms))),
			ahusim.CRAHFallbackFan:   uint16(math.Round(1000 * math.Max(c.FallbackFan, c.MinSpeed))),
			ahusim.CRAHLocalSupplySP: uint16(int16(math.Round(10 * c.LocalSupplySP))),
			ahusim.CRAHMinFan:        uint16(math.Round(1000 * c.MinSpeed)),
		}
		for a := uint16(ahusim.CRAHBMSTimeout); a <= ahusim.CRAHMinFan; a++ {
			if err := u.sim.WriteHoldingRegisters("twin", 6, a, []uint16{vals[a]}); err != nil {
				return fmt.Errorf("holding %d = %d: %w", a, vals[a], err)
			}
		}
		return nil
	}
	vals := []uint16{
		uint16(math.Max(0, math.Min(65535, 10*bms))), // 6: comm-loss timeout, 0.1 s
		ahusim.ActionFallback,                        // 7
		uint16(math.Round(ahusim.VFDFullSpeed * math.Max(c.FallbackFan, c.MinSpeed))), // 8
	}
	if err := u.sim.WriteHoldingRegisters("twin", 16, ahusim.VFDCommLossTimeout, vals); err != nil {
		return fmt.Errorf("holding 6..8 = %v: %w", vals, err)
	}
	return nil
}

// gateWriter drops writes until open: the twin's own commissioning writes stay out of the log.
type gateWriter struct {
	w    io.Writer
	open atomic.Bool
}

func (g *gateWriter) Write(p []byte) (int, error) {
	if !g.open.Load() {
		return len(p), nil
	}
	return g.w.Write(p)
}

// groupNodes groups the scenario's sensors by node MAC; each node gets a seeded report phase
// and battery voltage.
func groupNodes(sc *plant.Scenario, seed int64, interval float64) ([]*node, error) {
	byMAC := map[string]*node{}
	var order []string
	for i, s := range sc.Sensors {
		macStr, chStr, ok := strings.Cut(s.ID, "/")
		if !ok {
			return nil, fmt.Errorf("%w: sensor %q: want mac/channel", ErrOptions, s.ID)
		}
		mac, err := parseMAC(macStr)
		if err != nil {
			return nil, fmt.Errorf("%w: sensor %q: %v", ErrOptions, s.ID, err)
		}
		ch, err := strconv.ParseUint(chStr, 10, 8)
		if err != nil {
			return nil, fmt.Errorf("%w: sensor %q: channel %q is not 0..255", ErrOptions, s.ID, chStr)
		}
		n := byMAC[macStr]
		if n == nil {
			n = &node{mac: mac, macStr: macStr}
			byMAC[macStr] = n
			order = append(order, macStr)
		}
		n.chans = append(n.chans, uint8(ch))
		n.sensors = append(n.sensors, i)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6e6f646573)) // "nodes"
	out := make([]*node, 0, len(order))
	for _, k := range order {
		n := byMAC[k]
		n.phase = rng.Float64() * interval
		n.next = n.phase
		n.battery = uint16(2900 + rng.IntN(400))
		out = append(out, n)
	}
	return out, nil
}

func parseMAC(s string) ([8]byte, error) {
	var mac [8]byte
	parts := strings.Split(s, "-")
	if len(parts) != 8 {
		return mac, fmt.Errorf("MAC %q: want 8 hex bytes separated by '-'", s)
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) != 2 {
			return mac, fmt.Errorf("MAC %q: byte %d %q is not two hex digits", s, i+1, p)
		}
		mac[i] = byte(v)
	}
	return mac, nil
}

// plantClock is the units' clock: plant time of the last step, plus the wall time since then
// times Speed, at most one step ahead (so it never runs backwards across a step).
func (t *Twin) plantClock() time.Duration {
	mk := t.mark.Load()
	if mk.wall.IsZero() {
		return mk.plant
	}
	ahead := time.Duration(float64(time.Since(mk.wall)) * t.speed)
	return mk.plant + min(max(ahead, 0), time.Second)
}

// PlantTime is the plant time now (as the units see it).
func (t *Twin) PlantTime() time.Duration { return t.plantClock() }

// Ready is closed once the links exist (listener bound, ptys open, symlinks placed).
func (t *Twin) Ready() <-chan struct{} { return t.ready }

// Done is closed when Run has returned.
func (t *Twin) Done() <-chan struct{} { return t.done }

// WaitReady waits until the links exist; it fails if ctx ends first or Run returns before.
func (t *Twin) WaitReady(ctx context.Context) error {
	select {
	case <-t.ready:
		return nil
	case <-t.done:
		if t.runErr != nil {
			return stoppedError{t.runErr}
		}
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ModbusAddr is the bound Modbus TCP address (host:port), once ready.
func (t *Twin) ModbusAddr() string { return t.modbusAddr }

// GatewayPath is where the controller opens the (first) mesh gateway: the symlink when
// GatewayLink was given, else the pty's slave path. Valid once ready.
func (t *Twin) GatewayPath() string { return t.gws[0].path }

// GatewayCount is the number of mesh gateways.
func (t *Twin) GatewayCount() int { return len(t.gws) }

// GatewayPathOf is where a controller opens gateway i (0-based; the symlink, else the pty's
// slave path), or "" for no such gateway. Valid once ready.
func (t *Twin) GatewayPathOf(i int) string {
	if i < 0 || i >= len(t.gws) {
		return ""
	}
	return t.gws[i].path
}

// RTUPath is the RTU line's device (the symlink), or "" without RTU. Valid once ready.
func (t *Twin) RTUPath() string { return t.rtuPath }

// Scenario returns the scenario the twin runs.
func (t *Twin) Scenario() *plant.Scenario { return t.sc }

// Server returns the Modbus server (for extra failure injection: Busy, Delay, Corrupt).
func (t *Twin) Server() *modbussim.Server { return t.srv }

// Unit returns the simulated unit with Modbus id id, or nil (for ForceFallback, SetAlarm...).
func (t *Twin) Unit(id byte) ahusim.Unit {
	for _, u := range t.units {
		if u.sim.ID() == id {
			return u.sim
		}
	}
	return nil
}

// WriteLogErr is the write log's first write error (later entries were dropped), or nil.
func (t *Twin) WriteLogErr() error {
	if t.wlog == nil {
		return nil
	}
	return t.wlog.Err()
}

// GatewayStats returns the first simulated gateway's counters.
func (t *Twin) GatewayStats() meshsim.Stats { return t.gws[0].gw.Stats() }

// GatewayStatsOf returns gateway i's counters (the zero Stats for no such gateway).
func (t *Twin) GatewayStatsOf(i int) meshsim.Stats {
	if i < 0 || i >= len(t.gws) {
		return meshsim.Stats{}
	}
	return t.gws[i].gw.Stats()
}

// ReportStatsOf returns what the twin handed to gateway i (Snapshot.Reports is gateway 0's).
func (t *Twin) ReportStatsOf(i int) ReportStats {
	if i < 0 || i >= len(t.gws) {
		return ReportStats{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gws[i].stats
}

// SetMeshImpairments replaces every gateway's impairments (Delay is wall time here; scenario
// mesh_delay events are converted from plant time by Speed). Later scenario events change single
// fields of them.
func (t *Twin) SetMeshImpairments(im meshsim.Impairments) {
	t.mu.Lock()
	for _, g := range t.gws {
		g.im = im
		g.gw.SetImpairments(im)
	}
	t.mu.Unlock()
}

// SetGatewayImpairments replaces gateway i's impairments only; false for no such gateway.
func (t *Twin) SetGatewayImpairments(i int, im meshsim.Impairments) bool {
	if i < 0 || i >= len(t.gws) {
		return false
	}
	t.mu.Lock()
	t.gws[i].im = im
	t.gws[i].gw.SetImpairments(im)
	t.mu.Unlock()
	return true
}

// RebootGateway reboots every simulated gateway: each goes silent for down (plant time), loses
// the notification in flight and its session, then boots and sends manager_hello until its
// controller says hello again. Node reports during the outage are lost.
func (t *Twin) RebootGateway(down time.Duration) {
	t.mu.Lock()
	for _, g := range t.gws {
		t.rebootLocked(g, down.Seconds())
	}
	t.mu.Unlock()
}

// RebootGatewayOf reboots gateway i only (see RebootGateway); false for no such gateway.
func (t *Twin) RebootGatewayOf(i int, down time.Duration) bool {
	if i < 0 || i >= len(t.gws) {
		return false
	}
	t.mu.Lock()
	t.rebootLocked(t.gws[i], down.Seconds())
	t.mu.Unlock()
	return true
}

func (t *Twin) rebootLocked(g *gwLink, down float64) {
	g.down = true
	g.downUntil = math.Max(g.downUntil, t.m.Time()+math.Max(0, down))
	g.want.Store(true)
	g.gen.Add(1)
	g.kickGateway()
}

func (g *gwLink) kickGateway() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// Run opens the links, signals Ready and runs the room at Speed until ctx ends (returns
// ctx.Err()), a link fails (returns its error) or, with StopAtEnd, the timeline ends (nil).
// Every goroutine it starts has ended when it returns; the ptys are closed and the symlinks
// removed.
func (t *Twin) Run(ctx context.Context) (err error) {
	if !t.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer func() {
		t.runErr = err
		close(t.done)
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	ln, err := net.Listen("tcp", t.opts.ModbusListen)
	if err != nil {
		return fmt.Errorf("%w: modbus listen %s: %w", ErrLink, t.opts.ModbusListen, err)
	}
	cleanups = append(cleanups, func() { ln.Close() })
	gwMasters := make([]*os.File, len(t.gws))
	for i, g := range t.gws {
		gwPTY, err := serialport.OpenPTY()
		if err != nil {
			return fmt.Errorf("%w: gateway %d pty: %w", ErrLink, i+1, err)
		}
		cleanups = append(cleanups, func() { gwPTY.Close() })
		g.path = gwPTY.SlavePath
		if g.link != "" {
			unlink, err := placeLink(g.link, gwPTY.SlavePath)
			if err != nil {
				return err
			}
			cleanups = append(cleanups, unlink)
			g.path = g.link
		}
		gwMasters[i] = gwPTY.Master
	}
	var rtuPTY *serialport.PTY
	if t.opts.RTULink != "" {
		rtuPTY, err = serialport.OpenPTY()
		if err != nil {
			return fmt.Errorf("%w: rtu pty: %w", ErrLink, err)
		}
		cleanups = append(cleanups, func() { rtuPTY.Close() })
		unlink, err := placeLink(t.opts.RTULink, rtuPTY.SlavePath)
		if err != nil {
			return err
		}
		cleanups = append(cleanups, unlink)
		t.rtuPath = t.opts.RTULink
	}
	t.modbusAddr = ln.Addr().String()
	for i, g := range t.gws {
		g.rw.f.Store(gwMasters[i])
	}

	var wg sync.WaitGroup
	errc := make(chan error, 3+len(t.gws))
	start := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("twin: %s: %w", name, err)
				cancel()
			}
		}()
	}
	start("modbus tcp", func() error { return t.srv.ServeTCP(ctx, ln) })
	if rtuPTY != nil {
		start("modbus rtu", func() error { return t.srv.ServeRTU(ctx, rtuPTY.Master) })
	}
	paths := make([]string, len(t.gws))
	for i, g := range t.gws {
		name := "mesh gateway"
		if len(t.gws) > 1 {
			name = fmt.Sprintf("mesh gateway %d", i+1)
		}
		start(name, func() error { return t.superviseGateway(ctx, g) })
		paths[i] = g.path
	}
	t.logf("twin: %s at x%g: modbus tcp://%s, mesh gateway %s%s", t.sc.Name, t.speed, t.modbusAddr, strings.Join(paths, ", "),
		func() string {
			if t.rtuPath != "" {
				return ", modbus rtu " + t.rtuPath
			}
			return ""
		}())
	close(t.ready)

	loopErr := t.loop(ctx)
	cancel()
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	return loopErr
}

// loop paces the plant: one 1 s step each time Speed has turned a plant second of wall time.
func (t *Twin) loop(ctx context.Context) error {
	start := time.Now()
	base := t.stepTime()
	timer := time.NewTimer(0)
	defer timer.Stop()
	const maxBatch = 500
	lagged := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		target := base + time.Since(start).Seconds()*t.speed
		for n := 0; n < maxBatch; n++ {
			pt := t.stepTime()
			if pt+1 > target+1e-9 {
				break
			}
			if t.opts.StopAtEnd && pt >= t.sc.Duration-1e-9 {
				return nil
			}
			t.stepPaced()
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		pt := t.stepTime()
		if t.opts.StopAtEnd && pt >= t.sc.Duration-1e-9 {
			return nil
		}
		// Too far behind (a slow machine, a huge Speed): rebase rather than race to catch up.
		if behind := target - pt; behind > math.Max(10, 2*t.speed) {
			start = time.Now()
			base = pt
			if !lagged {
				t.logf("twin: stepping cannot keep up with x%g (%.0f plant s behind); running as fast as it can", t.speed, behind)
				lagged = true
			}
		}
		next := start.Add(time.Duration((pt + 1 - base) / t.speed * float64(time.Second)))
		timer.Reset(max(time.Until(next), 0))
	}
}

// stepTime is the plant time of the last step.
func (t *Twin) stepTime() float64 { return t.mark.Load().plant.Seconds() }

// stepPaced is one step plus what must happen outside the lock: the log and the status line.
func (t *Twin) stepPaced() {
	t.mu.Lock()
	t.stepLocked(true)
	logs := t.pending
	t.pending = nil
	var status string
	if t.statusDue {
		t.statusDue = false
		if t.opts.Status != nil {
			status = t.statusLineLocked()
		}
	}
	t.mu.Unlock()
	for _, l := range logs {
		t.logf("%s", l)
	}
	if status != "" {
		t.opts.Status(status)
	}
}

func (t *Twin) logf(format string, args ...any) {
	if t.opts.Logf != nil {
		t.opts.Logf(format, args...)
	}
}
