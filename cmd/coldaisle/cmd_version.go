package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/coldaisle/coldaisle/drivers/peer"
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
		pv, pc, _ := peer.Speaks()
		fmt.Fprintf(stdout, "coldaisle %s\ncommit %s\ngo %s\nplatform %s/%s\npeer protocol %d (its messages readable by release protocol %d and later)\n",
			version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, pv, pc)
		return exitOK
	})
}
