package modbus

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
	"github.com/coldaisle/coldaisle/drivers/serialport"
	gb "github.com/goburrow/modbus"
)

// Regression tests for the defects of goburrow/modbus's own transports. Each is a table over
// {library transport, our transport}: the library case asserts that the defect is there (so the
// test documents it and would notice a fixed library), ours asserts correct behaviour. Both
// run against modbussim on real ptys / real loopback TCP.

func regs(b []byte) []uint16 {
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return out
}

// servePTY serves srv on a new pty until the test ends; it returns the slave path.
func servePTY(t *testing.T, srv *modbussim.Server) string {
	t.Helper()
	pty, err := serialport.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeRTU(ctx, pty.Master) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("ServeRTU = %v", err)
		}
		pty.Close()
	})
	return pty.SlavePath
}

// serveTCP serves srv on a loopback port until the test ends; it returns host:port.
func serveTCP(t *testing.T, srv *modbussim.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeTCP(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("ServeTCP = %v", err)
		}
	})
	return ln.Addr().String()
}

// client is a goburrow client plus the hook that arms our transport's per-request deadline
// (the Bus does that; the library handler keeps its own Timeout).
type client struct {
	gb.Client
	arm func(time.Duration)
}

func (c client) call(d time.Duration, f func(gb.Client) ([]byte, error)) ([]byte, error) {
	c.arm(d)
	return f(c.Client)
}

// TestRegressionRTUSplitException: an exception reply (5 bytes) that reaches the master as 4
// bytes and then 1. goburrow's RTU transport returns after the first 4 (it never recognises
// the exception function code), so the 5th byte is left on the line and answers the next
// request, which fails. Ours sizes the exception, reports it, and the next request is clean.
func TestRegressionRTUSplitException(t *testing.T) {
	if testing.Short() {
		t.Skip("real pty with timing")
	}
	const timeout = time.Second
	cases := []struct {
		name    string
		library bool
		open    func(t *testing.T, path string) client
	}{
		{"goburrow RTUClientHandler", true, func(t *testing.T, path string) client {
			h := gb.NewRTUClientHandler(path)
			h.BaudRate, h.DataBits, h.Parity, h.StopBits = 19200, 8, "N", 1
			h.SlaveId, h.Timeout, h.IdleTimeout = 1, timeout, 0
			if err := h.Connect(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.Close() })
			return client{gb.NewClient(h), func(time.Duration) {}}
		}},
		{"our rtuTransport", false, func(t *testing.T, path string) client {
			p, err := serialport.Open(path, serialport.Config{Baud: 19200})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			tr := newRTUTransport(p, 19200, 0, &lineStats{})
			return client{gb.NewClient2(tr.packager(1), tr), func(d time.Duration) { tr.setDeadline(time.Now().Add(d)) }}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := modbussim.NewServer()
			bank := modbussim.NewBank(0, 16)
			bank.SetHolding(0, 1111, 2222)
			srv.Add(1, bank)
			c := tc.open(t, servePTY(t, srv))

			// Read past the bank: exception 0x02, its last byte 400 ms after the rest.
			srv.SetFault(1, modbussim.Fault{Split: 400 * time.Millisecond})
			_, err1 := c.call(timeout, func(c gb.Client) ([]byte, error) { return c.ReadHoldingRegisters(100, 2) })
			srv.SetFault(1, modbussim.Fault{})
			got, err2 := c.call(timeout, func(c gb.Client) ([]byte, error) { return c.ReadHoldingRegisters(0, 2) })
			t.Logf("exception request: %v; next request: %v, %v", err1, regs(got), err2)

			var me *gb.ModbusError
			exceptionSeen := errors.As(err1, &me) && me.ExceptionCode == 2
			nextOK := err2 == nil && slices.Equal(regs(got), []uint16{1111, 2222})
			if tc.library {
				if exceptionSeen && nextOK {
					t.Fatal("the library handled a split exception frame: the defect this test documents is gone")
				}
				if nextOK {
					t.Fatal("library: the request after the split exception succeeded; expected it to be corrupted")
				}
				return
			}
			if !exceptionSeen {
				t.Fatalf("ours: exception request returned %v, want exception 0x02", err1)
			}
			if !nextOK {
				t.Fatalf("ours: next request returned %v, %v; want [1111 2222]", regs(got), err2)
			}
		})
	}
}

