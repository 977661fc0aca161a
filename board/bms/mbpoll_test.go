package bms

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/board/ops"
)

// mbpoll (Debian's Modbus master) polls the BMS server like a BMS would: the values decode as the
// View says, writes are refused by name and change nothing, and another unit id gets no answer.

func runMbpoll(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mbpoll", args...).CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("mbpoll %v: %v", args, err)
	}
	t.Logf("mbpoll %v -> exit %d\n%s", args, code, out)
	return string(out), code
}

var mbpollLine = regexp.MustCompile(`(?m)^\[(\d+)\]:\s+(-?\d+)`)

// mbpollRead reads count registers of table ("3" input, "4" holding) from addr as unit, and
// returns them by address (as uint16).
func mbpollRead(t *testing.T, port, unit, table string, addr, count int) map[int]uint16 {
	t.Helper()
	out, code := runMbpoll(t, "-m", "tcp", "-p", port, "-a", unit, "-t", table, "-0", "-1", "-o", "2",
		"-r", strconv.Itoa(addr), "-c", strconv.Itoa(count), "127.0.0.1")
	if code != 0 {
		t.Fatalf("mbpoll read %d..%d: exit %d", addr, addr+count-1, code)
	}
	m := map[int]uint16{}
	for _, g := range mbpollLine.FindAllStringSubmatch(out, -1) {
		r, _ := strconv.Atoi(g[1])
		v, _ := strconv.Atoi(g[2])
		m[r] = uint16(v) // mbpoll prints int16 or uint16 depending on version: same bits
	}
	if len(m) != count {
		t.Fatalf("mbpoll printed %d registers, want %d", len(m), count)
	}
	return m
}

func seq(m map[int]uint16, addr, n int) []uint16 {
	out := make([]uint16, n)
	for i := range out {
		out[i] = m[addr+i]
	}
	return out
}

func TestMbpollPollsTheBMSServer(t *testing.T) {
	if testing.Short() {
		t.Skip("external peer mbpoll")
	}
	if _, err := exec.LookPath("mbpoll"); err != nil {
		t.Skip("mbpoll not installed")
	}
	p := ops.NewPublisher(time.Minute, 10*time.Second)
	v := testView()
	v.Time = time.Now()
	p.Publish(v)
	srv, err := NewServer(p, Options{UnitID: 5})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("serve: %v", err)
		}
	}()

	// The header from the input registers.
	h := seq(mbpollRead(t, port, "5", "3", 0, 36), 0, 36)
	want(t, "header", h, 1, 1, 1, hdrViewAvailable|hdrCritical, 9, 1, 4464, 2, 2, 3, 1, 1, 0, 1, 0, 5400, 0, 3, 0, 5400)
	if h[20] != 0 || h[21] > 5 { // view age: just built
		t.Errorf("view age %d:%d", h[20], h[21])
	}
	// Zone 1 (NaN measurement) and unit 1 (no valve, no read-back) from the holding registers.
	z := seq(mbpollRead(t, port, "5", "4", ZoneBase+ZoneStride, ZoneStride), ZoneBase+ZoneStride, ZoneStride)
	want(t, "zone 1", z, 1, 2, 0b10, 1, na, 240, na, 1000, 0, 3)
	if Text(z[16:]) != "row-b-with-a-lon" {
		t.Errorf("zone 1 name %q", Text(z[16:]))
	}
	u := seq(mbpollRead(t, port, "5", "4", UnitBase, UnitStride), UnitBase, UnitStride)
	want(t, "unit 0", u, 1, 0, 0, 0, 1, 555, 554, 400, 399, 182, 0xFFF1, 725, 3)
	u1 := seq(mbpollRead(t, port, "5", "3", UnitBase+UnitStride, 13), UnitBase+UnitStride, 13)
	want(t, "unit 1", u1, 1, 0b111, 0b1, 1, 3, 1000, na, na, na, na, na, na, 4)

	// Writes: a single (function 6) and a multiple (16) write are refused by name, and the
	// setpoint still reads 25.0 °C.
	for _, vals := range [][]string{{"300"}, {"300", "301"}} {
		out, code := runMbpoll(t, append([]string{"-m", "tcp", "-p", port, "-a", "5", "-t", "4", "-0", "-1", "-o", "2", "-r", strconv.Itoa(ZoneBase + 5), "127.0.0.1"}, vals...)...)
		if code == 0 || !regexp.MustCompile(`(?i)illegal function`).MatchString(out) {
			t.Fatalf("write %v: exit %d, want a refusal naming illegal function", vals, code)
		}
	}
	if got := mbpollRead(t, port, "5", "4", ZoneBase+5, 2); got[ZoneBase+5] != 250 || got[ZoneBase+6] != 243 {
		t.Fatalf("after the refused writes: %v", got)
	}
	// Past the image: illegal data address.
	out, code := runMbpoll(t, "-m", "tcp", "-p", port, "-a", "5", "-t", "3", "-0", "-1", "-o", "2", "-r", strconv.Itoa(Size-2), "-c", "3", "127.0.0.1")
	if code == 0 || !regexp.MustCompile(`(?i)illegal data address`).MatchString(out) {
		t.Fatalf("read past the image: exit %d", code)
	}
	// Unit 255 ("this device") is answered; unit 9 is not (a timeout).
	if got := mbpollRead(t, port, "255", "3", 0, 2); got[0] != 1 || got[1] != 1 {
		t.Fatalf("unit 255: %v", got)
	}
	out, code = runMbpoll(t, "-m", "tcp", "-p", port, "-a", "9", "-t", "3", "-0", "-1", "-o", "0.3", "-r", "0", "127.0.0.1")
	if code == 0 || !regexp.MustCompile(`(?i)timed out`).MatchString(out) {
		t.Fatalf("unit 9: exit %d, want a timeout", code)
	}
	if st := srv.Stats(); st.OtherUnit != 1 || st.Exceptions != 3 {
		t.Fatalf("server stats %+v", st)
	}
}
