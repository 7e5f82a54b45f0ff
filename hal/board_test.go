package hal_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/postvault/postvault/hal"
	"github.com/postvault/postvault/hal/sim"
)

func TestNewValidation(t *testing.T) {
	pin := &gpiotest.Pin{N: "x"}
	tests := []struct {
		name string
		hw   hal.Hardware
		want string
	}{
		{"no name", hal.Hardware{}, "no name"},
		{"bay 2 alone", hal.Hardware{Name: "x", Bays: []hal.BayHardware{{Number: 2, Port: "0000:00:1f.2/ata1"}}}, "numbered 1 to 1"},
		{"bad port", hal.Hardware{Name: "x", Bays: []hal.BayHardware{{Number: 1, Port: "sda"}}}, "PCI-ADDRESS/ataN"},
		{"shared port", hal.Hardware{Name: "x", Bays: []hal.BayHardware{
			{Number: 1, Port: "0000:00:1f.2/ata1", Fault: pin},
			{Number: 2, Port: "0000:00:1f.2/ata1"}}}, "share port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hal.New(tt.hw, nil)
			if err == nil {
				b.Close()
				t.Fatalf("New succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	b, _, _ := simBoard(t, 3, nil)
	if _, err := b.Bay(4); !errors.Is(err, hal.ErrNoBay) {
		t.Errorf("Bay(4) = %v, want ErrNoBay", err)
	}
	if _, err := b.Bay(0); !errors.Is(err, hal.ErrNoBay) {
		t.Errorf("Bay(0) = %v, want ErrNoBay", err)
	}
	if _, err := b.BayByPort("0000:00:1f.2/ata9"); !errors.Is(err, hal.ErrNoBay) {
		t.Errorf("BayByPort(ata9) = %v, want ErrNoBay", err)
	}
	if bay, err := b.BayByPort("0000:00:1f.2/ata3"); err != nil || bay.Number() != 3 || bay.String() != "bay 3 (0000:00:1f.2/ata3)" {
		t.Errorf("BayByPort(ata3) = %v, %v", bay, err)
	}
	bay1, _ := b.Bay(1)
	if _, err := bay1.Temperature(); !errors.Is(err, hal.ErrNoSensor) {
		t.Errorf("Temperature() = %v, want ErrNoSensor", err)
	}
	if _, known := bay1.Present(); known {
		t.Error("Present() known without a presence switch")
	}
	if err := bay1.SetPattern(hal.Pattern(99)); err == nil {
		t.Error("SetPattern(99) succeeded")
	}
}

// TestSolid checks that Options.Solid shows blinking patterns steadily and
// leaves no timer running.
func TestSolid(t *testing.T) {
	b, log, clock := simBoard(t, 1, &hal.Options{Solid: true})
	bay, _ := b.Bay(1)
	if err := bay.SetPattern(hal.Locate); err != nil {
		t.Fatal(err)
	}
	if err := b.SetStatus(hal.StatusBusy); err != nil {
		t.Fatal(err)
	}
	n := log.Len()
	for i := 0; i < 20; i++ {
		clock.Advance(100 * time.Millisecond)
		b.State()
	}
	if lv := log.Levels(); !lv["bay1.locate"] || !lv["status"] || lv["bay1.fault"] {
		t.Errorf("solid locate levels = %v, want locate and status on, fault off", lv)
	}
	if ev := log.Since(n); len(ev) != 0 {
		t.Errorf("solid patterns wrote %v over 2 s, want nothing", ev)
	}
}

// TestSingleLED checks how patterns fall onto a bay with one LED.
func TestSingleLED(t *testing.T) {
	tests := []struct {
		p    hal.Pattern
		want gpio.Level // at t=0 and t=150ms
		then gpio.Level
	}{
		{hal.Fail, gpio.High, gpio.High},
		{hal.Locate, gpio.High, gpio.Low}, // the locate wave, 4 Hz
		{hal.Rebuild, gpio.High, gpio.High},
		{hal.Normal, gpio.Low, gpio.Low},
	}
	for _, onlyLocate := range []bool{false, true} {
		for _, tt := range tests {
			clock := newFake()
			log := sim.NewLog(clock)
			bh := hal.BayHardware{Number: 1, Port: "0000:00:1f.2/ata1"}
			if onlyLocate {
				bh.Locate = log.Pin("led")
			} else {
				bh.Fault = log.Pin("led")
			}
			b, err := hal.New(hal.Hardware{Name: "one", Bays: []hal.BayHardware{bh}}, &hal.Options{Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			bay, _ := b.Bay(1)
			bay.SetPattern(tt.p)
			got := log.Levels()["led"]
			clock.Advance(150 * time.Millisecond)
			b.State()
			then := log.Levels()["led"]
			b.Close()
			if got != tt.want || then != tt.then {
				t.Errorf("only-locate %v, %v: LED %v then %v, want %v then %v", onlyLocate, tt.p, got, then, tt.want, tt.then)
			}
		}
	}
}

func TestBlipAndHalt(t *testing.T) {
	b, log, clock := simBoard(t, 2, nil)
	bay, _ := b.Bay(2)
	bay.SetPattern(hal.Fail)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 100; i++ {
		bay.Blip() // merged while queued, and within one 50 ms window: one write
	}
	// The blip arms the timer for its end.
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	b.State() // every queued blip has been handled
	if !log.Levels()["bay2.activity"] {
		t.Fatal("activity LED off after Blip")
	}
	writes := 0
	for _, e := range log.Events() {
		if e.Pin == "bay2.activity" {
			writes++
		}
	}
	if writes != 1 {
		t.Errorf("100 blips wrote the activity LED %d times, want 1", writes)
	}
	n := log.Len()
	clock.Advance(50 * time.Millisecond)
	waitEvents(t, log, n)
	if ev := log.Since(n); len(ev) != 1 || ev[0].Pin != "bay2.activity" || ev[0].Level {
		t.Errorf("after 50 ms: %v, want the activity LED off", ev)
	}
	if err := b.SetStatus(hal.StatusOK); err != nil {
		t.Fatal(err)
	}
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	for name, l := range log.Levels() {
		if l {
			t.Errorf("%s on after Halt", name)
		}
	}
	if st := b.State(); st.Bays[1].Pattern != hal.Normal || st.Status != hal.StatusOff {
		t.Errorf("State after Halt = %+v", st)
	}
}

func TestClosed(t *testing.T) {
	b, _, _ := simBoard(t, 1, nil)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	bay, _ := b.Bay(1)
	if err := bay.SetPattern(hal.Fail); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("SetPattern after Close = %v, want closed", err)
	}
	bay.Blip() // must not block or panic
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestParsePattern(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want hal.Pattern
	}{
		{"locate", hal.Locate}, {"FAIL", hal.Fail}, {"failure", hal.Fail}, {"ica", hal.Degraded},
		{"ifa", hal.FailedArray}, {"pfa", hal.PFA}, {"hotspare", hal.HotSpare}, {"normal", hal.Normal},
		{"rebuild", hal.Rebuild}, {"failed_array", hal.FailedArray}, {"degraded", hal.Degraded},
	} {
		if got, err := hal.ParsePattern(tt.in); err != nil || got != tt.want {
			t.Errorf("ParsePattern(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := hal.ParsePattern("disco"); err == nil {
		t.Error("ParsePattern(disco) succeeded")
	}
}
