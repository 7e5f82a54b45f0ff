// Package gpioline drives GPIO lines (a Raspberry Pi's header pins, wired to
// a SATA HAT's bay LEDs and presence switches) through periph.io's gpioioctl
// driver, the kernel's GPIO character devices (/dev/gpiochipN).
//
// Lines are found through a Lookup, so that tests pass periph's gpiotest
// pins where the board would have kernel lines; Kernel is the real one.
// Line adds what board wiring needs on top of a pin: active-low LEDs and
// switches, and a Halt that turns an LED off.
//
// The kernel releases a line when its process exits, and what the line does
// then is up to the GPIO driver: LEDs on GPIO lines stay lit only while
// postvault runs.
package gpioline

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"
)

// Lookup finds the GPIO line named line ("GPIO17", or a line offset such as
// "17") on the chip named chip (a chip name such as "gpiochip0" or a label
// such as "pinctrl-bcm2711"; "" searches every chip by line name).
type Lookup func(chip, line string) (gpio.PinIO, error)

var initPeriph = sync.OnceValue(func() error {
	_, err := driverreg.Init()
	return err
})

// Kernel is the Lookup of the kernel's GPIO character devices through
// periph's gpioioctl. Its pins are *gpioioctl.GPIOLine; Close them to release
// the lines.
func Kernel(chip, line string) (gpio.PinIO, error) {
	if err := initPeriph(); err != nil {
		return nil, fmt.Errorf("gpioline: periph drivers: %w", err)
	}
	if len(gpioioctl.Chips) == 0 {
		return nil, errors.New("gpioline: no GPIO chips (/dev/gpiochip*)")
	}
	for _, c := range gpioioctl.Chips {
		if chip != "" && chip != c.Name() && chip != c.Label() {
			continue
		}
		if l := c.ByName(line); l != nil {
			return l, nil
		}
		if n, err := strconv.Atoi(line); err == nil && chip != "" {
			if l := c.ByNumber(n); l != nil {
				return l, nil
			}
		}
	}
	if chip == "" {
		return nil, fmt.Errorf("gpioline: no GPIO line %q on any chip", line)
	}
	return nil, fmt.Errorf("gpioline: no GPIO line %q on chip %q", line, chip)
}

// Line is a GPIO line as the board is wired to it.
type Line struct {
	gpio.PinIO
	activeLow bool

	mu     sync.Mutex
	output bool // Out was called: the line drives an LED
}

var (
	_ gpio.PinIO   = (*Line)(nil)
	_ gpio.RealPin = (*Line)(nil)
)

// New wraps p; with activeLow, Low on the wire means on (an LED wired to the
// supply, a switch that pulls the line to ground).
func New(p gpio.PinIO, activeLow bool) *Line {
	return &Line{PinIO: p, activeLow: activeLow}
}

// Open looks up chip/line with lookup (nil: Kernel) and wraps it.
func Open(lookup Lookup, chip, line string, activeLow bool) (*Line, error) {
	if lookup == nil {
		lookup = Kernel
	}
	if line == "" {
		return nil, errors.New("gpioline: empty line name")
	}
	p, err := lookup(chip, line)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("gpioline: no GPIO line %q on chip %q", line, chip)
	}
	return New(p, activeLow), nil
}

// Real implements gpio.RealPin.
func (l *Line) Real() gpio.PinIO { return l.PinIO }

// String implements conn.Resource.
func (l *Line) String() string {
	if l.activeLow {
		return l.PinIO.String() + " (active low)"
	}
	return l.PinIO.String()
}

// Out implements gpio.PinOut: High means lit.
func (l *Line) Out(level gpio.Level) error {
	l.mu.Lock()
	l.output = true
	l.mu.Unlock()
	if l.activeLow {
		level = !level
	}
	if err := l.PinIO.Out(level); err != nil {
		return fmt.Errorf("gpioline: %s: %w", l.PinIO.Name(), err)
	}
	return nil
}

// Read implements gpio.PinIn: High means active (lit, or a disk present).
func (l *Line) Read() gpio.Level {
	v := l.PinIO.Read()
	if l.activeLow {
		v = !v
	}
	return v
}

// Halt implements conn.Resource: a line used as an LED is turned off; the
// pin's own Halt runs too (gpioioctl's interrupts a WaitForEdge).
func (l *Line) Halt() error {
	l.mu.Lock()
	out := l.output
	l.mu.Unlock()
	var err error
	if out {
		err = l.Out(gpio.Low)
	}
	return errors.Join(err, l.PinIO.Halt())
}

// Close releases the kernel line, if the pin is one.
func (l *Line) Close() error {
	if c, ok := l.PinIO.(interface{ Close() }); ok {
		c.Close()
	}
	return nil
}
