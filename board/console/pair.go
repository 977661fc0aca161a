package console

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Pair is the 2N pair, for a backend whose board runs in one. It is optional: the console finds it
// by a type assertion on the Backend, and a backend without it (a board run without --identity)
// answers every pair command with "this board runs alone (no --identity)". A backend that
// implements it but runs alone may return an error wrapping ErrNoPair from any method instead.
type Pair interface {
	PairStatus(ctx context.Context) (PairStatus, error)
	// RequestSwitchover asks this board, when active, to hand over to its peer cleanly. The error
	// says why not (not active, peer not heard, peer held standby, held active). The console checks
	// these on PairStatus before asking the technician, but the status may have changed since:
	// the backend decides.
	RequestSwitchover(ctx context.Context) error
	// SetPairHold sets the maintenance hold: "active", "standby" or "off" (the console sends no
	// other word).
	SetPairHold(ctx context.Context, hold string) error
}

// ErrNoPair may be wrapped by a Pair's methods when this board runs alone after all.
var ErrNoPair = errors.New("console: this board runs alone (no --identity)")

// EventPair is the kind of the events the pair commands log (switchover asked or refused, hold).
const EventPair = "pair"

// PairStatus is this board's view of its pair, for show pair. Strings are shown escaped.
type PairStatus struct {
	NodeID         uint16
	Role           string        // "waiting", "standby", "active"
	Epoch          uint16        // the epoch it writes (or would write) with
	Highest        uint16        // the highest epoch seen anywhere
	Hold           string        // "off", "standby", "active"
	Yielding       bool          // handing over
	Lease          time.Duration // what is left of the write lease (0: none)
	TakeoverBudget time.Duration
	Peer           PairPeer
	Paths          []PairPath
	Witness        []PairWitness
	Counters       map[string]uint64 // peer-link drop counters by reason, sent/received
	Alarms         []string          // "kind: reason"
}

// PairPeer is what this board knows of its peer from the peer's heartbeats.
type PairPeer struct {
	NodeID        uint16 // 0: never heard
	Heard         bool
	Ago           time.Duration // since its last heartbeat (on any path)
	Role          string
	Epoch         uint16
	Priority      int
	Hold          string
	FieldOK       bool
	Software      string
	ConfigVersion uint64
	ConfigMatch   bool // runs the same configuration (version and hash) as this board
}

// PairPath is one path of the peer link.
type PairPath struct {
	Local, Remote string
	Heard         bool
	Ago           time.Duration
}

// PairWitness is one unit's owner block as this board last read it.
type PairWitness struct {
	Unit                    string
	Reachable               bool
	Owner, Epoch, Heartbeat uint16
	Quiet                   time.Duration // how long its owner block has not moved (as this board saw it)
}

const runsAlone = "this board runs alone (no --identity)"

// pair returns the backend's Pair, or the line a board that runs alone answers cmd with.
func (s *session) pair(cmd string) (Pair, error) {
	if p, ok := s.c.b.(Pair); ok {
		return p, nil
	}
	return nil, &userError{cmd + ": " + runsAlone}
}

// pairErr words an error of the Pair like backendErr, a board running alone as the same line.
func pairErr(cmd string, err error) error {
	if errors.Is(err, ErrNoPair) {
		return &userError{cmd + ": " + runsAlone}
	}
	return backendErr(cmd, err)
}

// pairDur is a duration as show pair gives it: milliseconds under 10 s (heartbeats and leases
// live there), whole seconds under an hour, minutes above.
func pairDur(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d > 0 && d < time.Millisecond:
		return "<1ms"
	case d < 10*time.Second:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond)/time.Millisecond)
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// word is a word from the backend, printable; "-" when empty.
func word(s string) string {
	if s == "" {
		return "-"
	}
	return printable(s)
}

