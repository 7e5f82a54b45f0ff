package raid

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// Size is the volume's usable bytes.
func (a *Array) Size() int64 { return a.geo.size() }

// ChunkSize is the bytes of one chunk on one member.
func (a *Array) ChunkSize() int64 { return a.geo.chunk }

// StripeSize is the data bytes of one full stripe (chunk x data members).
// Writes of whole, aligned stripes need no read and, on stripes that hold
// nothing (never written or discarded), no journal.
func (a *Array) StripeSize() int64 { return a.geo.stripeSize() }

var errClosed = errors.New("raid: array is closed")

// ReadAt reads len(p) bytes of the volume at off. Chunks on missing or
// failing members are reconstructed from the others; a chunk that a member
// fails to read is rewritten from redundancy, as md does.
func (a *Array) ReadAt(p []byte, off int64) (int, error) {
	if a.closed.Load() {
		return 0, errClosed
	}
	if off < 0 {
		return 0, fmt.Errorf("raid: read at negative offset %d", off)
	}
	var eof error
	if size := a.Size(); off+int64(len(p)) > size {
		if off >= size {
			return 0, io.EOF
		}
		p, eof = p[:size-off], io.EOF
	}
	ss := a.geo.stripeSize()
	n := 0
	for n < len(p) {
		s := (off + int64(n)) / ss
		in := (off + int64(n)) % ss
		l := int(min(int64(len(p)-n), ss-in))
		unlock := a.locks.rlock(s)
		err := a.readStripe(s, in, p[n:n+l])
		unlock()
		if err != nil {
			return n, err
		}
		n += l
	}
	return n, eof
}

// readStripe fills b with the stripe's data bytes from in.
func (a *Array) readStripe(s, in int64, b []byte) error {
	g := a.geo
	// A stripe that needs reconstruction goes straight to the degraded
	// path, which reads each chunk it needs once.
	direct := !a.needsReconstruct(s, in, int64(len(b)))
	for pos := int64(0); direct && pos < int64(len(b)); {
		k := int((in + pos) / g.chunk)
		c := (in + pos) % g.chunk
		l := min(int64(len(b))-pos, g.chunk-c)
		m, ok := a.usable(g.roleOf(s, k), s)
		if !ok {
			direct = false
			break
		}
		if _, err := m.ReadAt(b[pos:pos+l], g.memberOffset(s, c)); err != nil {
			direct = false
			break
		}
		a.overlay.apply(s, g.roleOf(s, k), c, b[pos:pos+l])
		pos += l
	}
	if direct {
		return nil
	}
	// Degraded: the fast path reads only what reconstruction needs
	// (degraded.go); it gives way to the full path on any read error, so
	// that the error is repaired there.
	if err := a.readStripeDegraded(s, in, b); err == nil {
		return nil
	} else if !errors.Is(err, errNeedFullRead) {
		return err
	}
	// Failing member, or too many missing: read the union of the chunk ranges from every
	// shard and reconstruct.
	lo, hi := g.chunk, int64(0)
	for pos := int64(0); pos < int64(len(b)); {
		c := (in + pos) % g.chunk
		l := min(int64(len(b))-pos, g.chunk-c)
		lo, hi = min(lo, c), max(hi, c+l)
		pos += l
	}
	shards, err := a.readShardsLocked(s, lo, hi, -1)
	if err != nil {
		return err
	}
	for pos := int64(0); pos < int64(len(b)); {
		k := int((in + pos) / g.chunk)
		c := (in + pos) % g.chunk
		l := min(int64(len(b))-pos, g.chunk-c)
		copy(b[pos:pos+l], shards[k][c-lo:c-lo+l])
		pos += l
	}
	return nil
}

// readShardsLocked returns every shard of stripe s (data in stripe order,
// then P, then Q) for bytes [lo, hi) of the chunk. Shards on missing,
// faulty or not yet rebuilt members, on role skip (-1: none) and those a
// member fails to read are reconstructed; the ones that failed to read are
// rewritten in place (md's read-error repair). The caller holds the stripe
// lock.
func (a *Array) readShardsLocked(s, lo, hi int64, skip int) ([][]byte, error) {
	buf := make([]byte, int64(a.geo.disks)*(hi-lo))
	return a.readShardsBuf(s, lo, hi, skip, buf)
}

