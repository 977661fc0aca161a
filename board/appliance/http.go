package appliance

import (
	"context"
	"sync"
)

// startHTTP starts the read-only operations server on listen (empty: off).
func (a *App) startHTTP(ctx context.Context, wg *sync.WaitGroup, listen string) {
	if listen != "" {
		a.warnf("http.listen %s: the operations server is not in this build", listen)
	}
}
