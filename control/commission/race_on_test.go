//go:build race

package commission_test

const raceEnabled = true