// pairRoleLine is this board's role in one line: show pair's first, and what pair hold answers.
func pairRoleLine(st PairStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "node %d: %s", st.NodeID, word(st.Role))
	if st.Yielding {
		b.WriteString(" (handing over)")
	}
	fmt.Fprintf(&b, ", epoch %d", st.Epoch)
	if st.Highest != st.Epoch {
		fmt.Fprintf(&b, " (highest seen %d)", st.Highest)
	}
	b.WriteString(", hold " + word(st.Hold))
	if st.Lease > 0 {
		b.WriteString(", lease " + pairDur(st.Lease))
	} else {
		b.WriteString(", no lease")
	}
	return b.String()
}

// heardText says when something was last heard: "heard 40ms ago", "silent for 2s", "never heard".
func heardText(heard bool, ago time.Duration) string {
	switch {
	case heard:
		return "heard " + pairDur(ago) + " ago"
	case ago > 0:
		return "silent for " + pairDur(ago)
	}
	return "never heard"
}

// pairPeerLines is the peer's part of show pair; runVer is the configuration version this board
// runs (to say what differs).
func pairPeerLines(p PairPeer, runVer int) []string {
	if p.NodeID == 0 && !p.Heard {
		return []string{heardText(false, p.Ago)}
	}
	state := fmt.Sprintf("%s, epoch %d, priority %d, hold %s", word(p.Role), p.Epoch, p.Priority, word(p.Hold))
	first := fmt.Sprintf("node %d: %s, %s", p.NodeID, state, heardText(true, p.Ago))
	if !p.Heard {
		first = fmt.Sprintf("node %d: %s (last: %s)", p.NodeID, heardText(false, p.Ago), state)
	}
	cfg := fmt.Sprintf("config version %d", p.ConfigVersion)
	switch {
	case p.ConfigMatch:
		cfg += " (same)"
	case p.ConfigVersion != uint64(max(runVer, 0)):
		cfg += fmt.Sprintf(" (DIFFERS: this board runs %d)", runVer)
	default:
		cfg += " (DIFFERS: same number, other content)"
	}
	field := "reaches its units"
	if !p.FieldOK {
		field = "reaches no unit"
	}
	return []string{first, fmt.Sprintf("software %s, %s, %s", word(p.Software), cfg, field)}
}

func pairPathLines(ps []PairPath) []string {
	if len(ps) == 0 {
		return []string{"none"}
	}
	wl, wr := 0, 0
	for _, p := range ps {
		wl, wr = max(wl, len([]rune(printable(p.Local)))), max(wr, len([]rune(printable(p.Remote))))
	}
	var out []string
	for _, p := range ps {
		l, r := printable(p.Local), printable(p.Remote)
		out = append(out, fmt.Sprintf("%s%s -> %s%s  %s", l, strings.Repeat(" ", wl-len([]rune(l))),
			r, strings.Repeat(" ", wr-len([]rune(r))), heardText(p.Heard, p.Ago)))
	}
	return out
}

// ownerText names a unit's owner: this board, its peer, none, or just the id (a third writer).
func ownerText(owner, self, peer uint16) string {
	switch {
	case owner == 0:
		return "none"
	case owner == self:
		return fmt.Sprintf("%d self", owner)
	case peer != 0 && owner == peer:
		return fmt.Sprintf("%d peer", owner)
	}
	return fmt.Sprintf("%d other", owner)
}

func (s *session) pairWitnessLines(st PairStatus, width int) []string {
	if len(st.Witness) == 0 {
		return []string{"none"}
	}
	var rows [][]string
	for _, w := range st.Witness {
		if !w.Reachable {
			rows = append(rows, []string{w.Unit, "no", "-", "-", "-", pairDur(w.Quiet)})
			continue
		}
		rows = append(rows, []string{w.Unit, "yes", ownerText(w.Owner, st.NodeID, st.Peer.NodeID),
			fmt.Sprint(w.Epoch), fmt.Sprint(w.Heartbeat), pairDur(w.Quiet)})
	}
	t := layoutTable([]column{
		{title: "unit", keep: true}, {title: "reached"}, {title: "owner"},
		{title: "epoch", right: true}, {title: "heartbeat", right: true}, {title: "quiet", right: true},
	}, rows, width)
	return strings.Split(strings.TrimRight(t, "\n"), "\n")
}

