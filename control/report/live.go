package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrClosed is returned by Live.Update after Close.
var ErrClosed = errors.New("report: live view closed")

// ANSI sequences of the interactive view.
const (
	escHome       = "\x1b[H"
	escClearLine  = "\x1b[K"
	escClearBelow = "\x1b[J"
	escClearAll   = "\x1b[2J"
	escHide       = "\x1b[?25l"
	escShow       = "\x1b[?25h"
	escReset      = "\x1b[0m"
	escRed        = "\x1b[31m"
	escYellow     = "\x1b[33m"
	escBoldRed    = "\x1b[1;31m"
)

// LiveOptions configures a Live view. Zero values take the documented defaults.
type LiveOptions struct {
	Title string
	// Headless writes one plain line per Interval of plant time (plus a line per event, mode
	// or alarm change) and no escape codes: for logs, pipes and CI.
	Headless bool
	Interval float64 // plant seconds between headless lines; 0 means 60
	MaxFPS   float64 // interactive redraws per wall-clock second at most; 0 means 10
	Width    int     // columns; 0 means 80; at least 60
	Events   int     // latest events shown; 0 means 6
	MaxUnits int     // unit rows shown (the rest summarised in one row); 0 means all
	ASCII    bool    // bars from '#' and '.' instead of block characters
	NoColor  bool    // no colour codes in the interactive view
	// ControllerEvents: the samples carry the controller's own mode and alarm events
	// (Event.Controller), so the headless view prints those and derives no mode or alarm lines
	// of its own from the unit rows (they would say the same twice).
	ControllerEvents bool
	// SetpointC and LimitC have Run's meaning (0: lowest unit setpoint; DefaultLimitC).
	SetpointC, LimitC float64
	BandK             float64 // 0 means DefaultBandK
}

// Live renders the controller's state while a run is in progress. Its methods are safe for
// concurrent use (the simulation loop may Update while a signal handler Closes).
type Live struct {
	mu  sync.Mutex
	w   io.Writer
	opt LiveOptions

	cur      Sample // latest sample (owned copy)
	have     bool
	pending  bool // cur not shown yet
	drawn    bool // at least one interactive frame written (the cursor is hidden)
	lastDraw time.Time
	closed   bool

	firstWall time.Time
	firstT    float64
	wallNow   time.Time

	events []Event // latest opt.Events

	// running statistics, sample-and-hold between samples
	prevT     float64
	prevOver  bool
	aboveS    float64
	peakC     float64
	peakT     float64
	nextLine  float64
	printedAt float64
	modes     map[string]string
	alarms    map[string]bool
	header    bool

	buf bytes.Buffer
}

// NewLive returns a view writing to w. Nothing is written until the first Update.
func NewLive(w io.Writer, opt LiveOptions) (*Live, error) {
	if w == nil {
		return nil, fmt.Errorf("%w: nil writer", ErrOption)
	}
	switch {
	case opt.Interval < 0 || !isFinite(opt.Interval):
		return nil, fmt.Errorf("%w: headless interval %v s must be >= 0", ErrOption, opt.Interval)
	case opt.MaxFPS < 0 || !isFinite(opt.MaxFPS):
		return nil, fmt.Errorf("%w: max fps %v must be >= 0", ErrOption, opt.MaxFPS)
	case opt.Width != 0 && opt.Width < 60:
		return nil, fmt.Errorf("%w: width %d columns must be >= 60", ErrOption, opt.Width)
	case opt.Events < 0, opt.MaxUnits < 0:
		return nil, fmt.Errorf("%w: events %d and max units %d must be >= 0", ErrOption, opt.Events, opt.MaxUnits)
	}
	if opt.Interval == 0 {
		opt.Interval = 60
	}
	if opt.MaxFPS == 0 {
		opt.MaxFPS = 10
	}
	if opt.Width == 0 {
		opt.Width = 80
	}
	if opt.Events == 0 {
		opt.Events = 6
	}
	opt.LimitC = orDefault(opt.LimitC, DefaultLimitC)
	opt.BandK = orDefault(opt.BandK, DefaultBandK)
	return &Live{w: w, opt: opt, peakC: math.NaN(), modes: map[string]string{}, alarms: map[string]bool{}}, nil
}

