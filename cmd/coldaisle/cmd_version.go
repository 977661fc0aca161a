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
	register("version", "print version, commit, Go version and platform", func(_ context.Context, _ []string, stdout, _ io.Writer) int {
		fmt.Fprintf(stdout, "coldaisle %s\ncommit %s\ngo %s\nplatform %s/%s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	})
}
