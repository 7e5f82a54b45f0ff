package hal_test

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"

	"github.com/postvault/postvault/hal"
	"github.com/postvault/postvault/hal/sim"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// simBoard makes a board of n bays with fault, locate and activity LEDs
// named "bayN.fault" etc. and a status LED "status", on a fake clock.
func simBoard(t *testing.T, n int, opts *hal.Options) (*hal.Board, *sim.Log, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	log := sim.NewLog(clock)
	hw := hal.Hardware{Name: "test", Status: log.Pin("status"), SimLog: log}
	for i := 1; i <= n; i++ {
		hw.Bays = append(hw.Bays, hal.BayHardware{
			Number:   i,
			Port:     hal.PortKey("0000:00:1f.2", i),
			Fault:    log.Pin(fmt.Sprintf("bay%d.fault", i)),
			Locate:   log.Pin(fmt.Sprintf("bay%d.locate", i)),
			Activity: log.Pin(fmt.Sprintf("bay%d.activity", i)),
		})
	}
	if opts == nil {
		opts = &hal.Options{}
	}
	opts.Clock = clock
	b, err := hal.New(hw, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, log, clock
}

func bay(t *testing.T, b *hal.Board, n int) *hal.Bay {
	t.Helper()
	bay, err := b.Bay(n)
	if err != nil {
		t.Fatal(err)
	}
	return bay
}

// onSpans describes an LED's expected behaviour independently of the
// package's tables: on during [from, to) milliseconds of every period.
type onSpans struct {
	period int // ms; 0 means steady
	on     [][2]int
}

func (s onSpans) at(ms int) gpio.Level {
	if s.period == 0 {
		return gpio.Level(len(s.on) > 0)
	}
	x := ms % s.period
	for _, o := range s.on {
		if x >= o[0] && x < o[1] {
			return gpio.High
		}
	}
	return gpio.Low
}

var (
	dark   = onSpans{}
	lit    = onSpans{on: [][2]int{{0, 0}}}
	hz1    = onSpans{1000, [][2]int{{0, 500}}}
	hz4    = onSpans{250, [][2]int{{0, 125}}}
	spare  = onSpans{2000, [][2]int{{0, 100}}}
	double = onSpans{2000, [][2]int{{0, 150}, {300, 450}}}
)

// TestPatternWaves checks, every 25 ms over two periods, that each pattern
// shows the documented levels on the fault and locate LEDs.
func TestPatternWaves(t *testing.T) {
	tests := []struct {
		p             hal.Pattern
		fault, locate onSpans
	}{
		{hal.Normal, dark, dark},
		{hal.Locate, dark, hz4},
		{hal.Fail, lit, dark},
		{hal.Rebuild, dark, hz1},
		{hal.PFA, hz1, dark},
		{hal.HotSpare, dark, spare},
		{hal.Degraded, double, dark},
		{hal.FailedArray, hz4, dark},
	}
	for _, tt := range tests {
		t.Run(tt.p.String(), func(t *testing.T) {
			b, log, clock := simBoard(t, 2, nil)
			if err := bay(t, b, 2).SetPattern(tt.p); err != nil {
				t.Fatal(err)
			}
			for ms := 0; ms <= 4000; ms += 25 {
				b.State() // a round trip: the engine has rendered at the clock's time
				lv := log.Levels()
				if got, want := lv["bay2.fault"], tt.fault.at(ms); got != want {
					t.Fatalf("%v at %d ms: fault = %v, want %v", tt.p, ms, got, want)
				}
				if got, want := lv["bay2.locate"], tt.locate.at(ms); got != want {
					t.Fatalf("%v at %d ms: locate = %v, want %v", tt.p, ms, got, want)
				}
				if lv["bay1.fault"] || lv["bay1.locate"] {
					t.Fatalf("%v at %d ms: bay 1 lit", tt.p, ms)
				}
				clock.Advance(25 * time.Millisecond)
			}
			if got := bay(t, b, 2).Pattern(); got != tt.p {
				t.Errorf("Pattern() = %v, want %v", got, tt.p)
			}
		})
	}
}

// waitEvents waits until log holds more than n events.
func waitEvents(t *testing.T, log *sim.Log, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for log.Len() <= n {
		if time.Now().After(deadline) {
			t.Fatalf("no LED write after event %d", n)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// TestNoDrift lets the engine's own timer drive a 4 Hz locate blink for 400
// edges while every wake-up comes late by a random 0-20 ms (as a loaded
// machine would make it). Edges must stay on the grid of the epoch: a blinker
// that slept 125 ms after each late wake-up would be 4 s off by the end.
func TestNoDrift(t *testing.T) {
	b, log, clock := simBoard(t, 1, nil)
	if err := bay(t, b, 1).SetPattern(hal.Locate); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rng := rand.New(rand.NewSource(1))
	const edge = 125 * time.Millisecond
	for k := 1; k <= 400; k++ {
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatalf("edge %d: engine never armed its timer: %v", k, err)
		}
		n := log.Len()
		target := t0.Add(time.Duration(k)*edge + time.Duration(rng.Intn(20))*time.Millisecond)
		clock.Advance(target.Sub(clock.Now()))
		waitEvents(t, log, n)
		ev := log.Since(n)
		if len(ev) != 1 {
			t.Fatalf("edge %d: %d writes %v, want 1", k, len(ev), ev)
		}
		if want := gpio.Level(k%2 == 0); ev[0].Pin != "bay1.locate" || ev[0].Level != want || !ev[0].Time.Equal(target) {
			t.Fatalf("edge %d: write %v at %v, want bay1.locate=%v at %v", k, ev[0], ev[0].Time.Sub(t0), want, target.Sub(t0))
		}
	}
}

// TestNoFlicker changes patterns quickly and checks that an LED is written
// only when its level changes.
func TestNoFlicker(t *testing.T) {
	type step struct {
		at     int // ms since the epoch
		p      hal.Pattern
		writes []string // expected writes, "pin=level"
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"same pattern twice", []step{
			{0, hal.Fail, []string{"bay1.fault=High", "bay1.locate=Low"}},
			{10, hal.Fail, nil},
		}},
		{"locate to rebuild, both lit", []step{
			{0, hal.Locate, []string{"bay1.fault=Low", "bay1.locate=High"}},
			{50, hal.Rebuild, nil},
			{60, hal.Locate, nil},
		}},
		{"fail to pfa while pfa is on", []step{
			{0, hal.Fail, []string{"bay1.fault=High", "bay1.locate=Low"}},
			{100, hal.PFA, nil},
			{100, hal.FailedArray, nil},
			{110, hal.Fail, nil},
		}},
		{"fail to failed array in its dark phase", []step{
			{0, hal.Fail, []string{"bay1.fault=High", "bay1.locate=Low"}},
			{130, hal.FailedArray, []string{"bay1.fault=Low"}},
			{140, hal.Normal, nil},
			{150, hal.Locate, nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, log, clock := simBoard(t, 1, nil)
			for _, s := range tt.steps {
				clock.Advance(t0.Add(time.Duration(s.at) * time.Millisecond).Sub(clock.Now()))
				b.State() // let any due edge render first
				n := log.Len()
				if err := bay(t, b, 1).SetPattern(s.p); err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, e := range log.Since(n) {
					got = append(got, fmt.Sprintf("%s=%v", e.Pin, e.Level))
				}
				if fmt.Sprint(got) != fmt.Sprint(s.writes) {
					t.Errorf("at %d ms SetPattern(%v) wrote %v, want %v", s.at, s.p, got, s.writes)
				}
			}
			first := map[string]bool{}
			for _, e := range log.Events() {
				if !first[e.Pin] {
					first[e.Pin] = true // the board cannot know the level before its first write
					continue
				}
				if !e.Changed {
					t.Errorf("write %v did not change the level", e)
				}
			}
		})
	}
}

func newFake() *clockwork.FakeClock { return clockwork.NewFakeClockAt(t0) }
