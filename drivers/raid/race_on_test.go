//go:build race

package raid

// raceOn: the race detector makes every copy of a member image several
// times dearer, so sampled crash tests visit fewer cut points under it.
const raceOn = true
