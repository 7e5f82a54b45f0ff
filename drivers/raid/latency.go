package raid

// Per-member latency and slow-member detection.
//
// Every read and write that reaches a member is timed into a small
// fixed-bucket histogram (log2 buckets from 16 µs to 4 s) for the member's
// lifetime, and into a second one for the current interval. At the end of
// each interval the monitor compares each member's interval median with the
// median of its peers' interval medians: a member above Factor times that
// (and above an absolute Floor, so that microsecond noise never counts) for
// Sustain intervals in a row is reported slow; as many good intervals in a row
// clear the report. Intervals in which a member did no I/O are ignored.
// Deciding what to do with a slow member is the firmware's job.

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// latencyBuckets is the number of histogram buckets. Bucket i counts
// latencies up to LatencyBucketBound(i); the last counts everything longer.
const latencyBuckets = 20

// LatencyBucketBound returns the upper bound of histogram bucket i:
// 16 µs × 2^i (16 µs, 32 µs, ... 4.2 s); the last bucket has no bound.
func LatencyBucketBound(i int) time.Duration {
	if i >= latencyBuckets-1 {
		return time.Duration(1<<63 - 1)
	}
	return 16 * time.Microsecond << i
}

// Histogram counts latencies in fixed log2 buckets (see LatencyBucketBound).
type Histogram [latencyBuckets]uint64

func (h *Histogram) add(d time.Duration) {
	i := 0
	for i < latencyBuckets-1 && d > LatencyBucketBound(i) {
		i++
	}
	h[i]++
}

// Count returns the number of latencies counted.
func (h *Histogram) Count() uint64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile returns an estimate of the q-quantile (0 < q <= 1): the upper
// bound of the bucket that holds it, or 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i, c := range h {
		seen += c
		if seen >= rank {
			if i == latencyBuckets-1 {
				return LatencyBucketBound(i-1) * 2
			}
			return LatencyBucketBound(i)
		}
	}
	return LatencyBucketBound(latencyBuckets - 2)
}

// LatencyStats are one member's I/O latency figures since the array was
// opened, as values.
type LatencyStats struct {
	Reads, Writes uint64 // calls timed
	Errors        uint64 // calls that returned an error
	Histogram     Histogram
	P50, P90, P99 time.Duration // from Histogram
	Max           time.Duration
	// Slow is set while the member's latency has stayed far above its
	// peers' (see SlowOptions); SlowSince is when that began.
	Slow      bool
	SlowSince time.Time
	// Recent is the member's median latency in the last complete interval
	// and PeerMedian the median of the other members' medians then (0 when
	// not known).
	Recent, PeerMedian time.Duration
}

// SlowOptions tune slow-member detection. The zero value of each field
// selects the default given.
type SlowOptions struct {
	Interval time.Duration // length of one comparison interval; 1 s
	Factor   float64       // how far above the peers' median counts as slow; 5
	Floor    time.Duration // latencies up to this never count as slow; 5 ms
	Sustain  int           // consecutive slow (or good) intervals to set (or clear) Slow; 10
}

func (o SlowOptions) withDefaults() SlowOptions {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Factor <= 1 {
		o.Factor = 5
	}
	if o.Floor <= 0 {
		o.Floor = 5 * time.Millisecond
	}
	if o.Sustain <= 0 {
		o.Sustain = 10
	}
	return o
}

// latencyMonitor times the I/O of an array's members.
type latencyMonitor struct {
	opts SlowOptions
	now  func() time.Time

	mu      sync.Mutex // guards everything below
	members []memberLatency
	start   time.Time // of the current interval
}

type memberLatency struct {
	stats    LatencyStats
	interval Histogram
	streak   int // consecutive slow (>0) or good (<0) intervals
}

// newLatencyMonitor returns a monitor for n members. now is the clock
// (time.Now when nil).
func newLatencyMonitor(n int, o *SlowOptions, now func() time.Time) *latencyMonitor {
	if now == nil {
		now = time.Now
	}
	var opts SlowOptions
	if o != nil {
		opts = *o
	}
	return &latencyMonitor{opts: opts.withDefaults(), now: now, members: make([]memberLatency, n), start: now()}
}

