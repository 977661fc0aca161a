package console_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/board/console/consoletest"
)

func TestFirstLoginForcesPasswordChange(t *testing.T) {
	h := newTech(t, setup{})
	h.Expect("login: ")
	h.Type("admin\r")
	h.Expect("Password: ")
	h.Type("coldaisle\r")
	h.Expect("must be changed before going on (at least 8 characters)")
	h.Expect("New password: ")
	h.Type("short\r")
	h.Expect("password: too short: at least 8 characters")
	h.Expect("New password: ")
	h.Type("coldaisle\r")
	h.Expect("password: must differ from the current and the factory password")
	h.Expect("New password: ")
	h.Type("fan-wall-2025\r")
	h.Expect("Retype new password: ")
	h.Type("fan-wall-2024\r")
	h.Expect("password: the two entries differ; try again")
	h.Expect("New password: ")
	h.Type("fan-wall-2025\r")
	h.Expect("Retype new password: ")
	h.Type("fan-wall-2025\r")
	h.Expect("password changed")
	h.Expect(opPrompt)
	if strings.Contains(h.Screen(), "fan-wall") || strings.Contains(h.Screen(), "password: short") {
		t.Fatalf("a password was echoed:\n%s", h.Screen())
	}
	u, _ := h.b.User("admin")
	if u.MustChange || !console.CheckPassword(u.Hash, "fan-wall-2025") {
		t.Fatalf("user not updated: %+v", u)
	}
	h.Run("exit", "login: ")
	h.Type("admin\r")
	h.Expect("Password: ")
	h.Type("coldaisle\r")
	h.Expect("Login incorrect")
	h.Expect("login: ")
	h.Type("admin\r")
	h.Expect("Password: ")
	h.Type("fan-wall-2025\r")
	h.Expect(opPrompt)
	if n := len(h.b.EventsOf(console.EventLogin)); n != 2 {
		t.Errorf("%d login events, want 2", n)
	}
	if n := len(h.b.EventsOf(console.EventLoginFailed)); n != 1 {
		t.Errorf("%d failed-login events, want 1", n)
	}
	if n := len(h.b.EventsOf(console.EventPassword)); n != 1 {
		t.Errorf("%d password events, want 1", n)
	}
}

func TestLockoutAfterThreeFailures(t *testing.T) {
	h := newTech(t, setup{password: "cold-aisle-9"})
	for i := 0; i < 3; i++ {
		h.Expect("login: ")
		h.Type("admin\r")
		h.Expect("Password: ")
		h.Type("guess" + string(rune('0'+i)) + "\r")
		h.Expect("Login incorrect")
	}
	h.Expect("3 failed logins: console locked for 30s")
	// Locked: typing gets the time left, not a login prompt.
	h.Type("admin\r")
	h.Expect("console locked: try again in 30s")
	h.clk.Advance(10 * time.Second)
	h.Type("admin\r")
	h.Expect("console locked: try again in 20s")
	// Even the right password is not asked for while locked.
	if strings.Contains(h.Screen()[strings.LastIndex(h.Screen(), "locked for 30s"):], "Password:") {
		t.Fatal("password prompt during lockout")
	}
	h.clk.Advance(20 * time.Second)
	h.login("cold-aisle-9")
	if n := len(h.b.EventsOf(console.EventLoginFailed)); n != 3 {
		t.Errorf("%d failed-login events, want 3", n)
	}
	if ev := h.b.EventsOf(console.EventLockout); len(ev) != 1 || ev[0].User != "admin" {
		t.Errorf("lockout events %+v", ev)
	}
	// A success resets the count: two more failures do not lock.
	h.Run("exit", "login: ")
	for i := 0; i < 2; i++ {
		h.Type("admin\r")
		h.Expect("Password: ")
		h.Type("nope\r")
		h.Expect("Login incorrect")
		h.Expect("login: ")
	}
	h.Type("admin\r")
	h.Expect("Password: ")
	h.Type("cold-aisle-9\r")
	h.Expect(opPrompt)
}

func TestUnknownUserFailsLikeAWrongPassword(t *testing.T) {
	h := newTech(t, setup{password: "cold-aisle-9"})
	h.Expect("login: ")
	h.Type("root\r")
	h.Expect("Password: ")
	h.Type("toor\r")
	h.Expect("Login incorrect")
	if ev := h.b.EventsOf(console.EventLoginFailed); len(ev) != 1 || ev[0].User != "root" {
		t.Fatalf("failed login events %+v", ev)
	}
}