// Update hands the view the latest sample and the wall-clock time of the call (pass
// time.Now(): its monotonic reading paces the redraws). The interactive view redraws at most
// MaxFPS times per second; a sample not drawn is shown by a later Update or by Close. The
// headless view writes a line when plant time reaches the next Interval. Samples with a
// non-finite time are rejected (ErrSample). The returned error is the writer's.
func (l *Live) Update(s Sample, wall time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if !isFinite(s.T) {
		return fmt.Errorf("%w: time %v is not finite", ErrSample, s.T)
	}
	if !l.have {
		l.firstWall, l.firstT, l.prevT = wall, s.T, s.T
		l.nextLine = s.T
	}
	l.account(&s)
	l.cur = Sample{
		T: s.T, FanKW: s.FanKW, BaselineFanKW: s.BaselineFanKW,
		FanKWh: s.FanKWh, BaselineFanKWh: s.BaselineFanKWh,
		Units:   append(l.cur.Units[:0], s.Units...),
		InletsC: append(l.cur.InletsC[:0], s.InletsC...),
	}
	l.have, l.pending, l.wallNow = true, true, wall
	for _, e := range s.Events {
		l.events = append(l.events, Event{T: e.T, Label: e.Label, Controller: e.Controller})
	}
	if len(l.events) > l.opt.Events {
		l.events = append(l.events[:0], l.events[len(l.events)-l.opt.Events:]...)
	}

	if l.opt.Headless {
		return l.headless(&s)
	}
	// in float seconds: a tiny MaxFPS must not overflow a Duration
	if since := wall.Sub(l.lastDraw).Seconds(); l.drawn && since < 1/l.opt.MaxFPS && since >= 0 {
		return nil
	}
	l.lastDraw = wall
	return l.frame()
}

// Close shows the latest sample if it was not shown yet and, in the interactive view, the
// cursor again. It is idempotent.
func (l *Live) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var err error
	if l.have && l.pending {
		if l.opt.Headless {
			err = l.statusLine()
		} else {
			err = l.frame()
		}
	}
	if l.drawn {
		if _, e := io.WriteString(l.w, escShow); err == nil {
			err = e
		}
	}
	return err
}

// account updates the running statistics with s (before it becomes the current sample).
func (l *Live) account(s *Sample) {
	if l.have && l.prevOver && s.T > l.prevT {
		l.aboveS += s.T - l.prevT
	}
	m := s.MaxInletC()
	l.prevOver = m > l.opt.LimitC
	l.prevT = s.T
	if isFinite(m) && (math.IsNaN(l.peakC) || m > l.peakC) {
		l.peakC, l.peakT = m, s.T
	}
}

func (l *Live) setpoint(s *Sample) float64 {
	if l.opt.SetpointC != 0 && isFinite(l.opt.SetpointC) {
		return l.opt.SetpointC
	}
	return lowestSetpoint(s.Units)
}

// ---- headless -------------------------------------------------------------------------

