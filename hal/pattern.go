package hal

import (
	"fmt"
	"strings"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Pattern is an indicator pattern of the IBPI set (SFF-8489) that Intel's
// ledmon and ledctl use. The package comment lists how each one looks on a
// bay's LEDs.
type Pattern int

// The indicator patterns.
const (
	Normal      Pattern = iota // nothing to report: fault and locate off
	Locate                     // "this one": someone is looking for the bay
	Fail                       // the disk failed or is missing from its array
	Rebuild                    // the disk is being rebuilt
	PFA                        // predicted failure: replace it soon (SMART)
	HotSpare                   // the disk is a hot spare
	Degraded                   // in a critical array: the array lost redundancy (ICA)
	FailedArray                // in a failed array: the array cannot serve (IFA)
	numPatterns
)

var patternNames = [numPatterns]string{
	"normal", "locate", "fail", "rebuild", "pfa", "hotspare", "degraded", "failed_array",
}

// String returns the pattern's name as ParsePattern accepts it.
func (p Pattern) String() string {
	if p < 0 || p >= numPatterns {
		return fmt.Sprintf("Pattern(%d)", int(p))
	}
	return patternNames[p]
}

// ParsePattern returns the pattern named s: one of the names String returns,
// or ledctl's names for the same patterns (failure, ica, ifa, hotspare,
// degraded, failed_array, pfa).
func ParsePattern(s string) (Pattern, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for i, n := range patternNames {
		if s == n {
			return Pattern(i), nil
		}
	}
	switch s {
	case "failure", "disk_failed":
		return Fail, nil
	case "ica":
		return Degraded, nil
	case "ifa", "failed-array":
		return FailedArray, nil
	case "hot_spare", "hot-spare":
		return HotSpare, nil
	case "off":
		return Normal, nil
	}
	return 0, fmt.Errorf("hal: unknown indicator pattern %q", s)
}

// MarshalText encodes the pattern as its name.
func (p Pattern) MarshalText() ([]byte, error) {
	if p < 0 || p >= numPatterns {
		return nil, fmt.Errorf("hal: invalid pattern %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText decodes a name ParsePattern accepts.
func (p *Pattern) UnmarshalText(b []byte) error {
	v, err := ParsePattern(string(b))
	if err == nil {
		*p = v
	}
	return err
}

// Status is the pattern of the board's front status LED.
type Status int

// The status patterns.
const (
	StatusOff       Status = iota // LED off (halted)
	StatusOK                      // steady on: every array is healthy
	StatusBusy                    // 1 Hz blink: starting, rebuilding or scrubbing
	StatusAttention               // 4 Hz blink: an array is degraded or failed
	numStatus
)

var statusNames = [numStatus]string{"off", "ok", "busy", "attention"}

// String returns the status's name.
func (s Status) String() string {
	if s < 0 || s >= numStatus {
		return fmt.Sprintf("Status(%d)", int(s))
	}
	return statusNames[s]
}

// MarshalText encodes the status as its name.
func (s Status) MarshalText() ([]byte, error) {
	if s < 0 || s >= numStatus {
		return nil, fmt.Errorf("hal: invalid status %d", int(s))
	}
	return []byte(s.String()), nil
}

// ParseStatus returns the status named s.
func ParseStatus(s string) (Status, error) {
	for i, n := range statusNames {
		if s == n {
			return Status(i), nil
		}
	}
	return 0, fmt.Errorf("hal: unknown status %q", s)
}

// span is an interval [from, to) of a wave's period during which the LED is on.
type span struct{ from, to time.Duration }

// wave is what one LED does over time: steady on, steady off, or a pattern
// of on-intervals repeating every period. Where a wave is in its period is
// derived from the board's epoch (see engine), never from past sleeps.
type wave struct {
	period time.Duration // 0: steady
	on     bool          // the steady level when period is 0
	spans  []span        // when period > 0: sorted, disjoint, within [0, period)
}

var (
	off    = wave{}
	steady = wave{on: true}
)

// blink returns a 50% duty blink at hz.
func blink(hz int) wave {
	p := time.Second / time.Duration(hz)
	return wave{period: p, spans: []span{{0, p / 2}}}
}

// flashes returns n flashes of length on, gap apart, repeating every period.
func flashes(n int, on, gap, period time.Duration) wave {
	w := wave{period: period}
	for i := 0; i < n; i++ {
		from := time.Duration(i) * (on + gap)
		w.spans = append(w.spans, span{from, from + on})
	}
	return w
}

func (w wave) blinks() bool { return w.period > 0 }

// lit reports whether the wave is ever on.
func (w wave) lit() bool { return w.on || len(w.spans) > 0 }

// solid returns the wave as a level the hardware holds by itself: a blinking
// wave becomes steady on.
func (w wave) solid() wave {
	if w.lit() {
		return steady
	}
	return off
}

// level returns the wave's level at offset d from the epoch (d >= 0).
func (w wave) level(d time.Duration) gpio.Level {
	if w.period == 0 {
		return gpio.Level(w.on)
	}
	x := d % w.period
	for _, s := range w.spans {
		if x >= s.from && x < s.to {
			return gpio.High
		}
	}
	return gpio.Low
}

// next returns the offset from the epoch, after d, at which the wave next
// changes level, or -1 if it never does.
func (w wave) next(d time.Duration) time.Duration {
	if w.period == 0 {
		return -1
	}
	base := d - d%w.period
	// Every edge lies on a span boundary; a boundary where two spans touch
	// (or where the last span wraps into the first) is not an edge. The next
	// edge is at most one period away, so two periods of candidates suffice.
	for k := time.Duration(0); k < 2; k++ {
		for _, s := range w.spans {
			for _, b := range [2]time.Duration{s.from, s.to} {
				t := base + k*w.period + b
				if t > d && w.level(t) != w.level(t-1) {
					return t
				}
			}
		}
	}
	return -1
}

// bayWaves is what a pattern shows on a bay's fault and locate LEDs.
type bayWaves struct{ fault, locate wave }

// softwareWaves maps each pattern to LED waves blinked in software. The
// package comment documents this table; keep them in step.
var softwareWaves = [numPatterns]bayWaves{
	Normal:      {off, off},
	Locate:      {off, blink(4)},
	Fail:        {steady, off},
	Rebuild:     {off, blink(1)},
	PFA:         {blink(1), off},
	HotSpare:    {off, flashes(1, 100*time.Millisecond, 0, 2*time.Second)},
	Degraded:    {flashes(2, 150*time.Millisecond, 150*time.Millisecond, 2*time.Second), off},
	FailedArray: {blink(4), off},
}

// enclosureWaves maps patterns for bays whose fault and locate "LEDs" are
// the bits of an enclosure message (AHCI em_message, SGPIO): the enclosure
// renders normal, locate, fail and rebuild itself from the same bit
// combinations that ledmon writes, so those are steady here; the rest has
// no enclosure encoding and is blinked in software on the bits.
var enclosureWaves = [numPatterns]bayWaves{
	Normal:      {off, off},
	Locate:      {off, steady},
	Fail:        {steady, off},
	Rebuild:     {steady, steady},
	PFA:         softwareWaves[PFA],
	HotSpare:    softwareWaves[HotSpare],
	Degraded:    softwareWaves[Degraded],
	FailedArray: softwareWaves[FailedArray],
}

var statusWaves = [numStatus]wave{
	StatusOff:       off,
	StatusOK:        steady,
	StatusBusy:      blink(1),
	StatusAttention: blink(4),
}
