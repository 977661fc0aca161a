package serialport_test

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// A port opened on a pseudo-terminal as if it were a UART: the master end plays the device on the
// other side of the cable. A read that times out returns ErrTimeout (not the library's (0, nil)),
// and a missing device is an error that names it.
func Example() {
	pty, err := serialport.OpenPTY()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pty.Close()

	p, err := serialport.Open(pty.SlavePath, serialport.Config{Baud: 115200, ReadTimeout: 20 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	buf := make([]byte, 16)
	_, err = p.Read(buf)
	fmt.Println("nothing sent yet, timed out:", errors.Is(err, serialport.ErrTimeout))

	if _, err := pty.Master.Write([]byte("hello")); err != nil {
		fmt.Println(err)
		return
	}
	n, err := io.ReadAtLeast(p, buf, 5)
	fmt.Printf("%q %v\n", buf[:n], err)

	_, err = serialport.Open("/dev/coldaisle-example-missing", serialport.Config{})
	fmt.Println(err)
	// Output:
	// nothing sent yet, timed out: true
	// "hello" <nil>
	// serialport: open /dev/coldaisle-example-missing: no such file or directory
}
