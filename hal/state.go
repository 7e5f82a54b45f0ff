package hal

import (
	"time"

	"periph.io/x/conn/v3/gpio"
)

// State is a snapshot of a board's indicators, for status pages and tools.
type State struct {
	Board  string     `json:"board"`
	Model  string     `json:"model,omitempty"`
	Status Status     `json:"-"`
	Front  *LEDState  `json:"status_led,omitempty"`
	Bays   []BayState `json:"bays"`
	Err    string     `json:"error,omitempty"` // the last error writing an LED while blinking
}

// BayState is a snapshot of one bay.
type BayState struct {
	Number   int       `json:"bay"`
	Port     string    `json:"port"`
	Pattern  Pattern   `json:"pattern"`
	Fault    *LEDState `json:"fault,omitempty"`
	Locate   *LEDState `json:"locate,omitempty"`
	Activity *LEDState `json:"activity,omitempty"`
	Present  *bool     `json:"present,omitempty"` // nil where presence is not reported
}

// LEDState is one LED's name and level. Known is false for an LED the board
// has not written and cannot read back.
type LEDState struct {
	Name  string     `json:"name"`
	Level gpio.Level `json:"on"`
	Known bool       `json:"known"`
}

// State returns a snapshot of the board's patterns and LED levels as the
// board's goroutine sees them.
func (b *Board) State() State {
	s := State{Board: b.name, Model: b.model}
	err := b.e.do(func(time.Time) error {
		s.Status = b.statusPattern
		s.Front = ledState(b.status)
		if b.e.lastErr != nil {
			s.Err = b.e.lastErr.Error()
		}
		for _, bay := range b.bays {
			bs := BayState{
				Number: bay.number, Port: bay.port,
				Pattern: bay.pattern,
				Fault:   ledState(bay.fault), Locate: ledState(bay.locate),
				Activity: ledState(bay.activity),
			}
			s.Bays = append(s.Bays, bs)
		}
		return nil
	})
	if err != nil {
		s.Err = err.Error()
	}
	for i, bay := range b.bays {
		if p, known := bay.Present(); known && i < len(s.Bays) {
			s.Bays[i].Present = &p
		}
	}
	return s
}

// ledState describes l: the level the engine wrote, or else the level read
// back from a pin that can be read.
func ledState(l *led) *LEDState {
	if l == nil {
		return nil
	}
	st := &LEDState{Name: l.pin.Name(), Level: l.level, Known: l.known}
	if !l.known {
		if in, ok := l.pin.(gpio.PinIn); ok {
			st.Level, st.Known = in.Read(), true
		}
	}
	return st
}
