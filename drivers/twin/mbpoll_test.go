package twin

import (
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/internal/peertest"
	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// mbpoll (Debian's Modbus master) against the twin's simulated units, over TCP and over RTU on
// the twin's pty: reads, writes, and the BMS timeout and fallback seen from outside.

// mbReader reads and writes one unit through mbpoll with PDU (0-based) addresses.
type mbReader struct {
	t    *testing.T
	conn []string // -m ... and the device or host
	unit int
}

func (m mbReader) args(table string, addr int, extra ...string) []string {
	a := []string{"-0", "-1", "-o", "2", "-a", strconv.Itoa(m.unit), "-t", table, "-r", strconv.Itoa(addr)}
	a = append(a, m.conn...)
	return append(a, extra...)
}

func (m mbReader) read(table string, addr, count int) []int {
	m.t.Helper()
	out, code := peertest.Mbpoll(m.t, m.args(table, addr, "-c", strconv.Itoa(count))...)
	if code != 0 {
		m.t.Fatalf("mbpoll read %s %d..%d of unit %d: exit %d\n%s", table, addr, addr+count-1, m.unit, code, out)
	}
	got := peertest.Registers(out)
	vals := make([]int, count)
	for i := range vals {
		v, ok := got[addr+i]
		if !ok {
			m.t.Fatalf("mbpoll output lacks register %d:\n%s", addr+i, out)
		}
		vals[i] = v
	}
	return vals
}

func (m mbReader) write(addr int, vals ...int) {
	m.t.Helper()
	extra := []string{}
	for _, v := range vals {
		extra = append(extra, strconv.Itoa(v))
	}
	out, code := peertest.Mbpoll(m.t, m.args("4", addr, extra...)...)
	if code != 0 {
		m.t.Fatalf("mbpoll write %v at %d of unit %d: exit %d\n%s", vals, addr, m.unit, code, out)
	}
}

func (m mbReader) status() int { return m.read("3", 4, 1)[0] }

// bmsFallback: remote on, a short BMS timeout, a heartbeat; without further heartbeats status
// bit 2 appears (the unit falls back); one heartbeat write clears it.
func bmsFallback(t *testing.T, tw *Twin, m mbReader, timeoutS int) {
	m.write(1, timeoutS) // BMS timeout, plant seconds
	m.write(0, 1)        // remote control on
	m.write(10, 7, 1, 1, 600, 500)
	if got := m.read("4", 0, 2); got[0] != 1 || got[1] != timeoutS {
		t.Fatalf("holding 0..1 = %v, want [1 %d]", got, timeoutS)
	}
	if s := m.status(); s&(1<<4) == 0 {
		t.Fatalf("status %05b after remote enable: bit 4 missing", s)
	}
	p0 := tw.PlantTime()
	var s int
	waitFor(t, 20*time.Second, "status bit 2 (BMS fallback)", func() bool { s = m.status(); return s&(1<<2) != 0 })
	if waited := tw.PlantTime() - p0; waited < time.Duration(timeoutS)*time.Second-time.Second {
		t.Fatalf("fallback after %v of plant time, timeout is %d s", waited, timeoutS)
	}
	// A heartbeat returns the unit to remote control. The read that follows must come within the
	// timeout; on a very slow machine allow a second try, but a heartbeat that never clears the
	// bit fails.
	cleared := false
	for hb := 2; hb <= 3 && !cleared; hb++ {
		m.write(12, hb)
		s = m.status()
		cleared = s&(1<<2) == 0
	}
	if !cleared {
		t.Fatalf("status %05b after heartbeat writes: bit 2 still set", s)
	}
}

func TestMbpollTCPAndRTU(t *testing.T) {
	peertest.Need(t, "mbpoll")
	sc := scenario(t, "small-room")
	dir := t.TempDir()
	rtu := filepath.Join(dir, "rtu")
	// x10: a 20 s plant timeout is 2 s of wall time, enough for mbpoll's process start-ups.
	tw := startTwin(t, Options{Scenario: sc, Seed: 1, Speed: 10, RTULink: rtu})
	host, port, _ := net.SplitHostPort(tw.ModbusAddr())
	tcp := []string{"-m", "tcp", "-p", port, host}
	serial := []string{"-m", "rtu", "-b", "19200", "-P", "none", "-d", "8", "-s", "1", rtu}
	crahID, vfdID := sc.Units[0].ModbusID, sc.Units[1].ModbusID

	// TCP: the CRAH's input registers carry the plant: temperatures, fan, status.
	m := mbReader{t: t, conn: tcp, unit: crahID}
	in := m.read("3", 0, 5)
	u := tw.Snapshot().Units[0]
	if d := float64(in[0])/10 - u.ReturnC; d < -1 || d > 1 {
		t.Fatalf("return air register %d vs plant %.2f C", in[0], u.ReturnC)
	}
	if in[2] < 950 || in[4]&1 == 0 || in[4]&(1<<4) != 0 {
		t.Fatalf("input 0..4 = %v: want fan ~1000, running, remote off", in)
	}
	// The commissioning values from the scenario.
	if h := m.read("4", 1, 4); h[0] != int(sc.Units[0].BMSTimeout) || h[3] != int(1000*sc.Units[0].MinSpeed+0.5) {
		t.Fatalf("holding 1..4 = %v, want bms %v min fan %v", h, sc.Units[0].BMSTimeout, sc.Units[0].MinSpeed)
	}
	// Out of range: exception 0x03, nothing changes.
	if out, code := peertest.Mbpoll(t, m.args("4", 13, "1001")...); code == 0 || !regexp.MustCompile(`(?i)illegal data value`).MatchString(out) {
		t.Fatalf("fan command 1001: exit %d\n%s", code, out)
	}
	bmsFallback(t, tw, m, 20)
	// Commanded fan speed reaches the plant, and the feedback register follows it.
	hb := 10
	waitFor(t, 30*time.Second, "fan feedback ~60 %", func() bool {
		hb++
		m.write(10, 7, 1, hb, 600, 500)
		f := m.read("3", 2, 1)[0]
		return f >= 590 && f <= 610
	})
	if snap := tw.Snapshot(); !snap.Units[0].Remote || snap.Units[0].FanPct < 59 || snap.Units[0].FanPct > 61 {
		t.Fatalf("plant unit %+v, want remote at 60 %%", snap.Units[0])
	}

	// RTU: the same units on the multi-drop line.
	r := mbReader{t: t, conn: serial, unit: vfdID}
	r.write(1, 12000) // speed reference 60 %
	if got := r.read("4", 0, 4); got[1] != 12000 {
		t.Fatalf("drive holding 0..3 over RTU = %v, want speed reference 12000", got)
	}
	rc := mbReader{t: t, conn: serial, unit: crahID}
	if got := rc.read("4", 13, 1)[0]; got != 600 {
		t.Fatalf("CRAH fan command over RTU = %d, want the 600 written over TCP", got)
	}
	bmsFallback(t, tw, rc, 20)
	// A unit that stops answering (unit_no_answer) times out for mbpoll.
	tw.Server().SetFault(byte(crahID), modbussim.Fault{NoAnswer: true})
	if out, code := peertest.Mbpoll(t, append([]string{"-0", "-1", "-o", "0.3", "-a", strconv.Itoa(crahID), "-t", "3", "-r", "4"}, tcp...)...); code == 0 {
		t.Fatalf("a unit that does not answer: mbpoll exit 0\n%s", out)
	}
	t.Logf("mbpoll over tcp://%s and rtu %s: reads, writes, exception 0x03, BMS fallback and recovery", tw.ModbusAddr(), rtu)
}
