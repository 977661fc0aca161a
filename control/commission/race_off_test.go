//go:build !race

package commission_test

const raceEnabled = false
