package hal

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"

	"github.com/postvault/postvault/hal/gpioline"
	"github.com/postvault/postvault/hal/sim"
)

// ErrNoBay is returned (wrapped) when a bay number or disk port names no bay.
var ErrNoBay = errors.New("hal: no such bay")

// ErrNoSensor is returned (wrapped) by Bay.Temperature where the bay has no
// temperature sensor.
var ErrNoSensor = errors.New("hal: no sensor")

// Hardware is what a board is made of: its pins and sensors, already opened
// by a backend. Open builds one from a profile or board file; tests and new
// backends may build one directly and pass it to New.
type Hardware struct {
	Name    string            // profile name, such as "qemu"
	Model   string            // human description of the hardware
	Status  gpio.PinOut       // front status LED; nil if there is none
	Bays    []BayHardware     // in any order; New sorts them by number
	Sensors []physic.SenseEnv // board sensors, such as a chassis thermometer
	Release func() error      // frees the backends' resources on Close; may be nil
	SimLog  *sim.Log          // the simulated board's write log; nil on real hardware
}

// BayHardware is one bay of a Hardware.
type BayHardware struct {
	Number   int    // 1-based, as printed on the chassis
	Port     string // disk-port key, see the package comment
	Fault    gpio.PinOut
	Locate   gpio.PinOut
	Activity gpio.PinOut
	// Present reads High while a disk sits in the bay; nil where the
	// hardware does not report presence.
	Present gpio.PinIn
	// Temperature is the bay's thermometer; nil if there is none.
	Temperature physic.SenseEnv
	// Enclosure is set when Fault and Locate are bits of an enclosure
	// message (AHCI em_message): the enclosure renders locate, fail and
	// rebuild by itself, see the package comment.
	Enclosure bool
}

// Options configure Open and New. The zero value is usable.
type Options struct {
	// Clock times blinking. Nil means the real clock.
	Clock clockwork.Clock
	// Solid shows every blinking pattern as steady light, for tools that set
	// a state and exit (a process that exits cannot blink). False: blink.
	Solid bool
	// Root is the sysfs root the backends and Detect read. "" means "/sys".
	Root string
	// Lines finds GPIO lines. Nil means the kernel's, through periph's
	// gpioioctl; tests pass periph's gpiotest pins.
	Lines gpioline.Lookup
	// SimLog receives the LED writes of the simulated profile. Nil: Open
	// makes one; read it back with Board.SimLog.
	SimLog *sim.Log
}

func (o *Options) clock() clockwork.Clock {
	if o == nil || o.Clock == nil {
		return clockwork.NewRealClock()
	}
	return o.Clock
}

func (o *Options) root() string {
	if o == nil || o.Root == "" {
		return "/sys"
	}
	return o.Root
}

// Board is the appliance's board: its bays, their LEDs and sensors, and the
// front status LED. It is a conn.Resource: Halt turns every LED off. All LED
// state belongs to one goroutine per board; the methods send it messages.
type Board struct {
	name, model string
	bays        []*Bay
	sensors     []physic.SenseEnv
	simLog      *sim.Log
	closeOnce   sync.Once
	release     func() error // run once by Close
	closeErr    error

	e      *engine
	status *led
	// Owned by the engine goroutine.
	statusPattern Status
}

var _ conn.Resource = (*Board)(nil)

// Bay is one drive bay. It is a conn.Resource: Halt turns its LEDs off.
type Bay struct {
	number int
	port   string
	hw     BayHardware
	board  *Board

	fault, locate, activity *led
	blipQueued              atomic.Bool // a Blip is queued for the engine
	// Owned by the engine goroutine.
	pattern Pattern
}

var _ conn.Resource = (*Bay)(nil)

