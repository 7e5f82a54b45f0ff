//go:build race

package pop3_test

// raceEnabled: the race detector slows big transfers down several times.
const raceEnabled = true
