package store

// Writing a batch and landing it. The writer writes a batch, starts its
// flush and, while the flush runs, may write the next batch of the same
// segment once half a batch is queued (overlapFrom; the volume computes
// its parity and copies it meanwhile); the first batch lands (is applied
// to the index, its callers woken) once its flush returns, and only then
// does the next one's flush start. So at most
// two batches are unacknowledged, the second marked flagOverlap: replay
// does not take its presence as proof that the first was flushed
// (replayseg.go). A batch that seals its segment lands before anything is
// written after it, so the overlap never crosses a segment.
//
// Large batches end on a stripe boundary (a pad record), so the next one
// starts on a stripe of its own: on the RAID it then goes in place, with
// no journal round inside WriteAt, and the volume's work for it overlaps
// the flush before it.

// flight is a batch written and being flushed.
type flight struct {
	units   []*unit
	flushed chan error
	pos     logPos // the head after the batch
	next    uint32 // the segment reserved after pos.seg
	newSeg  bool   // the batch began segment seg
	seg     uint32
	segSeq  uint64
	nrec    int

	flushDone bool // guarded by Store.qmu: flushed is ready
}

// padFrom is the batch size (record bytes) from which a batch is padded
// to a stripe boundary: below it, the padding would be a large share of
// the batch.
const padFrom = 1 << 20

// writeBatch writes units (which fit the segment) as one batch and starts
// its flush; the batch lands later (land), or at once when it closes the
// segment (closeSeg: the batch ends with the seal, and the head moves on
// to the next segment, reserved already). On an error every unit has been
// failed with it, and the batch before landed or failed (the store must
// then stop writing).
func (s *Store) writeBatch(units []*unit, closeSeg bool) error {
	h := &s.head
	segBase := s.segOff(h.pos.seg)
	buf := h.buf[:0]
	writeAt := h.pos.off
	if h.pos.off == 0 {
		s.mu.Lock()
		next, ok := s.allocLocked(h.pos.seg)
		if !ok {
			next = noSegment
		}
		s.headNext = next
		s.mu.Unlock()
		h.next = next
		h.firstSeq = h.pos.seq
		hdr := segHeader{uuid: s.uuid, index: h.pos.seg, next: next, segSeq: h.pos.segSeq,
			firstSeq: h.pos.seq, written: s.now().UnixNano()}
		buf = append(buf, hdr.marshal()...)
	}
	start := len(buf)
	if writeAt == 0 {
		h.crc = 0
	}
	var sl *seal
	if closeSeg && h.next != noSegment { // else the seal path finds one or refuses
		sl = &seal{firstSeq: h.firstSeq, next: h.next}
	} else if pad := s.pad(units, segBase+writeAt+int64(start)); pad != nil {
		units = append(units, pad)
	}
	var flags uint8
	if s.flight != nil {
		flags = flagOverlap
	}
	buf, batchCRC, err := s.buildBatch(buf, units, segBase+writeAt, flags, sl, crc32Update(h.crc, buf[:start]))
	if err == nil {
		h.buf = keepBatch(buf)
		_, err = s.v.WriteAt(buf, segBase+writeAt)
	}
	if err != nil {
		s.land() // the batch before may be durable: its callers hear so
		failUnits(units, err)
		return err
	}
	f := &flight{units: units, flushed: make(chan error, 1), newSeg: writeAt == 0, seg: h.pos.seg, segSeq: h.pos.segSeq}
	h.crc = crc32Combine(crc32Update(h.crc, buf[:start]), batchCRC, len(buf)-start)
	h.pos.off = writeAt + int64(len(buf))
	for _, u := range units {
		f.nrec += len(u.recs)
	}
	h.pos.seq += uint64(f.nrec)
	if sl != nil {
		h.pos = logPos{seg: sl.next, off: 0, segSeq: h.pos.segSeq + 1, seq: h.pos.seq + 1}
		h.next = noSegment
		h.crc = 0
	}
	f.pos, f.next = h.pos, h.next
	if err := s.land(); err != nil {
		failUnits(units, err) // written, never flushed
		return err
	}
	go func() {
		f.flushed <- s.v.Flush()
		s.qmu.Lock()
		f.flushDone = true
		s.qcond.Broadcast() // the writer may wait for it (writeLoop)
		s.qmu.Unlock()
	}()
	s.flight = f
	if sl != nil {
		return s.land()
	}
	return nil
}

// pad returns a pad record's unit that ends a batch of units, starting at
// volume offset at, on a stripe boundary, when the batch is large and the
// segment has room for it; else nil.
func (s *Store) pad(units []*unit, at int64) *unit {
	g, ok := s.v.(Geometry)
	if !ok || g.StripeSize() <= 0 {
		return nil
	}
	size := 0
	for _, u := range units {
		size += u.size
	}
	stripe := g.StripeSize()
	end := at + int64(size)
	n := (stripe - end%stripe) % stripe
	if size < padFrom || n == 0 {
		return nil
	}
	if n < recHeaderSize {
		n += stripe
	}
	if int(n) > s.room()-size {
		return nil
	}
	if int64(len(s.zeros)) < n {
		s.zeros = make([]byte, n)
	}
	// recSize(n-recHeaderSize) == n: n is a multiple of recAlign, as
	// stripes and every record are.
	return newUnit(rec{typ: recPad, p: s.zeros[:n-recHeaderSize]})
}

// land waits for the batch in flight to be flushed, then applies it to
// the index and wakes its callers. Without a batch in flight it does
// nothing. If the flush failed, the batch's callers get the error, which
// land returns (the store must then stop writing).
func (s *Store) land() error {
	f := s.flight
	if f == nil {
		return nil
	}
	s.flight = nil
	if err := <-f.flushed; err != nil {
		failUnits(f.units, err)
		return err
	}
	s.stats.groupCommits.Add(1)
	s.stats.records.Add(uint64(f.nrec))

	s.mu.Lock()
	if f.newSeg {
		s.segSeq[f.seg] = f.segSeq
		s.reserved[f.seg] = false
	}
	s.headSeg, s.headNext = f.pos.seg, f.next
	for _, u := range f.units {
		for i, r := range u.recs {
			res, ev := s.apply(r, u.seq+uint64(i), u.offs[i], true)
			u.results = append(u.results, res)
			u.events = append(u.events, ev...)
		}
	}
	s.applied = f.pos
	kick := s.freedBodies && s.shortLocked()
	s.freedBodies = false
	s.mu.Unlock()
	if kick {
		s.kickCompaction()
	}
	for _, u := range f.units {
		for i := range u.recs {
			// The body is on the volume: its buffers go back to the
			// pool before anyone learns the unit is done.
			releaseParts(u.recs[i].body)
			u.recs[i].body = nil
			if u.data {
				// Drop the payload too, so that a streamed message
				// is never held whole while its later chunks arrive
				// (the caller keeps only offs and size).
				u.recs[i].p, u.recs[i].p2 = nil, nil
			}
		}
		s.publish(u.events)
		close(u.done)
	}
	return nil
}

// failUnits tells the callers of units that they failed with err.
func failUnits(units []*unit, err error) {
	for _, u := range units {
		u.err = err
		close(u.done)
	}
}
