package sim_test

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"

	"github.com/postvault/postvault/hal/sim"
)

func TestLog(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(t0)
	log := sim.NewLog(clock)
	a, b := log.Pin("a"), log.Pin("b")
	if log.Pin("a") != a || a.Number() != 0 || b.Number() != 1 {
		t.Fatal("Pin does not return the same pin for a name")
	}
	a.Out(gpio.High)
	clock.Advance(time.Second)
	a.Out(gpio.High)
	b.Set(gpio.High) // a switch: not an LED write
	a.Halt()
	ev := log.Events()
	want := []sim.Event{
		{t0, "a", gpio.High, true},
		{t0.Add(time.Second), "a", gpio.High, false},
		{t0.Add(time.Second), "a", gpio.Low, true},
	}
	if len(ev) != len(want) {
		t.Fatalf("events = %v, want %v", ev, want)
	}
	for i := range want {
		if ev[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, ev[i], want[i])
		}
	}
	if lv := log.Levels(); lv["a"] || !lv["b"] {
		t.Errorf("Levels = %v, want a off, b on", lv)
	}
	if n := len(log.Since(2)); n != 1 {
		t.Errorf("Since(2) has %d events, want 1", n)
	}
	if err := a.PWM(gpio.DutyHalf, 0); err == nil {
		t.Error("PWM at half duty succeeded")
	}
}

func TestThermometer(t *testing.T) {
	s := sim.NewThermometer("bay1", physic.ZeroCelsius+30*physic.Celsius)
	s.Set(physic.ZeroCelsius + 45*physic.Celsius)
	var env physic.Env
	if err := s.Sense(&env); err != nil || env.Temperature != physic.ZeroCelsius+45*physic.Celsius {
		t.Errorf("Sense = %v, %v, want 45°C", env.Temperature, err)
	}
}
