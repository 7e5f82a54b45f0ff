//go:build !race

package raid

const raceOn = false
