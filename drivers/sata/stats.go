package sata

import (
	"sync/atomic"
	"time"
)

// latencyBuckets is the number of histogram buckets: bucket i counts
// operations that took less than 2^i microseconds (the last one: the rest,
// from about 33 s up).
const latencyBuckets = 26

// OpStats are the counters of one kind of operation.
type OpStats struct {
	Count   uint64                 `json:"count"`
	Bytes   uint64                 `json:"bytes"`
	Errors  uint64                 `json:"errors"`
	Total   time.Duration          `json:"total_ns"`
	Max     time.Duration          `json:"max_ns"`
	Buckets [latencyBuckets]uint64 `json:"buckets"` // bucket i: under 2^i µs
}

// Mean is the average latency.
func (o OpStats) Mean() time.Duration {
	if o.Count == 0 {
		return 0
	}
	return o.Total / time.Duration(o.Count)
}

// Quantile returns an upper bound of the q-quantile (0 < q <= 1) latency:
// the upper edge of the histogram bucket it falls in, capped at Max.
func (o OpStats) Quantile(q float64) time.Duration {
	var n uint64
	for _, b := range o.Buckets {
		n += b
	}
	if n == 0 {
		return 0
	}
	want := uint64(q*float64(n) + 0.999999)
	var seen uint64
	for i, b := range o.Buckets {
		seen += b
		if seen >= want {
			return min(time.Duration(1<<i)*time.Microsecond, o.Max)
		}
	}
	return o.Max
}

// Stats are a member's I/O statistics since it was opened.
type Stats struct {
	Read  OpStats `json:"read"`
	Write OpStats `json:"write"`
	Flush OpStats `json:"flush"`
}

// opCounter counts one kind of operation; safe for concurrent use.
type opCounter struct {
	count, bytes, errors, total, max atomic.Uint64
	buckets                          [latencyBuckets]atomic.Uint64
}

func (c *opCounter) add(d time.Duration, n int, err error) {
	c.count.Add(1)
	c.bytes.Add(uint64(n))
	if err != nil {
		c.errors.Add(1)
	}
	c.total.Add(uint64(d))
	for {
		m := c.max.Load()
		if uint64(d) <= m || c.max.CompareAndSwap(m, uint64(d)) {
			break
		}
	}
	us := d.Microseconds()
	i := 0
	for i < latencyBuckets-1 && us >= 1<<i {
		i++
	}
	c.buckets[i].Add(1)
}

func (c *opCounter) snapshot() OpStats {
	o := OpStats{Count: c.count.Load(), Bytes: c.bytes.Load(), Errors: c.errors.Load(),
		Total: time.Duration(c.total.Load()), Max: time.Duration(c.max.Load())}
	for i := range c.buckets {
		o.Buckets[i] = c.buckets[i].Load()
	}
	return o
}
