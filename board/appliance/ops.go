package appliance

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/coldaisle/coldaisle/board/bms"
	"github.com/coldaisle/coldaisle/board/ops"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/drivers/syslog"
)

// trendKeep and trendEvery size the in-memory trend the status page and `show trend` draw.
const (
	trendKeep  = time.Hour
	trendEvery = 10 * time.Second
)

// publish makes the View of this period the one every operations client reads.
func (a *App) publish(rep engine.PeriodReport) {
	if a.pub != nil {
		a.pub.Publish(a.buildView(rep))
	}
}

// startOps starts the outward face the configuration asks for, each part owned by ctx and wg:
// the syslog sender for alarms, the BMS Modbus server, the HTTP server. A part that cannot start
// (an address in use) is an alarm, not a reason to stop controlling. Settings apply at start.
func (a *App) startOps(ctx context.Context, wg *sync.WaitGroup) {
	cfg, _ := a.runningConfig()
	if t := cfg.Alarms.Syslog; t != "" {
		s, err := syslog.Dial(t, syslog.Options{AppName: "coldaisle", Logf: a.warnf})
		if err != nil {
			a.raiseAlarm("syslog", "alarms.syslog "+t+": "+err.Error())
		} else {
			a.hub.mu.Lock()
			a.hub.sys = s
			a.hub.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = s.Run(ctx)
			}()
		}
	}
	if l := cfg.BMS.Listen; l != "" {
		ln, err := net.Listen("tcp", l)
		if err != nil {
			a.raiseAlarm("bms", "bms.listen "+l+": "+err.Error())
		} else {
			srv, err := bms.NewServer(a.pub, bms.Options{UnitID: cfg.BMS.UnitID, StaleAfter: max(3*cfg.Control.Period.Duration, 10*time.Second)})
			if err != nil {
				ln.Close()
				a.raiseAlarm("bms", "bms: "+err.Error())
			} else {
				a.logf("BMS Modbus server on %s, unit id %d", ln.Addr(), cfg.BMS.UnitID)
				a.bmsAddr.Store(ln.Addr().String())
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
						a.warnf("bms: %v", err)
					}
				}()
			}
		}
	}
	a.startHTTP(ctx, wg, cfg.HTTP.Listen)
}

// newPublisher is the App's publisher (Open).
func newPublisher() *ops.Publisher { return ops.NewPublisher(trendKeep, trendEvery) }

// BMSAddr is the BMS Modbus server's address once it listens ("" when off).
func (a *App) BMSAddr() string {
	s, _ := a.bmsAddr.Load().(string)
	return s
}
