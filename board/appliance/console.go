package appliance

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/board/console"
	"github.com/coldaisle/coldaisle/storage"
)

// consoleRetry is the first pause before serving a console line again after Serve returned at
// once (a port that reads end of file in a loop); it doubles up to a minute.
var consoleRetry = time.Second

// serveConsole serves the technician's console on rw until ctx ends. A serial console is always
// there: when Serve returns (end of file: the technician unplugged; a read error) it serves again,
// pausing when it keeps returning at once so a dead port does not spin.
func (a *App) serveConsole(ctx context.Context, rw io.ReadWriter) error {
	con := console.New(a.backend(), console.Options{})
	wait := consoleRetry
	var lastErr string
	for {
		start := time.Now()
		err := con.Serve(ctx, rw)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && err.Error() != lastErr {
			a.warnf("console: %v (serving again)", err)
		}
		if errors.Is(err, console.ErrInternal) { // a bug: keep a trace where support looks first
			first, _, _ := strings.Cut(err.Error(), "\n")
			a.event(storage.KindSystem, "console", first+" (session closed; see the log for the stack)")
		}
		if err != nil {
			lastErr = err.Error()
		}
		if time.Since(start) > time.Minute {
			wait = consoleRetry // a real session: no pause
			continue
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, time.Minute)
	}
}
