package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// load reads the superblock, the checkpoint it names and the log after it.
// If the newest checkpoint cannot be read, the older slot is tried.
func (s *Store) load() error {
	var sbs []*superblock
	var firstErr error
	for slot := int64(0); slot < 2; slot++ {
		b := make([]byte, superSize)
		if _, err := s.v.ReadAt(b, slot*superSize); err != nil {
			return fmt.Errorf("store: read superblock: %w", err)
		}
		sb, err := parseSuperblock(b)
		if err != nil {
			if firstErr == nil || errors.Is(firstErr, ErrNotFormatted) {
				firstErr = err
			}
			continue
		}
		sbs = append(sbs, sb)
	}
	if len(sbs) == 0 {
		if s.opts.Salvage {
			if serr := s.salvage(nil); serr != nil {
				return fmt.Errorf("%w (%v)", firstErr, serr)
			}
			return nil
		}
		return firstErr
	}
	sort.Slice(sbs, func(i, j int) bool { return sbs[i].generation > sbs[j].generation })
	var err error
	for i, sb := range sbs {
		if err = s.loadFrom(sb); err == nil {
			if i > 0 {
				s.problem(Problem{Offset: sbs[0].ckptOff, Detail: "newest checkpoint unreadable, opened from the previous one and the log after it"})
			}
			s.keepFrom = sb.replay.segSeq
			for _, o := range sbs[i+1:] {
				s.keepOlder(o)
			}
			return nil
		}
		s.log.Error("store: checkpoint unreadable", "generation", sb.generation, "err", err)
	}
	if s.opts.Salvage {
		if serr := s.salvage(sbs); serr != nil {
			return fmt.Errorf("%w (%v)", err, serr)
		}
		return nil
	}
	return err
}

func (s *Store) loadFrom(sb *superblock) error {
	if sb.dataStart+sb.segSize*sb.segCount > s.v.Size() {
		return fmt.Errorf("store: superblock describes %d bytes, volume has %d", sb.dataStart+sb.segSize*sb.segCount, s.v.Size())
	}
	s.sb = *sb
	s.uuid = sb.uuid
	s.segSize, s.dataStart = sb.segSize, sb.dataStart
	s.segSeq = make([]uint64, sb.segCount)
	s.segLive = make([]int64, sb.segCount)
	s.reserved = make([]bool, sb.segCount)
	s.pins = make([]int32, sb.segCount)
	s.st = newState()
	s.ckptExt = nil
	if sb.ckptLen > 0 {
		if err := s.readCheckpoint(sb.ckptOff, sb.ckptLen); err != nil {
			return err
		}
	}
	return s.replay(sb.replay)
}

// keepOlder protects the log of an older superblock's checkpoint, which
// Open falls back to if the newest one becomes unreadable: replay learnt
// the sequence of the segments from the newest replay start on, so the
// segments between the two replay starts are found by following the
// segment headers from the older one, and kept (keepFrom) until the next
// checkpoint supersedes that slot. A broken chain means the older
// checkpoint is unusable anyway; what was found is kept all the same.
func (s *Store) keepOlder(o *superblock) {
	if o.uuid != s.uuid || o.segSize != s.segSize || o.dataStart != s.dataStart ||
		o.segCount != int64(len(s.segSeq)) || o.replay.segSeq >= s.sb.replay.segSeq {
		return
	}
	s.keepFrom = min(s.keepFrom, o.replay.segSeq)
	seg, segSeq := o.replay.seg, o.replay.segSeq
	var bySeq map[uint64]uint32 // every segment header, read once if needed
	for n := 0; segSeq < s.sb.replay.segSeq && n < len(s.segSeq); n++ {
		h := s.segHeaderAt(seg)
		if h == nil || h.segSeq != segSeq || s.segSeq[seg] != 0 {
			return
		}
		s.segSeq[seg] = segSeq
		next := h.next
		if next == noSegment || int64(next) >= int64(len(s.segSeq)) {
			// The next segment was reserved only at the seal: search.
			if bySeq == nil {
				bySeq = map[uint64]uint32{}
				for i := range s.segSeq {
					if g := s.segHeaderAt(uint32(i)); g != nil {
						bySeq[g.segSeq] = uint32(i)
					}
				}
			}
			var ok bool
			if next, ok = bySeq[segSeq+1]; !ok {
				return
			}
		}
		seg, segSeq = next, segSeq+1
	}
}

