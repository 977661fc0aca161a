package syslog_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/coldaisle/coldaisle/drivers/syslog"
)

func ExampleSender() {
	// A collector on loopback, standing in for the site's syslog server.
	coll, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer coll.Close()

	s, err := syslog.Dial("udp://"+coll.LocalAddr().String(), syslog.Options{Hostname: "crah-room-1", ProcID: "812"})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	s.Send(syslog.Message{
		Time:     time.Date(2026, 3, 1, 10, 0, 0, 250000000, time.UTC),
		Severity: 2, // crit
		MsgID:    "RAISED",
		SD: []syslog.SDElement{{ID: "alarm@32473", Params: []syslog.SDParam{
			{Name: "key", Value: "zone/row-a/inlet-high"}, {Name: "severity", Value: "critical"}}}},
		Text: "zone row-a inlet-high: inlet 28.1 C above alarm limit 27.0 C",
	})

	buf := make([]byte, syslog.MaxDatagram)
	_ = coll.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := coll.ReadFrom(buf)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(buf[:n]))

	cancel()
	fmt.Println(<-done, s.Counters())
	// Output:
	// <130>1 2026-03-01T10:00:00.250000Z crah-room-1 coldaisle 812 RAISED [alarm@32473 key="zone/row-a/inlet-high" severity="critical"] zone row-a inlet-high: inlet 28.1 C above alarm limit 27.0 C
	// context canceled {1 0 0 0}
}