// pairCounterText is the peer-link counters on a line: sent and received first, then the
// drops by reason; only those that are not zero, unless all are.
func pairCounterText(cs map[string]uint64) string {
	if len(cs) == 0 {
		return "none"
	}
	names := make([]string, 0, len(cs))
	for k := range cs {
		names = append(names, k)
	}
	rank := func(n string) int {
		switch n {
		case "sent":
			return 0
		case "received":
			return 1
		}
		return 2
	}
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, n := range names {
		if cs[n] != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", printable(n), cs[n]))
		}
	}
	if len(parts) == 0 {
		return "all zero"
	}
	return strings.Join(parts, ", ")
}

// pairKeyWidth is the width of show pair's section names ("counters" and two spaces).
const pairKeyWidth = 10

func (s *session) showPair([]string) error {
	const cmd = "show pair"
	p, err := s.pair(cmd)
	if err != nil {
		return err
	}
	st, err := p.PairStatus(s.ctx)
	if err != nil {
		return pairErr(cmd, err)
	}
	textW := max(20, s.width-1-pairKeyWidth)
	var b strings.Builder
	section := func(key string, lines []string, wrap bool) {
		first := true
		for _, l := range lines {
			parts := []string{l}
			if wrap {
				parts = wrapText(l, textW)
			}
			for _, part := range parts {
				k := ""
				if first {
					k, first = key, false
				}
				fmt.Fprintf(&b, "%-*s%s\n", pairKeyWidth, k, part)
			}
		}
	}
	role := []string{pairRoleLine(st)}
	if st.Role == "waiting" {
		role = append(role, "(writes nothing until it hears its peer or sees the units stay quiet for the takeover budget)")
	}
	section("board", role, true)
	if st.TakeoverBudget > 0 {
		section("takeover", []string{"budget " + pairDur(st.TakeoverBudget)}, true)
	}
	section("peer", pairPeerLines(st.Peer, s.runVer.N), true)
	section("paths", pairPathLines(st.Paths), true)
	section("witness", s.pairWitnessLines(st, s.width-pairKeyWidth), false)
	section("counters", []string{pairCounterText(st.Counters)}, true)
	alarms := []string{"none"}
	if len(st.Alarms) > 0 {
		alarms = nil
		for _, a := range st.Alarms {
			alarms = append(alarms, printable(a))
		}
	}
	section("alarms", alarms, true)
	s.write(b.String())
	return nil
}

// switchoverBlocked says why the status already shows a switchover would be refused ("" when it
// would not): the same reasons the pair's state machine refuses one for, so the technician is
// not asked to decide on a handover that cannot happen.
func switchoverBlocked(st PairStatus) string {
	switch {
	case st.Role != "active" && st.Peer.Heard && st.Peer.Role == "active":
		return fmt.Sprintf("this board is %s; the active is node %d: ask there", word(st.Role), st.Peer.NodeID)
	case st.Role != "active":
		return fmt.Sprintf("this board is %s, not active: nothing to hand over", word(st.Role))
	case st.Yielding:
		return "this board is already handing over"
	case st.Hold == "active":
		return "this board is held active (pair hold off first)"
	case !st.Peer.Heard:
		return "the peer is not heard on any path: no board to hand over to"
	case !st.Peer.FieldOK:
		return fmt.Sprintf("the peer, node %d, reaches no unit: it could not take over", st.Peer.NodeID)
	case st.Peer.Hold == "standby":
		return fmt.Sprintf("the peer, node %d, is held standby (pair hold off on it first)", st.Peer.NodeID)
	}
	return ""
}

// say prints a message of the console's own (anything from outside in it already printable),
// wrapped at words to the terminal, as help is: the terminal itself would cut words.
func (s *session) say(msg string) {
	s.write(strings.Join(wrapText(msg, max(20, min(s.width-1, 79))), "\n") + "\n")
}

// pairTimeout bounds a pair request: the console must not hang on a backend that does.
const pairTimeout = 10 * time.Second

