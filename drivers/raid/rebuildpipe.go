package raid

// The rebuild pipeline: how runRebuild moves the bytes.
//
// Rows in use are taken in batches: runs of consecutive rows in use (the
// used map is walked run by run, so free space costs nothing), at most
// rebuildBatchBytes of each member, fewer when the rate is limited so that a
// batch stays a small slice of a second's work. Consecutive rows of one
// member are contiguous on it, so a batch is one read per member and one
// write per member being rebuilt.
//
// A reader goroutine takes a batch's stripe locks (in row order), reads the
// members it needs in parallel and hands the batch over; the loop in
// runRebuild reconstructs every target chunk of it, writes them, records
// their checksums and releases the locks, while the reader already reads the
// next batch (two batches of buffers, used in turn). On RAID-6 with one
// member being rebuilt, only as many survivors are read as reconstruction
// needs (the data count): the one left out changes from batch to batch.
// A batch in which any read fails is done again stripe by stripe through
// gatherStripe, which finds the bad sectors and rebuilds around them.
//
// The members being rebuilt are flushed in the background as they are
// written (every rebuildFlushBytes, when no flush is running), so that
// their data reaches the media while the next batches are read: a final
// flush of the whole member would otherwise come on top of the copy.
// Checkpoints (checksums, then superblocks) stay time-based.

import (
	"context"
	"slices"
	"sync"
	"time"
)

const (
	// rebuildBatchBytes bounds a batch: bytes read from each member (one
	// row at least). Larger batches were slower here, not faster: what a
	// batch reads from the survivors is reconstructed from the CPU's cache
	// while it fits there (256 KiB x data members is about an L2 cache).
	rebuildBatchBytes = 256 << 10
	// rebuildBatchTime bounds a batch at a limited rate: the work of this
	// long at the current rate, so that stripe locks are held briefly and
	// the pace stays smooth.
	rebuildBatchTime = 50 * time.Millisecond
	// rebuildFlushBytes is how much is written to a member being rebuilt
	// before it is flushed in the background.
	rebuildFlushBytes = 1 << 20
	// rebuildMaxRows bounds a batch's rows so that two batches in flight
	// never need the same lock twice (stripeLocks has 256).
	rebuildMaxRows = 64
)

// rbatch is a run of rows [s0, s0+n) being rebuilt.
type rbatch struct {
	s0, n  int64
	want   []int    // roles rebuilt in these rows
	set    [][]byte // the buffer set in use, by role
	bufs   [][]byte // by role: the member's n chunks (read, or to write); nil: not used
	read   []bool   // by role: bufs holds what the member (or, for want, its source) holds
	slow   bool     // a read failed or too few survivors: go stripe by stripe
	unlock func()
}

// rebuildReader forms, locks and reads batches; its goroutine owns it.
type rebuildReader struct {
	a       *Array
	targets []int
	sources map[int]Member
	th      *throttle
	o       RebuildOptions
	next    int64 // first row not yet handed out
	// pr is the promotion still under way when the rebuild began (nil:
	// none). Its I/O would look like foreground I/O to the throttle, so
	// the pace is kept at its maximum until it is over (a few flushes),
	// and the throttle then starts counting afresh.
	pr      *promotion
	settled bool
	// finished is set when every row was handed out, and pooled lists the
	// buffers taken from the pool; read them after the batches channel is
	// closed.
	finished bool
	pooled   []*[]byte
	count    int // batches formed, to rotate the survivor left out
}

// usedRun returns the first run of rows in use at or after row s, as
// [s0, s1); ok is false when no row from s on is in use.
func (a *Array) usedRun(s int64) (s0, s1 int64, ok bool) {
	g := a.geo
	if s >= g.stripes {
		return 0, 0, false
	}
	if a.used == nil {
		return s, g.stripes, true
	}
	ss := g.stripeSize()
	start, end, ok := a.used.nextUsed(s * ss)
	if !ok {
		return 0, 0, false
	}
	return start / ss, min((end+ss-1)/ss, g.stripes), true
}

// usedRowsFrom counts the rows in use from row s on.
func (a *Array) usedRowsFrom(s int64) int64 {
	var n int64
	for {
		s0, s1, ok := a.usedRun(s)
		if !ok {
			return n
		}
		n += s1 - s0
		s = s1
	}
}

// settle reports whether the promotion is over, restarting the
// throttle's counts the first time it sees so.
func (rd *rebuildReader) settle() bool {
	if rd.settled || rd.pr == nil {
		rd.settled = true
		return true
	}
	select {
	case <-rd.pr.done:
		mt := rd.th.mt
		rd.th.total, rd.th.own, rd.th.lastFg = mt.total.Load(), mt.own.Load(), time.Time{}
		rd.settled = true
	default:
	}
	return rd.settled
}

