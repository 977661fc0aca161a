// Package field builds the controller's field I/O from a site configuration: one Modbus bus per
// line, one typed air-handler unit per configured unit, and the mesh gateway session. It adapts
// them to the interfaces of control/engine, so the control code never sees a driver.
//
// Example opens the field of a small site against simulated devices, configures the units
// (ConfigureUnits returns the ones that failed, for the caller to retry), writes and reads a unit
// in engine terms (the Field is an engine.UnitIO: engine.Runner{IO: f}) and runs the mesh session
// with RunMesh.
//
// Caveats: a TCP line connects on its first request and reconnects after any error, so Open
// succeeds with the units unreachable; a serial line is opened at once and fails Open if the
// device is missing. Only temperature readings reach the engine; humidity and pressure are
// counted and passed to Options.OtherReading if set.
package field
