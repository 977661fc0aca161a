package storage

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// child is a re-executed test binary (see TestChildProcess) that reports on fd 3, one line per
// completed step.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string   // every report line, in order (buffered)
	done   chan struct{} // closed when the report pipe reached EOF
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startChild(t testing.TB, mode, path string) *child {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{lines: make(chan string, 1<<16), done: make(chan struct{}), stderr: &syncBuffer{}}
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	c.cmd.Env = append(os.Environ(), childEnv+"="+mode, childEnv+"_DB="+path)
	c.cmd.ExtraFiles = []*os.File{w}
	c.cmd.Stderr = c.stderr
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close() // only the child writes now: EOF arrives when it exits
	go func() {
		defer close(c.done)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	return c
}

// readLine waits for the next report line.
func (c *child) readLine(timeout time.Duration) (string, error) {
	select {
	case l, ok := <-c.lines:
		if !ok {
			return "", fmt.Errorf("child closed its report pipe; stderr: %s", c.stderr.String())
		}
		return l, nil
	case <-c.done:
		select {
		case l := <-c.lines:
			return l, nil
		default:
			return "", fmt.Errorf("child exited; stderr: %s", c.stderr.String())
		}
	case <-time.After(timeout):
		return "", fmt.Errorf("no report from the child in %v; stderr: %s", timeout, c.stderr.String())
	}
}
