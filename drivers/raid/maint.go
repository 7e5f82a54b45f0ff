package raid

// Maintenance state shared by rebuild, scrub and latency monitoring.
//
// Each array gets one maintenance value (Array.mt), made on first use: it
// wraps the members so that their I/O is timed (latency.go) and counted,
// which is how a background job tells foreground I/O from its own (as md
// does: the member's I/O count minus the job's own) and slows down to its
// minimum rate while the array is busy. It also holds the running jobs and
// their progress.

import (
	"sync"
	"sync/atomic"
	"time"
)

// Range is a byte range [Off, Off+Len).
type Range struct {
	Off, Len int64
}

// Progress is a rebuild's or scrub's state, as values.
type Progress struct {
	Job     string   // "rebuild", "replace" or "scrub"
	Roles   []int    // roles being rebuilt (rebuild) or nil (scrub)
	Devices []string // their devices
	Running bool
	Started time.Time
	Ended   time.Time // zero while running
	// Row is the next stripe row to visit; Rows is the number of rows.
	Row, Rows int64
	// Done and Total count the bytes of member data that need work (only
	// stripes in use count), per member: Done of Total are finished.
	Done, Total int64
	Rate        float64       // bytes per second of Done, since Started
	ETA         time.Duration // at Rate; 0 when unknown or finished
	Lost        []Range       // rebuild: volume ranges that could not be rebuilt
	Mismatches  []Mismatch    // scrub: what was found
	Err         string        // why the job stopped, if it failed
}

// maintenance is an array's rebuild/scrub/latency state.
type maintenance struct {
	a   *Array
	lat *latencyMonitor

	total atomic.Int64 // member reads and writes seen by the wrappers
	own   atomic.Int64 // of those, issued by rebuild and scrub

	mu      sync.Mutex // guards the fields below and the wrapping of members
	names   []string   // latency slot -> device name
	rebuild *jobState
	scrub   *jobState
}

// jobState is one running or finished job.
type jobState struct {
	mu     sync.Mutex // guards p
	p      Progress
	cancel func()
	done   chan struct{}
}

func (j *jobState) progress() Progress {
	j.mu.Lock()
	defer j.mu.Unlock()
	p := j.p
	p.Roles = append([]int(nil), p.Roles...)
	p.Devices = append([]string(nil), p.Devices...)
	p.Lost = append([]Range(nil), p.Lost...)
	p.Mismatches = append([]Mismatch(nil), p.Mismatches...)
	return p
}

// finish marks the job ended (with err, if any), reports the final
// progress and wakes its waiters.
func (j *jobState) finish(err error, report func(Progress)) {
	j.update(func(p *Progress) {
		p.Running, p.Ended = false, time.Now()
		if err != nil {
			p.Err = err.Error()
		}
	})
	if report != nil {
		report(j.progress())
	}
	close(j.done)
}

func (j *jobState) update(f func(p *Progress)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(&j.p)
	if el := time.Since(j.p.Started).Seconds(); el > 0 && j.p.Done > 0 {
		j.p.Rate = float64(j.p.Done) / el
		if left := j.p.Total - j.p.Done; left > 0 {
			j.p.ETA = time.Duration(float64(left) / j.p.Rate * float64(time.Second))
		} else {
			j.p.ETA = 0
		}
	}
}

// maint returns a's maintenance state, making it on first use, and wraps
// any member not yet wrapped (added since).
func (a *Array) maint() *maintenance {
	a.mtOnce.Do(func() {
		a.mt = &maintenance{a: a, lat: newLatencyMonitor(0, nil, nil)}
	})
	a.mt.wrapMembers()
	return a.mt
}

// wrapMembers puts a watchedMember around every member not yet wrapped.
func (mt *maintenance) wrapMembers() {
	mt.mu.Lock()
	defer mt.mu.Unlock()
	a := mt.a
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range append(append([]*slot(nil), a.roles...), a.spares...) {
		if s.m == nil {
			continue
		}
		if _, ok := s.m.(*watchedMember); ok {
			continue
		}
		i := len(mt.names)
		mt.names = append(mt.names, s.name)
		mt.lat.grow(i + 1)
		s.m = &watchedMember{Member: s.m, mt: mt, i: i}
	}
}

// asOwn runs f and counts the member I/O meanwhile as the job's own
// (checkpoints, flushes), so that it does not look like foreground I/O.
func (mt *maintenance) asOwn(f func() error) error {
	before := mt.total.Load()
	err := f()
	mt.own.Add(mt.total.Load() - before)
	return err
}

