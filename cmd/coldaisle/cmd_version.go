package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
)

// Stamped by the Makefile with -ldflags -X.
var (
	version = "dev"
	commit  = "unknown"
)

func init() {
	register("version", "print version, commit, Go version and platform", func(_ context.Context, args []string, stdout, stderr io.Writer) int {
		fs := newFlags("version", stdout, stderr, "Prints the build stamp: version, commit, Go version and platform.")
		if code, ok := fs.parse(args); !ok {
			return code
		}
		if code, ok := fs.noArgs(); !ok {
			return code
		}
		fmt.Fprintf(stdout, "coldaisle %s\ncommit %s\ngo %s\nplatform %s/%s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	})
}
