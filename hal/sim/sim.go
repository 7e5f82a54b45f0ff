// Package sim is the simulated hardware behind postvault's `simulated` board
// profile: LEDs and presence switches that are periph.io gpio pins, and
// thermometers that are physic.SenseEnv sensors, all of whose state can be
// read back. Every write to an LED is recorded in a Log with the time of the
// clock the Log was made with, so tests (with a fake clock), `make run` and
// the status page can see exactly what a real board would have shown.
//
// A Log records every Out call, including calls that leave the level as it
// was; a driver that writes an LED needlessly is therefore visible in tests.
package sim

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
)

// Event is one write to a simulated LED.
type Event struct {
	Time    time.Time
	Pin     string
	Level   gpio.Level
	Changed bool // the write changed the level
}

func (e Event) String() string {
	return fmt.Sprintf("%s %s=%v", e.Time.Format("15:04:05.000"), e.Pin, e.Level)
}

// Log records the writes to the pins made from it.
type Log struct {
	clock clockwork.Clock

	mu     sync.Mutex
	events []Event         // guarded by mu
	pins   map[string]*Pin // guarded by mu
}

// NewLog returns an empty log whose events are stamped with clock's time
// (the real clock if clock is nil).
func NewLog(clock clockwork.Clock) *Log {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Log{clock: clock, pins: map[string]*Pin{}}
}

// Events returns a copy of all events so far, oldest first.
func (l *Log) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// Len returns the number of events so far.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

// Since returns a copy of the events from index i on.
func (l *Log) Since(i int) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i > len(l.events) {
		i = len(l.events)
	}
	return append([]Event(nil), l.events[i:]...)
}

// Pin returns the pin of this name, creating it (low) if it does not exist.
func (l *Log) Pin(name string) *Pin {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.pins[name]; ok {
		return p
	}
	p := &Pin{name: name, number: len(l.pins), log: l}
	l.pins[name] = p
	return p
}

// Levels returns the current level of every pin, by name.
func (l *Log) Levels() map[string]gpio.Level {
	l.mu.Lock()
	pins := make([]*Pin, 0, len(l.pins))
	for _, p := range l.pins {
		pins = append(pins, p)
	}
	l.mu.Unlock()
	m := make(map[string]gpio.Level, len(pins))
	for _, p := range pins {
		m[p.name] = p.Read()
	}
	return m
}

func (l *Log) record(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// Pin is a simulated GPIO pin: an LED when written with Out, a switch (such
// as a bay's presence detector) when its level is set with Set and read with
// Read.
type Pin struct {
	name   string
	number int
	log    *Log

	mu    sync.Mutex
	level gpio.Level // guarded by mu
}

var (
	_ gpio.PinIO    = (*Pin)(nil)
	_ pin.PinFunc   = (*Pin)(nil)
	_ conn.Resource = (*Pin)(nil)
)

// String implements conn.Resource.
func (p *Pin) String() string { return "sim:" + p.name }

// Halt implements conn.Resource: the LED is turned off.
func (p *Pin) Halt() error { return p.Out(gpio.Low) }

// Name implements pin.Pin.
func (p *Pin) Name() string { return p.name }

// Number implements pin.Pin: the order in which the log made the pin.
func (p *Pin) Number() int { return p.number }

// Function implements pin.Pin.
func (p *Pin) Function() string { return string(p.Func()) }

// Func implements pin.PinFunc.
func (p *Pin) Func() pin.Func {
	if p.Read() {
		return gpio.OUT_HIGH
	}
	return gpio.OUT_LOW
}

// SupportedFuncs implements pin.PinFunc.
func (p *Pin) SupportedFuncs() []pin.Func { return []pin.Func{gpio.IN, gpio.OUT} }

// SetFunc implements pin.PinFunc.
func (p *Pin) SetFunc(f pin.Func) error {
	switch f {
	case gpio.IN, gpio.OUT, gpio.OUT_LOW:
		return nil
	case gpio.OUT_HIGH:
		return p.Out(gpio.High)
	}
	return fmt.Errorf("sim: %s: function %q not supported", p.name, f)
}

// In implements gpio.PinIn.
func (p *Pin) In(pull gpio.Pull, edge gpio.Edge) error {
	if edge != gpio.NoEdge {
		return fmt.Errorf("sim: %s: edge detection not supported", p.name)
	}
	return nil
}

// Read implements gpio.PinIn.
func (p *Pin) Read() gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

// WaitForEdge implements gpio.PinIn; edges are not simulated.
func (p *Pin) WaitForEdge(time.Duration) bool { return false }

// Pull implements gpio.PinIn.
func (p *Pin) Pull() gpio.Pull { return gpio.PullNoChange }

// DefaultPull implements gpio.PinIn.
func (p *Pin) DefaultPull() gpio.Pull { return gpio.PullNoChange }

// Out implements gpio.PinOut and records the write in the log.
func (p *Pin) Out(l gpio.Level) error {
	p.mu.Lock()
	changed := p.level != l
	p.level = l
	// Record under p.mu so that the log's order of a pin's writes is the
	// order in which its level changed.
	p.log.record(Event{Time: p.log.clock.Now(), Pin: p.name, Level: l, Changed: changed})
	p.mu.Unlock()
	return nil
}

// PWM implements gpio.PinOut for the two duties an LED can show: fully off
// and fully on.
func (p *Pin) PWM(duty gpio.Duty, f physic.Frequency) error {
	switch duty {
	case 0:
		return p.Out(gpio.Low)
	case gpio.DutyMax:
		return p.Out(gpio.High)
	}
	return fmt.Errorf("sim: %s: PWM duty %v not supported", p.name, duty)
}

// Set sets the level the pin reads as (a switch being closed or opened)
// without recording an LED write.
func (p *Pin) Set(l gpio.Level) {
	p.mu.Lock()
	p.level = l
	p.mu.Unlock()
}

// Thermometer is a simulated temperature sensor.
type Thermometer struct {
	name string

	mu   sync.Mutex
	temp physic.Temperature // guarded by mu
}

var _ physic.SenseEnv = (*Thermometer)(nil)

// NewThermometer returns a sensor named name that reads t.
func NewThermometer(name string, t physic.Temperature) *Thermometer {
	return &Thermometer{name: name, temp: t}
}

// Set changes the temperature the sensor reads.
func (s *Thermometer) Set(t physic.Temperature) {
	s.mu.Lock()
	s.temp = t
	s.mu.Unlock()
}

// String implements conn.Resource.
func (s *Thermometer) String() string { return "sim:" + s.name }

// Halt implements conn.Resource.
func (s *Thermometer) Halt() error { return nil }

// Sense implements physic.SenseEnv; only the temperature is set.
func (s *Thermometer) Sense(env *physic.Env) error {
	s.mu.Lock()
	env.Temperature = s.temp
	s.mu.Unlock()
	return nil
}

// SenseContinuous implements physic.SenseEnv; it is not supported.
func (s *Thermometer) SenseContinuous(time.Duration) (<-chan physic.Env, error) {
	return nil, errors.New("sim: continuous sensing not supported")
}

// Precision implements physic.SenseEnv: millikelvin.
func (s *Thermometer) Precision(env *physic.Env) {
	env.Temperature = physic.MilliKelvin
}
