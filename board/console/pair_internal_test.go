package console

import (
	"strings"
	"testing"
	"time"
)

func TestPairDur(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "-"}, {0, "0ms"}, {300 * time.Microsecond, "<1ms"}, {1499 * time.Microsecond, "1ms"},
		{40 * time.Millisecond, "40ms"}, {9999 * time.Millisecond, "9999ms"}, {10 * time.Second, "10s"},
		{73*time.Second + 400*time.Millisecond, "1m13s"}, {59*time.Minute + 59*time.Second, "59m59s"},
		{2*time.Hour + 5*time.Minute + 40*time.Second, "2h6m"}, {1<<63 - 1, "2562047h47m"},
	} {
		if got := pairDur(c.d); got != c.want {
			t.Errorf("pairDur(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestPairCounterText(t *testing.T) {
	for _, c := range []struct {
		cs   map[string]uint64
		want string
	}{
		{nil, "none"},
		{map[string]uint64{"sent": 0, "bad-mac": 0}, "all zero"},
		{map[string]uint64{"replayed": 2, "bad-mac": 3, "received": 9, "sent": 10, "foreign-node": 0}, "sent 10, received 9, bad-mac 3, replayed 2"},
		{map[string]uint64{"x\x1b[2J": 1}, `x\x1b[2J 1`},
	} {
		if got := pairCounterText(c.cs); got != c.want {
			t.Errorf("pairCounterText(%v) = %q, want %q", c.cs, got, c.want)
		}
	}
}

// Each reason the pair's state machine refuses a switchover for is caught from the status.
func TestSwitchoverBlocked(t *testing.T) {
	ok := PairStatus{NodeID: 1, Role: "active", Hold: "off", Peer: PairPeer{NodeID: 2, Heard: true, Role: "standby", Hold: "off", FieldOK: true}}
	if why := switchoverBlocked(ok); why != "" {
		t.Fatalf("a healthy active is blocked: %s", why)
	}
	for _, c := range []struct {
		edit func(*PairStatus)
		want string
	}{
		{func(s *PairStatus) { s.Role, s.Peer.Role = "standby", "active" }, "the active is node 2: ask there"},
		{func(s *PairStatus) { s.Role = "waiting" }, "this board is waiting, not active"},
		{func(s *PairStatus) { s.Yielding = true }, "already handing over"},
		{func(s *PairStatus) { s.Hold = "active" }, "held active (pair hold off first)"},
		{func(s *PairStatus) { s.Peer.Heard = false }, "the peer is not heard"},
		{func(s *PairStatus) { s.Peer.FieldOK = false }, "node 2, reaches no unit"},
		{func(s *PairStatus) { s.Peer.Hold = "standby" }, "node 2, is held standby"},
	} {
		st := ok
		c.edit(&st)
		if why := switchoverBlocked(st); !strings.Contains(why, c.want) {
			t.Errorf("%+v: %q, want %q", st, why, c.want)
		}
	}
}