func (l *Live) headless(s *Sample) error {
	l.buf.Reset()
	if !l.header {
		l.header = true
		fmt.Fprintf(&l.buf, "# %s\n", sanitize(orString(l.opt.Title, "coldaisle")))
		fmt.Fprintf(&l.buf, "# true_C: hottest TRUE rack inlet (the plant's truth, no controller sees it)\n")
		fmt.Fprintf(&l.buf, "# meas_C: hottest zone value the controller MEASURED from its sensors (what it acts on)\n")
		fmt.Fprintf(&l.buf, "# fan kW ours and baseline, saving %%, fan %% per unit; %q lines are the room's\n", tagScenario)
		fmt.Fprintf(&l.buf, "# scripted events, %q lines what the controller did and why\n", tagController)
		fmt.Fprintf(&l.buf, "#    time  true_C  meas_C  fan_kW  base_kW  save_%%  ")
		for _, u := range s.Units {
			name := sanitize(u.Name)
			fmt.Fprintf(&l.buf, " %*s", max(utf8.RuneCountInString(name), 4), name)
		}
		l.buf.WriteByte('\n')
	}
	for _, e := range s.Events {
		fmt.Fprintf(&l.buf, "%9s  %-10s  %s\n", clock(e.T), tag(e), sanitize(e.Label))
	}
	for _, u := range s.Units {
		if l.opt.ControllerEvents {
			break // the controller's events said it
		}
		name := sanitize(u.Name)
		if old, ok := l.modes[u.Name]; ok && old != u.Mode {
			fmt.Fprintf(&l.buf, "%9s  %s  mode %s -> %s\n", clock(s.T), name, sanitize(old), sanitize(u.Mode))
		}
		l.modes[u.Name] = u.Mode
		if old, ok := l.alarms[u.Name]; (ok && old != u.Alarm) || (!ok && u.Alarm) {
			fmt.Fprintf(&l.buf, "%9s  %s  %s\n", clock(s.T), name, alarmText(u))
		}
		l.alarms[u.Name] = u.Alarm
	}
	if s.T >= l.nextLine {
		l.nextLine = (math.Floor(s.T/l.opt.Interval) + 1) * l.opt.Interval
		l.appendStatus()
	}
	return l.flush()
}

func (l *Live) statusLine() error {
	l.buf.Reset()
	l.appendStatus()
	return l.flush()
}

func (l *Live) appendStatus() {
	s := &l.cur
	fmt.Fprintf(&l.buf, "%9s  %6s  %6s  %6s  %7s  %6s  ", clock(s.T), num(s.MaxInletC(), 6, 1), num(s.MaxMeasuredC(), 6, 1),
		num(s.FanKW, 6, 1), num(s.BaselineFanKW, 7, 1), num(savingPct(s.FanKW, s.BaselineFanKW), 6, 1))
	for _, u := range s.Units {
		w := max(utf8.RuneCountInString(sanitize(u.Name)), 4)
		fmt.Fprintf(&l.buf, " %*s", w, num(u.FanPct, 0, 0))
	}
	l.buf.WriteByte('\n')
	l.pending = false
	l.printedAt = s.T
}

func (l *Live) flush() error {
	if l.buf.Len() == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf.Bytes())
	return err
}

// ---- interactive ----------------------------------------------------------------------

func (l *Live) frame() error {
	l.buf.Reset()
	if !l.drawn {
		l.buf.WriteString(escHide + escClearAll)
	}
	l.buf.WriteString(escHome)
	for _, line := range l.lines() {
		l.buf.WriteString(clipVisible(line, l.opt.Width))
		l.buf.WriteString(escClearLine + "\n")
	}
	l.buf.WriteString(escClearBelow)
	l.drawn, l.pending = true, false
	_, err := l.w.Write(l.buf.Bytes())
	return err
}

func (l *Live) color(code, s string) string {
	if l.opt.NoColor || code == "" {
		return s
	}
	return code + s + escReset
}