// watchedMember times and counts a member's I/O.
type watchedMember struct {
	Member
	mt *maintenance
	i  int // latency slot
}

var _ Member = (*watchedMember)(nil)

func (w *watchedMember) ReadAt(p []byte, off int64) (int, error) {
	w.mt.total.Add(1)
	start := time.Now()
	n, err := w.Member.ReadAt(p, off)
	w.mt.lat.observe(w.i, false, time.Since(start), err)
	return n, err
}

func (w *watchedMember) WriteAt(p []byte, off int64) (int, error) {
	w.mt.total.Add(1)
	start := time.Now()
	n, err := w.Member.WriteAt(p, off)
	w.mt.lat.observe(w.i, true, time.Since(start), err)
	return n, err
}

// Name is the wrapped member's name, if it has one.
func (w *watchedMember) Name() string { return memberName(w.Member, w.i) }

// unwrap returns the member under any watchedMember.
func unwrap(m Member) Member {
	if w, ok := m.(*watchedMember); ok {
		return w.Member
	}
	return m
}

// MemberLatency is one member's latency figures with its identity.
type MemberLatency struct {
	Device string
	Role   int // -1: spare or out of the array
	LatencyStats
}

// Latency returns the I/O latency figures of every member that has been
// part of the array since monitoring began (on the first call of Latency,
// Rebuild, StartRebuild or Scrub), and whether each is slow compared to its
// peers (see SlowOptions for the rule).
func (a *Array) Latency() []MemberLatency {
	mt := a.maint()
	stats := mt.lat.stats()
	roleOf := map[int]int{}
	a.mu.Lock()
	for r, s := range a.roles {
		if w, ok := s.m.(*watchedMember); ok {
			roleOf[w.i] = r
		}
	}
	a.mu.Unlock()
	mt.mu.Lock()
	defer mt.mu.Unlock()
	out := make([]MemberLatency, len(stats))
	for i, s := range stats {
		r, ok := roleOf[i]
		if !ok {
			r = -1
		}
		out[i] = MemberLatency{Device: mt.names[i], Role: r, LatencyStats: s}
	}
	return out
}

// throttle paces a job between a minimum and a maximum rate: the maximum
// while the array has had no foreground I/O for idle, the minimum
// otherwise.
type throttle struct {
	mt       *maintenance
	min, max float64 // bytes per second; max 0: unlimited
	idle     time.Duration
	next     time.Time // when the next unit of work may start
	lastFg   time.Time // last time foreground I/O was seen
	total    int64     // mt.total at the last wait
	own      int64     // mt.own at the last wait
}

func newThrottle(mt *maintenance, minRate, maxRate int64, idle time.Duration) *throttle {
	return &throttle{mt: mt, min: float64(minRate), max: float64(maxRate), idle: idle,
		total: mt.total.Load(), own: mt.own.Load()}
}

// busy reports whether foreground I/O ran recently.
func (t *throttle) busy(now time.Time) bool {
	total, own := t.mt.total.Load(), t.mt.own.Load()
	if total-t.total > own-t.own {
		t.lastFg = now
	}
	t.total, t.own = total, own
	return !t.lastFg.IsZero() && now.Sub(t.lastFg) < t.idle
}

// wait accounts for n bytes of work just done and sleeps as the rate
// demands; it returns early with the context's error.
func (t *throttle) wait(done <-chan struct{}, n int64) bool {
	now := time.Now()
	rate := t.max
	if t.busy(now) && t.min > 0 {
		rate = t.min
	}
	if rate <= 0 {
		return true
	}
	if t.next.Before(now) {
		t.next = now
	}
	t.next = t.next.Add(time.Duration(float64(n) / rate * float64(time.Second)))
	d := t.next.Sub(now)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-done:
		return false
	}
}

// ownChunkCRC is chunkCRC with any page it loads from a member counted as
// the job's own I/O.
func (a *Array) ownChunkCRC(r int, s int64) (crc uint32, ok bool) {
	a.maint().asOwn(func() error { crc, ok = a.chunkCRC(r, s); return nil })
	return crc, ok
}

// ownSetChunkCRC is setChunkCRC, counted likewise.
func (a *Array) ownSetChunkCRC(r int, s int64, crc uint32) {
	a.maint().asOwn(func() error { a.setChunkCRC(r, s, crc); return nil })
}

// SetSlowOptions changes the slow-member rule (SlowOptions) used by
// Latency from now on.
func (a *Array) SetSlowOptions(o SlowOptions) {
	l := a.maint().lat
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opts = o.withDefaults()
}
