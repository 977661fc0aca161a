// Package ahusim simulates air handlers on the Modbus side: register banks that implement
// modbussim.Device with the behaviour of /work/shared/specs/crah-modbus.md, a JSON-lines log of
// every write they receive, and a checker for that log.
//
// CRAH (profile crah-generic): input registers 0..9 fed by the plant through SetFeedback;
// holding registers 0..4 and 10..15. The BMS timer runs on an injected plant clock and is reset
// only by writes to register 12; with remote control enabled and no heartbeat for the BMS
// timeout the unit enters local fallback (status bit 2: fallback fan speed, valve on its local
// supply-air loop) until the next heartbeat. Commands below the minimum fan are raised to it.
// A write is applied whole or refused whole:
//
//	0x02  any address not in the map (holding 5..9, 16 and up; input 10 and up)
//	0x03  any value out of range (commands and speeds above 1000, temperatures outside -40..80 °C,
//	      enable flags other than 0/1)
//	0x04  fencing on (register 15 = 1) and the write carries an epoch (register 11) below the
//	      stored one
//
// VFD (profile vfd-fan): control word, speed reference 0..20000, computed status word, actual
// speed and power (CDAB), comm-loss timeout (0.1 s) reset only by writes to 0 or 1, action
// (0 none, 1 hold, 2 fallback speed) and fallback speed. Writes to the read-only registers 2..5
// are refused with 0x02 (the address is not writable, as most drives answer), to an address
// past 8 with 0x02, out-of-range values with 0x03. A drive has no input registers (0x02).
// Modbus has no function that writes input registers, so "write to an input register" cannot
// arise on the wire.
//
// The plant side: Effective() says what the unit does (remote commands, or local fan speed and
// supply setpoint, fallback, tripped); SetFeedback feeds temperatures, fan, valve and powers
// back. Failure injection in the bank: ForceFallback(on), Trip(on) (fan fault: fan stopped,
// status fan-fault and alarm bits, alarm code AlarmFanFault), CRAH.SetAlarm. No answer, busy
// and delays are injected by modbussim.Server.SetFault.
//
// Example feeds a CRAH the controller's writes on a plant clock, reads what it does
// (Effective), lets its BMS timer run out and finds the gap in the write log with CheckWrites. In
// the twin the banks are added to a modbussim.Server, which calls the same methods per request.
//
// Caveats:
//   - Clock is read on every call, before the unit's lock is taken; it must be cheap and must not
//     wait for a lock held by whoever calls Effective (keep plant time in an atomic).
//   - Power-up: CRAH remote control off (Options.RemoteEnabled to change), fan and valve commands
//     100 %; drive stopped with its comm-loss timer already running, so a drive nobody talks to
//     goes to its fallback speed (more air).
//   - Fencing judges only writes that include register 11; a single-register write to 12..14 is
//     accepted whatever the epoch, as the spec defines fencing on block writes.
//   - The write log keeps the first write error (Log.Err) and drops later lines.
//   - A write log line's owner and epoch are the unit's after the write; writer and writer_epoch
//     are the sender's, so a refused (fenced) write shows both. writer comes from register 10 in
//     the write, else from Options.ConnOwner (the owner last written on that TCP connection):
//     without it, or on RTU, a write that does not carry register 10 has no writer.
package ahusim