// New brings hw to life as a Board and starts its LED goroutine. No LED is
// written until a pattern or status is set, so opening a board to change one
// bay leaves the others as they are. New fails on duplicate or missing bay
// numbers and on malformed or duplicate disk-port keys.
func New(hw Hardware, opts *Options) (*Board, error) {
	if hw.Name == "" {
		return nil, errors.New("hal: board has no name")
	}
	bays := append([]BayHardware(nil), hw.Bays...)
	sort.Slice(bays, func(i, j int) bool { return bays[i].Number < bays[j].Number })
	ports := map[string]int{}
	for i, bh := range bays {
		if bh.Number != i+1 {
			return nil, fmt.Errorf("hal: board %s: bays must be numbered 1 to %d, found bay %d", hw.Name, len(bays), bh.Number)
		}
		if err := CheckPort(bh.Port); err != nil {
			return nil, fmt.Errorf("hal: board %s: bay %d: %w", hw.Name, bh.Number, err)
		}
		if n, dup := ports[bh.Port]; dup {
			return nil, fmt.Errorf("hal: board %s: bays %d and %d share port %s", hw.Name, n, bh.Number, bh.Port)
		}
		ports[bh.Port] = bh.Number
	}
	b := &Board{
		name: hw.Name, model: hw.Model, sensors: hw.Sensors,
		release: hw.Release, simLog: hw.SimLog,
		e: newEngine(opts.clock(), opts != nil && opts.Solid),
	}
	b.status = b.e.add(hw.Status)
	for _, bh := range bays {
		bay := &Bay{number: bh.Number, port: bh.Port, hw: bh, board: b}
		bay.fault = b.e.add(bh.Fault)
		bay.locate = b.e.add(bh.Locate)
		bay.activity = b.e.add(bh.Activity)
		b.bays = append(b.bays, bay)
	}
	b.e.start()
	return b, nil
}

// String implements conn.Resource.
func (b *Board) String() string { return "board " + b.name }

// Name returns the board's profile name.
func (b *Board) Name() string { return b.name }

// Model returns the human description of the board.
func (b *Board) Model() string { return b.model }

// Bays returns the bays in number order.
func (b *Board) Bays() []*Bay { return append([]*Bay(nil), b.bays...) }

// Bay returns bay n (1-based).
func (b *Board) Bay(n int) (*Bay, error) {
	if n < 1 || n > len(b.bays) {
		return nil, fmt.Errorf("%w: %s has bays 1 to %d, not %d", ErrNoBay, b, len(b.bays), n)
	}
	return b.bays[n-1], nil
}

// BayByPort returns the bay wired to the disk port key (see the package
// comment), as drivers/sata reports it for a disk.
func (b *Board) BayByPort(port string) (*Bay, error) {
	for _, bay := range b.bays {
		if bay.port == port {
			return bay, nil
		}
	}
	return nil, fmt.Errorf("%w: %s has no bay on port %q", ErrNoBay, b, port)
}

// Sensors returns the board's own sensors (not the bays').
func (b *Board) Sensors() []physic.SenseEnv { return append([]physic.SenseEnv(nil), b.sensors...) }

// SimLog returns the write log of a simulated board, nil on real hardware.
func (b *Board) SimLog() *sim.Log { return b.simLog }

// SetStatus sets the front status LED's pattern. Boards without a status
// LED accept and remember it.
func (b *Board) SetStatus(s Status) error {
	if s < 0 || s >= numStatus {
		return fmt.Errorf("hal: %s: invalid status %d", b, int(s))
	}
	return b.e.do(func(time.Time) error {
		b.statusPattern = s
		b.e.set(b.status, statusWaves[s])
		return nil
	})
}

// Halt implements conn.Resource: every bay goes to Normal, the status LED
// off, and every LED of the board is written off.
func (b *Board) Halt() error {
	return b.e.do(func(time.Time) error {
		b.statusPattern = StatusOff
		for _, l := range b.e.leds {
			l.wave, l.until, l.assigned = off, time.Time{}, true
		}
		for _, bay := range b.bays {
			bay.pattern = Normal
		}
		return nil
	})
}

// Close stops the board's goroutine and releases its backends. It leaves the
// LEDs as they are (call Halt first to turn them off): a tool that set a
// steady pattern wants it to stay. Calls after Close fail.
func (b *Board) Close() error {
	b.closeOnce.Do(func() {
		b.e.stop()
		if b.release != nil {
			b.closeErr = b.release()
		}
	})
	return b.closeErr
}
