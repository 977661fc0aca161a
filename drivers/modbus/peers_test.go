package modbus

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"github.com/coldaisle/coldaisle/drivers/internal/peertest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Proof against a peer we did not write: pymodbus 3.0.0rc1 (testdata/pymodbus_server.py) as the
// server, over loopback TCP and over RTU on a socat pty pair. Values are encoded by pymodbus's
// BinaryPayloadBuilder and decoded by DecodeValues.

const python = "/usr/bin/python3" // the interpreter with pymodbus; the one on PATH lacks it

type pyValue struct {
	Table string  `json:"table"`
	Addr  uint16  `json:"addr"`
	Type  string  `json:"type"`
	Order string  `json:"order"`
	Value float64 `json:"value"`
}

type pyServer struct {
	cmd      *exec.Cmd
	Port     int       `json:"port"`
	Values   []pyValue `json:"values"`
	Coils    []bool    `json:"coils"`
	Discrete []bool    `json:"discrete"`
	stderr   *peertest.Buffer
}

func needPymodbus(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("external peer pymodbus")
	}
	if err := exec.Command(python, "-c", "import pymodbus.server.async_io, serial_asyncio").Run(); err != nil {
		t.Skipf("pymodbus not importable with %s: %v", python, err)
	}
}

// startPymodbus runs the server script and waits for its JSON line; the process is killed when
// the test ends.
func startPymodbus(t *testing.T, args ...string) *pyServer {
	t.Helper()
	s := &pyServer{stderr: &peertest.Buffer{}}
	s.cmd = exec.Command(python, append([]string{filepath.Join("testdata", "pymodbus_server.py")}, args...)...)
	s.cmd.Stderr = s.stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGCONT) // a stopped process cannot die of SIGKILL's cleanup otherwise
		s.cmd.Process.Kill()
		s.cmd.Wait()
	})
	line := make(chan []byte, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		if sc.Scan() {
			line <- sc.Bytes()
		}
		close(line)
		for sc.Scan() { // keep draining so the script never blocks on stdout
		}
	}()
	select {
	case l, ok := <-line:
		if !ok {
			t.Fatalf("pymodbus server exited before serving: %s", s.stderr)
		}
		if err := json.Unmarshal(l, s); err != nil {
			t.Fatalf("pymodbus server banner %q: %v", l, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("pymodbus server not serving after 30 s: %s", s.stderr)
	}
	return s
}

// checkValues reads both tables and decodes every value pymodbus encoded.
func checkValues(t *testing.T, b *Bus, s *pyServer) {
	t.Helper()
	ctx := context.Background()
	tables := map[string][]uint16{}
	for name, tb := range map[string]Table{"holding": Holding, "input": Input} {
		regs, err := b.Read(ctx, 1, tb, 0, 32)
		if err != nil {
			t.Fatalf("read %s 0..31: %v", name, err)
		}
		tables[name] = regs
	}
	if len(s.Values) != 40 {
		t.Fatalf("pymodbus layout has %d values, want 40", len(s.Values))
	}
	for _, v := range s.Values {
		words, _ := TypeWords(v.Type)
		got, err := DecodeValues(tables[v.Table][v.Addr:int(v.Addr)+words], v.Type, v.Order)
		want := v.Value
		if v.Type == "float32" {
			want = float64(float32(v.Value))
		}
		if err != nil || got[0] != want {
			t.Errorf("%s %d %s %s: decoded %v (%v), pymodbus encoded %v", v.Table, v.Addr, v.Type, v.Order, got, err, want)
		}
	}
}

func checkExceptionAndWrites(t *testing.T, b *Bus) {
	t.Helper()
	ctx := context.Background()
	var ex ExceptionError
	if _, err := b.ReadHolding(ctx, 1, 99, 2); !errors.As(err, &ex) || ex != (ExceptionError{Function: 3, Code: 2}) {
		t.Fatalf("read past the block: %v, want exception 0x02 function 3", err)
	}
	if _, err := b.ReadInput(ctx, 1, 200, 1); !errors.As(err, &ex) || ex.Code != 2 {
		t.Fatalf("read input past the block: %v", err)
	}
	if err := b.WriteMultiple(ctx, 1, 50, []uint16{650, 420, 7}); err != nil {
		t.Fatalf("write multiple: %v", err)
	}
	if err := b.WriteSingle(ctx, 1, 53, 99); err != nil {
		t.Fatalf("write single: %v", err)
	}
	if got, err := b.ReadHolding(ctx, 1, 50, 4); err != nil || got[0] != 650 || got[1] != 420 || got[2] != 7 || got[3] != 99 {
		t.Fatalf("read back: %v, %v", got, err)
	}
	if err := b.WriteSingle(ctx, 1, 100, 1); !errors.As(err, &ex) || ex.Function != 6 || ex.Code != 2 {
		t.Fatalf("write past the block: %v", err)
	}
}

// checkBits reads pymodbus's coils and discrete inputs (functions 1 and 2, also at an odd
// offset and count so the bit packing is exercised), writes coils with functions 5 and 15 and
// reads them back, and sees the exceptions past the block.
func checkBits(t *testing.T, b *Bus, s *pyServer) {
	t.Helper()
	ctx := context.Background()
	if len(s.Coils) != 100 || len(s.Discrete) != 100 {
		t.Fatalf("pymodbus banner: %d coils, %d discrete inputs, want 100 each", len(s.Coils), len(s.Discrete))
	}
	for _, r := range [][2]uint16{{0, 100}, {3, 13}, {99, 1}} {
		got, err := b.ReadCoils(ctx, 1, r[0], r[1])
		if err != nil || !slices.Equal(got, s.Coils[r[0]:r[0]+r[1]]) {
			t.Fatalf("read coils %d+%d: %v %v, want %v", r[0], r[1], got, err, s.Coils[r[0]:r[0]+r[1]])
		}
		got, err = b.ReadDiscreteInputs(ctx, 1, r[0], r[1])
		if err != nil || !slices.Equal(got, s.Discrete[r[0]:r[0]+r[1]]) {
			t.Fatalf("read discrete inputs %d+%d: %v %v, want %v", r[0], r[1], got, err, s.Discrete[r[0]:r[0]+r[1]])
		}
	}
	if err := b.WriteCoil(ctx, 1, 1, true); err != nil {
		t.Fatalf("write coil 1 on: %v", err)
	}
	if err := b.WriteCoil(ctx, 1, 0, false); err != nil {
		t.Fatalf("write coil 0 off: %v", err)
	}
	pattern := []bool{true, true, false, true, false, false, false, true, true, false, true}
	if err := b.WriteCoils(ctx, 1, 40, pattern); err != nil {
		t.Fatalf("write coils 40+11: %v", err)
	}
	if got, err := b.ReadCoils(ctx, 1, 0, 2); err != nil || !slices.Equal(got, []bool{false, true}) {
		t.Fatalf("coils 0..1 after function 5: %v %v", got, err)
	}
	if got, err := b.ReadCoils(ctx, 1, 39, 13); err != nil || !slices.Equal(got, append(append([]bool{s.Coils[39]}, pattern...), s.Coils[51])) {
		t.Fatalf("coils 39..51 after function 15: %v %v", got, err)
	}
	var ex ExceptionError
	if _, err := b.ReadCoils(ctx, 1, 99, 2); !errors.As(err, &ex) || ex != (ExceptionError{Function: 1, Code: 2}) {
		t.Fatalf("read coils past the block: %v", err)
	}
	if _, err := b.ReadDiscreteInputs(ctx, 1, 100, 1); !errors.As(err, &ex) || ex != (ExceptionError{Function: 2, Code: 2}) {
		t.Fatalf("read discrete inputs past the block: %v", err)
	}
	if err := b.WriteCoils(ctx, 1, 99, []bool{true, true}); !errors.As(err, &ex) || ex != (ExceptionError{Function: 15, Code: 2}) {
		t.Fatalf("write coils past the block: %v", err)
	}
	// Too many bits are refused before the line.
	if _, err := b.ReadCoils(ctx, 1, 0, 2001); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("2001 coils: %v, want ErrBadRequest", err)
	}
	if err := b.WriteCoils(ctx, 1, 0, make([]bool, 1969)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("write 1969 coils: %v, want ErrBadRequest", err)
	}
}

