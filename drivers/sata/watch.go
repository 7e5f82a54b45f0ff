package sata

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// UeventSource delivers kernel uevents: a *UeventSocket, or
// satatest.Events in tests. Read blocks; Close makes it return.
type UeventSource interface {
	Read() (*Uevent, error)
	Close() error
}

var _ UeventSource = (*UeventSocket)(nil)

// EventKind says what happened in a bay.
type EventKind int

const (
	Added   EventKind = iota + 1 // a disk appeared (also every disk present at start)
	Removed                      // a disk went away; Disk is its last known identity
	Changed                      // same disk, something about it changed (size, name, in use)
)

func (k EventKind) String() string {
	switch k {
	case Added:
		return "added"
	case Removed:
		return "removed"
	case Changed:
		return "changed"
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// MarshalText makes EventKind a string in JSON.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Event is a change of a bay's disk.
type Event struct {
	Kind EventKind `json:"kind"`
	Bay  string    `json:"bay"`
	Disk Disk      `json:"disk"`
	// Cause is "start", "uevent" (a remove uevent, reported at once),
	// "debounced" (a rescan after uevents settled) or "rescan" (periodic).
	Cause string    `json:"cause"`
	Time  time.Time `json:"time"`
}

// WatchOptions configure a Watcher; zero values are the defaults.
type WatchOptions struct {
	// Debounce is how long uevents must be quiet before sysfs is scanned;
	// 0 means 500 ms. A burst is cut off after 4×Debounce.
	Debounce time.Duration
	// Rescan is the period of the safety-net scan; 0 means 30 s.
	Rescan time.Duration
}

// Watcher reports disks arriving in and leaving bays. It scans sysfs after
// uevents for block, SCSI and ATA devices settle, and periodically. A
// remove uevent for a disk's devpath is reported at once, with the
// identity the disk had, even though its sysfs directory and device node
// are already gone.
type Watcher struct {
	scan     *Scanner
	src      UeventSource
	debounce time.Duration
	rescan   time.Duration

	// Owned by Run's goroutine.
	byBay     map[string]Disk
	byDevPath map[string]Disk
}

// NewWatcher returns a Watcher on s fed by src (nil: periodic scans only).
func NewWatcher(s *Scanner, src UeventSource, o *WatchOptions) (*Watcher, error) {
	if s == nil {
		return nil, errors.New("sata: NewWatcher without a Scanner")
	}
	w := &Watcher{scan: s, src: src, debounce: 500 * time.Millisecond, rescan: 30 * time.Second}
	if o != nil {
		if o.Debounce < 0 || o.Rescan < 0 {
			return nil, errors.New("sata: negative watch interval")
		}
		if o.Debounce > 0 {
			w.debounce = o.Debounce
		}
		if o.Rescan > 0 {
			w.rescan = o.Rescan
		}
	}
	return w, nil
}

// relevant reports whether u can change the set of disks.
func relevant(u *Uevent) bool {
	switch u.Subsystem {
	case "block", "scsi", "scsi_device", "scsi_disk", "scsi_host", "ata_port", "ata_link", "ata_device":
		return true
	}
	return false
}

// Run reports every disk present as Added, then changes, calling emit from
// its own goroutine, until ctx is done. It closes the source when it
// returns. A failing uevent source leaves the periodic scan.
func (w *Watcher) Run(ctx context.Context, emit func(Event)) error {
	w.byBay, w.byDevPath = map[string]Disk{}, map[string]Disk{}
	if err := w.apply("start", emit); err != nil {
		return err
	}
	uevents := make(chan *Uevent, 64)
	lost := make(chan struct{}, 1)
	if w.src != nil {
		defer w.src.Close()
		go w.read(ctx, uevents, lost)
	}
	tick := time.NewTicker(w.rescan)
	defer tick.Stop()
	var settle, cutoff <-chan time.Time
	var settleTimer *time.Timer
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-uevents:
			if !ok {
				uevents = nil // source failed: periodic scans only
				continue
			}
			if !relevant(u) {
				continue
			}
			if u.Action == "remove" {
				w.removed(u, emit)
			}
			if settleTimer != nil {
				settleTimer.Stop()
			}
			settleTimer = time.NewTimer(w.debounce)
			settle = settleTimer.C
			if cutoff == nil {
				cutoff = time.After(4 * w.debounce)
			}
		case <-lost:
			settle, cutoff = time.After(w.debounce), nil
		case <-settle:
			settle, cutoff = nil, nil
			w.apply("debounced", emit)
		case <-cutoff:
			settle, cutoff = nil, nil
			w.apply("debounced", emit)
		case <-tick.C:
			w.apply("rescan", emit)
		}
	}
}

