// Package bms is the controller's northbound face for a building management system: a read-only
// Modbus TCP server (drivers/modbus Server) of a register image built from the View the appliance
// publishes after each control period (board/ops Publisher). A BMS polls coldaisle like any other
// Modbus device: the header (state, role, epoch, configuration version, alarm counts by severity,
// periods, overruns, uptime and the view's age), a block per zone, a block per unit and the list of
// active alarms, at the fixed addresses of register-map.md (the same image in holding and input
// registers). TestRegisterMapDocument holds that document and Layout together.
//
// Encoding: int16 in 0.1 °C, 0.1 % or 0.01 kW with 0x8000 for "not available" (NaN, no valve, an
// absent block); uint32 high word first with 0xFFFFFFFF for not available; names as 16 ASCII
// characters in 8 registers, high byte first.
//
// Example serves a published View on loopback and reads the header, a zone and a name back with
// the drivers/modbus client, then shows a write refused with exception 0x01.
//
// Caveats:
//   - Read-only by design: every write (functions 5, 6, 15, 16, 22, 23) is refused with 0x01
//     illegal function, so a BMS cannot change a setpoint or acknowledge an alarm here.
//   - Before the first published View the server answers (it does not send 0x06 busy): the header
//     shows state 0 "starting" with the view-available bit clear, and every block is absent. A
//     BMS then sees "controller up, not yet controlling" rather than a communication fault.
//   - The image is built at most once per view and second (the ages move by whole seconds) and a
//     request is served from one build, so one read is one consistent snapshot; a BMS that reads
//     a block in several requests may mix two control periods.
//   - Staleness is shown, not hidden: if the control loop stops publishing, the last values stay
//     and the view age grows; the header's stale bit sets past StaleAfter (default three control
//     periods, at least 10 s).
//   - A request for another unit id is not answered (a timeout at the BMS); 0 and 255 are
//     answered as this device.
//   - Zones past 32, units past 64 and alarms past 32 are not served (header status bits say
//     so); alarm indexes move as alarms come and go.
//   - The `[bms]` section of the site file (listen, unit_id) is read by the site configuration;
//     this package takes the values as Options and ListenAndServe's listen address.
package bms
