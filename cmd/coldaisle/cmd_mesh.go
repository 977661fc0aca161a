package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/drivers/mesh"
	"github.com/coldaisle/coldaisle/drivers/serialport"
)

func init() {
	register("mesh", "talk to the sensor mesh gateway: mesh listen --port DEV", runMesh)
}

// meshReading is the JSON line printed per reading.
type meshReading struct {
	Sensor    string   `json:"sensor"`
	Kind      string   `json:"kind"`
	Value     *float64 `json:"value,omitempty"`
	Fault     bool     `json:"fault,omitempty"`
	Unit      string   `json:"unit"`
	Time      string   `json:"time"`
	NodeSeq   uint8    `json:"node_seq"`
	BatteryMV uint16   `json:"battery_mv,omitempty"`
}

// Baud rates the mesh gateway's UART may take: the site file's mesh.baud range.
const minBaud, maxBaud = 1200, 4000000

func runMesh(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("mesh listen", stdout, stderr,
		"Opens the mesh gateway on a serial port (8N1) and prints one JSON object per sensor reading\n"+
			"on stdout; on SIGINT/SIGTERM prints the link counters as JSON on stderr.",
		"--port DEV [--baud 115200] [--unack]")
	port := fs.String("port", "", "serial `DEV`ice of the mesh gateway (required)")
	baud := fs.Int("baud", 115200, fmt.Sprintf("baud rate, %d..%d", minBaud, maxBaud))
	unack := fs.Bool("unack", false, "ask for data notifications without acknowledgements")
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help"):
		fs.help(stdout) // listen is the only verb: its help is the command's
		return exitOK
	case len(args) == 0:
		return fs.usageErr("missing the verb: listen")
	case args[0] != "listen":
		fmt.Fprintf(stderr, "coldaisle mesh: unknown verb %q (want listen)\nusage: coldaisle mesh listen %s\n", args[0], fs.synopsis[0])
		return exitUsage
	}
	if code, ok := fs.parse(args[1:]); !ok {
		return code
	}
	if code, ok := fs.noArgs(); !ok {
		return code
	}
	if *port == "" {
		return fs.usageErr("--port is required")
	}
	if *baud < minBaud || *baud > maxBaud {
		return fs.usageErr("--baud %d is outside %d..%d", *baud, minBaud, maxBaud)
	}
	cfg := serialport.Config{Baud: *baud, DataBits: 8, Parity: serialport.ParityNone, StopBits: 1}

	// Open once up front so a wrong device is an immediate error; later failures are the
	// client's to retry.
	first, err := serialport.Open(*port, cfg)
	if err != nil {
		return fail(stderr, "mesh listen", err)
	}
	var mu sync.Mutex
	open := func() (io.ReadWriteCloser, error) {
		mu.Lock()
		defer mu.Unlock()
		if first != nil {
			p := first
			first = nil
			return p, nil
		}
		return serialport.Open(*port, cfg)
	}
	client := mesh.NewClient(open, mesh.Options{
		UnackData: *unack,
		Logf: func(format string, a ...any) {
			fmt.Fprintln(stderr, prefixed("mesh listen", fmt.Sprintf(format, a...)))
		},
	})

	enc := json.NewEncoder(stdout)
	err = client.Run(ctx, func(r mesh.Reading) {
		line := meshReading{
			Sensor:    r.Sensor,
			Kind:      r.Kind.String(),
			Fault:     r.Fault,
			Unit:      r.Kind.Unit(),
			Time:      r.Time.UTC().Format(time.RFC3339Nano),
			NodeSeq:   r.NodeSeq,
			BatteryMV: r.BatteryMV,
		}
		if !r.Fault {
			v := r.Value
			line.Value = &v
		}
		enc.Encode(line) // a closed stdout must not stop the link; nothing useful to do here
	})
	counters, _ := json.Marshal(client.Counters())
	fmt.Fprintf(stderr, "%s\n", counters)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fail(stderr, "mesh listen", err)
	}
	return exitOK
}
