package storetest

import (
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// ErrPowerCut is returned by every call on a PowerCut volume once the power
// is gone.
var ErrPowerCut = errors.New("storetest: power cut")

const sector = 512

type pendingWrite struct {
	off int64
	p   []byte
}

// PowerCut is a volume that loses power at a chosen write. Until then reads
// see every completed write. At the cut, each write not yet flushed lands
// whole, torn (a random subset of its 512-byte sectors) or not at all, and
// the write in flight is torn; every call after it fails. Durable returns
// what the disks hold afterwards.
type PowerCut struct {
	mu      sync.Mutex // guards everything below
	durable []byte
	view    []byte
	pending []pendingWrite
	writes  int // WriteAt calls so far
	cutAt   int // the write that loses power; 0: never
	cut     bool
	rng     *rand.Rand
	stripe  int64

	flushes    int           // Flush calls so far
	flushCut   int           // the Flush that loses power; 0: none
	flushDelay time.Duration // how long each Flush takes before it acts
}

// NewPowerCut starts from img (copied). The power goes at the cutAt-th
// WriteAt (counting from 1); 0 never cuts. seed drives the tearing.
func NewPowerCut(img []byte, stripe int64, cutAt int, seed uint64) *PowerCut {
	if stripe <= 0 {
		stripe = 64 << 10
	}
	return &PowerCut{
		durable: append([]byte(nil), img...),
		view:    append([]byte(nil), img...),
		cutAt:   cutAt,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		stripe:  stripe,
	}
}

// ReadAt implements io.ReaderAt.
func (c *PowerCut) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return 0, ErrPowerCut
	}
	if err := checkRange(off, len(p), int64(len(c.view))); err != nil {
		return 0, err
	}
	return copy(p, c.view[off:]), nil
}

// WriteAt implements io.WriterAt.
func (c *PowerCut) WriteAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return 0, ErrPowerCut
	}
	if err := checkRange(off, len(p), int64(len(c.view))); err != nil {
		return 0, err
	}
	c.writes++
	w := pendingWrite{off, append([]byte(nil), p...)}
	if c.writes == c.cutAt {
		c.powerGoes()
		c.tear(w)
		return 0, ErrPowerCut
	}
	c.pending = append(c.pending, w)
	copy(c.view[off:], p)
	return len(p), nil
}

// powerGoes lands each unflushed write whole, torn or not at all, and
// cuts the power. c.mu held.
func (c *PowerCut) powerGoes() {
	for _, pw := range c.pending {
		switch c.rng.IntN(3) {
		case 0:
			copy(c.durable[pw.off:], pw.p)
		case 1:
			c.tear(pw)
		}
	}
	c.pending = nil
	c.cut = true
}

// tear lands a random subset of w's sectors (sector boundaries of the
// volume) on the durable image.
func (c *PowerCut) tear(w pendingWrite) {
	for s := w.off &^ (sector - 1); s < w.off+int64(len(w.p)); s += sector {
		if c.rng.IntN(2) == 0 {
			continue
		}
		lo, hi := max(s, w.off), min(s+sector, w.off+int64(len(w.p)))
		copy(c.durable[lo:hi], w.p[lo-w.off:hi-w.off])
	}
}

// CutAtFlush makes the k-th Flush (counting from 1) lose the power
// instead of the cutAt-th write, and every Flush take d before it acts, so
// that writes issued meanwhile are pending with the ones it was called
// for: at the cut each pending write lands whole, torn or not at all.
func (c *PowerCut) CutAtFlush(k int, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cutAt, c.flushCut, c.flushDelay = 0, k, d
}

// Flushes reports how many Flush calls were made.
func (c *PowerCut) Flushes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushes
}

// Flush makes the completed writes durable.
func (c *PowerCut) Flush() error {
	c.mu.Lock()
	d := c.flushDelay
	c.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return ErrPowerCut
	}
	c.flushes++
	if c.flushes == c.flushCut {
		c.powerGoes()
		return ErrPowerCut
	}
	for _, pw := range c.pending {
		copy(c.durable[pw.off:], pw.p)
	}
	c.pending = nil
	return nil
}

// Size implements the volume's Size.
func (c *PowerCut) Size() int64 { return int64(len(c.view)) }

// StripeSize reports the stripe given to NewPowerCut.
func (c *PowerCut) StripeSize() int64 { return c.stripe }

// ChunkSize reports a quarter of the stripe.
func (c *PowerCut) ChunkSize() int64 { return c.stripe / 4 }

// Close does nothing: the image stays for Durable.
func (c *PowerCut) Close() error { return nil }

// Writes reports how many WriteAt calls were made.
func (c *PowerCut) Writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// Cut reports whether the power has gone.
func (c *PowerCut) Cut() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cut
}

// Durable returns what survives: the flushed bytes plus whatever the cut let
// through.
func (c *PowerCut) Durable() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.durable...)
}
