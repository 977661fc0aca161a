// Package ahu drives air handlers (CRAH units and fan drives) over Modbus through register-map
// profiles, so no address is hard-coded in the controller.
//
// A Profile is a table of named points: table (input or holding), 0-based address, data type
// (int16, uint16, int32, uint32, float32), word order (ABCD, CDAB, BADC, DCBA), scale and
// offset (engineering value = raw*scale + offset), writable or not, limits in engineering units,
// a Role that tells the controller what the point means, and for bit fields the meaning of each
// bit. Two profiles ship built in, exactly as /work/shared/specs/crah-modbus.md defines them:
// "crah-generic" and "vfd-fan". Sites add their own with ParseProfiles (TOML; see its comment for
// the layout).
//
// A Unit binds a profile to a Modbus unit id on a Conn (satisfied by *modbus.Bus; this package
// does not import the Modbus driver). Example binds the crah-generic profile to a simulated unit
// over a Modbus TCP bus, configures it, reads its state (one read of input registers 0..9) and
// writes a command (one function-16 write of holding registers 10..14).
//
// Fail safe: WriteCommand clamps fan and valve to 0..100 % and never commands the fan below the
// unit's minimum (Configure's MinFanPct, the unit's own minimum-fan register, or SetMinFanPct).
// Configure never writes a zero BMS timeout or fallback fan: zero numeric settings mean "leave
// the unit's value", so a careless config cannot switch the fail-safe off.
//
// Caveats:
//   - ReadState coalesces only points that touch (no gaps): a gap might be an address the unit
//     answers with exception 0x02.
//   - The command block must be one run of adjacent holding registers (Validate enforces it) so
//     it is written atomically; owner, epoch and heartbeat are ignored by a drive profile, whose
//     block is control word (run bit set while the fan command is above 0) and speed reference.
//   - For a 16-bit point only the byte order matters: BADC and DCBA swap the two bytes.
//   - Configure writes in several requests when the registers are not adjacent; if one fails the
//     earlier ones stay applied (the error names the failed registers). Remote enable goes last.
//
// Errors name the unit, the points and the cause, wrap the Conn's error with %w, and wrap one of
// the sentinels ErrInvalidProfile, ErrUnknownProfile, ErrNoPoint, ErrBadValue, ErrShortReply.
package ahu
