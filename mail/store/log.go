package store

import "encoding/binary"

// The log: batches laid out, written, flushed and applied (writeBatch),
// segments sealed and allocated, and the space each holds. The queue in
// front of it is writer.go.

// rec is one record to be written: its type and payload.
type rec struct {
	typ uint8
	p   []byte
	p2  []byte // the rest of the payload (a message body, kept apart to save a copy)
	// body is the payload's end: a message body in pooled buffers, which
	// the writer releases once they are written (bodypool.go).
	body []part
	v    any // the decoded payload, when the caller has it
}

func (r rec) len() int { return len(r.p) + len(r.p2) + partsLen(r.body) }

// sealReserve is the room kept at the end of every segment for its seal.
var sealReserve = recSize(sealSize)

// head is the writer's position; owned by the writer goroutine (and by Open
// before the writer starts).
type head struct {
	pos      logPos
	next     uint32 // segment reserved to follow this one
	firstSeq uint64 // first record sequence in this segment
	crc      uint32 // CRC32C of the segment's bytes written so far
	buf      []byte // the batch buffer, reused from one commit to the next
}

// maxKeptBatchBuf bounds the batch buffer the writer keeps between
// commits: the largest batch (batchLimit), a segment header and a seal
// record (56 bytes). A larger one (a unit bigger than a batch) is dropped
// after use.
const maxKeptBatchBuf = maxBatchBytes + maxBatchBytes/4 + segHeaderSize + 64

func (s *Store) segOff(seg uint32) int64 { return s.dataStart + int64(seg)*s.segSize }

// room is how many record bytes fit in the current segment.
func (s *Store) room() int {
	off := max(s.head.pos.off, segHeaderSize)
	return int(s.segSize - off - int64(sealReserve))
}

// buildBatch lays out units as one batch starting at buf's end, growing
// buf only when it is too small, and returns the extended buffer and the
// CRC32C of the batch's bytes (buf[start:]). Every payload byte is copied
// once, into buf; body parts are not read again for their checksums: the
// CRCs their readers computed are combined (bodypool.go).
//
// flags are set on the batch's first record, besides flagBatchStart. With
// sl set, the batch ends with sl as its seal record, closing the
// segment; segCRC is then the CRC32C of the segment's bytes before buf's
// end, which the seal's checksum continues.
func (s *Store) buildBatch(buf []byte, units []*unit, segOff int64, flags uint8, sl *seal, segCRC uint32) ([]byte, uint32, error) {
	start := len(buf)
	need := start
	for _, u := range units {
		need += u.size
	}
	if sl != nil {
		need += sealReserve
	}
	buf = growBatch(buf, need)
	seq := s.head.pos.seq
	n := 0
	// run is the CRC of the batch after its first record's header, which
	// is framed last.
	run := runCRC{pos: start + recHeaderSize}
	for _, u := range units {
		if err := u.checkAfter(); err != nil {
			return nil, 0, err
		}
		u.seq = seq
		u.offs = u.offs[:0]
		for _, r := range u.recs {
			at := len(buf)
			u.offs = append(u.offs, segOff+int64(at))
			ln := r.len()
			dataCRC := crc32Update(crc(r.p), r.p2)
			for _, pt := range r.body {
				dataCRC = crc32Combine(dataCRC, pt.crc, len(pt.b))
			}
			h := recHeader{typ: r.typ, length: uint32(ln), seq: seq, dataCRC: dataCRC}
			buf = buf[:at+recSize(ln)]
			h.put(buf[at:], s.uuid)
			o := at + recHeaderSize
			o += copy(buf[o:], r.p)
			o += copy(buf[o:], r.p2)
			for _, pt := range r.body {
				run.upTo(buf, o)
				o += copy(buf[o:], pt.b)
				run.add(pt.crc, len(pt.b))
			}
			clear(buf[o:])
			seq++
			n++
		}
	}
	sealAt := len(buf)
	if sl != nil {
		sl.lastSeq = seq - 1
		buf = buf[:sealAt+sealReserve]
		n++
	}
	// Frame the batch in its first record's header.
	b := buf[start:]
	binary.LittleEndian.PutUint16(b[6:], uint16(n))
	b[5] |= flagBatchStart | flags
	binary.LittleEndian.PutUint32(b[12:], uint32(len(b)))
	binary.LittleEndian.PutUint32(b[28:], headerCRC(s.uuid, b))
	if sl != nil {
		// The seal's checksum covers every byte before its record,
		// this batch's framed header included.
		run.upTo(buf, sealAt)
		before := crc32Combine(crc(b[:recHeaderSize]), run.crc, sealAt-start-recHeaderSize)
		sl.dataCRC = crc32Combine(segCRC, before, sealAt-start)
		p := sl.marshal()
		h := recHeader{typ: recSeal, length: uint32(len(p)), seq: seq, dataCRC: crc(p)}
		h.put(buf[sealAt:], s.uuid)
		clear(buf[sealAt+recHeaderSize+copy(buf[sealAt+recHeaderSize:], p):])
	}
	run.upTo(buf, len(buf))
	return buf, crc32Combine(crc(b[:recHeaderSize]), run.crc, len(b)-recHeaderSize), nil
}

