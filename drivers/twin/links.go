package twin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
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
// previous run's leftover). Anything else at path is left alone and is an error. It first takes
// an exclusive lock on a lock file beside the link, held until unlink: a second twin on the same
// path is refused instead of taking the link over (and then deleting it when it exits, under the
// first one's controller). unlink removes the link only if it is still the one made here.
func placeLink(path, target string) (unlink func(), err error) {
	lock, err := lockLink(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.release()
		}
	}()
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return nil, fmt.Errorf("%w: %s exists and is not a symlink; not replacing it", ErrLink, path)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".twin-"+strconv.Itoa(os.Getpid()))
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return nil, fmt.Errorf("%w: symlink %s: %w", ErrLink, path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("%w: symlink %s: %w", ErrLink, path, err)
	}
	made, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: symlink %s: %w", ErrLink, path, err)
	}
	return func() {
		// Still ours: the same symlink (inode) pointing at our pty. Holding the lock, no other
		// twin can have replaced it; something else might have.
		if fi, err := os.Lstat(path); err == nil && sameLink(fi, made) {
			if l, err := os.Readlink(path); err == nil && l == target {
				_ = os.Remove(path)
			}
		}
		lock.release()
	}, nil
}

// sameLink reports whether a and b are the same symlink: the same inode, and the same change
// time, as a file system may give a new link the inode number of one just removed.
func sameLink(a, b os.FileInfo) bool {
	if !os.SameFile(a, b) {
		return false
	}
	sa, oka := a.Sys().(*syscall.Stat_t)
	sb, okb := b.Sys().(*syscall.Stat_t)
	return oka && okb && sa.Ctim == sb.Ctim
}

// linkLock is the flock on the lock file of one link path.
type linkLock struct {
	path string
	f    *os.File
}

// lockPath is the lock file of the link at path: beside it, hidden.
func lockPath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".lock")
}

// lockLink takes the lock of the link at path without waiting; the lock file holds the owner's
// pid for the message a second twin gets.
func lockLink(path string) (*linkLock, error) {
	lp := lockPath(path)
	for range 10 {
		f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("%w: lock %s: %w", ErrLink, lp, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			owner, _ := io.ReadAll(io.LimitReader(f, 32))
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				who := "another twin"
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(owner))); perr == nil && pid > 0 {
					who = fmt.Sprintf("another twin (pid %d)", pid)
				}
				return nil, fmt.Errorf("%w: %s is in use by %s (lock %s); stop it or give another path", ErrLink, path, who, lp)
			}
			return nil, fmt.Errorf("%w: lock %s: %w", ErrLink, lp, err)
		}
		// The previous owner removes the file as it lets go: if it did so between our open and
		// our flock, we hold a lock on a file nobody else will open. Then start again.
		fi, ferr := f.Stat()
		pi, perr := os.Stat(lp)
		if ferr != nil || perr != nil || !os.SameFile(fi, pi) {
			f.Close()
			continue
		}
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		return &linkLock{path: lp, f: f}, nil
	}
	return nil, fmt.Errorf("%w: lock %s: the lock file keeps being replaced", ErrLink, lp)
}

// release removes the lock file and lets go of the lock (in that order, see lockLink).
func (l *linkLock) release() {
	_ = os.Remove(l.path)
	_ = l.f.Close()
}

// superviseGateway runs the gateway, and takes it down and up again for reboots: silent (not
// running, not reading) while down, then the line's stale input is dropped and the gateway boots
// (meshsim Reboot: a cut-off frame, no session, manager_hello).
func (t *Twin) superviseGateway(ctx context.Context, g *gwLink) error {
	var seen uint64
	for {
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		g.active.Store(true)
		go func() { done <- g.gw.Run(runCtx) }()
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
			case <-g.kick:
				if g := g.gen.Load(); g != seen {
					seen = g
					rebooting = true
				}
			}
		}
		stop()
		<-done
		g.active.Store(false)
		// Down: wait until the plant says the outage is over.
		for g.want.Load() {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-g.kick:
				seen = g.gen.Load()
			}
		}
		if err := g.rebootLine(); err != nil {
			return err
		}
		g.gw.Reboot()
	}
}

// rebootLine clears the deadlines meshsim's Run left on the pty and drops what the controller
// sent while the gateway was down (a rebooting UART hears nothing).
func (g *gwLink) rebootLine() error {
	f, err := g.rw.file()
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

// stoppedError is what WaitReady returns when Run ended first: ErrStopped and Run's error, whose
// "twin: " prefix is not said twice.
type stoppedError struct{ cause error }

func (e stoppedError) Error() string {
	return ErrStopped.Error() + ": " + strings.TrimPrefix(e.cause.Error(), "twin: ")
}

func (e stoppedError) Unwrap() []error { return []error{ErrStopped, e.cause} }
