//go:build race

package smtp_test

// raceEnabled: the race detector slows big transfers down several times.
const raceEnabled = true
