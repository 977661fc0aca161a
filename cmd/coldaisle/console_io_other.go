//go:build !linux

package main

import "os"

// redirectStderr is a no-op off Linux: the controller's own log lines still go to the file.
func redirectStderr(*os.File) (func(), error) { return func() {}, nil }
