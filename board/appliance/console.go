package appliance

import (
	"context"
	"errors"
	"io"
)

func (a *App) serveConsole(ctx context.Context, rw io.ReadWriter) error {
	return errors.New("appliance: console not wired yet")
}
