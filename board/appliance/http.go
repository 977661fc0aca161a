package appliance

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/coldaisle/coldaisle/board/ops"
)

// startHTTP starts the read-only operations server (/metrics, the status page, /api/status) on
// listen; empty: off. Options.HTTPListen overrides the site's setting ("off": none). It reads only
// the published View, so no client can delay a control period.
func (a *App) startHTTP(ctx context.Context, wg *sync.WaitGroup, listen string) {
	switch a.opts.HTTPListen {
	case "":
	case "off":
		listen = ""
	default:
		listen = a.opts.HTTPListen
	}
	if listen == "" {
		return
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil && a.opts.HTTPAnyPort {
		if host, _, herr := net.SplitHostPort(listen); herr == nil {
			ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
		}
	}
	if err != nil {
		a.raiseAlarm("http", "http.listen "+listen+": "+err.Error())
		return
	}
	a.httpAddr.Store(ln.Addr().String())
	a.logf("operations server on http://%s/ (status page, /metrics, /api/status)", ln.Addr())
	if a.opts.OnHTTP != nil {
		a.opts.OnHTTP(ln.Addr().String())
	}
	srv := ops.NewServer(a.pub, ops.ServerOptions{Addr: listen})
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
			a.warnf("http: %v", err)
		}
	}()
}

// HTTPAddr is the operations server's address once it listens ("" when off).
func (a *App) HTTPAddr() string {
	s, _ := a.httpAddr.Load().(string)
	return s
}
