// Package consoletest has a fake clock and an in-memory fake console.Backend for tests of the
// serial console (and of programs that embed it).
//
//	clk := consoletest.NewClock(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC))
//	b := consoletest.NewBackend(cfg, clk)          // version 1 = cfg, no users yet
//	con := console.New(b, console.Options{Clock: clk})
//	go con.Serve(ctx, pty)
//	clk.Advance(15 * time.Minute)                  // idle logout, no waiting
//
// Caveats: the plant data (sensors, units, tuning, commissioning) are canned numbers; CommitConfig
// validates like a real backend should and is atomic.
package consoletest
