package ahusim

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

func TestVFDPowerUpAndCommands(t *testing.T) {
	clk := &fakeClock{}
	v := NewVFD(2, Options{Clock: clk.now})
	if got, want := hold(t, v, 0, 9), []uint16{0, 0, 0, 0, 0, 0, 100, 2, 20000}; !reflect.DeepEqual(got, want) {
		t.Errorf("power-up %v, want %v", got, want)
	}
	write(t, v, 0, 1, 11000)
	e := v.Effective()
	if !e.Remote || e.Fan != 0.55 || e.Fallback {
		t.Errorf("running at 55 %%: %+v", e)
	}
	if r := hold(t, v, 2, 2); r[0] != 1 || r[1] != 11000 {
		t.Errorf("status/actual %v", r)
	}
	write(t, v, 0, 0) // stop
	if e := v.Effective(); e.Fan != 0 {
		t.Errorf("stopped: %+v", e)
	}
	if r := hold(t, v, 2, 2); r[0] != 0 || r[1] != 0 {
		t.Errorf("stopped status/actual %v", r)
	}
	v.SetFeedback(Feedback{FanFrac: 0.25, FanKW: 1.75})
	r := hold(t, v, 3, 3)
	if r[0] != 5000 || math.Float32frombits(uint32(r[2])<<16|uint32(r[1])) != 1.75 {
		t.Errorf("actual speed / power (CDAB) %v", r)
	}
	v.Trip(true)
	if st := hold(t, v, 2, 1)[0]; st&(1<<1) == 0 || st&1 != 0 {
		t.Errorf("tripped status %03b", st)
	}
	if e := v.Effective(); !e.Tripped || e.Fan != 0 || e.LocalFan != 0 {
		t.Errorf("tripped %+v", e)
	}
}

func TestVFDExceptions(t *testing.T) {
	v := NewVFD(2, Options{})
	for _, c := range []struct {
		addr   uint16
		values []uint16
		want   modbussim.Exception
	}{
		{1, []uint16{20001}, modbussim.ExIllegalValue},
		{8, []uint16{20001}, modbussim.ExIllegalValue},
		{7, []uint16{3}, modbussim.ExIllegalValue},
		{2, []uint16{0}, modbussim.ExIllegalAddress}, // read-only status word
		{3, []uint16{0}, modbussim.ExIllegalAddress},
		{5, []uint16{0}, modbussim.ExIllegalAddress},
		{0, []uint16{1, 100, 0}, modbussim.ExIllegalAddress}, // block running into 2
		{9, []uint16{0}, modbussim.ExIllegalAddress},
	} {
		err := v.WriteHoldingRegisters("t", 16, c.addr, c.values)
		if exceptionOf(err) != c.want {
			t.Errorf("write %d %v: %v, want %v", c.addr, c.values, err, c.want)
		}
	}
	if got := hold(t, v, 0, 2); got[0] != 0 || got[1] != 0 {
		t.Errorf("refused writes changed %v", got)
	}
	if _, err := v.ReadHoldingRegisters(8, 2); exceptionOf(err) != modbussim.ExIllegalAddress {
		t.Errorf("read 8/2: %v", err)
	}
	if _, err := v.ReadInputRegisters(0, 1); exceptionOf(err) != modbussim.ExIllegalAddress {
		t.Errorf("read input: %v", err)
	}
}

func TestVFDCommLoss(t *testing.T) {
	clk := &fakeClock{}
	v := NewVFD(2, Options{Clock: clk.now})
	// Nobody talks to it: after 10 s from power-up it runs at the fallback speed.
	clk.set(9999 * time.Millisecond)
	if v.Effective().Fallback {
		t.Fatal("fallback before the timeout")
	}
	clk.set(10 * time.Second)
	if e := v.Effective(); !e.Fallback || e.Remote || e.LocalFan != 1 {
		t.Fatalf("comm loss from power-up: %+v", e)
	}
	write(t, v, 0, 1, 8000)
	if e := v.Effective(); e.Fallback || !e.Remote || e.Fan != 0.4 {
		t.Fatalf("after a command: %+v", e)
	}
	// Only writes to 0 or 1 reset the timer.
	clk.advance(5 * time.Second)
	write(t, v, 8, 16000)
	hold(t, v, 0, 9)
	clk.advance(5 * time.Second)
	e := v.Effective()
	if !e.Fallback || e.LocalFan != 0.8 {
		t.Fatalf("comm loss, action 2: %+v", e)
	}
	if st := hold(t, v, 2, 1)[0]; st&(1<<2) == 0 {
		t.Errorf("status %03b: no comm-loss bit", st)
	}
	// Action 1 holds the last speed.
	write(t, v, 1, 6000)
	write(t, v, 7, ActionHold)
	clk.advance(10 * time.Second)
	if e := v.Effective(); !e.Fallback || e.LocalFan != 0.3 {
		t.Errorf("comm loss, action 1: %+v", e)
	}
	// Action 0: nothing happens.
	write(t, v, 7, ActionNone)
	write(t, v, 1, 6000)
	clk.advance(time.Hour)
	if e := v.Effective(); e.Fallback || !e.Remote || e.Fan != 0.3 {
		t.Errorf("comm loss, action 0: %+v", e)
	}
	// Timeout 0: disabled; 0.1 s resolution otherwise.
	write(t, v, 7, ActionFallback)
	write(t, v, 6, 0)
	write(t, v, 0, 1)
	clk.advance(time.Hour)
	if v.Effective().Fallback {
		t.Error("fallback with timeout 0")
	}
	write(t, v, 6, 5)
	write(t, v, 0, 1)
	clk.advance(499 * time.Millisecond)
	if v.Effective().Fallback {
		t.Error("fallback before 0.5 s")
	}
	clk.advance(time.Millisecond)
	if !v.Effective().Fallback {
		t.Error("no fallback after 0.5 s")
	}
	v.ForceFallback(true)
	write(t, v, 0, 1)
	if e := v.Effective(); !e.Fallback || e.LocalFan != 0.8 {
		t.Errorf("forced: %+v", e)
	}
}
