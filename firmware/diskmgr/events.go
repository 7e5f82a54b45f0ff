package diskmgr

import (
	"sync"
	"time"
)

// Event is one entry of the manager's event log.
type Event struct {
	Time   time.Time `json:"time"`
	Bay    int       `json:"bay,omitempty"` // 0: not tied to a bay
	Device string    `json:"device,omitempty"`
	What   string    `json:"what"`
}

// ring is a bounded log of events; the oldest are dropped.
type ring struct {
	mu   sync.Mutex // guards buf, next, full
	buf  []Event
	next int
	full bool
}

func newRing(n int) *ring { return &ring{buf: make([]Event, n)} }

func (r *ring) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = e
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// events returns the log, oldest first.
func (r *ring) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]Event(nil), r.buf[:r.next]...)
	}
	out := append([]Event(nil), r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}