// seal closes the current segment with a seal batch and moves the head to
// the next segment.
func (s *Store) seal() error {
	if err := s.land(); err != nil {
		return err
	}
	h := &s.head
	next := h.next
	if next == noSegment {
		s.mu.Lock()
		n, ok := s.allocLocked(h.pos.seg)
		s.mu.Unlock()
		if !ok {
			return ErrFull
		}
		next = n
	}
	sl := seal{firstSeq: h.firstSeq, lastSeq: h.pos.seq - 1, next: next, dataCRC: h.crc}
	u := newUnit(rec{typ: recSeal, p: sl.marshal()})
	segBase := s.segOff(h.pos.seg)
	buf, _, err := s.buildBatch(nil, []*unit{u}, segBase+h.pos.off, 0, nil, 0)
	if err != nil {
		return err
	}
	if _, err := s.v.WriteAt(buf, segBase+h.pos.off); err != nil {
		return err
	}
	if err := s.v.Flush(); err != nil {
		return err
	}
	h.pos = logPos{seg: next, off: 0, segSeq: h.pos.segSeq + 1, seq: h.pos.seq + 1}
	h.next = noSegment
	h.crc = 0
	s.mu.Lock()
	s.applied = h.pos
	s.headSeg, s.headNext = h.pos.seg, h.next
	s.mu.Unlock()
	return nil
}

// allocLocked picks a free segment other than cur, or reports none. s.mu
// held.
func (s *Store) allocLocked(cur uint32) (uint32, bool) {
	n := uint32(len(s.segSeq))
	for i := uint32(0); i < n; i++ {
		c := (s.allocCursor + i) % n
		if c != cur && s.freeLocked(c) {
			s.allocCursor = c + 1
			s.reserved[c] = true
			return c, true
		}
	}
	return 0, false
}

// freeLocked reports whether segment i holds nothing needed: no live body
// or checkpoint bytes, and it is older than where replay starts from either
// superblock slot (keepFrom), so that falling back to the older checkpoint
// finds its log intact.
func (s *Store) freeLocked(i uint32) bool {
	if s.reserved[i] || s.pins[i] != 0 || i == s.headSeg || i == s.headNext || s.segLive[i] != 0 {
		return false
	}
	return s.segSeq[i] == 0 || s.segSeq[i] < s.keepFrom
}

// freeSegmentsLocked counts free segments.
func (s *Store) freeSegmentsLocked() int {
	n := 0
	for i := range s.segSeq {
		if s.freeLocked(uint32(i)) {
			n++
		}
	}
	return n
}

// freeAtLeastLocked reports whether at least n segments are free, as
// freeSegmentsLocked() >= n would, but looks no further than it must,
// starting where the allocator would look next: a delivery asks it on a
// volume of perhaps a million segments. s.mu held.
func (s *Store) freeAtLeastLocked(n int) bool {
	total := uint32(len(s.segSeq))
	for i := uint32(0); i < total && n > 0; i++ {
		if s.freeLocked((s.allocCursor + i) % total) {
			n--
		}
	}
	return n <= 0
}

// addLive accounts n bytes at volume offset off to their segment.
func (s *Store) addLive(off int64, n int64) {
	if off < s.dataStart {
		return
	}
	seg := (off - s.dataStart) / s.segSize
	if seg < int64(len(s.segLive)) {
		s.segLive[seg] += n
	}
}

func (s *Store) blobLive(b *blob, sign int64) {
	if b.off >= 0 && b.reclen > 0 {
		s.addLive(b.off, sign*int64(b.reclen))
	}
	for _, x := range b.chunks {
		s.addLive(x.off, sign*int64(x.n))
	}
}
