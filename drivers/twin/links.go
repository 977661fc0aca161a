package twin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// fileRW lets the gateway be built in New, before Run opens its pty: it forwards to the file set
// later, including the deadlines meshsim uses to stop its reader and writer.
type fileRW struct{ f atomic.Pointer[os.File] }

func (r *fileRW) file() (*os.File, error) {
	if f := r.f.Load(); f != nil {
		return f, nil
	}
	return nil, io.ErrClosedPipe
}

func (r *fileRW) Read(b []byte) (int, error) {
	f, err := r.file()
	if err != nil {
		return 0, err
	}
	return f.Read(b)
}

func (r *fileRW) Write(b []byte) (int, error) {
	f, err := r.file()
	if err != nil {
		return 0, err
	}
	return f.Write(b)
}

func (r *fileRW) SetReadDeadline(t time.Time) error {
	f, err := r.file()
	if err != nil {
		return err
	}
	return f.SetReadDeadline(t)
}

func (r *fileRW) SetWriteDeadline(t time.Time) error {
	f, err := r.file()
	if err != nil {
		return err
	}
	return f.SetWriteDeadline(t)
}

// placeLink makes path a symlink to target, atomically replacing a symlink already there (a
// previous run's leftover). Anything else at path is left alone and is an error.
func placeLink(path, target string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("%w: %s exists and is not a symlink; not replacing it", ErrLink, path)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".twin-"+strconv.Itoa(os.Getpid()))
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("%w: symlink %s: %w", ErrLink, path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("%w: symlink %s: %w", ErrLink, path, err)
	}
	return nil
}

// removeLink removes path if it is still our symlink to target (another twin may have replaced
// it since).
func removeLink(path, target string) {
	if l, err := os.Readlink(path); err == nil && l == target {
		_ = os.Remove(path)
	}
}

// superviseGateway runs the gateway, and takes it down and up again for reboots: silent (not
// running, not reading) while down, then the line's stale input is dropped and the gateway boots
// (meshsim Reboot: a cut-off frame, no session, manager_hello).
func (t *Twin) superviseGateway(ctx context.Context) error {
	var seen uint64
	for {
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		t.gwActive.Store(true)
		go func() { done <- t.gw.Run(runCtx) }()
		rebooting := false
		for !rebooting {
			select {
			case <-ctx.Done():
				stop()
				<-done
				return ctx.Err()
			case err := <-done:
				stop()
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return err
			case <-t.gwKick:
				if g := t.gwGen.Load(); g != seen {
					seen = g
					rebooting = true
				}
			}
		}
		stop()
		<-done
		t.gwActive.Store(false)
		// Down: wait until the plant says the outage is over.
		for t.gwWant.Load() {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.gwKick:
				seen = t.gwGen.Load()
			}
		}
		if err := t.rebootLine(); err != nil {
			return err
		}
		t.gw.Reboot()
	}
}

// rebootLine clears the deadlines meshsim's Run left on the pty and drops what the controller
// sent while the gateway was down (a rebooting UART hears nothing).
func (t *Twin) rebootLine() error {
	f, err := t.gwRW.file()
	if err != nil {
		return err
	}
	buf := make([]byte, 1024)
	for range 256 {
		if err := f.SetReadDeadline(time.Now().Add(2 * time.Millisecond)); err != nil {
			return fmt.Errorf("twin: gateway pty: %w", err)
		}
		n, err := f.Read(buf)
		if err != nil || n == 0 {
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("twin: gateway pty: %w", err)
			}
			break
		}
	}
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("twin: gateway pty: %w", err)
	}
	if err := f.SetWriteDeadline(time.Time{}); err != nil {
		return fmt.Errorf("twin: gateway pty: %w", err)
	}
	return nil
}
