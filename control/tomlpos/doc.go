// Package tomlpos finds the line on which a field path ("unit[2].min_fan_pct") stands in a TOML
// document, so that configuration errors name the file, the line and the field.
//
// Caveats: BurntSushi/toml keeps one position per key, the last, so every element of an array of
// tables shares it; this package scans the text itself. It expects a document the toml parser
// has accepted; on anything else it returns 0 lines rather than failing, and it never panics.
package tomlpos