// lines builds the frame's text (colour codes included, no cursor movement).
func (l *Live) lines() []string {
	s := &l.cur
	W := l.opt.Width
	var out []string

	right := "plant " + clock(s.T)
	if el := l.wallNow.Sub(l.firstWall).Seconds(); el >= 0.5 && s.T > l.firstT {
		right += "  x" + num((s.T-l.firstT)/el, 0, 0)
	}
	left := sanitize(orString(l.opt.Title, "coldaisle"))
	left = clipRunes(left, W-utf8.RuneCountInString(right)-1)
	out = append(out, left+strings.Repeat(" ", max(1, W-utf8.RuneCountInString(left)-utf8.RuneCountInString(right)))+right)
	out = append(out, "")
	out = append(out, fmt.Sprintf("%-10s %-8s %-16s  %5s  %-10s %5s %5s %5s", "unit", "mode", "fan", "valve", "zone", "meas", "sp", "diff"))

	units := s.Units
	rest := 0
	if l.opt.MaxUnits > 0 && len(units) > l.opt.MaxUnits {
		units, rest = units[:l.opt.MaxUnits-1], len(units)-l.opt.MaxUnits+1
	}
	for _, u := range units {
		out = append(out, l.unitRow(u))
	}
	if rest > 0 {
		alarms := 0
		for _, u := range s.Units[len(units):] {
			if u.Alarm {
				alarms++
			}
		}
		out = append(out, fmt.Sprintf("... %d more units, %d in alarm", rest, alarms))
	}
	out = append(out, "")

	out = append(out, fmt.Sprintf("fan power   %s kW   baseline %s kW   saving %s %%",
		num(s.FanKW, 7, 2), num(s.BaselineFanKW, 7, 2), num(savingPct(s.FanKW, s.BaselineFanKW), 5, 1)))
	out = append(out, fmt.Sprintf("fan energy  %s kWh  baseline %s kWh  saving %s %%",
		num(s.FanKWh, 7, 2), num(s.BaselineFanKWh, 7, 2), num(savingPct(s.FanKWh, s.BaselineFanKWh), 5, 1)))
	m := s.MaxInletC()
	mcol := ""
	if m > l.opt.LimitC {
		mcol = escBoldRed
	} else if m > l.setpoint(s)+l.opt.BandK {
		mcol = escYellow
	}
	peak := ""
	if isFinite(l.peakC) {
		peak = fmt.Sprintf("   peak %s C at %s", num(l.peakC, 0, 1), clock(l.peakT))
	}
	// true: the plant's rack inlets, which no controller sees; meas: the zones as its sensors
	// report them (delayed, noisy, with dropouts), the numbers it acts on
	out = append(out, fmt.Sprintf("true inlet  %s C max, plant truth%s   >%s C %s min",
		l.color(mcol, num(m, 7, 2)), peak, num(l.opt.LimitC, 0, 0), num(l.aboveS/60, 0, 1)))
	out = append(out, fmt.Sprintf("meas inlet  %s C max, as the controller's sensors report it (meas column)", num(s.MaxMeasuredC(), 7, 2)))
	if al := activeAlarms(s.Units, maxAlarmLines); len(al) > 0 {
		out = append(out, "")
		out = append(out, l.color(escRed, "alarms"))
		for _, a := range al {
			out = append(out, "  "+a)
		}
	}
	out = append(out, "")
	out = append(out, fmt.Sprintf("events (%s: the room's script; %s: what it did)", tagScenario, tagController))
	if len(l.events) == 0 {
		out = append(out, "  (none yet)")
	}
	for _, e := range l.events {
		out = append(out, fmt.Sprintf("%7s  %-10s %s", clock(e.T), tag(e), sanitize(e.Label)))
	}
	return out
}

// Tags of the event lines: the room's scripted events and the controller's own.
const (
	tagScenario   = "scenario"
	tagController = "controller"
)

func tag(e Event) string {
	if e.Controller {
		return tagController
	}
	return tagScenario
}

// maxAlarmLines bounds the alarm lines of a frame (the rest are counted).
const maxAlarmLines = 4

// activeAlarms lists the units' alarm reasons, "unit: reason", once each: a zone's alarm shared
// by several units ("zone row-a: ...") is listed once, without a unit. A unit in alarm without
// a reason says so. At most n lines; a last line counts the rest.
func activeAlarms(us []Unit, n int) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, u := range us {
		if !u.Alarm && len(u.Alarms) == 0 {
			continue
		}
		if len(u.Alarms) == 0 {
			add(sanitize(u.Name) + ": alarm (no reason given)")
		}
		for _, a := range u.Alarms {
			if strings.HasPrefix(a, "zone ") {
				add(sanitize(a))
			} else {
				add(sanitize(u.Name) + ": " + sanitize(a))
			}
		}
	}
	if len(out) > n {
		k := len(out) - n + 1
		out = append(out[:n-1], fmt.Sprintf("... and %d more", k))
	}
	return out
}

// alarmText is a headless line's alarm change of u, with the reasons when known.
func alarmText(u Unit) string {
	switch {
	case !u.Alarm:
		return "alarm cleared"
	case len(u.Alarms) == 0:
		return "alarm (no reason given)"
	}
	rs := make([]string, len(u.Alarms))
	for i, a := range u.Alarms {
		rs[i] = sanitize(a)
	}
	return "alarm: " + strings.Join(rs, "; ")
}