// TestRegressionTCPLateReply: the server answers after the client's timeout. goburrow's TCP
// transport keeps the connection, so the late reply is read as the answer to the next request
// (rejected for its transaction id) and from then on every request reads the reply of the one
// before it. Ours drops the connection on the timeout, so the next requests are answered by
// their own replies.
func TestRegressionTCPLateReply(t *testing.T) {
	if testing.Short() {
		t.Skip("timing on real sockets")
	}
	const (
		timeout = 300 * time.Millisecond
		delay   = 400 * time.Millisecond
	)
	cases := []struct {
		name    string
		library bool
		open    func(t *testing.T, addr string) client
	}{
		{"goburrow TCPClientHandler", true, func(t *testing.T, addr string) client {
			h := gb.NewTCPClientHandler(addr)
			h.SlaveId, h.Timeout, h.IdleTimeout = 1, timeout, 0
			t.Cleanup(func() { h.Close() })
			return client{gb.NewClient(h), func(time.Duration) {}}
		}},
		{"our tcpTransport", false, func(t *testing.T, addr string) client {
			tr := newTCPTransport(addr, &lineStats{})
			t.Cleanup(func() { tr.close() })
			return client{gb.NewClient2(tr.packager(1), tr), func(d time.Duration) { tr.setDeadline(time.Now().Add(d)) }}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := modbussim.NewServer()
			bank := modbussim.NewBank(0, 16)
			bank.SetHolding(0, 1111, 2222, 3333)
			// Only the first request is slow, so nothing depends on when the test heals it.
			srv.Add(1, &slowFirst{Bank: bank, delay: delay})
			c := tc.open(t, serveTCP(t, srv))
			read := func(addr uint16) ([]uint16, error) {
				b, err := c.call(timeout, func(c gb.Client) ([]byte, error) { return c.ReadHoldingRegisters(addr, 1) })
				return regs(b), err
			}

			_, err1 := read(0)
			v2, err2 := read(1)
			v3, err3 := read(2)
			t.Logf("late: %v; next: %v %v; after: %v %v", err1, v2, err2, v3, err3)

			if err1 == nil {
				t.Fatal("the delayed request did not time out")
			}
			if tc.library {
				if err2 == nil && err3 == nil {
					t.Fatal("the library recovered from a late reply: the defect this test documents is gone")
				}
				if err2 == nil || !strings.Contains(err2.Error(), "transaction id") {
					t.Fatalf("library: next request = %v, %v; want it answered by the late reply (transaction id mismatch)", v2, err2)
				}
				if err3 == nil || !strings.Contains(err3.Error(), "transaction id") {
					t.Fatalf("library: the request after that = %v, %v; want it answered by the previous reply", v3, err3)
				}
				return
			}
			if !errors.Is(err1, ErrTimeout) {
				t.Fatalf("ours: delayed request = %v, want ErrTimeout", err1)
			}
			if err2 != nil || !slices.Equal(v2, []uint16{2222}) || err3 != nil || !slices.Equal(v3, []uint16{3333}) {
				t.Fatalf("ours: next requests = %v %v, %v %v; want [2222], [3333]", v2, err2, v3, err3)
			}
		})
	}
}

// slowFirst answers its first holding read after delay, like a unit busy with something else.
type slowFirst struct {
	*modbussim.Bank
	delay time.Duration
	done  atomic.Bool
}

func (s *slowFirst) ReadHoldingRegisters(addr, count uint16) ([]uint16, error) {
	if !s.done.Swap(true) {
		time.Sleep(s.delay) // the fault being injected, not synchronisation
	}
	return s.Bank.ReadHoldingRegisters(addr, count)
}
