package store

import "fmt"

// segment replays the current segment from off. It returns where valid
// records end, and whether (and to which segment) the segment is sealed.
func (r *replayer) segment(off int64) (end int64, next uint32, sealed bool) {
	size := int64(len(r.buf))
	for off+recHeaderSize <= size {
		h, ok := r.batchAt(off, r.expected)
		if ok && h.seq == r.expected {
			n := int64(h.batchLen)
			ps := r.parseBatch(r.buf[off:off+n], h, off)
			// Redundancy first: a batch that the volume can mend is whole,
			// torn or not, whatever comes after it.
			if !allOK(ps) && r.reread(off, n) {
				if h2, ok := r.batchAt(off, r.expected); ok && h2 == h {
					ps = r.parseBatch(r.buf[off:off+n], h, off)
				}
			}
			if !allOK(ps) && !r.committedAfter(off+n, r.expected+uint64(h.count)) {
				r.staleAfter(off, off+n)
				return off, 0, false // a torn last batch: never acknowledged
			}
			for _, p := range ps {
				if !p.ok {
					r.damaged(p)
					continue
				}
				if p.h.typ == recSeal {
					sl, err := parseSeal(p.p)
					if err == nil {
						next, sealed = sl.next, true
					}
					continue
				}
				r.apply(p)
			}
			off += n
			r.expected += uint64(h.count)
			if sealed {
				return off, next, true
			}
			continue
		}
		// No batch where one should start: bit rot of a batch header, or the
		// end of the log. Only a later batch tells them apart.
		o, h2, found := r.scan(off+recAlign, r.expected)
		if !found {
			return off, 0, false
		}
		if r.reread(off, o-off) {
			if h3, ok := r.batchAt(off, r.expected); ok && h3.seq == r.expected {
				continue
			}
		}
		if h2.flags&flagOverlap != 0 && !r.continues(o, h2) {
			// The batch found may have been written while the damaged
			// one was still being flushed: that one may be torn, and
			// neither was acknowledged.
			r.staleAfter(off, o)
			return off, 0, false
		}
		r.s.problem(Problem{Offset: r.s.segOff(r.seg) + off, Seq: r.expected,
			Detail: fmt.Sprintf("records %d to %d unreadable (batch header damaged)", r.expected, h2.seq-1)})
		r.expected = h2.seq
		off = o
	}
	return off, 0, false
}

// committedAfter reports whether the log provably continues after a batch
// that ends at `at` before record nextSeq (so the batch was flushed and its
// damage is rot, not a torn write): a later batch written once it was
// flushed. The batch right after it proves nothing if it is flagOverlap
// (written while this one was being flushed); the one after that does, as
// at most two batches are ever unflushed and never across a segment.
func (r *replayer) committedAfter(at int64, nextSeq uint64) bool {
	o := at
	h, ok := r.batchAt(at, nextSeq)
	if !ok {
		if o, h, ok = r.scan(at, nextSeq); !ok {
			_, ok := r.following()
			return ok
		}
	}
	if h.seq > nextSeq || h.flags&flagOverlap == 0 {
		return true
	}
	return r.continues(o, h)
}

// continues reports whether any batch follows the batch h at off: in this
// segment, or a following segment.
func (r *replayer) continues(off int64, h recHeader) bool {
	end, next := off+int64(h.batchLen), h.seq+uint64(h.count)
	if _, ok := r.batchAt(end, next); ok {
		return true
	}
	if _, _, ok := r.scan(end, next); ok {
		return true
	}
	_, ok := r.following()
	return ok
}

// staleAfter notes, when the log ends at off because the batch there is
// torn, the intact batch after it (at or after from) that was written
// while that one was being flushed: a writer must erase it before writing
// from off, or a later replay scanning past damage could take it, and its
// sequence numbers, for records of the new log.
func (r *replayer) staleAfter(off, from int64) {
	o, h, ok := r.scan(from, r.expected)
	if !ok {
		return
	}
	r.s.stale = extent{r.s.segOff(r.seg) + off, uint32(o + int64(h.batchLen) - off)}
}

func (r *replayer) apply(p parsed) {
	s := r.s
	res, _ := s.apply(rec{typ: p.h.typ, p: p.p}, p.h.seq, s.segOff(r.seg)+p.off, false)
	r.replayed++
	if err, ok := res.(error); ok && err != nil && p.h.typ != recAccountAdd && p.h.typ != recMailboxCreate {
		s.problem(Problem{Offset: s.segOff(r.seg) + p.off, Seq: p.h.seq,
			Detail: fmt.Sprintf("%s record undecodable: %v", recNames[p.h.typ], err)})
	}
}

// damaged reports a record that failed its checksum. A message record whose
// meta is intact still creates its messages, with the body marked lost, so
// that the damage is named by account, mailbox and UID.
func (r *replayer) damaged(p parsed) {
	s := r.s
	at := s.segOff(r.seg) + p.off
	if p.h.typ == recAppend && p.p != nil {
		if meta, _, ok := splitBlob(p.p); ok {
			if x, err := decodeAppendMeta(meta); err == nil {
				b := &blob{off: -1, size: x.size}
				s.applyAppend(x, b, p.h.seq, false)
				for _, t := range x.targets {
					pr := Problem{Offset: at, Seq: p.h.seq, UID: t.uid, Detail: "message body damaged"}
					if mb := s.mailboxOf(t.acct, t.mbox); mb != nil {
						pr.Account, pr.Mailbox = mb.acct.name, mb.name
					}
					s.problem(pr)
				}
				return
			}
		}
	}
	name := recNames[p.h.typ]
	if name == "" {
		name = "unknown"
	}
	s.problem(Problem{Offset: at, Seq: p.h.seq, Detail: fmt.Sprintf("%s record damaged and skipped", name)})
}
