package raid

import "sync"

// stripeCache keeps the whole content (every data chunk, P and Q) of the
// stripes written last. The mail store appends small group commits to the
// stripe at its log's tail, so the next partial write usually goes to a
// stripe written a moment ago: with its content here, that write reads
// nothing from the members and recomputes parity for the rows it changes
// only.
//
// An entry is the truth about its stripe: every write that changes a
// stripe's content goes through writeStripe, which takes the entry out
// under the stripe lock and puts the updated one back. Anything else that
// writes member chunks (rebuild, scrub repair) or frees the stripe
// (Discard) drops the entry, so a stale one is never used.
type stripeCache struct {
	size int64 // bytes of one entry: disks x chunk

	mu   sync.Mutex
	cap  int
	ents []cachedStripe // least recently written first
}

type cachedStripe struct {
	s   int64
	buf *[]byte
}

// stripeCacheEntries is how many stripes are kept: the store's tail, its
// superblock stripe and a little slack for compaction and concurrent
// writers.
const stripeCacheEntries = 4

func newStripeCache(size int64, n int) *stripeCache {
	return &stripeCache{size: size, cap: n}
}

// take removes stripe s's entry and returns it, or nil.
func (c *stripeCache) take(s int64) *[]byte {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.ents {
		if e.s == s {
			c.ents = append(c.ents[:i], c.ents[i+1:]...)
			return e.buf
		}
	}
	return nil
}

// put stores buf as stripe s's content, evicting the least recently
// written entry when full (its buffer goes back to the scratch pool).
func (c *stripeCache) put(s int64, buf *[]byte) {
	if c == nil {
		putScratch(int64(len(*buf)), buf)
		return
	}
	c.mu.Lock()
	var evicted []*[]byte
	for i := 0; i < len(c.ents); i++ {
		if c.ents[i].s == s { // cannot happen under the stripe lock; be safe
			evicted = append(evicted, c.ents[i].buf)
			c.ents = append(c.ents[:i], c.ents[i+1:]...)
			i--
		}
	}
	for len(c.ents) >= c.cap && len(c.ents) > 0 {
		evicted = append(evicted, c.ents[0].buf)
		c.ents = c.ents[1:]
	}
	if c.cap > 0 {
		c.ents = append(c.ents, cachedStripe{s: s, buf: buf})
	} else {
		evicted = append(evicted, buf)
	}
	c.mu.Unlock()
	for _, b := range evicted {
		putScratch(c.size, b)
	}
}

// drop forgets stripe s.
func (c *stripeCache) drop(s int64) {
	if b := c.take(s); b != nil {
		putScratch(c.size, b)
	}
}