// segHeaderAt reads segment i's header; nil if it is not one of this
// store's headers for segment i.
func (s *Store) segHeaderAt(i uint32) *segHeader {
	b := make([]byte, segHeaderSize)
	if _, err := s.v.ReadAt(b, s.segOff(i)); err != nil {
		return nil
	}
	h, err := parseSegHeader(b)
	if err != nil || h.uuid != s.uuid || h.index != i {
		return nil
	}
	return h
}

// readRecord reads the record at off (n bytes on the volume), verifying it;
// a bad checksum makes it ask the volume to repair the range and read again.
func (s *Store) readRecord(off int64, n int) (recHeader, []byte, error) {
	buf := make([]byte, n)
	var h recHeader
	var err error
	for try := 0; try < 2; try++ {
		if _, err = s.v.ReadAt(buf, off); err != nil {
			err = fmt.Errorf("store: read at %d: %w", off, err)
		} else if h, err = parseRecHeader(buf, s.uuid); err == nil {
			if recSize(int(h.length)) > n {
				err = fmt.Errorf("store: record at %d: length %d exceeds %d", off, h.length, n)
			} else if p := buf[recHeaderSize : recHeaderSize+int(h.length)]; crc(p) != h.dataCRC {
				err = fmt.Errorf("store: record at %d: payload checksum mismatch", off)
			} else {
				return h, p, nil
			}
		}
		if !s.repair(off, int64(n)) {
			break
		}
	}
	return h, nil, err
}

// repair asks the volume to rebuild a range from redundancy; it reports
// whether a new read is worth it.
func (s *Store) repair(off, n int64) bool {
	r, ok := s.v.(Repairer)
	if !ok || s.readOnly {
		return false
	}
	if err := r.Repair(off, n); err != nil {
		s.log.Warn("store: volume could not repair range", "offset", off, "length", n, "err", err)
		return false
	}
	return true
}

func (s *Store) readCheckpoint(off int64, n uint32) error {
	h, p, err := s.readRecord(off, int(n))
	if err != nil {
		return fmt.Errorf("store: checkpoint directory: %w", err)
	}
	if h.typ != recCkptDir {
		return fmt.Errorf("store: checkpoint directory at %d: record type %d", off, h.typ)
	}
	v, err := decodeRec(h.typ, p)
	if err != nil {
		return err
	}
	dir := v.(*recCkptDirP)
	if dir.total > 1<<40 {
		return fmt.Errorf("store: checkpoint of %d bytes", dir.total)
	}
	data := make([]byte, 0, dir.total)
	for _, x := range dir.extents {
		h, p, err := s.readRecord(x.off, int(x.n))
		if err != nil {
			return fmt.Errorf("store: checkpoint data: %w", err)
		}
		if h.typ != recCkptData {
			return fmt.Errorf("store: checkpoint data at %d: record type %d", x.off, h.typ)
		}
		data = append(data, p...)
	}
	if uint64(len(data)) != dir.total || crc(data) != dir.dataCRC {
		return fmt.Errorf("store: checkpoint data: length or checksum mismatch")
	}
	st, err := decodeCheckpoint(data)
	if err != nil {
		return err
	}
	s.st = st
	s.ckptSeq = dir.replay.seq
	s.ckptExt = append([]extent{{off, n}}, dir.extents...)
	s.accountState()
	return nil
}

// accountState recomputes the segment accounting from the index.
func (s *Store) accountState() {
	for i := range s.segLive {
		s.segLive[i] = 0
	}
	for _, x := range s.ckptExt {
		s.addLive(x.off, int64(x.n))
	}
	// blob.mark (free at load: no checkpointer runs yet) tells shared
	// bodies apart without a map of a million entries.
	for _, a := range s.st.accounts {
		for _, mb := range a.mailboxes {
			for i := range mb.msgs {
				mb.msgs[i].blob.mark = 0
			}
		}
	}
	for _, a := range s.st.accounts {
		for _, mb := range a.mailboxes {
			for i := range mb.msgs {
				if b := mb.msgs[i].blob; b.mark == 0 {
					b.mark = 1
					s.blobLive(b, 1)
				}
			}
		}
	}
}

