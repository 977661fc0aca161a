package appliance_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/coldaisle/coldaisle/board/appliance"
	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/site"
	"github.com/coldaisle/coldaisle/drivers/twin"
	"github.com/coldaisle/coldaisle/storage"
)

// `coldaisle run` against the digital twin instead of a site: the site file is imported into a new
// database on first boot, the controller takes the units over and writes its first commands, and
// stops when ctx ends. NoBoard leaves out the LEDs, relay and watchdog (no hardware here); on a
// board Options.Console would serve the technician's console too.
func Example() {
	dir, err := os.MkdirTemp("", "appliance-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	sc, err := plant.LoadScenario("small-room")
	if err != nil {
		fmt.Println(err)
		return
	}
	tw, err := twin.New(twin.Options{Scenario: sc, Seed: 1, Speed: 10, GatewayLink: filepath.Join(dir, "gw")})
	if err != nil {
		fmt.Println(err)
		return
	}
	twinDone := make(chan error, 1)
	go func() { twinDone <- tw.Run(ctx) }()
	if err := tw.WaitReady(ctx); err != nil {
		fmt.Println(err)
		return
	}
	data, err := site.Encode(tw.SiteConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	configPath, dbPath := filepath.Join(dir, "site.toml"), filepath.Join(dir, "coldaisle.db")
	if err := os.WriteFile(configPath, data, 0o600); err != nil {
		fmt.Println(err)
		return
	}

	runCtx, stop := context.WithCancel(ctx)
	// Stop (SIGTERM, in the real program) once the controller has taken every unit over.
	allRemote := func() bool {
		for _, u := range tw.Snapshot().Units {
			if !u.RemoteEnabled {
				return false
			}
		}
		return true
	}
	err = appliance.Run(runCtx, appliance.Options{ConfigPath: configPath, DBPath: dbPath, NoBoard: true,
		Logf: func(string, ...any) {}, // quiet here; stderr by default
		OnPeriod: func(engine.PeriodReport, engine.Snapshot) {
			if allRemote() {
				stop()
			}
		}})
	fmt.Println("run:", err) // nil: a clean stop, state checkpointed
	for _, u := range tw.Snapshot().Units {
		fmt.Println(u.Name, "remote enabled:", u.RemoteEnabled)
	}

	db, err := storage.Open(dbPath, &storage.Options{ReadOnly: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	cur, _ := db.Config()
	epoch, _ := db.Epoch()
	fmt.Println("configuration version", cur.Version, "epoch", epoch)

	cancel()
	<-twinDone
	// Output:
	// run: <nil>
	// crah-1 remote enabled: true
	// fan-2 remote enabled: true
	// configuration version 1 epoch 1
}
