package raid

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The write path. A write is cut into stripes; each stripe's new content is
// prepared under its stripe lock (from the stripe cache or read back,
// parity encoded for the rows that change). Stripes that hold nothing go in
// place at once, without journal; a write to a stripe in use (even a whole
// one) becomes a journal record and keeps its stripe locked. Then one flush
// round makes the whole write durable: the records' pieces, and, when
// something went in place, the chunk checksums and the used map, are
// written on their members and each member is flushed once, in parallel.
// Only after that are the journaled stripes written in place (they are
// durable in the journal; the background sync puts them on the media) and
// unlocked. So a WriteAt with a journaled part is durable when it returns,
// whatever else it touched, in one flush round, and Flush has nothing left
// to do for it. A WriteAt only of stripes that held nothing is left for the
// next Flush, so that bulk writers pay one round for many writes.

// maxHeldSpan bounds the stripes one flush round holds locked: a write to
// stripes in use keeps each one locked until the round. Holding several
// stripe locks at once is deadlock-free while no other holder of several
// (the rebuild reader, at most 64 consecutive rows, taken in order) can
// hold a later one and wait for an earlier one, which needs them 256-64
// apart in the 256-entry lock table. Wider writes take several rounds.
const maxHeldSpan = 128

// maxHeld is how many stripes one round journals: at most half a ring of
// pieces per member (a stripe's piece on a member is at most a header and a
// chunk), and at most 8 stripes' buffers held.
func (a *Array) maxHeld() int {
	return int(max(1, min(8, a.jr.ring/2/(jhdrSize+a.geo.chunk))))
}

// stripeWrite is one stripe of a write, prepared and still locked.
type stripeWrite struct {
	s       int64
	pos     int // where the stripe's bytes start in the caller's buffer
	unlock  func()
	pooled  *[]byte
	shards  [][]byte
	changed []shardRange
	rec     *jrecord
}

// writeRound collects the stripes of one WriteAt that share a flush round.
type writeRound struct {
	held    []*stripeWrite // journaled, awaiting the round
	inPlace bool           // some stripe went in place without journal
}

// WriteAt writes p to the volume at off. When it returns the data is in
// place (visible to reads); it is durable then if any stripe of it went
// through the journal, else after Flush (see the file comment). A failed
// write may have changed any part of the range.
func (a *Array) WriteAt(p []byte, off int64) (int, error) {
	if err := a.checkWrite(off, int64(len(p))); err != nil {
		return 0, err
	}
	if err := a.ensureDirty(); err != nil {
		return 0, err
	}
	ss := a.geo.stripeSize()
	var w writeRound
	n := 0
	var err error
	for n < len(p) {
		s := (off + int64(n)) / ss
		in := (off + int64(n)) % ss
		l := int(min(int64(len(p)-n), ss-in))
		if len(w.held) > 0 && (s-w.held[0].s >= maxHeldSpan || len(w.held) >= a.maxHeld()) {
			if err = a.commitRound(&w); err != nil {
				return w.failedAt(n), err
			}
		}
		if k := a.emptyRun(&w, s, in, int64(len(p)-n)); k >= 2 {
			// Whole stripes that hold nothing: prepared and written in
			// place by several goroutines (encoding, checksums and the
			// copies into the page cache are most of a large write's CPU).
			var done int
			done, err = a.prepareRun(s, k, p[n:n+int(k*ss)])
			w.inPlace = true
			n += done
			if err != nil {
				break
			}
			continue
		}
		var sw *stripeWrite
		sw, err = a.prepareStripe(s, in, p[n:n+l])
		if err != nil {
			break
		}
		if sw == nil {
			w.inPlace = true
		} else {
			sw.pos = n
			w.held = append(w.held, sw)
		}
		n += l
	}
	// Whatever was prepared is committed (or released) before returning.
	if cerr := a.commitRound(&w); cerr != nil {
		return w.failedAt(n), cerr
	}
	if err != nil {
		return n, err
	}
	return n, nil
}

// maxRun bounds a run of stripes prepared in parallel: within it no two
// stripes share an entry of the 256-entry lock table, nor does any share
// one with a stripe the round holds (see maxHeldSpan).
const maxRun = 64