// observe records one call to member i that took d.
func (l *latencyMonitor) observe(i int, write bool, d time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i < 0 || i >= len(l.members) {
		return
	}
	l.rollLocked()
	m := &l.members[i]
	if write {
		m.stats.Writes++
	} else {
		m.stats.Reads++
	}
	if err != nil {
		m.stats.Errors++
	}
	m.stats.Histogram.add(d)
	m.stats.Max = max(m.stats.Max, d)
	m.interval.add(d)
}

// rollLocked closes the current interval if it has ended and judges it.
func (l *latencyMonitor) rollLocked() {
	now := l.now()
	if now.Sub(l.start) < l.opts.Interval {
		return
	}
	medians := make([]time.Duration, len(l.members))
	for i := range l.members {
		medians[i] = l.members[i].interval.Quantile(0.5)
	}
	for i := range l.members {
		m := &l.members[i]
		if m.interval.Count() == 0 {
			continue
		}
		var peers []time.Duration
		for j, md := range medians {
			if j != i && l.members[j].interval.Count() > 0 {
				peers = append(peers, md)
			}
		}
		if len(peers) == 0 {
			continue
		}
		slices.Sort(peers)
		peer := peers[len(peers)/2]
		if len(peers)%2 == 0 {
			peer = (peers[len(peers)/2-1] + peers[len(peers)/2]) / 2
		}
		m.stats.Recent, m.stats.PeerMedian = medians[i], peer
		slow := medians[i] > l.opts.Floor && float64(medians[i]) > l.opts.Factor*float64(peer)
		switch {
		case slow && m.streak >= 0:
			m.streak++
		case slow:
			m.streak = 1
		case m.streak <= 0:
			m.streak--
		default:
			m.streak = -1
		}
		if m.streak >= l.opts.Sustain && !m.stats.Slow {
			m.stats.Slow, m.stats.SlowSince = true, now
		}
		if -m.streak >= l.opts.Sustain && m.stats.Slow {
			m.stats.Slow, m.stats.SlowSince = false, time.Time{}
		}
	}
	for i := range l.members {
		l.members[i].interval = Histogram{}
	}
	l.start = now
}

// stats returns every member's figures.
func (l *latencyMonitor) stats() []LatencyStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollLocked()
	out := make([]LatencyStats, len(l.members))
	for i, m := range l.members {
		s := m.stats
		s.P50, s.P90, s.P99 = s.Histogram.Quantile(0.5), s.Histogram.Quantile(0.9), s.Histogram.Quantile(0.99)
		out[i] = s
	}
	return out
}

// slowMembers returns the indexes of the members reported slow.
func (l *latencyMonitor) slowMembers() []int {
	var out []int
	for i, s := range l.stats() {
		if s.Slow {
			out = append(out, i)
		}
	}
	return out
}

// timed wraps member i so that its reads and writes are timed into l.
func (l *latencyMonitor) timed(i int, m Member) Member { return &timedMember{Member: m, l: l, i: i} }

type timedMember struct {
	Member
	l *latencyMonitor
	i int
}

var _ Member = (*timedMember)(nil)

func (t *timedMember) ReadAt(p []byte, off int64) (int, error) {
	start := t.l.now()
	n, err := t.Member.ReadAt(p, off)
	t.l.observe(t.i, false, t.l.now().Sub(start), err)
	return n, err
}

func (t *timedMember) WriteAt(p []byte, off int64) (int, error) {
	start := t.l.now()
	n, err := t.Member.WriteAt(p, off)
	t.l.observe(t.i, true, t.l.now().Sub(start), err)
	return n, err
}

// String summarises the figures, for logs and the CLI.
func (s LatencyStats) String() string {
	slow := ""
	if s.Slow {
		slow = " SLOW"
	}
	return fmt.Sprintf("%d reads, %d writes, %d errors, p50 %v p90 %v p99 %v max %v%s",
		s.Reads, s.Writes, s.Errors, s.P50, s.P90, s.P99, s.Max, slow)
}

// grow makes room for at least n members.
func (l *latencyMonitor) grow(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.members) < n {
		l.members = append(l.members, memberLatency{})
	}
}
