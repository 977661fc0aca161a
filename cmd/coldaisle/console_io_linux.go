package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// redirectStderr makes file descriptor 2 the file (so that nothing, not even the runtime, writes
// to the console's terminal) and returns how to give it back.
func redirectStderr(f *os.File) (func(), error) {
	saved, err := unix.Dup(2)
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(saved)
	if err := unix.Dup3(int(f.Fd()), 2, 0); err != nil {
		unix.Close(saved)
		return nil, err
	}
	return func() {
		_ = unix.Dup3(saved, 2, 0)
		unix.Close(saved)
	}, nil
}
