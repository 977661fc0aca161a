package socatpair

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/serialport"
)

func TestPairCarriesBytesBothWays(t *testing.T) {
	if testing.Short() {
		t.Skip("needs socat and real ptys")
	}
	if !Available() {
		t.Skip("socat not installed")
	}
	p, err := Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, err := serialport.Open(p.A, serialport.Config{ReadTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := serialport.Open(p.B, serialport.Config{ReadTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	msg := []byte{0x7e, 0x00, '\r', '\n', 0xff, 0x03}
	if _, err := a.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(b, got); err != nil || string(got) != string(msg) {
		t.Fatalf("b read % x, %v; want % x", got, err, msg)
	}
	if _, err := b.Write(msg[:3]); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(a, got[:3]); err != nil || string(got[:3]) != string(msg[:3]) {
		t.Fatalf("a read % x, %v", got[:3], err)
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(p.A); !os.IsNotExist(err) {
		t.Errorf("link %s still there after Close: %v", p.A, err)
	}
	// The peer vanished: a read is an error, not a timeout.
	if _, err := a.Read(got); err == nil {
		t.Error("read after socat exit succeeded")
	}
}
