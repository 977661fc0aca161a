package socatpair_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/coldaisle/coldaisle/drivers/serialport"
	"github.com/coldaisle/coldaisle/drivers/serialport/socatpair"
)

// A null-modem cable between two pseudo-terminals with stable paths: the controller opens one
// end, a simulated peer the other. (Compiled, not run: it needs the socat binary, and an example
// cannot skip when it is missing; the package's tests run the same steps.)
func Example() {
	if !socatpair.Available() {
		fmt.Println(socatpair.ErrNoSocat)
		return
	}
	dir, err := os.MkdirTemp("", "socatpair-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := socatpair.Start(ctx, dir)
	if err != nil {
		fmt.Println(err) // socat's own log is in the error
		return
	}
	defer p.Close() // the links disappear: ports open on them see a hang-up

	ctrl, err := serialport.Open(p.A, serialport.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ctrl.Close()
	peer, err := serialport.Open(p.B, serialport.Config{ReadTimeout: 50 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer peer.Close()

	_, _ = ctrl.Write([]byte("ping"))
	buf := make([]byte, 4)
	n, err := peer.Read(buf)
	fmt.Printf("%q %v\n", buf[:n], err)
}
