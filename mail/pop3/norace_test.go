//go:build !race

package pop3_test

const raceEnabled = false
