package diskmgr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/hal"
)

// Array is what the manager needs of the parity array.
type Array interface {
	Status() raid.Status
	Latency() []raid.MemberLatency
	RebuildProgress() (raid.Progress, bool)
	ScrubProgress() (raid.Progress, bool)
	Add(m raid.Member) (int, error)
	Fail(m raid.Member) error
	StartRebuild(ctx context.Context, opts *raid.RebuildOptions) (bool, error)
}

var _ Array = (*raid.Array)(nil)

// Options configure New. The zero value of each field is documented.
type Options struct {
	// BayOf maps a member's device name to a bay number (0: none), for
	// members hotplug has not placed. Nil: only hotplug places members.
	BayOf func(device string) int
	// Members are the array's members as opened, keyed by nothing: the
	// manager learns their names (Name or Path) and asks those with an
	// ATA() *sata.ATA method for SMART. Nil: no SMART for the initial members.
	Members []raid.Member
	// Interval is the period of the array poll; 0 means 2 s.
	Interval time.Duration
	// SMARTInterval is the period of the SMART poll; 0 means 10 min, a
	// negative value turns it off (development mode).
	SMARTInterval time.Duration
	// Health assesses a member's SMART. Nil: SMART RETURN STATUS and READ
	// DATA through the member's ATA, judged by sata.Assess.
	Health func(device string, m raid.Member) (sata.Health, error)
	// Open opens a hotplugged disk. Nil: sata.OpenDisk.
	Open func(path string) (raid.Member, error)
	// Rebuild are the options of rebuilds the manager starts; nil: raid's defaults.
	Rebuild *raid.RebuildOptions
	// EventLog is the number of events kept; 0 means 256.
	EventLog int
	// Clock times the polls and stamps events. Nil: the real clock.
	Clock clockwork.Clock
	// Logger receives every event as well. Nil: slog.Default().
	Logger *slog.Logger
	// Attention, asked at every poll, reports whether something beside
	// the disks needs the admin (the mail store found damage that parity
	// could not mend): the front status LED then shows attention. Nil:
	// only the disks decide.
	Attention func() bool
}

// Bay is one bay as the status page shows it.
type Bay struct {
	Number  int              `json:"bay"`
	Port    string           `json:"port"`
	Device  string           `json:"device,omitempty"`
	Role    int              `json:"role"`            // -1: spare or not in a role
	State   raid.MemberState `json:"state,omitempty"` // "": no member in the bay
	Pulled  bool             `json:"pulled,omitempty"`
	Slow    bool             `json:"slow,omitempty"`
	Health  sata.Health      `json:"health,omitempty"`
	Locate  bool             `json:"locate"`
	Pattern hal.Pattern      `json:"pattern"`
	// LED levels as the board shows them now.
	Fault     *hal.LEDState `json:"fault_led,omitempty"`
	LocateLED *hal.LEDState `json:"locate_led,omitempty"`
	Activity  *hal.LEDState `json:"activity_led,omitempty"`
	Present   *bool         `json:"present,omitempty"`
}

// ErrStopped is returned by calls made after Run has returned.
var ErrStopped = errors.New("diskmgr: manager stopped")

// Manager is the disk manager. Run owns its state; the other methods are
// messages to Run and are safe for concurrent use.
type Manager struct {
	board *hal.Board
	a     Array
	o     Options
	clock clockwork.Clock
	log   *slog.Logger
	ring  *ring
	req   chan func(ctx context.Context)
	done  chan struct{}

	mu        sync.Mutex // guards view and status
	view      []Bay
	status    hal.Status
	runOnce   sync.Once
	closeDone sync.Once

	// Owned by Run's goroutine.
	opened   map[string]raid.Member // device name -> member, for SMART and Fail
	disks    map[string]sata.Disk   // bay key -> disk hotplug reported there
	devBay   map[string]int         // device name -> bay number, from hotplug
	pulled   map[int]string         // bay -> device of a member pulled from it
	locate   map[int]bool
	health   map[string]sata.Health
	seen     map[string]seenMember
	shown    map[int]hal.Pattern
	arrState raid.ArrayState
	jobRun   bool
	polled   bool
}

type seenMember struct {
	state raid.MemberState
	slow  bool
}