// readShardsBuf is readShardsLocked into buf (disks x (hi-lo) bytes,
// shards back to back in stripe order).
func (a *Array) readShardsBuf(s, lo, hi int64, skip int, buf []byte) ([][]byte, error) {
	g := a.geo
	n := hi - lo
	shards := make([][]byte, g.disks)
	var missing, readFailed []int
	for i := range g.disks {
		r := g.roleOf(s, i)
		b := buf[int64(i)*n : int64(i+1)*n]
		m, ok := a.usable(r, s)
		if !ok || r == skip {
			shards[i] = b[:0]
			missing = append(missing, i)
			continue
		}
		if _, err := m.ReadAt(b, g.memberOffset(s, lo)); err != nil {
			shards[i] = b[:0]
			missing = append(missing, i)
			readFailed = append(readFailed, i)
			continue
		}
		a.overlay.apply(s, r, lo, b)
		shards[i] = b
	}
	if len(missing) > g.parity {
		// Only this range is lost. A member whose read failed here is not
		// failed for it (md records a bad block and goes on): failing it
		// would take every other stripe down with this one. A member that
		// is really gone fails on its next write.
		return nil, fmt.Errorf("raid: stripe %d: %d of %d chunks unavailable (%d unreadable), parity covers %d: %w",
			s, len(missing), g.disks, len(readFailed), g.parity, ErrUnreadable)
	}
	if err := a.codec.reconstruct(shards); err != nil {
		return nil, err
	}
	if !a.readOnly {
		for _, i := range readFailed {
			r := g.roleOf(s, i)
			if m := a.writable(r); m != nil {
				if _, err := m.WriteAt(shards[i], g.memberOffset(s, lo)); err != nil {
					a.failMember(r, err)
				}
			}
		}
	}
	return shards, nil
}

// writeShardLocked writes b at byte lo of stripe s's chunk on role r,
// without journal; a write error fails the member. The caller holds the
// stripe lock.
func (a *Array) writeShardLocked(r int, s, lo int64, b []byte) error {
	a.cache.drop(s)
	a.unsynced.Store(true) // in place without a record: the next Flush syncs it
	m := a.writable(r)
	if m == nil {
		return fmt.Errorf("raid: role %d has no writable member", r)
	}
	if _, err := m.WriteAt(b, a.geo.memberOffset(s, lo)); err != nil {
		a.failMember(r, err)
		return fmt.Errorf("raid: role %d: %w", r, err)
	}
	return nil
}

func (a *Array) checkWrite(off, n int64) error {
	switch {
	case a.closed.Load():
		return errClosed
	case a.readOnly:
		return ErrReadOnly
	case off < 0 || off+n > a.Size():
		return fmt.Errorf("raid: write of %d bytes at %d is outside the volume of %d bytes", n, off, a.Size())
	case a.failedNow():
		return ErrFailed
	}
	return nil
}

// shardRange is bytes [lo, hi) of shard i (stripe order: data, P, Q).
type shardRange struct {
	i      int
	lo, hi int64
}

// changedShards lists the shards a write of n bytes at in changes, each
// with the byte range of its chunk, rounded out to 4 KiB: a data chunk the
// part of the write it holds, P and Q (last) the union of those rows. A
// stripe that holds nothing is written whole.
func (a *Array) changedShards(in, n int64, used bool) []shardRange {
	g := a.geo
	var out []shardRange
	if !used {
		for i := range g.disks {
			out = append(out, shardRange{i, 0, g.chunk})
		}
		return out
	}
	plo, phi := g.chunk, int64(0)
	for k := in / g.chunk; k <= (in+n-1)/g.chunk; k++ {
		lo := max(in, k*g.chunk) - k*g.chunk
		hi := min(in+n, (k+1)*g.chunk) - k*g.chunk
		lo, hi = lo&^(metaAlign-1), min(roundUp(hi, metaAlign), g.chunk)
		out = append(out, shardRange{int(k), lo, hi})
		plo, phi = min(plo, lo), max(phi, hi)
	}
	for i := g.data; i < g.disks; i++ {
		out = append(out, shardRange{i, plo, phi})
	}
	return out
}

// InUse reports whether any of the volume range [off, off+length) lies in
// a region that has held data since it was last discarded (the used map):
// a range not in use holds nothing of value, so a reader looking for data
// (the store looking for its log) may skip it without reading.
func (a *Array) InUse(off, length int64) bool { return a.used.used(off, length) }

// Discard says the volume range holds nothing of value. Whole stripes in it
// are marked unused: rebuild and scrub skip them, and the next write to one
// goes in place without journal.
func (a *Array) Discard(off, length int64) error {
	if a.closed.Load() {
		return errClosed
	}
	if a.readOnly {
		return ErrReadOnly
	}
	if off < 0 || length < 0 || off+length > a.Size() {
		return fmt.Errorf("raid: discard of %d bytes at %d is outside the volume of %d bytes", length, off, a.Size())
	}
	ss := a.geo.stripeSize()
	for s := roundUp(off, ss) / ss; (s+1)*ss <= off+length; s++ {
		unlock := a.locks.lock(s) // no write to s is in flight while it is freed
		a.used.discard(s*ss, ss)
		a.cache.drop(s)
		unlock()
	}
	return nil
}

