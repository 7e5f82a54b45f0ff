package hal

import (
	"errors"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
)

// blipLength is how long Bay.Blip lights the activity LED.
const blipLength = 50 * time.Millisecond

// errClosed is returned by every call on a closed board.
var errClosed = errors.New("hal: board is closed")

// engine is the one goroutine per board that owns all LED state. Pattern
// changes reach it as requests on reqs; it renders every LED's level as a
// function of the time since epoch (a monotonic reading taken when the board
// was made), so late wake-ups never accumulate into drift, and it writes a
// pin only when the level it should show differs from the level it shows,
// so a pattern change that keeps an LED's level never toggles it. Between
// requests it sleeps until the next edge of any blinking LED; with nothing
// blinking it does not wake at all.
type engine struct {
	clock clockwork.Clock
	epoch time.Time
	solid bool

	reqs chan request
	quit chan struct{}
	done chan struct{}

	// Owned by the run goroutine.
	leds    []*led
	timer   clockwork.Timer
	armed   bool
	lastErr error
}

// led is one LED as the engine sees it.
type led struct {
	pin      gpio.PinOut
	wave     wave
	until    time.Time  // activity blip: on until then
	assigned bool       // the engine has been told what to show; until then the pin is left alone
	level    gpio.Level // what the pin shows, if known
	known    bool
}

type request struct {
	fn    func(now time.Time) error
	reply chan error // nil: nobody waits
}

func newEngine(clock clockwork.Clock, solid bool) *engine {
	return &engine{
		clock: clock,
		epoch: clock.Now(),
		solid: solid,
		reqs:  make(chan request, 16),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// add registers a pin before the engine starts; nil pins give nil.
func (e *engine) add(p gpio.PinOut) *led {
	if p == nil {
		return nil
	}
	l := &led{pin: p}
	e.leds = append(e.leds, l)
	return l
}

func (e *engine) start() { go e.run() }

func (e *engine) run() {
	defer close(e.done)
	for {
		var tick <-chan time.Time
		if e.armed {
			tick = e.timer.Chan()
		}
		select {
		case r := <-e.reqs:
			now := e.clock.Now()
			err := r.fn(now)
			err = errors.Join(err, e.render(now))
			e.arm(now)
			if r.reply != nil {
				r.reply <- err
			}
		case <-tick:
			e.armed = false
			now := e.clock.Now()
			e.lastErr = e.render(now)
			e.arm(now)
		case <-e.quit:
			if e.timer != nil {
				e.timer.Stop()
			}
			return
		}
	}
}

// do runs fn on the engine's goroutine, renders, and returns fn's and the
// rendering's errors.
func (e *engine) do(fn func(now time.Time) error) error {
	r := request{fn: fn, reply: make(chan error, 1)}
	select {
	case <-e.done:
		return errClosed
	default:
	}
	// reqs is buffered, so a send can succeed just as run exits: wait for
	// the answer or for run's end, whichever comes, preferring the answer.
	select {
	case e.reqs <- r:
	case <-e.done:
		return errClosed
	}
	select {
	case err := <-r.reply:
		return err
	case <-e.done:
		select {
		case err := <-r.reply:
			return err
		default:
			return errClosed
		}
	}
}

// post queues fn without waiting and reports whether it did; fn is dropped
// if the queue is full or the board closed.
func (e *engine) post(fn func(now time.Time) error) bool {
	select {
	case <-e.done:
		return false
	default:
	}
	select {
	case e.reqs <- request{fn: fn}:
		return true
	default:
		return false
	}
}

func (e *engine) stop() {
	select {
	case <-e.done:
		return
	default:
	}
	close(e.quit)
	<-e.done
}

// want returns the level l should show at now.
func (e *engine) want(l *led, now time.Time) gpio.Level {
	if now.Before(l.until) {
		return gpio.High
	}
	return l.wave.level(now.Sub(e.epoch))
}

// render writes every assigned LED whose level differs from what it should
// show now.
func (e *engine) render(now time.Time) error {
	var errs []error
	for _, l := range e.leds {
		if !l.assigned {
			continue
		}
		w := e.want(l, now)
		if l.known && w == l.level {
			continue
		}
		if err := l.pin.Out(w); err != nil {
			l.known = false
			errs = append(errs, err)
			continue
		}
		l.level, l.known = w, true
	}
	return errors.Join(errs...)
}

// arm sets the timer for the next edge of any LED, or stops it.
func (e *engine) arm(now time.Time) {
	d := now.Sub(e.epoch)
	var next time.Time
	for _, l := range e.leds {
		if !l.assigned {
			continue
		}
		if now.Before(l.until) && (next.IsZero() || l.until.Before(next)) {
			next = l.until
		}
		if n := l.wave.next(d); n >= 0 {
			t := e.epoch.Add(n)
			if next.IsZero() || t.Before(next) {
				next = t
			}
		}
	}
	if next.IsZero() {
		if e.timer != nil && e.armed {
			e.timer.Stop()
		}
		e.armed = false
		return
	}
	wait := next.Sub(now)
	if e.timer == nil {
		e.timer = e.clock.NewTimer(wait)
	} else {
		e.timer.Stop()
		e.timer.Reset(wait)
	}
	e.armed = true
}

// set gives l a wave to show (nil l: the LED does not exist).
func (e *engine) set(l *led, w wave) {
	if l == nil {
		return
	}
	if e.solid {
		w = w.solid()
	}
	l.wave, l.assigned = w, true
}