// replayer walks the log from a position, applying what it finds.
type replayer struct {
	s        *Store
	buf      []byte
	seg      uint32
	segSeq   uint64
	expected uint64
	hdr      *segHeader
	replayed int
}

// replay applies the log from p to its end and sets the writer's head there.
func (s *Store) replay(p logPos) error {
	r := &replayer{s: s, buf: make([]byte, s.segSize), seg: p.seg, segSeq: p.segSeq, expected: p.seq}
	off := p.off
	for {
		if _, err := s.v.ReadAt(r.buf, s.segOff(r.seg)); err != nil {
			return fmt.Errorf("store: read segment %d: %w", r.seg, err)
		}
		r.hdr = r.segHeader(r.buf)
		if err := r.reused(off); err != nil {
			return err
		}
		if off == 0 {
			if r.hdr == nil && s.salvaging {
				// Salvage only: a segment the log runs into whose header
				// is lost but whose first batch is the one expected is
				// read by its records' own (keyed) headers.
				if h, ok := r.batchAt(segHeaderSize, r.expected); ok && h.seq == r.expected {
					s.problem(Problem{Offset: s.segOff(r.seg), Seq: r.expected,
						Detail: fmt.Sprintf("salvage: segment %d has no readable header; read from its records", r.seg)})
					s.bridged = true
					r.hdr = &segHeader{uuid: s.uuid, index: r.seg, next: noSegment, segSeq: r.segSeq, firstSeq: r.expected}
				}
			}
			if r.hdr == nil || r.hdr.firstSeq != r.expected {
				return r.end(0)
			}
			off = segHeaderSize
		} else if r.hdr == nil {
			s.problem(Problem{Offset: s.segOff(r.seg), Detail: fmt.Sprintf("segment %d header damaged", r.seg)})
		}
		s.segSeq[r.seg] = r.segSeq
		end, next, sealed := r.segment(off)
		if !sealed {
			// Unsealed: the end of the log, unless a following segment
			// proves the log went on (then this segment's end is damaged).
			n, ok := r.following()
			if !ok {
				return r.end(end)
			}
			s.problem(Problem{Offset: s.segOff(r.seg) + end, Seq: r.expected,
				Detail: fmt.Sprintf("end of segment %d damaged; records from %d may be lost", r.seg, r.expected)})
			next = n
		}
		r.seg, r.segSeq, off = next, r.segSeq+1, 0
		if next == noSegment || int64(next) >= int64(len(s.segSeq)) {
			return fmt.Errorf("store: segment %d sealed without a next segment", r.seg)
		}
	}
}

// reused reports a segment that the log continues into (replay starts at
// off, or a seal names it) but whose intact header is that of a later use:
// the log this replay needs is gone, and applying another stretch of the
// log onto this checkpoint would open a wrong state. A header of an earlier
// use at offset 0 is the end of the log (the next segment, reserved but not
// yet written).
func (r *replayer) reused(off int64) error {
	if r.hdr != nil {
		return nil
	}
	h, err := parseSegHeader(r.buf)
	if err != nil || h.uuid != r.s.uuid || h.index != r.seg || h.segSeq == r.segSeq {
		return nil
	}
	if h.segSeq > r.segSeq || off != 0 {
		return fmt.Errorf("store: segment %d was reused since the checkpoint (sequence %d, want %d)", r.seg, h.segSeq, r.segSeq)
	}
	return nil
}

// segHeader returns the segment header in b if it belongs here, else nil.
func (r *replayer) segHeader(b []byte) *segHeader {
	h, err := parseSegHeader(b)
	if err != nil || h.uuid != r.s.uuid || h.index != r.seg || h.segSeq != r.segSeq {
		return nil
	}
	return h
}

