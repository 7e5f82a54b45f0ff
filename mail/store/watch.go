package store

import "sync"

// Watcher receives the changes of one mailbox (or every mailbox of an
// account). Events queue without bound until drained; C is signalled when
// some are waiting. The store never blocks on a watcher.
type Watcher struct {
	s       *Store
	acct    uint32
	mailbox string // "" for every mailbox

	mu     sync.Mutex // guards queue, closed
	queue  []Event
	closed bool
	c      chan struct{}
}

// Watch starts watching a mailbox ("" watches every mailbox of the account).
// A watched mailbox that is renamed keeps being watched under its new name.
func (a *Account) Watch(mailbox string) *Watcher {
	if mailbox != "" {
		if n, err := normalizeMailbox(mailbox); err == nil {
			mailbox = n
		}
	}
	w := &Watcher{s: a.s, acct: a.id, mailbox: mailbox, c: make(chan struct{}, 1)}
	a.s.watchMu.Lock()
	defer a.s.watchMu.Unlock()
	m := a.s.watchers[a.id]
	if m == nil {
		m = map[*Watcher]bool{}
		a.s.watchers[a.id] = m
	}
	m[w] = true
	return w
}

// C is signalled (without blocking the store) when events are waiting.
func (w *Watcher) C() <-chan struct{} { return w.c }

// Events returns and removes the waiting events, oldest first.
func (w *Watcher) Events() []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

// Close stops the watcher.
func (w *Watcher) Close() {
	w.s.watchMu.Lock()
	delete(w.s.watchers[w.acct], w)
	w.s.watchMu.Unlock()
	w.mu.Lock()
	w.closed = true
	w.queue = nil
	w.mu.Unlock()
}

func (w *Watcher) push(e Event) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	if e.Kind == EventMailboxRenamed && w.mailbox == e.Mailbox {
		w.mailbox = e.NewName
	}
	w.queue = append(w.queue, e)
	w.mu.Unlock()
	select {
	case w.c <- struct{}{}:
	default:
	}
}

// publish hands events to the watchers of their accounts. It is called with
// no store lock held.
func (s *Store) publish(evs []Event) {
	if len(evs) == 0 {
		return
	}
	s.watchMu.Lock()
	var ws []*Watcher
	seen := map[uint32]bool{}
	for _, e := range evs {
		if seen[e.acct] {
			continue
		}
		seen[e.acct] = true
		for w := range s.watchers[e.acct] {
			ws = append(ws, w)
		}
	}
	s.watchMu.Unlock()
	for _, e := range evs {
		for _, w := range ws {
			if w.acct != e.acct {
				continue
			}
			w.mu.Lock()
			mbox := w.mailbox
			w.mu.Unlock()
			if mbox == "" || mbox == e.Mailbox {
				w.push(e)
			}
		}
	}
}