// maxRows is the batch size for the current pace.
func (rd *rebuildReader) maxRows(targets int) int64 {
	g := rd.a.geo
	rate := rd.o.MaxRate
	if rd.th.min > 0 && rd.settle() && rd.th.busy(time.Now()) {
		rate = rd.o.MinRate
	}
	n := g.batchRows()
	if rate > 0 {
		perRow := g.chunk * int64(max(targets, 1))
		n = min(n, max(int64(float64(rate)*rebuildBatchTime.Seconds())/perRow, 1))
	}
	return n
}

// form returns the next batch's rows and roles, without locking or
// reading; ok is false when no row is left.
func (rd *rebuildReader) form() (b *rbatch, ok bool) {
	a := rd.a
	s0, s1, ok := a.usedRun(rd.next)
	if !ok {
		rd.next = a.geo.stripes
		return nil, false
	}
	var want []int
	for _, r := range rd.targets {
		if _, st := a.memberAt(r); st == MemberRebuilding && s0 >= a.recoveryRows(r) {
			want = append(want, r)
		}
	}
	n := min(s1-s0, rd.maxRows(len(want)))
	// A batch never straddles a rebuilding member's recovery offset: below
	// it the member is read, above it rebuilt.
	for r := range a.geo.disks {
		if _, st := a.memberAt(r); st == MemberRebuilding {
			if rec := a.recoveryRows(r); rec > s0 && rec < s0+n {
				n = rec - s0
			}
		}
	}
	rd.next = s0 + n
	return &rbatch{s0: s0, n: n, want: want}, true
}

// lockRows takes the stripe locks of rows [s0, s0+n) in order.
func (a *Array) lockRows(s0, n int64) func() {
	unlocks := make([]func(), 0, n)
	for s := s0; s < s0+n; s++ {
		unlocks = append(unlocks, a.lockStripe(s))
	}
	return func() {
		for _, u := range unlocks {
			u()
		}
	}
}