// following finds the segment after the current one, when it was written:
// by the header's next pointer, else by searching every segment header.
func (r *replayer) following() (uint32, bool) {
	want := r.segSeq + 1
	b := make([]byte, segHeaderSize)
	check := func(i uint32) bool {
		if i == noSegment || int64(i) >= int64(len(r.s.segSeq)) {
			return false
		}
		if _, err := r.s.v.ReadAt(b, r.s.segOff(i)); err != nil {
			return false
		}
		h, err := parseSegHeader(b)
		return err == nil && h.uuid == r.s.uuid && h.index == i && h.segSeq == want && h.firstSeq >= r.expected
	}
	if r.hdr != nil {
		return r.hdr.next, check(r.hdr.next)
	}
	for i := range r.s.segSeq {
		if check(uint32(i)) {
			return uint32(i), true
		}
	}
	return 0, false
}

// end sets the writer's head at offset off of the current segment.
func (r *replayer) end(off int64) error {
	s := r.s
	s.applied = logPos{seg: r.seg, off: off, segSeq: r.segSeq, seq: r.expected}
	s.head = head{pos: s.applied, next: noSegment}
	defer func() { s.headSeg, s.headNext = s.head.pos.seg, s.head.next }()
	if off > 0 {
		s.segSeq[r.seg] = r.segSeq
		if r.hdr != nil {
			s.head.next = r.hdr.next
			s.head.firstSeq = r.hdr.firstSeq
			if int64(r.hdr.next) < int64(len(s.reserved)) {
				s.reserved[r.hdr.next] = true
			}
		}
		s.head.crc = crc(r.buf[:off])
	}
	s.openReplayed = r.replayed
	return nil
}

// parsed is one record of a batch being replayed.
type parsed struct {
	h   recHeader
	off int64 // within the segment
	p   []byte
	ok  bool
}

// parseBatch splits the batch at b into records, checking each.
func (r *replayer) parseBatch(b []byte, first recHeader, segOff int64) []parsed {
	out := make([]parsed, 0, first.count)
	o := 0
	for i := 0; i < int(first.count); i++ {
		if o+recHeaderSize > len(b) {
			out = append(out, parsed{off: segOff + int64(o)})
			continue
		}
		h, err := parseRecHeader(b[o:], r.s.uuid)
		if err != nil || h.seq != first.seq+uint64(i) || o+recSize(int(h.length)) > len(b) {
			// Without a trustworthy length the rest cannot be walked.
			for ; i < int(first.count); i++ {
				out = append(out, parsed{h: recHeader{seq: first.seq + uint64(i)}, off: segOff + int64(o)})
			}
			break
		}
		p := b[o+recHeaderSize : o+recHeaderSize+int(h.length)]
		out = append(out, parsed{h: h, off: segOff + int64(o), p: p, ok: crc(p) == h.dataCRC})
		o += recSize(int(h.length))
	}
	if o != len(b) && len(out) > 0 && out[len(out)-1].ok {
		out[len(out)-1].ok = false
	}
	return out
}

func allOK(ps []parsed) bool {
	for _, p := range ps {
		if !p.ok {
			return false
		}
	}
	return true
}

// batchAt reports whether a valid batch start with sequence >= minSeq sits
// at off, and its header.
func (r *replayer) batchAt(off int64, minSeq uint64) (recHeader, bool) {
	if off < 0 || off+recHeaderSize > int64(len(r.buf)) ||
		binary.LittleEndian.Uint32(r.buf[off:]) != recMagic {
		return recHeader{}, false
	}
	h, err := parseRecHeader(r.buf[off:], r.s.uuid)
	if err != nil || h.flags&flagBatchStart == 0 || h.seq < minSeq || h.seq > minSeq+1<<32 ||
		off+int64(h.batchLen) > int64(len(r.buf)) {
		return recHeader{}, false
	}
	return h, true
}

// scan looks for the next batch start at or after from.
func (r *replayer) scan(from int64, minSeq uint64) (int64, recHeader, bool) {
	for o := (from + recAlign - 1) &^ (recAlign - 1); o+recHeaderSize <= int64(len(r.buf)); o += recAlign {
		if h, ok := r.batchAt(o, minSeq); ok {
			return o, h, true
		}
	}
	return 0, recHeader{}, false
}

// reread reads a range of the current segment again after a repair.
func (r *replayer) reread(off, n int64) bool {
	base := r.s.segOff(r.seg)
	if !r.s.repair(base+off, n) {
		return false
	}
	_, err := r.s.v.ReadAt(r.buf[off:off+n], base+off)
	return err == nil
}