func (l *Live) unitRow(u Unit) string {
	name := clipRunes(sanitize(u.Name), 10)
	mode := clipRunes(sanitize(u.Mode), 8)
	zone := clipRunes(sanitize(u.Zone), 10)
	row := fmt.Sprintf("%-10s %-8s %s %s  %5s  %-10s ", name, mode, bar(u.FanPct, 10, l.opt.ASCII),
		num(u.FanPct, 4, 0)+"%", pct(u.ValvePct), zone)
	col := ""
	d := u.ZoneC - u.SetpointC
	switch {
	case !isFinite(u.ZoneC):
	case u.ZoneC > l.opt.LimitC:
		col = escBoldRed
	case d > l.opt.BandK:
		col = escYellow
	}
	row += l.color(col, num(u.ZoneC, 5, 1)) + " " + num(u.SetpointC, 5, 1) + " " + signed(d)
	if u.Alarm {
		row += " " + l.color(escRed, "ALARM")
	}
	return row
}

// ---- formatting helpers ---------------------------------------------------------------

// bar draws v (0..100) in n cells; block characters give eighths of a cell.
func bar(v float64, n int, ascii bool) string {
	if !isFinite(v) {
		return strings.Repeat(" ", n)
	}
	f := math.Max(0, math.Min(1, v/100)) * float64(n)
	if ascii {
		k := int(math.Round(f))
		return strings.Repeat("#", k) + strings.Repeat(".", n-k)
	}
	eighths := int(math.Round(f * 8))
	full, part := eighths/8, eighths%8
	var b strings.Builder
	b.WriteString(strings.Repeat("█", full))
	if full < n {
		if part > 0 {
			b.WriteRune([]rune("▏▎▍▌▋▊▉")[part-1])
			full++
		}
		b.WriteString(strings.Repeat("░", n-full))
	}
	return b.String()
}

// num formats v right-aligned in w columns (w = 0: no padding) with p decimals, "--" when
// not finite. Absurd values never widen a column: they print in %g, or as stars.
func num(v float64, w, p int) string {
	if !isFinite(v) {
		return fmt.Sprintf("%*s", w, "--")
	}
	limit := w
	if limit <= 0 {
		limit = 10
	}
	s := fmt.Sprintf("%.*f", p, v)
	if len(s) > limit {
		s = fmt.Sprintf("%.*g", max(1, limit-6), v)
		if len(s) > limit {
			s = strings.Repeat("*", limit)
		}
	}
	return fmt.Sprintf("%*s", w, s)
}

func pct(v float64) string {
	if !isFinite(v) {
		return "   --"
	}
	return num(v, 4, 0) + "%"
}

func signed(d float64) string {
	if !isFinite(d) {
		return "   --"
	}
	s := fmt.Sprintf("%+.1f", d)
	if len(s) > 5 {
		if d > 0 {
			return ">+99"
		}
		return "<-99"
	}
	return fmt.Sprintf("%5s", s)
}

// savingPct is (1 - ours/baseline) * 100, NaN when the baseline is not positive.
func savingPct(ours, base float64) float64 {
	if !(base > 0) || !isFinite(ours) || !isFinite(base) {
		return math.NaN()
	}
	return (1 - ours/base) * 100
}

func orString(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// sanitize replaces control characters (an ESC in a unit name would drive the terminal)
// and invalid UTF-8 with '?'.
func sanitize(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}

// clipRunes cuts s to at most n runes, marking a cut with '~'.
func clipRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "~"
}

// clipVisible cuts s to n visible columns, skipping CSI escape sequences when counting; a
// cut after a colour code resets the attributes.
func clipVisible(s string, n int) string {
	var b strings.Builder
	vis, esc := 0, false
	for i := 0; i < len(s); {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			if j < len(s) {
				j++
			}
			b.WriteString(s[i:j])
			esc = true
			i = j
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if vis == n {
			if esc {
				b.WriteString(escReset)
			}
			return b.String()
		}
		b.WriteRune(r)
		vis++
		i += size
	}
	return b.String()
}