// stopAndResume freezes the server with SIGSTOP (ErrTimeout), resumes it and waits for the bus
// to answer again.
func stopAndResume(t *testing.T, b *Bus, s *pyServer) {
	t.Helper()
	ctx := context.Background()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	_, err := b.ReadHolding(ctx, 1, 0, 1)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("server stopped: %v, want ErrTimeout", err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	recovered(t, b, "after SIGCONT")
}

func recovered(t *testing.T, b *Bus, when string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if _, err = b.ReadHolding(context.Background(), 1, 0, 1); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond) // poll period while the server comes back
	}
	t.Fatalf("no recovery %s: %v", when, err)
}

func TestPeerPymodbusTCP(t *testing.T) {
	needPymodbus(t)
	s := startPymodbus(t, "--mode", "tcp")
	b := dialTCP(t, "127.0.0.1:"+strconv.Itoa(s.Port), Options{Timeout: 500 * time.Millisecond, BreakerThreshold: -1})
	checkValues(t, b, s)
	checkExceptionAndWrites(t, b)
	checkBits(t, b, s)
	stopAndResume(t, b, s)

	// SIGKILL: the connection drops, the port refuses; a new server on the same port is found.
	s.cmd.Process.Kill()
	s.cmd.Wait()
	_, err := b.ReadHolding(context.Background(), 1, 0, 1)
	if !errors.Is(err, ErrConnect) && !errors.Is(err, ErrTimeout) {
		t.Fatalf("server killed: %v, want ErrConnect or ErrTimeout", err)
	}
	t.Logf("server killed: %v", err)
	s2 := startPymodbus(t, "--mode", "tcp", "--port", strconv.Itoa(s.Port))
	recovered(t, b, "after a restart")
	checkValues(t, b, s2)
	t.Logf("stats %+v", b.Stats())
}

func TestPeerPymodbusRTU(t *testing.T) {
	needPymodbus(t)
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	dir := t.TempDir()
	a, bpath := filepath.Join(dir, "A"), filepath.Join(dir, "B")
	ctx, cancel := context.WithCancel(context.Background())
	socat := exec.CommandContext(ctx, "socat", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+bpath)
	if err := socat.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); socat.Wait() })
	waitUntil(t, func() bool {
		_, ea := os.Stat(a)
		_, eb := os.Stat(bpath)
		return ea == nil && eb == nil
	}, "socat's pty links")

	s := startPymodbus(t, "--mode", "rtu", "--device", bpath)
	b, err := Dial("rtu://"+a+"?baud=19200&parity=N", Options{Timeout: 500 * time.Millisecond, BreakerThreshold: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	checkValues(t, b, s)
	checkExceptionAndWrites(t, b)
	checkBits(t, b, s)
	stopAndResume(t, b, s)
	t.Logf("stats %+v", b.Stats())
}
