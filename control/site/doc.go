// Package site is the controller's site configuration: what the board reads from site.toml (or from
// its database), decoded strictly, given defaults, then validated as a whole.
//
// A site describes where the sensors and units are (the mesh gateway port, the Modbus lines, the
// units and their register-map profiles), how they group into zones, and how the loops run.
//
// ExampleLoad loads a site file, shows how an invalid one is refused, and encodes the result as
// the canonical TOML that the database stores.
//
// Caveats: validation reports every problem it finds, joined with errors.Join, each naming the file
// and the field path. Unknown keys are errors (a typo must never be silently ignored). Durations are
// TOML strings in Go syntax ("2s", "5m").
package site