// New returns a manager of board's bays for array a. Call Run to start it.
func New(board *hal.Board, a Array, opts *Options) (*Manager, error) {
	if board == nil || a == nil {
		return nil, errors.New("diskmgr: New needs a board and an array")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Interval < 0 {
		return nil, errors.New("diskmgr: negative poll interval")
	}
	if o.Interval == 0 {
		o.Interval = 2 * time.Second
	}
	if o.SMARTInterval == 0 {
		o.SMARTInterval = 10 * time.Minute
	}
	if o.EventLog <= 0 {
		o.EventLog = 256
	}
	if o.Open == nil {
		o.Open = func(p string) (raid.Member, error) {
			d, err := sata.OpenDisk(p, nil)
			if err != nil {
				return nil, err
			}
			return d, nil
		}
	}
	if o.Health == nil {
		o.Health = ataHealth
	}
	m := &Manager{board: board, a: a, o: o, clock: o.Clock, log: o.Logger,
		ring: newRing(o.EventLog), req: make(chan func(context.Context)), done: make(chan struct{}),
		opened: map[string]raid.Member{}, disks: map[string]sata.Disk{}, devBay: map[string]int{},
		pulled: map[int]string{}, locate: map[int]bool{}, health: map[string]sata.Health{},
		seen: map[string]seenMember{}, shown: map[int]hal.Pattern{}}
	if m.clock == nil {
		m.clock = clockwork.NewRealClock()
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	for _, mem := range o.Members {
		m.opened[memberName(mem)] = mem
	}
	for _, b := range board.Bays() {
		m.view = append(m.view, Bay{Number: b.Number(), Port: b.Port(), Role: -1})
	}
	return m, nil
}

// Run polls the array and applies hotplug events and requests until ctx
// ends. It may be called once.
func (m *Manager) Run(ctx context.Context) error {
	started := false
	m.runOnce.Do(func() { started = true })
	if !started {
		return errors.New("diskmgr: Run called twice")
	}
	defer close(m.done)
	tick := m.clock.NewTicker(m.o.Interval)
	defer tick.Stop()
	var smartC <-chan time.Time
	if m.o.SMARTInterval > 0 {
		st := m.clock.NewTicker(m.o.SMARTInterval)
		defer st.Stop()
		smartC = st.Chan()
		m.checkSMART()
	}
	m.poll(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.Chan():
			m.poll(ctx)
		case <-smartC:
			m.checkSMART()
			m.poll(ctx)
		case f := <-m.req:
			f(ctx)
		}
	}
}

// do runs f in Run's goroutine and waits for it.
func (m *Manager) do(f func(ctx context.Context)) error {
	fin := make(chan struct{})
	select {
	case m.req <- func(ctx context.Context) { defer close(fin); f(ctx) }:
	case <-m.done:
		return ErrStopped
	}
	select {
	case <-fin:
		return nil
	case <-m.done:
		return ErrStopped
	}
}

// Refresh polls the array and updates the LEDs now.
func (m *Manager) Refresh() error { return m.do(m.poll) }

// CheckSMART polls every member's SMART now, then the array.
func (m *Manager) CheckSMART() error {
	return m.do(func(ctx context.Context) { m.checkSMART(); m.poll(ctx) })
}

// Hotplug applies a disk event (from sata.Watcher.Run) and returns once it
// is applied: a pulled member is failed, a blank disk becomes a spare.
func (m *Manager) Hotplug(ev sata.Event) {
	if err := m.do(func(ctx context.Context) { m.hotplug(ctx, ev); m.poll(ctx) }); err != nil {
		m.log.Debug("hotplug event after stop", "bay", ev.Bay, "kind", ev.Kind)
	}
}

// SetLocate sets or clears locate on bay n.
func (m *Manager) SetLocate(n int, on bool) error {
	if _, err := m.board.Bay(n); err != nil {
		return fmt.Errorf("diskmgr: %w", err)
	}
	return m.do(func(ctx context.Context) {
		if m.locate[n] == on {
			return
		}
		if on {
			m.locate[n] = true
			m.event(n, "", "locate on")
		} else {
			delete(m.locate, n)
			m.event(n, "", "locate off")
		}
		m.poll(ctx)
	})
}

// Events returns the event log, oldest first.
func (m *Manager) Events() []Event { return m.ring.events() }

// Board returns the board the manager drives.
func (m *Manager) Board() *hal.Board { return m.board }

// Status returns what the front status LED shows.
func (m *Manager) Status() hal.Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// Bays returns every bay of the board as of the last poll, with the LED
// levels the board shows now.
func (m *Manager) Bays() []Bay {
	m.mu.Lock()
	view := append([]Bay(nil), m.view...)
	m.mu.Unlock()
	st := m.board.State()
	for i := range view {
		for _, bs := range st.Bays {
			if bs.Number == view[i].Number {
				view[i].Fault, view[i].LocateLED, view[i].Activity = bs.Fault, bs.Locate, bs.Activity
				view[i].Present = bs.Present
			}
		}
	}
	return view
}

// event records an event in the log and the logger.
func (m *Manager) event(bay int, device, what string) {
	m.ring.add(Event{Time: m.clock.Now(), Bay: bay, Device: device, What: what})
	m.log.Info("disk event: "+what, "bay", bay, "device", device)
}

// memberName is the name raid gives m.
func memberName(m raid.Member) string {
	if n, ok := m.(interface{ Name() string }); ok {
		return n.Name()
	}
	if n, ok := m.(interface{ Path() string }); ok {
		return n.Path()
	}
	return ""
}
