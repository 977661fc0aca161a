// Package peertest holds what the driver tests share when they run real peers: a buffer that
// a child process and the test may use at once, the check that a peer program is installed,
// and mbpoll (Debian's Modbus master) run with its exit code and its register lines parsed.
//
// Test code only: nothing outside _test.go files imports it.
package peertest

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for concurrent Write and reads (a child's stderr, a write log).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Bytes returns a copy of what was written so far.
func (l *Buffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b.Bytes()...)
}

// String returns what was written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Need skips t under -short (real peers take real time) and when the program name is not
// installed (make test's scripts/deps.sh installs them); it returns the program's path.
func Need(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("external peer " + name)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

// Mbpoll runs mbpoll with args (20 s at most) and returns its output and exit code; the output
// goes to the test log. A failure to run it at all fails t.
func Mbpoll(t testing.TB, args ...string) (string, int) {
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

var mbpollReg = regexp.MustCompile(`(?m)^\[(\d+)\]:\s+(-?\d+)`)

// Registers parses mbpoll's "[ref]: value" lines into ref -> value.
func Registers(out string) map[int]int {
	m := map[int]int{}
	for _, g := range mbpollReg.FindAllStringSubmatch(out, -1) {
		r, _ := strconv.Atoi(g[1])
		v, _ := strconv.Atoi(g[2])
		m[r] = v
	}
	return m
}