// Flush makes every completed write durable with its parity. A write that
// went through the journal is durable when WriteAt returns (its record,
// holding the new data and parity, was flushed on parity+1 members before
// the in-place writes began, and assembly replays it), so when every write
// since the last sync was journaled and the used map is unchanged, Flush
// has nothing to do. Otherwise in-place data, chunk checksums and the used
// map reach the media and then the journal is checkpointed (sync).
func (a *Array) Flush() error {
	if a.closed.Load() {
		return errClosed
	}
	if a.readOnly {
		return nil
	}
	if !a.unsynced.Swap(false) && !a.used.isDirty() {
		if a.failedNow() {
			return ErrFailed
		}
		return nil
	}
	if err := a.sync(false); err != nil {
		a.unsynced.Store(true)
		return err
	}
	return nil
}

// sync flushes in-place writes, checksums and the used map on every
// member, then, when a record must be retired, the ring is half full or
// always is set, checkpoints the journal up to the records already in
// place (records above the checkpoint stay replayable: replaying one
// rewrites what is already there).
func (a *Array) sync(always bool) error {
	x := a.jr.appliedUpTo()
	if err := a.syncMeta(); err != nil {
		return err
	}
	if a.jr.wantCheckpoint() || always {
		if err := a.jr.checkpoint(x); err != nil {
			return err
		}
	}
	if a.failedNow() {
		return ErrFailed
	}
	return nil
}

// syncMeta writes changed checksum and used-map pages and flushes every
// writable member.
func (a *Array) syncMeta() error { return a.syncMetaWith(nil) }

// syncMetaWith is syncMeta that also writes journal pieces (by role) in the
// same flush round, counting them in their records when their member's
// flush succeeds.
func (a *Array) syncMetaWith(pieces map[int][]jpiece) error {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	var usedEnc []byte
	if a.used.isDirty() {
		usedEnc = a.used.encode()
	}
	var wg sync.WaitGroup
	for r := range a.geo.disks {
		m := a.writable(r)
		if m == nil {
			continue
		}
		crcPages := a.crcs.dirtyPages(r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := a.jr.writePieceList(m, pieces[r])
			if err == nil {
				err = a.writeMetaPages(m, crcPages, usedEnc)
			}
			if err != nil {
				a.failMember(r, err)
				return
			}
			piecesWritten(pieces[r])
		}()
	}
	wg.Wait()
	if a.failedNow() {
		return ErrFailed
	}
	return nil
}

func (a *Array) writeMetaPages(m Member, crcPages map[int64][]byte, usedEnc []byte) error {
	for p, b := range crcPages {
		if _, err := m.WriteAt(b, a.meta.CRCOffset+p*metaAlign); err != nil {
			return err
		}
	}
	if usedEnc != nil {
		if err := writeUsedMap(m, a.meta.UsedOffset, a.meta.UsedSize, usedEnc); err != nil {
			return err
		}
	}
	return m.Flush()
}

// Close flushes, marks the array clean in the superblocks and closes the
// members.
func (a *Array) Close() error {
	if a.closed.Swap(true) {
		return errClosed
	}
	if a.jr != nil {
		a.jr.stopSync() // no background sync runs from here on
	}
	var err error
	if !a.readOnly {
		a.closed.Store(false)
		err = a.sync(true)
		a.closed.Store(true)
		if err == nil && a.dirty.Load() {
			a.mu.Lock()
			a.master.ResyncOffset = maxSector
			a.mu.Unlock()
			err = a.writeSuperblocks(true)
		}
	}
	a.mu.Lock()
	all := append(append([]*slot(nil), a.roles...), a.spares...)
	a.mu.Unlock()
	for _, s := range all {
		if s.m != nil {
			if cerr := s.m.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
	}
	return err
}

// ensureDirty marks the array dirty in the superblocks before its first
// write, as md does (resync_offset 0), so that md and we know a crash may
// have left stripes to check.
func (a *Array) ensureDirty() error {
	if a.dirty.Load() {
		return nil
	}
	a.dirtyMu.Lock()
	defer a.dirtyMu.Unlock()
	if a.dirty.Load() {
		return nil
	}
	a.mu.Lock()
	a.master.ResyncOffset = 0
	a.mu.Unlock()
	if err := a.writeSuperblocks(true); err != nil {
		return err
	}
	a.dirty.Store(true)
	return nil
}