// fill locks b's rows and reads what its reconstruction needs into bufs
// (disks buffers of at least b.n chunks).
func (rd *rebuildReader) fill(b *rbatch, bufs [][]byte) {
	a, g := rd.a, rd.a.geo
	mt := a.maint()
	b.set = bufs
	b.unlock = a.lockRows(b.s0, b.n)
	size := b.n * g.chunk
	b.bufs = make([][]byte, g.disks)
	b.read = make([]bool, g.disks)
	if len(b.want) == 0 {
		return
	}
	members := make([]Member, g.disks)
	var survivors []int
	for r := range g.disks {
		b.bufs[r] = bufs[r][:size]
		if slices.Contains(b.want, r) {
			members[r] = rd.sources[r]
			continue
		}
		m, ok := a.usable(r, b.s0)
		if _, last := a.usable(r, b.s0+b.n-1); ok && last {
			members[r] = m
			survivors = append(survivors, r)
		}
	}
	if len(survivors) < g.data {
		b.slow = true // gatherStripe says what is lost, or fails
		return
	}
	if len(rd.sources) == 0 {
		// Reconstruction reads data-count chunks; leave the rest out,
		// a different survivor each batch.
		for len(survivors) > g.data {
			i := rd.count % len(survivors)
			members[survivors[i]] = nil
			survivors = slices.Delete(survivors, i, i+1)
		}
	}
	rd.count++
	var wg sync.WaitGroup
	var mu sync.Mutex
	for r, m := range members {
		if m == nil {
			continue
		}
		mt.own.Add(1)
		wg.Go(func() {
			n, err := m.ReadAt(b.bufs[r], g.memberOffset(b.s0, 0))
			if err == nil && int64(n) == size {
				b.read[r] = true
				return
			}
			if !slices.Contains(b.want, r) { // a source that fails is only not used
				mu.Lock()
				b.slow = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// batchRows is the most rows a batch may have.
func (g geometry) batchRows() int64 {
	return min(max(rebuildBatchBytes/g.chunk, 1), rebuildMaxRows)
}

// run hands out batches on out until the rows run out or ctx ends; it
// closes out when it returns. Buffer sets come back on free; two are taken
// from batchBufs when first needed.
func (rd *rebuildReader) run(ctx context.Context, out chan<- *rbatch, free chan [][]byte) {
	defer close(out)
	var prev int64 // bytes of work of the previous batch, for the throttle
	made := 0
	for {
		if prev > 0 && rd.settle() && !rd.th.wait(ctx.Done(), prev) {
			return
		}
		b, ok := rd.form()
		if !ok {
			rd.finished = true
			return
		}
		var bufs [][]byte
		select {
		case bufs = <-free:
		default:
			if made < 2 {
				made++
				bufs = make([][]byte, rd.a.geo.disks)
				for r := range bufs {
					p := batchBufs.take(rd.a.geo.batchRows() * rd.a.geo.chunk)
					rd.pooled = append(rd.pooled, p)
					bufs[r] = *p
				}
				break
			}
			select {
			case bufs = <-free:
			case <-ctx.Done():
				return
			}
		}
		rd.fill(b, bufs)
		select {
		case out <- b:
		case <-ctx.Done():
			b.unlock()
			return
		}
		prev = b.n * rd.a.geo.chunk * int64(len(b.want))
	}
}

// rebuildBatch reconstructs and writes b's target chunks (the caller
// unlocks b) and records their checksums with setCRC (stripe by stripe,
// after a failed read: in the table). It returns the volume ranges lost
// and the bytes written.
func (a *Array) rebuildBatch(b *rbatch, sources map[int]Member, setCRC func(r int, s int64, v uint32)) ([]Range, int64, error) {
	if len(b.want) == 0 {
		return nil, 0, nil
	}
	if b.slow {
		scratch := make([]byte, int64(a.geo.disks)*a.geo.chunk)
		var lost []Range
		for s := b.s0; s < b.s0+b.n; s++ {
			l, err := a.rebuildStripeLocked(s, b.want, sources, scratch)
			if err != nil {
				return nil, 0, err
			}
			lost = append(lost, l...)
		}
		return lost, b.n * a.geo.chunk * int64(len(b.want)), nil
	}
	g := a.geo
	crcs := make([]uint32, int64(len(b.want))*b.n)
	shards := make([][]byte, g.disks)
	need := make([]bool, g.disks)
	for j := range b.n {
		s := b.s0 + j
		for i := range g.disks {
			r := g.roleOf(s, i)
			need[i] = false
			if b.bufs[r] == nil {
				shards[i] = nil
				continue
			}
			c := b.bufs[r][j*g.chunk : (j+1)*g.chunk]
			shards[i] = c
			if slices.Contains(b.want, r) {
				if b.read[r] { // replace: the old member's chunk, if it checks out
					if crc, ok := a.ownChunkCRC(r, s); ok && crc == crc32c(c) {
						continue
					}
				}
				shards[i], need[i] = c[:0], true
			} else if !b.read[r] {
				shards[i] = nil
			} else {
				a.overlay.apply(s, r, 0, c)
			}
		}
		if err := a.codec.reconstructSome(shards, need); err != nil {
			return nil, 0, err
		}
		for k, r := range b.want {
			crcs[int64(k)*b.n+j] = crc32c(shards[g.shardOf(s, r)])
		}
	}
	mt := a.maint()
	var written int64
	for k, r := range b.want {
		m := a.writable(r)
		if m == nil {
			continue
		}
		mt.own.Add(1)
		if _, err := m.WriteAt(b.bufs[r], g.memberOffset(b.s0, 0)); err != nil {
			a.failMember(r, err)
			continue
		}
		written += int64(len(b.bufs[r]))
		mt.asOwn(func() error { // one window: the reader's I/O runs meanwhile
			for j := range b.n {
				setCRC(r, b.s0+j, crcs[int64(k)*b.n+j])
			}
			return nil
		})
	}
	return nil, written, nil
}

// batchBufs keeps the batch buffers of the last rebuild for the next one:
// fresh memory costs a page fault per page at its first touch, some
// milliseconds for a buffer set here (more in a virtual machine), which a
// rebuild of a mostly empty array would pay again and again, and a sync.Pool
// is emptied by the collections that happen between jobs. It holds at most
// batchBufsMax buffers of one size.
var batchBufs bufCache

const batchBufsMax = 32

type bufCache struct {
	mu   sync.Mutex
	size int64
	free []*[]byte
}

func (c *bufCache) take(size int64) *[]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.free); n > 0 && c.size == size {
		b := c.free[n-1]
		c.free = c.free[:n-1]
		return b
	}
	b := make([]byte, size)
	return &b
}

func (c *bufCache) keep(size int64, bufs []*[]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.size != size {
		c.size, c.free = size, nil
	}
	for _, b := range bufs {
		if len(c.free) < batchBufsMax {
			c.free = append(c.free, b)
		}
	}
}

// flusher flushes the members being rebuilt in the background when asked;
// a failed flush fails the member, as a failed write does.
type flusher struct {
	a    *Array
	kick chan []int
	done chan struct{}
}

func (a *Array) startFlusher() *flusher {
	f := &flusher{a: a, kick: make(chan []int, 1), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for roles := range f.kick {
			for _, r := range roles {
				if m := a.writable(r); m != nil {
					if err := m.Flush(); err != nil {
						a.failMember(r, err)
					}
				}
			}
		}
	}()
	return f
}

// request asks for a flush of roles unless one is pending already.
func (f *flusher) request(roles []int) {
	select {
	case f.kick <- slices.Clone(roles):
	default:
	}
}

// stop waits for the flushes asked for.
func (f *flusher) stop() {
	close(f.kick)
	<-f.done
}