func (s *session) requestSwitchover([]string) error {
	const cmd = "request switchover"
	p, err := s.pair(cmd)
	if err != nil {
		return err
	}
	st, err := p.PairStatus(s.ctx)
	if err != nil {
		return pairErr(cmd, err)
	}
	// Ask whether it can happen before asking whether it should (as reboot does).
	if why := switchoverBlocked(st); why != "" {
		s.logEvent(EventPair, "switchover refused: "+why)
		return &userError{cmd + ": " + why}
	}
	s.say(fmt.Sprintf("request switchover: node %d takes over from this board (node %d) with a higher epoch and the state it holds, without a step in any fan; this board stays as its standby.",
		st.Peer.NodeID, st.NodeID))
	if !st.Peer.ConfigMatch {
		s.say(fmt.Sprintf("request switchover: warning: node %d runs another configuration (version %d; this board %d).", st.Peer.NodeID, st.Peer.ConfigVersion, s.runVer.N))
	}
	if ok, err := s.confirmed("request switchover", "Switch over now?"); !ok {
		return err
	}
	ctx, cancel := context.WithTimeout(s.ctx, pairTimeout)
	defer cancel()
	if err := p.RequestSwitchover(ctx); err != nil {
		s.logEvent(EventPair, "switchover refused: "+oneLine(err.Error()))
		return pairErr(cmd, err)
	}
	s.logEvent(EventPair, fmt.Sprintf("switchover: node %d hands over to node %d", st.NodeID, st.Peer.NodeID))
	s.printf("request switchover: handing over to node %d\n", st.Peer.NodeID)
	if now, err := p.PairStatus(s.ctx); err == nil {
		s.write(pairRoleLine(now) + "\n")
	}
	return nil
}

func (s *session) pairHold(hold string) error {
	cmd := "pair hold " + hold
	p, err := s.pair(cmd)
	if err != nil {
		return err
	}
	st, err := p.PairStatus(s.ctx)
	if err != nil {
		return pairErr(cmd, err)
	}
	if hold == "standby" && st.Role == "active" && st.Hold != "standby" {
		// Holding the active standby hands over at once: as disruptive as a switchover, and
		// with no peer to take over, nobody controls until the hold ends.
		s.say(fmt.Sprintf("pair hold standby: this board (node %d) is active: it hands over now and stays standby until pair hold off.", st.NodeID))
		if why := switchoverBlocked(st); why != "" {
			s.say("pair hold standby: warning: " + why + "; until a board takes over, the units run on their own BMS fallback.")
		}
		if ok, err := s.confirmed("pair hold standby", "Hand over and hold standby?"); !ok {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(s.ctx, pairTimeout)
	defer cancel()
	if err := p.SetPairHold(ctx, hold); err != nil {
		return pairErr(cmd, err)
	}
	s.logEvent(EventPair, fmt.Sprintf("hold %s (was %s)", hold, word(st.Hold)))
	s.printf("pair hold: %s\n", hold)
	if now, err := p.PairStatus(s.ctx); err == nil {
		s.write(pairRoleLine(now) + "\n")
	}
	return nil
}

// pairNodes is the grammar of the pair commands: pair hold and request switchover (show pair is
// under show).
func pairNodes() []*node {
	hold := func(h string) func(*session, []string) error {
		return func(s *session, _ []string) error { return s.pairHold(h) }
	}
	return []*node{
		kw("pair", "the 2N pair: maintenance hold", nil,
			kw("hold", "hold this board's role for maintenance (show pair shows it)", nil,
				kw("active", "stay active: refuse switchovers, win a tie (maintenance of the peer)", hold("active")),
				kw("standby", "never take over; an active board hands over (maintenance of this one)", hold("standby")),
				kw("off", "end the hold: the pair decides the roles again", hold("off")))),
		kw("request", "ask the 2N pair for a change", nil,
			kw("switchover", "the active board hands over to its peer, without a bump (asks first)", (*session).requestSwitchover)),
	}
}
