package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
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

func meshUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: coldaisle mesh listen --port DEV [--baud N] [--unack]")
	fmt.Fprintln(w, "  prints one JSON object per sensor reading on stdout; on SIGINT/SIGTERM prints the link counters as JSON on stderr")
}

func runMesh(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "listen" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			meshUsage(stdout)
			return exitOK
		}
		meshUsage(stderr)
		return exitUsage
	}
	fs := flag.NewFlagSet("mesh listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.String("port", "", "serial device of the mesh gateway (required)")
	baud := fs.Int("baud", 115200, "baud rate (8N1)")
	unack := fs.Bool("unack", false, "ask for data notifications without acknowledgements")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *port == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "coldaisle mesh listen: --port is required and no positional arguments are taken")
		meshUsage(stderr)
		return exitUsage
	}
	if *baud <= 0 {
		fmt.Fprintf(stderr, "coldaisle mesh listen: --baud %d must be positive\n", *baud)
		return exitUsage
	}
	cfg := serialport.Config{Baud: *baud, DataBits: 8, Parity: serialport.ParityNone, StopBits: 1}

	// Open once up front so a wrong device is an immediate error; later failures are the
	// client's to retry.
	first, err := serialport.Open(*port, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "coldaisle mesh listen: %v\n", err)
		return exitFailure
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
			fmt.Fprintf(stderr, "coldaisle mesh listen: "+format+"\n", a...)
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
		fmt.Fprintf(stderr, "coldaisle mesh listen: %v\n", err)
		return exitFailure
	}
	return exitOK
}
