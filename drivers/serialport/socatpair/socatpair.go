package socatpair

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrNoSocat is returned by Start when socat is not on PATH.
var ErrNoSocat = errors.New("socatpair: socat not found on PATH")

// Available reports whether socat is installed.
func Available() bool {
	_, err := exec.LookPath("socat")
	return err == nil
}

// Pair is a running socat joining two pseudo-terminals.
type Pair struct {
	A, B string // paths of the two ends (symlinks to /dev/pts/N)

	cmd  *exec.Cmd
	done chan struct{} // closed when the stderr reader has finished
	mu   sync.Mutex
	log  []string
	once sync.Once
	err  error
}

// readyTimeout bounds how long socat may take to come up.
const readyTimeout = 10 * time.Second

// Start runs socat with links "a" and "b" inside dir (which must exist) and waits until both
// exist. The process is tied to ctx: it is killed when ctx ends.
func Start(ctx context.Context, dir string) (*Pair, error) {
	return StartLinks(ctx, filepath.Join(dir, "a"), filepath.Join(dir, "b"))
}

// StartLinks is Start with explicit link paths (to restart a pair on the same paths).
func StartLinks(ctx context.Context, a, b string) (*Pair, error) {
	bin, err := exec.LookPath("socat")
	if err != nil {
		return nil, ErrNoSocat
	}
	p := &Pair{A: a, B: b, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, "-d", "-d",
		"pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("socatpair: %w", err)
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("socatpair: start socat: %w", err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log = append(p.log, line)
			p.mu.Unlock()
			if !signalled && strings.Contains(line, "starting data transfer loop") {
				signalled = true
				close(ready)
			}
		}
	}()
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case <-ready:
	case <-p.done:
		p.Close()
		return nil, fmt.Errorf("socatpair: socat exited before it was ready: %s", p.Log())
	case <-timer.C:
		p.Close()
		return nil, fmt.Errorf("socatpair: socat not ready after %v: %s", readyTimeout, p.Log())
	case <-ctx.Done():
		p.Close()
		return nil, ctx.Err()
	}
	for _, l := range []string{a, b} {
		if _, err := os.Stat(l); err != nil {
			p.Close()
			return nil, fmt.Errorf("socatpair: socat ready but link missing: %w", err)
		}
	}
	return p, nil
}

// Log returns socat's diagnostic output so far.
func (p *Pair) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// Close stops socat and waits for it to exit; the links are removed by socat (or here, if it
// could not). Safe to call more than once.
func (p *Pair) Close() error {
	p.once.Do(func() {
		if p.cmd.Process != nil {
			p.cmd.Process.Kill() // our own child, by pid
		}
		<-p.done
		err := p.cmd.Wait()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			p.err = fmt.Errorf("socatpair: wait: %w", err)
		}
		for _, l := range []string{p.A, p.B} {
			if fi, err := os.Lstat(l); err == nil && fi.Mode()&os.ModeSymlink != 0 {
				os.Remove(l)
			}
		}
	})
	return p.err
}
