package twin

import (
	"time"

	"github.com/coldaisle/coldaisle/drivers/modbus/modbussim"
)

// ConnMatch selects Modbus TCP connections for Faults (modbussim's).
type ConnMatch = modbussim.ConnMatch

// MatchPort selects the connections a client opened from source port port.
func MatchPort(port int) ConnMatch { return modbussim.MatchPort(port) }

// MatchOwner selects the connections on which owner id (crah-generic register 10) was the last
// owner written: one board of a 2N pair, from its first block write on each connection.
func MatchOwner(id int) ConnMatch { return modbussim.MatchOwner(id) }

// MatchConn selects one connection by ConnInfo.ID.
func MatchConn(id uint64) ConnMatch { return modbussim.MatchConn(id) }

// ConnInfo is one live Modbus TCP connection (modbussim's).
type ConnInfo = modbussim.ConnInfo

// Faults injects failures into single Modbus TCP connections, so one board of a pair loses its
// link to the air handlers while the other keeps its own. Get it from Twin.Faults; every method
// is safe from any goroutine and logs what it did to the twin's story.
type Faults struct{ t *Twin }

// Faults returns the twin's per-connection fault injection.
func (t *Twin) Faults() *Faults { return &Faults{t: t} }

// Cut resets the matching connections now (the client's next read or write fails with a reset)
// and every connection that comes to match until Heal; the request that makes one match is
// not executed. It returns how many connections were reset now.
func (f *Faults) Cut(m ConnMatch) int {
	n := f.t.srv.CutConns(m)
	f.t.logf("twin: modbus: cut %s (%d connections reset)", m, n)
	return n
}

// Stall swallows the requests of the matching connections for d (d <= 0: until Heal): no
// answer, nothing reaches the units, the connection stays open and the client times out.
func (f *Faults) Stall(m ConnMatch, d time.Duration) {
	f.t.srv.StallConns(m, d)
	if d > 0 {
		f.t.logf("twin: modbus: stall %s for %v", m, d)
	} else {
		f.t.logf("twin: modbus: stall %s until healed", m)
	}
}

// Heal removes the cuts and stalls set with m; it returns how many it removed.
func (f *Faults) Heal(m ConnMatch) int {
	n := f.t.srv.HealConns(m)
	f.t.logf("twin: modbus: healed %s (%d faults removed)", m, n)
	return n
}

// HealAll removes every connection fault.
func (f *Faults) HealAll() {
	f.t.srv.HealAllConns()
	f.t.logf("twin: modbus: every connection fault healed")
}

// Conns lists the live Modbus TCP connections (accept order), with the owner last written on
// each.
func (f *Faults) Conns() []ConnInfo { return f.t.srv.Conns() }

// Active lists the connection faults in force, in words.
func (f *Faults) Active() []string { return f.t.srv.ConnFaults() }
