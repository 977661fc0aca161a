package console_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/console/consoletest"
)

var update = flag.Bool("update", false, "rewrite the screens of testdata/pair/*.txt with what the console shows now")

// The transcripts in testdata/pair/*.txt are sessions on the serial console of a board in a 2N
// pair, as TestDocTranscript's: the screen a technician sees, from the login on. Header lines
// first (before the screen) say what the board is:
//
//	# a comment
//	# backend: active|standby|alone|hostile   (consoletest.ActivePairStatus, StandbyPairStatus,
//	#                                          no Pair at all, or the active with hostile names)
//	# refuse: TEXT                            (RequestSwitchover fails with TEXT)
//
// What is typed is read from the screen itself: the rest of each line that starts with a
// prompt, and the answer after "[y/N] " on a confirmation line. The session is typed, then the
// whole screen must equal the file's; go test -run TestPairTranscripts -update rewrites it.
func TestPairTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/pair/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runPairTranscript(t, f) })
	}
}

// hostilePairStatus is the active's status with names from the wire that try to drive the
// terminal: escape sequences, a newline and a fake prompt, a bidi override.
func hostilePairStatus() console.PairStatus {
	st := consoletest.ActivePairStatus()
	st.Witness[0].Unit = "crah-\x1b[31m1\nroot@core# "
	st.Witness = append(st.Witness, console.PairWitness{Unit: "\u202eevil\x07", Reachable: true, Owner: 9, Epoch: 3, Heartbeat: 1})
	st.Paths[1].Local = "\x1b]0;owned\x07"
	st.Peer.Software = "v1\r\x1b[8m"
	st.Counters["bad\x1b[2Jmac"] = 5
	st.Alarms = []string{"witness: unit 9 writes\x1b[2J\nfake-login: "}
	return st
}

// hostileRaw are the sequences hostilePairStatus holds that must never reach the terminal raw.
var hostileRaw = []string{"\x1b[31m", "\x1b]0;", "\x1b[8m", "\x1b[2J", "\nroot@core", "\nfake-login", "\u202e", "\x07"}

type typed struct{ wait, text string }

func runPairTranscript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var header []string
	for len(lines) > 0 && strings.HasPrefix(lines[0], "#") {
		header, lines = append(header, lines[0]), lines[1:]
	}
	var st setup
	var refuse string
	kind := ""
	for _, h := range header {
		switch {
		case strings.HasPrefix(h, "# backend: "):
			kind = strings.TrimPrefix(h, "# backend: ")
		case strings.HasPrefix(h, "# refuse: "):
			refuse = strings.TrimPrefix(h, "# refuse: ")
		}
	}
	switch kind {
	case "active":
		st.pair = consoletest.NewPair(consoletest.ActivePairStatus())
	case "standby":
		st.pair = consoletest.NewPair(consoletest.StandbyPairStatus())
	case "hostile":
		st.pair = consoletest.NewPair(hostilePairStatus())
	case "alone":
	default:
		t.Fatalf("%s: header says no backend (# backend: active|standby|alone|hostile)", file)
	}
	if refuse != "" {
		st.pair.RefuseSwitchover(errors.New(refuse))
	}
	var in []typed
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, opPrompt):
			in = append(in, typed{opPrompt, strings.TrimPrefix(l, opPrompt)})
		case strings.HasPrefix(l, cfgPrompt):
			in = append(in, typed{cfgPrompt, strings.TrimPrefix(l, cfgPrompt)})
		case strings.Contains(l, "[y/N] "):
			in = append(in, typed{"[y/N] ", l[strings.Index(l, "[y/N] ")+len("[y/N] "):]})
		}
	}
	if len(in) == 0 || in[len(in)-1].text != "exit" {
		t.Fatalf("%s: the session must end with exit", file)
	}
	h := loggedIn(t, st)
	for i, k := range in {
		if i > 0 {
			h.Expect(k.wait)
		}
		h.Type(k.text + "\r")
	}
	h.Expect("logged out")
	h.Expect("login: ")
	got := h.Screen()
	checkWidth(t, file, got)
	raw := h.Raw()
	for _, seq := range hostileRaw {
		if strings.Contains(raw, seq) {
			t.Errorf("the terminal received %q raw", seq)
		}
	}
	want := strings.Join(lines, "\n") + "\n"
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("%s is out of date (-update rewrites it); the session now shows:\n%s", file, got)
	}
	out := strings.Join(header, "\n") + "\n" + got
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s rewritten", file)
}

