package modbus

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// Target is a parsed Dial target.
type Target struct {
	// Kind is "tcp" or "rtu".
	Kind string
	// Addr is host:port for tcp, the device path for rtu.
	Addr string
	// Serial is the line setting for rtu (Baud, Parity, StopBits, DataBits).
	Serial serialport.Config
}

func (t Target) String() string {
	if t.Kind == "tcp" {
		return "tcp://" + t.Addr
	}
	return fmt.Sprintf("rtu://%s?baud=%d&parity=%c&stop=%d", t.Addr, t.Serial.Baud, t.Serial.Parity, t.Serial.StopBits)
}

// ParseTarget parses "tcp://host[:port]" (port 502 by default) or
// "rtu:///dev/ttyX?baud=19200&parity=E&stop=1&data=8" (defaults 19200 baud, even parity, 1 stop
// bit, 8 data bits, the Modbus serial line defaults). Errors wrap ErrBadTarget and name the
// part that is wrong.
func ParseTarget(s string) (Target, error) {
	bad := func(format string, a ...any) (Target, error) {
		return Target{}, fmt.Errorf("%w %q: %s", ErrBadTarget, s, fmt.Sprintf(format, a...))
	}
	if !strings.Contains(s, "://") {
		return bad("missing scheme (want tcp://host:port or rtu:///dev/ttyX)")
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("%v", err)
	}
	switch u.Scheme {
	case "tcp":
		if u.Host == "" {
			return bad("missing host (want tcp://host:port)")
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
			return bad("tcp targets take no path or options")
		}
		host, port := u.Hostname(), u.Port()
		if port == "" {
			port = "502"
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return bad("port %q is not 1..65535", port)
		}
		return Target{Kind: "tcp", Addr: net.JoinHostPort(host, port)}, nil
	case "rtu":
		if u.Host != "" {
			return bad("rtu targets name a device path: rtu:///dev/ttyUSB0 (three slashes)")
		}
		if u.Path == "" {
			return bad("missing device path (want rtu:///dev/ttyUSB0)")
		}
		t := Target{Kind: "rtu", Addr: u.Path, Serial: serialport.Config{Baud: 19200, DataBits: 8, Parity: serialport.ParityEven, StopBits: 1}}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return bad("options: %v", err)
		}
		for k, vs := range q {
			v := vs[len(vs)-1]
			switch k {
			case "baud":
				n, err := strconv.Atoi(v)
				if err != nil || n < 300 || n > 4000000 {
					return bad("baud %q is not a number in 300..4000000", v)
				}
				t.Serial.Baud = n
			case "parity":
				switch strings.ToUpper(v) {
				case "N", "NONE":
					t.Serial.Parity = serialport.ParityNone
				case "E", "EVEN":
					t.Serial.Parity = serialport.ParityEven
				case "O", "ODD":
					t.Serial.Parity = serialport.ParityOdd
				default:
					return bad("parity %q is not N, E or O", v)
				}
			case "stop":
				if v != "1" && v != "2" {
					return bad("stop %q is not 1 or 2", v)
				}
				t.Serial.StopBits = int(v[0] - '0')
			case "data":
				if v != "7" && v != "8" {
					return bad("data %q is not 7 or 8", v)
				}
				t.Serial.DataBits = int(v[0] - '0')
			default:
				return bad("unknown option %q (want baud, parity, stop, data)", k)
			}
		}
		return t, nil
	case "":
		return bad("missing scheme (want tcp://host:port or rtu:///dev/ttyX)")
	}
	return bad("unknown scheme %q (want tcp or rtu)", u.Scheme)
}
