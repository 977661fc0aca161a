package modbussim

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// readFails reports whether a read on c fails (a reset or an end of stream) within wait, rather
// than timing out or bringing data.
func readFails(t *testing.T, c net.Conn, wait time.Duration) error {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	var b [1]byte
	_, err := c.Read(b[:])
	if err == nil || isTimeout(err) {
		t.Fatalf("read on a cut connection: %v, want a reset or EOF", err)
	}
	return err
}

func localPort(t *testing.T, c net.Conn) int {
	t.Helper()
	_, p, err := net.SplitHostPort(c.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Two clients on one server, told apart by the owner id each writes: cutting one resets it (and
// any later connection that writes that owner) while the other keeps being served; a stall by
// source port swallows requests until healed or until it runs out.
func TestTCPConnFaults(t *testing.T) {
	srv, bank := newTestServer()
	srv.SetOwnerRegister(10)
	addr := startTCP(t, srv)
	a, b := dial(t, addr), dial(t, addr)
	block := func(owner, epoch, hb uint16) []byte { return pdu(16, u16s(10, 3), []byte{6}, u16s(owner, epoch, hb)) }
	read := pdu(3, u16s(10, 3))
	okWrite := pdu(16, u16s(10, 3))
	if got := exchange(t, a, 1, 1, block(1, 1, 1), time.Second); !bytes.Equal(got, okWrite) {
		t.Fatalf("a's write: % x", got)
	}
	if got := exchange(t, b, 1, 1, block(2, 2, 1), time.Second); !bytes.Equal(got, okWrite) {
		t.Fatalf("b's write: % x", got)
	}
	// The server numbers connections as it accepts them, which need not be the order they were
	// dialled in: find each by its port.
	cs := srv.Conns()
	byPort := map[int]ConnInfo{}
	for _, c := range cs {
		byPort[c.Port] = c
	}
	ca, cb := byPort[localPort(t, a)], byPort[localPort(t, b)]
	if len(cs) != 2 || ca.Owner != 1 || cb.Owner != 2 || cb.Requests != 1 {
		t.Fatalf("conns %+v", cs)
	}
	if o, ok := srv.ConnOwner(b.LocalAddr().String()); !ok || o != 2 {
		t.Fatalf("ConnOwner(b) = %d %v", o, ok)
	}

	if n := srv.CutConns(MatchOwner(1)); n != 1 {
		t.Fatalf("CutConns reset %d connections, want 1", n)
	}
	err := readFails(t, a, 2*time.Second)
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
		t.Fatalf("cut connection: %v", err)
	}
	if got := exchange(t, b, 2, 1, block(2, 2, 2), time.Second); !bytes.Equal(got, okWrite) {
		t.Fatalf("b after a's cut: % x", got)
	}
	// Owner 1 comes back on a new connection: a read is answered (it is not known yet), its
	// write names it and is reset unexecuted.
	a2 := dial(t, addr)
	if got := exchange(t, a2, 1, 1, read, time.Second); got == nil || got[0] != 3 {
		t.Fatalf("read before the owner is known: % x", got)
	}
	if _, err := a2.Write(mbap(2, 1, block(1, 9, 9)...)); err != nil {
		t.Fatal(err)
	}
	readFails(t, a2, 2*time.Second)
	if got := bank.Holding(10, 3); got[0] != 2 || got[2] != 2 {
		t.Fatalf("holding 10..12 = %v: the cut owner's write was executed", got)
	}
	if fs := srv.ConnFaults(); len(fs) != 1 || fs[0] != "cut owner 1" {
		t.Fatalf("faults %q", fs)
	}
	if n := srv.HealConns(MatchOwner(1)); n != 1 {
		t.Fatalf("healed %d", n)
	}
	a3 := dial(t, addr)
	if got := exchange(t, a3, 1, 1, block(1, 3, 3), time.Second); !bytes.Equal(got, okWrite) {
		t.Fatalf("healed owner 1: % x", got)
	}

	// A stall by b's source port: no answer, the connection stays open, a3 is unaffected.
	srv.StallConns(MatchPort(localPort(t, b)), 0)
	if got := exchange(t, b, 3, 1, read, 200*time.Millisecond); got != nil {
		t.Fatalf("stalled: reply % x", got)
	}
	if got := exchange(t, a3, 2, 1, read, time.Second); got == nil {
		t.Fatal("a3 stalled with b")
	}
	srv.HealConns(MatchPort(localPort(t, b)))
	// The swallowed request never gets an answer; the next one does.
	if got := exchange(t, b, 4, 1, read, time.Second); got == nil || got[0] != 3 {
		t.Fatalf("b healed: % x", got)
	}
	// A timed stall ends by itself.
	srv.StallConns(MatchOwner(2), 300*time.Millisecond)
	if got := exchange(t, b, 5, 1, read, 100*time.Millisecond); got != nil {
		t.Fatalf("timed stall: reply % x", got)
	}
	time.Sleep(300 * time.Millisecond) // the stall's own duration is what is tested
	if got := exchange(t, b, 6, 1, read, time.Second); got == nil {
		t.Fatal("no answer after the stall ran out")
	}
	if len(srv.ConnFaults()) != 0 {
		t.Fatalf("expired stall still listed: %q", srv.ConnFaults())
	}
	for _, c := range srv.Conns() {
		if c.Port == localPort(t, b) && c.Dropped != 2 {
			t.Fatalf("b dropped %d requests, want 2", c.Dropped)
		}
	}
}

func TestWrittenValue(t *testing.T) {
	for _, c := range []struct {
		pdu  []byte
		want int
	}{
		{pdu(6, u16s(10, 7)), 7},
		{pdu(6, u16s(11, 7)), -1},
		{pdu(16, u16s(9, 3), []byte{6}, u16s(1, 2, 3)), 2},
		{pdu(16, u16s(11, 2), []byte{4}, u16s(1, 2)), -1},
		{pdu(16, u16s(10, 2), []byte{4}, u16s(1)), -1}, // short
		{pdu(3, u16s(10, 1)), -1},
		{[]byte{16}, -1},
	} {
		v, ok := writtenValue(c.pdu, 10)
		got := -1
		if ok {
			got = int(v)
		}
		if got != c.want {
			t.Errorf("writtenValue(% x) = %d, want %d", c.pdu, got, c.want)
		}
	}
}
