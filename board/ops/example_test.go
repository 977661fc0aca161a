package ops_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/coldaisle/coldaisle/board/ops"
)

// Serve the operations face on a loopback port and read the status as JSON.
func Example() {
	p := ops.NewPublisher(time.Hour, 10*time.Second)
	p.Publish(&ops.View{
		Time: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), Site: "hall-b", Software: "v1.4.2", Role: "active", State: "controlling",
		Zones: []ops.Zone{{Name: "row-a", SetpointC: 24, HottestC: 23.6, MeasureC: 23.6, HottestID: "s07", Valid: 12, Total: 12, OK: true}},
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	srv := ops.NewServer(p, ops.ServerOptions{Addr: ln.Addr().String()})
	go func() { done <- srv.Serve(ctx, ln) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/api/status")
	if err != nil {
		fmt.Println(err)
		return
	}
	var st struct {
		Site  string `json:"site"`
		State string `json:"state"`
		Zones []struct {
			Name      string   `json:"name"`
			HottestC  *float64 `json:"hottest_c"`
			SetpointC *float64 `json:"setpoint_c"`
		} `json:"zones"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, resp.Header.Get("Cache-Control"), st.Site, st.State)
	fmt.Printf("%s hottest %.1f °C, setpoint %.1f °C\n", st.Zones[0].Name, *st.Zones[0].HottestC, *st.Zones[0].SetpointC)

	stop()
	fmt.Println("stopped:", <-done)
	// Output:
	// 200 no-store hall-b controlling
	// row-a hottest 23.6 °C, setpoint 24.0 °C
	// stopped: <nil>
}