func TestIdleLogout(t *testing.T) {
	h := newTech(t, setup{password: "cold-aisle-9"})
	h.login("cold-aisle-9")
	h.clk.Advance(14 * time.Minute)
	out := h.Run("show status", opPrompt)
	if !strings.Contains(out, "controlling") {
		t.Fatalf("show status after 14 idle minutes: %q", out)
	}
	h.Type("show sen") // half a line, then the technician walks away
	h.Expect("show sen")
	h.clk.Advance(15 * time.Minute)
	h.Expect("idle for 15m0s: logged out")
	h.Expect("login: ")
	if ev := h.b.EventsOf(console.EventLogout); len(ev) != 1 || ev[0].Text != "idle timeout" {
		t.Fatalf("logout events %+v", ev)
	}
	// The half-typed line is gone: the login prompt starts clean.
	h.Type("admin\r")
	h.Expect("Password: ")
	h.Type("cold-aisle-9\r")
	h.Expect(opPrompt)
}

func TestCRLFAndLFEndings(t *testing.T) {
	h := newTech(t, setup{password: "cold-aisle-9"})
	h.Expect("login: ")
	h.Type("admin\r\n")
	h.Expect("Password: ")
	h.Type("cold-aisle-9\r")
	h.Type("\n") // the LF of a CRLF split from its CR on a slow line
	h.Expect(opPrompt)
	h.Type("show status\n")
	h.Expect("controlling")
	h.Expect(opPrompt)
	h.Type("show units\r\nshow loops\r\n")
	h.Expect("crah-2")
	h.Expect(opPrompt)
	h.Expect("crah-1 fan")
	h.Expect(opPrompt)
	if n := len(h.b.EventsOf(console.EventLoginFailed)); n != 0 {
		t.Fatalf("CRLF caused %d failed logins", n)
	}
	// No empty command lines in between: exactly three prompts after login.
	if n := strings.Count(h.Screen(), strings.TrimSpace(opPrompt)); n != 4 {
		t.Fatalf("%d prompts, want 4 (stray empty lines from CRLF?):\n%s", n, h.Screen())
	}
}

func TestStopsWithContext(t *testing.T) {
	clk := consoletest.NewClock(start)
	b := consoletest.NewBackend(smallSite(t), clk)
	con := console.New(b, console.Options{Clock: clk, KDF: cheapKDF})
	m, s, err := openPTY()
	if err != nil {
		t.Skip("no pty:", err)
	}
	defer m.Close()
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- con.Serve(ctx, s) }()
	buf := make([]byte, 64)
	if _, err := m.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("Serve returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	// The pty is usable again (the read deadline was cleared): a second Serve works.
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { done <- con.Serve(ctx2, s) }()
	deadline := time.Now().Add(5 * time.Second)
	var got strings.Builder
	for !strings.Contains(got.String(), "login: ") && time.Now().Before(deadline) {
		n, _ := m.Read(buf)
		got.Write(buf[:n])
	}
	cancel2()
	<-done
	if !strings.Contains(got.String(), "login: ") {
		t.Fatalf("second Serve printed %q", got.String())
	}
}

func TestHistoryRecall(t *testing.T) {
	h := newTech(t, setup{password: "cold-aisle-9"})
	h.login("cold-aisle-9")
	h.Run("show units", opPrompt)
	h.Run("show loops", opPrompt)
	h.Type("\x1b[A")
	h.WaitLine(opPrompt + "show loops")
	h.Type("\x1b[A")
	h.WaitLine(opPrompt + "show units")
	h.Type("\x1b[B")
	h.WaitLine(opPrompt + "show loops")
	// A new login starts with an empty history (no peeking at the last user's commands).
	h.Type("\x15exit\r")
	h.login("cold-aisle-9")
	h.Type("\x1b[Ax") // Up recalls nothing; the x shows the key was processed
	h.WaitLine(opPrompt + "x")
}

// The real clock: an idle timeout of 300 ms logs out (bound generous, no sleep to synchronise).
func TestIdleLogoutOnSystemClock(t *testing.T) {
	h := newTech(t, setup{password: "cold-aisle-9", realClock: true, opts: console.Options{IdleTimeout: 300 * time.Millisecond}})
	h.login("cold-aisle-9")
	began := time.Now()
	h.Expect("idle for 300ms: logged out")
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("idle logout after %v", d)
	}
	h.Expect("login: ")
}

// A store that cannot save the new password sends the technician back to login, still forced.
func TestPasswordNotSavedBackToLogin(t *testing.T) {
	h := newTech(t, setup{})
	h.Expect("login: ")
	h.b.SaveUserErr = errors.New("storage: read-only file system")
	h.Type("admin\r")
	h.Expect("Password: ")
	h.Type("coldaisle\r")
	h.Expect("New password: ")
	h.Type("fan-wall-2025\r")
	h.Expect("Retype new password: ")
	h.Type("fan-wall-2025\r")
	h.Expect("password: not saved: storage: read-only file system")
	h.Expect("logged out")
	h.Expect("login: ")
	h.b.SaveUserErr = nil
	h.Type("admin\r")
	h.Expect("Password: ")
	h.Type("coldaisle\r")
	h.Expect("must be changed before going on")
}