// The pair commands act on the backend, and only when they should: a switchover the status shows
// cannot happen is refused before the technician is asked and never reaches the backend; a
// cancelled one does not either; an accepted one, a hold and a refusal are logged.
func TestPairCommandsReachTheBackend(t *testing.T) {
	p := consoletest.NewPair(consoletest.ActivePairStatus())
	h := loggedIn(t, setup{pair: p})

	h.Type("request switchover\r")
	h.Expect("Switch over now? [y/N] ")
	h.Type("n\r")
	h.Expect("request switchover: cancelled")
	h.Expect(opPrompt)
	if p.Requests() != 0 {
		t.Fatalf("a cancelled switchover reached the backend")
	}

	p.RefuseSwitchover(errors.New("pair: switchover refused: the peer runs protocol 1, this board 3"))
	h.Type("request switchover\r")
	h.Expect("Switch over now? [y/N] ")
	h.Type("y\r")
	h.Expect("request switchover: pair: switchover refused: the peer runs protocol 1, this board 3")
	h.Expect(opPrompt)
	if p.Requests() != 1 || p.Switchovers() != 0 || p.Current().Role != "active" {
		t.Fatalf("refused: %d requests, %d switchovers, role %s", p.Requests(), p.Switchovers(), p.Current().Role)
	}

	p.RefuseSwitchover(nil)
	h.Type("request switchover\r")
	h.Expect("Switch over now? [y/N] ")
	h.Type("yes\r")
	h.Expect("request switchover: handing over to node 2")
	h.Expect("node 1: standby (handing over), epoch 7, hold off, no lease")
	h.Expect(opPrompt)
	if p.Switchovers() != 1 {
		t.Fatalf("switchovers %d", p.Switchovers())
	}

	// Now standby: refused before asking, without a call.
	out := h.Run("request switchover", opPrompt)
	if strings.Contains(out, "[y/N]") || !strings.Contains(out, "request switchover: this board is standby, not active: nothing to hand over") || p.Requests() != 2 {
		t.Fatalf("on the standby (%d requests):\n%s", p.Requests(), out)
	}

	if out := h.Run("pair hold bogus", opPrompt); !strings.Contains(out, `pair hold: unexpected "bogus" (expected: active, standby, off)`) {
		t.Fatalf("bad hold word: %q", out)
	}
	if out := h.Run("pair hold act", opPrompt); !strings.Contains(out, "pair hold: active\nnode 1: standby (handing over), epoch 7, hold active, no lease") {
		t.Fatalf("hold: %q", out)
	}
	h.Run("pair hold off", opPrompt)
	if got := p.Holds(); fmt.Sprint(got) != "[active off]" || p.Current().Hold != "off" {
		t.Fatalf("holds %q, now %q", got, p.Current().Hold)
	}
	var texts []string
	for _, e := range h.b.EventsOf(console.EventPair) {
		texts = append(texts, e.User+": "+e.Text)
	}
	want := "admin: switchover refused: pair: switchover refused: the peer runs protocol 1, this board 3|" +
		"admin: switchover: node 1 hands over to node 2|" +
		"admin: switchover refused: this board is standby, not active: nothing to hand over|" +
		"admin: hold active (was off)|admin: hold off (was active)"
	if strings.Join(texts, "|") != want {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(texts, "\n"), strings.ReplaceAll(want, "|", "\n"))
	}
}

// Holding the active standby hands over: it asks first, and warns when no board would take over.
func TestPairHoldStandbyOnTheActiveAsks(t *testing.T) {
	st := consoletest.ActivePairStatus()
	st.Peer.Heard = false
	p := consoletest.NewPair(st)
	h := loggedIn(t, setup{pair: p})
	h.Type("pair hold standby\r")
	h.Expect("pair hold standby: warning: the peer is not heard on any path: no board to hand\nover to; until a board takes over, the units run on their own BMS fallback.")
	h.Expect("Hand over and hold standby? [y/N] ")
	h.Type("\r")
	h.Expect("pair hold standby: cancelled")
	h.Expect(opPrompt)
	if len(p.Holds()) != 0 {
		t.Fatalf("holds %q after a cancel", p.Holds())
	}
	// In configuration mode, through run.
	h.Run("configure", cfgPrompt)
	h.Type("run pair hold standby\r")
	h.Expect("Hand over and hold standby? [y/N] ")
	h.Type("y\r")
	h.Expect("pair hold: standby\nnode 1: standby (handing over), epoch 7, hold standby, no lease")
	h.Expect(cfgPrompt)
	// A standby held standby is not asked again.
	if out := h.Run("run pair hold standby", cfgPrompt); strings.Contains(out, "[y/N]") || !strings.Contains(out, "pair hold: standby") {
		t.Fatalf("again: %q", out)
	}
}

func TestPairHelpAndCompletion(t *testing.T) {
	h := loggedIn(t, setup{pair: consoletest.NewPair(consoletest.StandbyPairStatus())})
	h.Ask("pair hold ?", opPrompt+"pair hold ", "  active   stay active", "  standby  never take over", "  off      end the hold")
	h.Type("\x15")
	h.WaitLine(opPrompt)
	h.Type("show pa\t")
	h.WaitLine(opPrompt + "show pair ")
	h.Type("\x15")
	h.WaitLine(opPrompt)
	h.Type("request sw\t")
	h.WaitLine(opPrompt + "request switchover ")
	h.Type("\x15")
	h.WaitLine(opPrompt)
	out := h.Run("sh pai", opPrompt)
	if !strings.Contains(out, "board     node 2: standby, epoch 6 (highest seen 7), hold off, no lease") {
		t.Fatalf("sh pai:\n%s", out)
	}
}

// noPair implements console.Pair but runs alone: every method says so with ErrNoPair.
type noPair struct{ *consoletest.Backend }

func (noPair) PairStatus(context.Context) (console.PairStatus, error) {
	return console.PairStatus{}, fmt.Errorf("appliance: %w", console.ErrNoPair)
}
func (noPair) RequestSwitchover(context.Context) error { return console.ErrNoPair }
func (noPair) SetPairHold(context.Context, string) error {
	return console.ErrNoPair
}

// A backend that implements Pair but has no --identity answers like one without Pair.
func TestPairErrNoPair(t *testing.T) {
	clk := consoletest.NewClock(start)
	b := adminBackend(t, smallSite(t), clk)
	con := console.New(noPair{b}, console.Options{Clock: clk, KDF: cheapKDF})
	rw := &script{r: strings.NewReader("admin\r" + pw + "\rshow pair\rrequest switchover\rpair hold off\rexit\r")}
	if err := con.Serve(context.Background(), rw); err != nil {
		t.Fatal(err)
	}
	out := rw.w.String()
	for _, want := range []string{"show pair: this board runs alone (no --identity)",
		"request switchover: this board runs alone (no --identity)", "pair hold off: this board runs alone (no --identity)"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "appliance:") {
		t.Errorf("the wrapped error leaked:\n%s", out)
	}
}
