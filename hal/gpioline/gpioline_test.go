package gpioline_test

import (
	"errors"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/postvault/postvault/hal/gpioline"
)

func TestActiveLow(t *testing.T) {
	tests := []struct {
		activeLow bool
		out, wire gpio.Level
	}{
		{false, gpio.High, gpio.High},
		{false, gpio.Low, gpio.Low},
		{true, gpio.High, gpio.Low},
		{true, gpio.Low, gpio.High},
	}
	for _, tt := range tests {
		p := &gpiotest.Pin{N: "GPIO5"}
		l := gpioline.New(p, tt.activeLow)
		if err := l.Out(tt.out); err != nil {
			t.Fatal(err)
		}
		if p.L != tt.wire {
			t.Errorf("activeLow %v: Out(%v) put %v on the wire, want %v", tt.activeLow, tt.out, p.L, tt.wire)
		}
		if got := l.Read(); got != tt.out {
			t.Errorf("activeLow %v: Read() = %v, want %v", tt.activeLow, got, tt.out)
		}
	}
}

func TestHalt(t *testing.T) {
	led := &gpiotest.Pin{N: "GPIO5"}
	l := gpioline.New(led, true)
	l.Out(gpio.High)
	if err := l.Halt(); err != nil || led.L != gpio.High {
		t.Errorf("Halt of an active-low LED: %v, wire %v, want High (off)", err, led.L)
	}
	sw := &gpiotest.Pin{N: "GPIO17", L: gpio.Low}
	s := gpioline.New(sw, true)
	if err := s.Halt(); err != nil || sw.L != gpio.Low {
		t.Errorf("Halt of an input wrote it: %v, wire %v", err, sw.L)
	}
}

func TestOpen(t *testing.T) {
	lookup := func(chip, line string) (gpio.PinIO, error) {
		if line == "GPIO5" {
			return &gpiotest.Pin{N: line}, nil
		}
		return nil, errors.New("no such line")
	}
	if l, err := gpioline.Open(lookup, "", "GPIO5", false); err != nil || l.Name() != "GPIO5" {
		t.Errorf("Open(GPIO5) = %v, %v", l, err)
	}
	for _, line := range []string{"", "GPIO99"} {
		if _, err := gpioline.Open(lookup, "", line, false); err == nil {
			t.Errorf("Open(%q) succeeded", line)
		}
	}
}