func (w *Watcher) read(ctx context.Context, out chan<- *Uevent, lost chan<- struct{}) {
	defer close(out)
	for {
		u, err := w.src.Read()
		switch {
		case errors.Is(err, ErrLost):
			select {
			case lost <- struct{}{}:
			default:
			}
			continue
		case err != nil:
			return
		}
		select {
		case out <- u:
		case <-ctx.Done():
			return
		}
	}
}

// removed reports the disk at u's devpath (or below it) as gone at once.
func (w *Watcher) removed(u *Uevent, emit func(Event)) {
	var gone []Disk
	for dp, d := range w.byDevPath {
		if dp == u.DevPath || strings.HasPrefix(dp, u.DevPath+"/") {
			gone = append(gone, d)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].Bay < gone[j].Bay })
	for _, d := range gone {
		delete(w.byDevPath, d.DevPath)
		if cur, ok := w.byBay[d.Bay]; ok && cur.DevPath == d.DevPath {
			delete(w.byBay, d.Bay)
		}
		emit(Event{Kind: Removed, Bay: d.Bay, Disk: d, Cause: "uevent", Time: time.Now()})
	}
}

// apply scans and reports the differences from the last known state.
func (w *Watcher) apply(cause string, emit func(Event)) error {
	disks, err := w.scan.Scan()
	if err != nil {
		return err
	}
	now := time.Now()
	seen := map[string]bool{}
	for _, d := range disks {
		seen[d.Bay] = true
		old, had := w.byBay[d.Bay]
		switch {
		case !had:
			emit(Event{Kind: Added, Bay: d.Bay, Disk: d, Cause: cause, Time: now})
		case !sameDisk(old, d):
			delete(w.byDevPath, old.DevPath)
			emit(Event{Kind: Removed, Bay: d.Bay, Disk: old, Cause: cause, Time: now})
			emit(Event{Kind: Added, Bay: d.Bay, Disk: d, Cause: cause, Time: now})
		case changed(old, d):
			delete(w.byDevPath, old.DevPath)
			emit(Event{Kind: Changed, Bay: d.Bay, Disk: d, Cause: cause, Time: now})
		}
		w.byBay[d.Bay] = d
		w.byDevPath[d.DevPath] = d
	}
	var gone []string
	for bay := range w.byBay {
		if !seen[bay] {
			gone = append(gone, bay)
		}
	}
	sort.Strings(gone)
	for _, bay := range gone {
		d := w.byBay[bay]
		delete(w.byBay, bay)
		delete(w.byDevPath, d.DevPath)
		emit(Event{Kind: Removed, Bay: bay, Disk: d, Cause: cause, Time: now})
	}
	return nil
}

// sameDisk reports whether a and b are the same physical disk.
func sameDisk(a, b Disk) bool {
	if a.WWN != "" || b.WWN != "" {
		return a.WWN == b.WWN
	}
	return a.Serial == b.Serial && a.Model == b.Model
}

func changed(a, b Disk) bool {
	return a.Name != b.Name || a.DevPath != b.DevPath || a.Size != b.Size || a.InUse != b.InUse || a.Boot != b.Boot
}
