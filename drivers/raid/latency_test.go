package raid

import (
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

func TestHistogramQuantile(t *testing.T) {
	var h Histogram
	if got := h.Quantile(0.5); got != 0 {
		t.Errorf("empty Quantile = %v, want 0", got)
	}
	for range 90 {
		h.add(10 * time.Microsecond) // bucket 0 (<= 16 µs)
	}
	for range 9 {
		h.add(time.Millisecond) // <= 1.024 ms: bucket 6
	}
	h.add(10 * time.Second) // last bucket
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 16 * time.Microsecond},
		{0.9, 16 * time.Microsecond},
		{0.95, 1024 * time.Microsecond},
		{0.99, 1024 * time.Microsecond},
		{1, LatencyBucketBound(latencyBuckets-2) * 2},
	} {
		if got := h.Quantile(tc.q); got != tc.want {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if h.Count() != 100 {
		t.Errorf("Count = %d, want 100", h.Count())
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestSlowMemberSustained(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	l := newLatencyMonitor(4, &SlowOptions{Interval: time.Second, Sustain: 3}, clk.now)
	// interval runs with member 2 at 40 ms and the others at 1 ms.
	run := func(slow time.Duration) {
		for range 20 {
			for i := range 4 {
				d := time.Millisecond
				if i == 2 {
					d = slow
				}
				l.observe(i, i%2 == 0, d, nil)
			}
		}
		clk.advance(time.Second)
	}
	for n := 1; n <= 3; n++ {
		run(40 * time.Millisecond)
		got := l.slowMembers()
		if n < 3 && len(got) != 0 {
			t.Fatalf("after %d slow intervals slowMembers = %v, want none yet", n, got)
		}
		if n == 3 && (len(got) != 1 || got[0] != 2) {
			t.Fatalf("after 3 slow intervals slowMembers = %v, want [2]", got)
		}
	}
	st := l.stats()
	if st[2].Recent < 32*time.Millisecond || st[2].PeerMedian > 2*time.Millisecond || st[2].SlowSince.IsZero() {
		t.Errorf("member 2 stats = %+v", st[2])
	}
	// a single good interval does not clear it; three do
	run(time.Millisecond)
	if got := l.slowMembers(); len(got) != 1 {
		t.Errorf("after one good interval slowMembers = %v, want [2]", got)
	}
	run(time.Millisecond)
	run(time.Millisecond)
	if got := l.slowMembers(); len(got) != 0 {
		t.Errorf("after three good intervals slowMembers = %v, want none", got)
	}
	if st := l.stats()[0]; st.Writes != 120 || st.Reads != 0 || st.P50 != 1024*time.Microsecond {
		t.Errorf("member 0 stats = %v", st)
	}
}

func TestSlowMemberNotFlagged(t *testing.T) {
	for _, tc := range []struct {
		name       string
		slow, fast time.Duration
	}{
		{"under the floor", 2 * time.Millisecond, 10 * time.Microsecond},
		{"within the factor", 20 * time.Millisecond, 8 * time.Millisecond},
		{"all equally slow", 50 * time.Millisecond, 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1e9, 0)}
			l := newLatencyMonitor(3, &SlowOptions{Sustain: 2}, clk.now)
			for range 10 {
				for i := range 3 {
					d := tc.fast
					if i == 0 {
						d = tc.slow
					}
					l.observe(i, false, d, nil)
				}
				clk.advance(time.Second)
			}
			if got := l.slowMembers(); len(got) != 0 {
				t.Errorf("slowMembers = %v, want none", got)
			}
		})
	}
}

// TestSlowMemberWithRaidtest times real I/O through raidtest's slow member.
func TestSlowMemberWithRaidtest(t *testing.T) {
	l := newLatencyMonitor(4, &SlowOptions{Interval: 40 * time.Millisecond, Sustain: 3, Floor: 2 * time.Millisecond}, nil)
	members := make([]Member, 4)
	for i := range members {
		f := raidtest.NewFaulty(raidtest.NewMem(1 << 16))
		if i == 1 {
			f.SetDelay(8 * time.Millisecond)
		}
		if i == 3 {
			f.FailRange(raidtest.Read, 0, 512)
		}
		members[i] = l.timed(i, f)
	}
	buf := make([]byte, 4096)
	deadline := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(deadline) {
		for _, m := range members {
			m.ReadAt(buf, 0)
			m.WriteAt(buf, 8192)
		}
	}
	st := l.stats()
	for i, s := range st {
		if s.Slow != (i == 1) {
			t.Errorf("member %d: Slow = %v (%v)", i, s.Slow, s)
		}
	}
	if st[1].P50 < 8*time.Millisecond {
		t.Errorf("slow member p50 = %v, want >= 8ms", st[1].P50)
	}
	if st[3].Errors == 0 || st[3].Errors != st[3].Reads {
		t.Errorf("member 3: %d errors for %d reads, want all reads failed", st[3].Errors, st[3].Reads)
	}
}

func TestArrayLatencyReportsSlowMember(t *testing.T) {
	f := newFixture(t, 5, 4, 0, 0.2, 59)
	a := f.a
	a.SetSlowOptions(SlowOptions{Interval: 30 * time.Millisecond, Sustain: 3, Floor: time.Millisecond})
	a.Latency() // monitoring starts
	f.faulty[2].SetDelay(5 * time.Millisecond)
	buf := make([]byte, 64<<10)
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); {
		a.ReadAt(buf, int64(len(buf))*int64(time.Now().UnixNano()%8))
	}
	for _, m := range a.Latency() {
		if m.Role < 0 {
			continue
		}
		if m.Slow != (m.Role == 2) || m.Reads == 0 {
			t.Errorf("role %d (%s): %v", m.Role, m.Device, m.LatencyStats)
		}
	}
}