// emptyRun returns how many whole stripes from s on (at most maxRun, and
// none past rest bytes) hold nothing, when the write starts s at in == 0;
// a stripe found in use ends the run (it goes through the journal).
func (a *Array) emptyRun(w *writeRound, s, in, rest int64) int64 {
	if in != 0 || runtime.GOMAXPROCS(0) < 2 {
		return 0
	}
	ss := a.geo.stripeSize()
	k := min(rest/ss, maxRun)
	if len(w.held) > 0 {
		k = min(k, w.held[0].s+maxHeldSpan-s)
	}
	var i int64
	for i = 0; i < k; i++ {
		if a.used.used((s+i)*ss, ss) {
			break
		}
	}
	return i
}

// prepareRun prepares whole stripes s .. s+k-1 from p on GOMAXPROCS
// goroutines. A stripe that another writer put in use meanwhile is
// committed in a round of its own by the goroutine that found it. It
// returns how many leading bytes of p are written when err is not nil.
func (a *Array) prepareRun(s, k int64, p []byte) (int, error) {
	ss := a.geo.stripeSize()
	var next atomic.Int64
	var mu sync.Mutex
	failed, firstErr := k, error(nil)
	var wg sync.WaitGroup
	for range min(int64(runtime.GOMAXPROCS(0)), k) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= k {
					return
				}
				sw, err := a.prepareStripe(s+i, 0, p[i*ss:(i+1)*ss])
				if err == nil && sw != nil {
					err = a.commitRound(&writeRound{held: []*stripeWrite{sw}})
				}
				if err != nil {
					mu.Lock()
					if i < failed {
						failed, firstErr = i, err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return int(failed * ss), firstErr
	}
	return len(p), nil
}

// failedAt is how much of the caller's buffer a failed round leaves
// written: everything before the first stripe it held.
func (w *writeRound) failedAt(n int) int {
	for _, sw := range w.held {
		n = min(n, sw.pos)
	}
	return n
}

// prepareStripe puts data at byte in of stripe s into the stripe's
// content and encodes parity. A stripe that holds nothing is written in
// place at once (nil is returned, the lock released); otherwise the
// returned write holds the stripe lock and a journal record for
// commitRound.
func (a *Array) prepareStripe(s, in int64, data []byte) (*stripeWrite, error) {
	unlock := a.locks.lock(s)
	g := a.geo
	used := a.used.used(s*g.stripeSize(), g.stripeSize())
	full := in == 0 && int64(len(data)) == g.stripeSize()
	size := int64(g.disks) * g.chunk
	// The stripe's content: from the cache when it was written a moment
	// ago, else a scratch buffer filled below.
	pooled := a.cache.take(s)
	cached := pooled != nil && used
	if pooled == nil {
		pooled = getScratch(size) // degraded.go's pool
	}
	fail := func(err error) (*stripeWrite, error) {
		putScratch(size, pooled)
		unlock()
		return nil, err
	}
	buf := (*pooled)[:size]
	if !used {
		clear(buf) // a stripe that holds nothing is written whole, zero-filled
	}
	shards := make([][]byte, g.disks)
	for i := range shards {
		shards[i] = buf[int64(i)*g.chunk : int64(i+1)*g.chunk]
	}
	if used && !full && !cached {
		if _, err := a.readShardsBuf(s, 0, g.chunk, -1, buf); err != nil {
			return fail(err)
		}
	}
	copy(buf[in:], data) // data shards are contiguous at the front of buf
	changed := a.changedShards(in, int64(len(data)), used)
	if cached && !full {
		// Parity outside the rows that changed is already right: encode
		// those rows only (the parity entries' range is their union).
		plo, phi := changed[len(changed)-1].lo, changed[len(changed)-1].hi
		rows := make([][]byte, g.disks)
		for i := range rows {
			rows[i] = shards[i][plo:phi]
		}
		if err := a.codec.encode(rows); err != nil {
			return fail(err)
		}
	} else if err := a.codec.encode(shards); err != nil {
		return fail(err)
	}
	sw := &stripeWrite{s: s, unlock: unlock, pooled: pooled, shards: shards, changed: changed}
	if used {
		// Even a whole stripe in use is journaled: torn in place, with
		// members lost, it would read back as neither old nor new.
		rec := &jrecord{stripe: s}
		for _, c := range changed {
			rec.entries = append(rec.entries, jentry{role: uint16(g.roleOf(s, c.i)), crc: crc32c(shards[c.i]), lo: c.lo, hi: c.hi})
			rec.data = append(rec.data, shards[c.i][c.lo:c.hi])
		}
		sw.rec = rec
		return sw, nil
	}
	// In place without a record: the round's member flushes make it
	// durable, and records of this stripe's earlier life, which replay
	// would apply over it, must be retired by a checkpoint.
	a.writeInPlace(sw, nil)
	a.jr.retireStripe(s)
	a.used.markUsed(s*g.stripeSize(), g.stripeSize())
	a.release(sw)
	return nil, nil
}

// writeInPlace writes the changed ranges of sw's chunks to their members
// and records the chunks' checksums (from rec when given).
func (a *Array) writeInPlace(sw *stripeWrite, rec *jrecord) {
	g := a.geo
	for k, c := range sw.changed {
		r := g.roleOf(sw.s, c.i)
		if m := a.writable(r); m != nil {
			if _, err := m.WriteAt(sw.shards[c.i][c.lo:c.hi], g.memberOffset(sw.s, c.lo)); err != nil {
				a.failMember(r, err)
				continue
			}
		}
		crc := uint32(0)
		if rec != nil {
			crc = rec.entries[k].crc
		} else {
			crc = crc32c(sw.shards[c.i])
		}
		a.crcs.set(r, sw.s, crc)
	}
}

// release keeps sw's buffer as the stripe's cached content and unlocks it.
// Members that failed meanwhile do not matter: the buffer is the stripe's
// content now.
func (a *Array) release(sw *stripeWrite) {
	a.cache.put(sw.s, sw.pooled)
	sw.unlock()
}

// abandon unlocks sw without writing it; its stripe is as it was, but the
// cached content was changed, so it is dropped.
func (a *Array) abandon(sw *stripeWrite) {
	putScratch(int64(len(*sw.pooled)), sw.pooled)
	sw.unlock()
}

// commitRound makes w's stripes durable in one flush round and then writes
// the journaled ones in place and unlocks them. Whatever happens, every
// held stripe is unlocked when it returns and w is empty.
func (a *Array) commitRound(w *writeRound) error {
	held, inPlace := w.held, w.inPlace
	w.held, w.inPlace = nil, false
	if len(held) == 0 {
		if inPlace {
			// Nothing journaled: the next Flush syncs it (bulk writers
			// pay one flush round for many writes).
			a.unsynced.Store(true)
		}
		return nil
	}
	recs := make([]*jrecord, len(held))
	for i, sw := range held {
		recs[i] = sw.rec
	}
	var pieces map[int][]jpiece
	if len(recs) > 0 {
		var err error
		if pieces, err = a.jr.reserve(recs); err != nil {
			for _, sw := range held {
				a.abandon(sw)
			}
			if inPlace {
				a.unsynced.Store(true) // what went in place still needs a sync
			}
			return err
		}
	}
	var err error
	if inPlace {
		err = a.syncMetaWith(pieces)
	} else {
		a.jr.writePieces(pieces)
	}
	if len(recs) > 0 {
		a.jr.scheduleSync()
	}
	for i, sw := range held {
		if recs[i].written.Load() == 0 {
			// The record reached no member: nothing of it is durable and
			// the stripe must stay as it was.
			a.jr.done(recs[i].seq)
			a.abandon(sw)
			if err == nil {
				err = ErrFailed
			}
			continue
		}
		a.writeInPlace(sw, recs[i])
		a.jr.done(recs[i].seq)
		a.release(sw)
	}
	if err != nil {
		if inPlace {
			a.unsynced.Store(true)
		}
		return err
	}
	// A stripe rewritten in place while records of it were above the
	// checkpoint: replay would put them over the new content, so they
	// are retired before the write is acknowledged.
	if inPlace && a.jr.mustRetire() {
		if err := a.sync(false); err != nil {
			return err
		}
	}
	if a.failedNow() {
		return ErrFailed
	}
	return nil
}
