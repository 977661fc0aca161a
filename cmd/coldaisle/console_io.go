package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// openConsole opens the technician's console: "stdio" (raw mode when stdin is a terminal) or a
// serial device at 115200 8N1.
func openConsole(dev string) (io.ReadWriter, func(), error) {
	if dev == "stdio" {
		fd := int(os.Stdin.Fd())
		restore := func() {}
		if term.IsTerminal(fd) {
			old, err := term.MakeRaw(fd)
			if err != nil {
				return nil, nil, err
			}
			restore = func() { term.Restore(fd, old) }
		}
		return stdio{os.Stdin, os.Stdout}, restore, nil
	}
	p, err := serialport.Open(dev, serialport.Config{Baud: 115200})
	if err != nil {
		return nil, nil, err
	}
	return p, func() { p.Close() }, nil
}

// stdio is the console on the process's own terminal. SyscallConn gives the console stdout's
// descriptor, so it can ask the terminal's size.
type stdio struct{ in, out *os.File }

func (s stdio) Read(p []byte) (int, error)  { return s.in.Read(p) }
func (s stdio) Write(p []byte) (int, error) { return s.out.Write(p) }

func (s stdio) SyscallConn() (syscall.RawConn, error) { return s.out.SyscallConn() }

// maxLogSize is where the log file beside the database is rotated (one old generation is kept:
// flash is small, and the event log in the database holds what matters for the record).
const maxLogSize = 4 << 20

// consoleLogPath is the log file beside the database: state.db -> state.log.
func consoleLogPath(db string) string {
	return strings.TrimSuffix(db, filepath.Ext(db)) + ".log"
}

// stdioLogs keeps the console's terminal to the console when it runs on stdio and stderr is that
// same terminal: a log line written there lands in the middle of the login prompt or of a reply,
// where x/term cannot redraw around it. Log lines then go to a file beside the database, time
// stamped, and so does everything else written to file descriptor 2 (a runtime panic trace
// included), until restore. With stderr elsewhere (a pipe to the journal, a file) nothing changes.
// The one line printed on the terminal, before the console starts, says where the log is.
type stdioLogs struct {
	mu      sync.Mutex
	f       *os.File
	path    string
	restore func() // gives file descriptor 2 back to the terminal
	once    sync.Once
}

// openStdioLogs returns nil, nil when the logs may stay on stderr.
func openStdioLogs(consoleDev, db string, stderr io.Writer) (*stdioLogs, error) {
	if consoleDev != "stdio" || !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil, nil
	}
	path := consoleLogPath(db)
	if st, err := os.Stat(path); err == nil && st.Size() > maxLogSize {
		_ = os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log file for the console on stdio: %w", err)
	}
	fmt.Fprintf(stderr, "coldaisle: the console is on this terminal; log lines go to %s\r\n", path)
	l := &stdioLogs{f: f, path: path}
	restore, err := redirectStderr(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("log file for the console on stdio: %w", err)
	}
	l.restore = restore
	return l, nil
}

// Write writes log records (slog's handler) to the file, under the lock that close takes.
func (l *stdioLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// logf writes one time-stamped line.
func (l *stdioLogs) logf(format string, a ...any) {
	l.mu.Lock() // after close the write fails quietly: the line has nowhere safe to go
	defer l.mu.Unlock()
	fmt.Fprintf(l.f, "%s coldaisle: %s\n", time.Now().Format("2006-01-02T15:04:05.000Z07:00"), fmt.Sprintf(format, a...))
}

// close gives stderr back to the terminal (the console has stopped) and closes the file; again
// is a no-op.
func (l *stdioLogs) close() {
	l.once.Do(func() {
		l.restore()
		l.mu.Lock()
		l.f.Close()
		l.mu.Unlock()
	})
}
