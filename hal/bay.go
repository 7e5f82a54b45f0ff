package hal

import (
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// Number returns the bay's number, 1-based as printed on the chassis.
func (b *Bay) Number() int { return b.number }

// Port returns the bay's disk-port key (see the package comment).
func (b *Bay) Port() string { return b.port }

// String implements conn.Resource.
func (b *Bay) String() string { return fmt.Sprintf("bay %d (%s)", b.number, b.port) }

// Halt implements conn.Resource: the bay goes to Normal and all of its LEDs,
// the activity LED included, are written off.
func (b *Bay) Halt() error {
	return b.board.e.do(func(time.Time) error {
		b.pattern = Normal
		for _, l := range []*led{b.fault, b.locate, b.activity} {
			if l != nil {
				l.wave, l.until, l.assigned = off, time.Time{}, true
			}
		}
		return nil
	})
}

// SetPattern shows p on the bay's LEDs from now on; it returns once the LEDs
// show p's current phase. Blinking continues in the board's goroutine.
func (b *Bay) SetPattern(p Pattern) error {
	if p < 0 || p >= numPatterns {
		return fmt.Errorf("hal: %s: invalid pattern %d", b, int(p))
	}
	return b.board.e.do(func(time.Time) error {
		b.pattern = p
		f, l := b.waves(p)
		b.board.e.set(b.fault, f)
		b.board.e.set(b.locate, l)
		return nil
	})
}

// waves returns what p shows on the bay's fault and locate LEDs. A bay with
// only one of the two shows the fault wave on it when that is ever lit, the
// locate wave otherwise.
func (b *Bay) waves(p Pattern) (fault, locate wave) {
	table := &softwareWaves
	if b.hw.Enclosure {
		table = &enclosureWaves
	}
	w := table[p]
	merged := w.fault
	if !merged.lit() {
		merged = w.locate
	}
	switch {
	case b.fault == nil && b.locate != nil:
		return off, merged
	case b.locate == nil && b.fault != nil:
		return merged, off
	}
	return w.fault, w.locate
}

// Pattern returns the pattern last set (Normal for a bay never set).
func (b *Bay) Pattern() Pattern {
	var p Pattern
	if err := b.board.e.do(func(time.Time) error { p = b.pattern; return nil }); err != nil {
		return Normal
	}
	return p
}

// Blip flashes the activity LED for 50 ms, for I/O activity. It never
// blocks and is cheap to call on every I/O: while a blip of the bay is
// queued, further ones are merged into it, and when the board is busy the
// blip is dropped.
func (b *Bay) Blip() {
	if b.activity == nil || !b.blipQueued.CompareAndSwap(false, true) {
		return
	}
	if !b.board.e.post(func(now time.Time) error {
		b.blipQueued.Store(false)
		b.activity.until, b.activity.assigned = now.Add(blipLength), true
		return nil
	}) {
		b.blipQueued.Store(false)
	}
}

// Indicators are a bay's LEDs; a nil one does not exist.
type Indicators struct {
	Fault, Locate, Activity gpio.PinOut
}

// LEDs returns the bay's LEDs, for their names and for reading them back.
// While the board is open they belong to its goroutine: set them through
// SetPattern, Blip and Halt, never with Out.
func (b *Bay) LEDs() Indicators {
	return Indicators{b.hw.Fault, b.hw.Locate, b.hw.Activity}
}

// Present reports whether a disk sits in the bay; known is false where the
// hardware does not report presence (then drivers/sata's link state is the
// only source).
func (b *Bay) Present() (present, known bool) {
	if b.hw.Present == nil {
		return false, false
	}
	return bool(b.hw.Present.Read()), true
}

// Temperature reads the bay's thermometer; it fails with ErrNoSensor where
// the bay has none.
func (b *Bay) Temperature() (physic.Temperature, error) {
	if b.hw.Temperature == nil {
		return 0, fmt.Errorf("%w: %s has no thermometer", ErrNoSensor, b)
	}
	var env physic.Env
	if err := b.hw.Temperature.Sense(&env); err != nil {
		return 0, fmt.Errorf("hal: %s: %w", b, err)
	}
	return env.Temperature, nil
}
