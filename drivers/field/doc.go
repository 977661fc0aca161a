// Package field builds the controller's field I/O from a site configuration: one Modbus bus per
// line, one typed air-handler unit per configured unit, and the mesh gateway session. It adapts
// them to the interfaces of control/engine, so the control code never sees a driver.
//
//	f, err := field.Open(ctx, cfg, field.Options{})
//	if err != nil { ... }                       // a line that cannot be opened, a bad profile
//	defer f.Close()
//	f.ConfigureUnits(ctx)                       // remote enable, BMS timeout, fallback, minimum fan
//	go f.RunMesh(ctx, func(r engine.Reading) { ... })
//	runner := &engine.Runner{Engine: eng, IO: f}
//
// Caveats: a TCP line connects on its first request and reconnects after any error, so Open
// succeeds with the units unreachable; a serial line is opened at once and fails Open if the
// device is missing. Only temperature readings reach the engine; humidity and pressure are
// counted and passed to Options.OtherReading if set.
package field
