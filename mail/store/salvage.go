package store

// Salvage: opening a store whose roots are gone. The superblocks only say
// where the segments are and which checkpoint is newest; the segments say
// it themselves (every segment header names the store, its index and its
// place in the log; every checkpoint directory is a record in the log,
// naming where replay starts after it). So when neither superblock can be
// read, or neither's checkpoint, a read-only open with Options.Salvage
// finds the segments, then the checkpoint directories in them, newest
// first, and opens from the first whose checkpoint reads, as if a
// superblock had named it. Read-only, nothing is written; read-write (store
// repair), only when replay reached the newest segment, and Open then
// writes a checkpoint and with it a superblock.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// salvage opens the store from what the segments hold. sbs are the
// superblocks that parsed (their checkpoints did not load); without any,
// the segment geometry is found by scanning for segment headers.
func (s *Store) salvage(sbs []*superblock) error {
	geo, err := s.salvageGeometry(sbs)
	if err != nil {
		return err
	}
	s.uuid = geo.uuid
	s.segSize, s.dataStart = geo.segSize, geo.dataStart
	count := (s.v.Size() - geo.dataStart) / geo.segSize
	if count < 1 {
		return fmt.Errorf("store: salvage: volume of %d bytes has no room for a segment of %d", s.v.Size(), geo.segSize)
	}
	// Every segment header of this store, newest first.
	type found struct {
		index uint32
		h     *segHeader
	}
	var segs []found
	s.segSeq = make([]uint64, count) // segHeaderAt bounds
	for i := range uint32(count) {
		if h := s.segHeaderAt(i); h != nil {
			segs = append(segs, found{i, h})
		}
	}
	if len(segs) == 0 {
		return errors.New("store: salvage: no segment of the store found")
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].h.segSeq > segs[j].h.segSeq })

	base := superblock{uuid: geo.uuid, segSize: geo.segSize, dataStart: geo.dataStart, segCount: count}
	for _, sb := range sbs { // a superblock written after salvage must win over these
		base.generation = max(base.generation, sb.generation)
	}
	try := func(sb superblock, what string) bool {
		s.probMu.Lock()
		s.problems = nil // what a failed attempt found is not this store's damage
		s.probMu.Unlock()
		s.salvaging, s.bridged = true, false
		err := s.loadFrom(&sb)
		s.salvaging = false
		if err != nil {
			s.log.Warn("store: salvage: cannot open from "+what, "err", err)
			return false
		}
		// A replay that stopped short of the newest segment (its chain
		// broken by a reused segment) leaves newer mail out: say so, and
		// never write from there (the segments it did not reach would
		// count as free and be written over).
		newest := segs[0]
		if s.bridged && !s.readOnly {
			// The lost header would stay lost under a log written on;
			// read-only, the mail is all there.
			s.log.Error("store: salvage: not writing from " + what + ": a segment of the log has no readable header (recover can export it)")
			return false
		}
		if s.applied.seq < newest.h.firstSeq && !s.readOnly {
			s.log.Error("store: salvage: not writing from "+what+": the log could not be followed to its newest segment",
				"reached", s.applied.seq, "segment", newest.index, "first", newest.h.firstSeq)
			return false
		}
		if s.applied.seq < newest.h.firstSeq {
			s.problem(Problem{Offset: s.segOff(newest.index), Seq: s.applied.seq,
				Detail: fmt.Sprintf("salvage: the log could not be followed past record %d; segment %d holds records from %d on, which are not included", s.applied.seq, newest.index, newest.h.firstSeq)})
		}
		mode := "read-only"
		if !s.readOnly {
			mode = "superblocks rewritten"
		}
		s.problem(Problem{Offset: sb.ckptOff, Detail: "superblocks or their checkpoints unreadable: opened (salvage, " + mode + ") from " + what})
		s.salvaged = true
		return true
	}
	buf := make([]byte, geo.segSize)
	tried := 0
	for _, f := range segs {
		if _, err := s.v.ReadAt(buf, s.segOff(f.index)); err != nil {
			continue
		}
		dirs := s.checkpointDirs(buf, s.segOff(f.index))
		for _, d := range dirs {
			sb := base
			sb.ckptOff, sb.ckptLen, sb.replay = d.off, d.n, d.replay
			tried++
			if try(sb, fmt.Sprintf("the checkpoint at volume offset %d (record %d) found in segment %d", d.off, d.seq, f.index)) {
				return nil
			}
		}
	}
	// No checkpoint loads: the whole log, if it still starts at record 1.
	for _, f := range segs {
		if f.h.segSeq == 1 && f.h.firstSeq == 1 {
			sb := base
			sb.replay = logPos{seg: f.index, segSeq: 1, seq: 1}
			if try(sb, fmt.Sprintf("the start of the log (segment %d)", f.index)) {
				return nil
			}
		}
	}
	return fmt.Errorf("store: salvage: %d segments found, %d checkpoints tried, none opened, and the log no longer starts at its first record", len(segs), tried)
}

// salvageGeo is where the store's segments lie.
type salvageGeo struct {
	uuid               [16]byte
	segSize, dataStart int64
}

// salvageGeometry takes the geometry from a superblock that parsed, else
// scans the volume for segment headers: they start at dataStart (the first
// stripe boundary after the two superblock slots, as Create puts it) plus
// a multiple of the segment size, so the first header with an index above
// 0 gives the size. The store is the one whose header is at dataStart, else
// the first one found.
func (s *Store) salvageGeometry(sbs []*superblock) (salvageGeo, error) {
	if len(sbs) > 0 {
		sb := sbs[0]
		return salvageGeo{sb.uuid, sb.segSize, sb.dataStart}, nil
	}
	stripe, dataStart := layoutOf(s.v)
	header := newHeaderProbe(s.v).at
	var geo salvageGeo
	have := false
	if h := header(dataStart); h != nil && h.index == 0 {
		geo.uuid, have = h.uuid, true
	}
	for off := dataStart + stripe; off+segHeaderSize <= s.v.Size(); off += stripe {
		h := header(off)
		if h == nil || (have && h.uuid != geo.uuid) {
			continue
		}
		if !have {
			geo.uuid, have = h.uuid, true
		}
		if h.index == 0 {
			continue
		}
		size := (off - dataStart) / int64(h.index)
		if size*int64(h.index) == off-dataStart && size%stripe == 0 && size >= 1<<20 && size <= 1<<32 {
			geo.segSize, geo.dataStart = size, dataStart
			return geo, nil
		}
	}
	if !have {
		return geo, errors.New("store: salvage: no segment header on the volume")
	}
	// One segment only: its size does not matter beyond bounding the read
	// of that segment; take what Create would have.
	geo.segSize = (defaultSegmentSize(s.v.Size()) + stripe - 1) / stripe * stripe
	geo.dataStart = dataStart
	return geo, nil
}

// ckptDirAt is a checkpoint directory record found in a segment.
type ckptDirAt struct {
	off    int64 // volume offset of the record
	n      uint32
	seq    uint64
	replay logPos
}

// checkpointDirs finds the intact checkpoint directory records in seg (a
// segment's bytes, at volume offset base), newest first. Record headers
// are keyed by the store's UUID, so no message body can pass for one.
func (s *Store) checkpointDirs(seg []byte, base int64) []ckptDirAt {
	var out []ckptDirAt
	for o := int64(segHeaderSize); o+recHeaderSize <= int64(len(seg)); o += recAlign {
		if binary.LittleEndian.Uint32(seg[o:]) != recMagic {
			continue
		}
		h, err := parseRecHeader(seg[o:], s.uuid)
		if err != nil || h.typ != recCkptDir || o+int64(recSize(int(h.length))) > int64(len(seg)) {
			continue
		}
		p := seg[o+recHeaderSize : o+recHeaderSize+int64(h.length)]
		if crc(p) != h.dataCRC {
			continue
		}
		v, err := decodeRec(h.typ, p)
		if err != nil {
			continue
		}
		out = append(out, ckptDirAt{off: base + o, n: uint32(recSize(int(h.length))), seq: h.seq, replay: v.(*recCkptDirP).replay})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq > out[j].seq })
	return out
}

// ErrLogWithoutRoot is returned by CreateSafe for a volume that holds no
// readable superblock but does hold segments of a store: formatting would
// destroy mail that Options.Salvage can still read.
var ErrLogWithoutRoot = errors.New("store: the volume holds a store's log but neither of its superblocks")

// probeSpan is how far past dataStart HasLog looks for a segment header at
// every stripe boundary.
const probeSpan = 256 << 20

// HasLog reports whether v holds a segment header of some store: at any
// stripe boundary in the first probeSpan of the data area (Create starts
// the log in segment 0, at dataStart), or wherever a segment of either
// default size (8 or 32 MiB, in whole stripes) would start on the whole
// volume (a store whose first segments were freed and discarded). A volume
// whose superblocks are unreadable (ErrNotFormatted) but that has a log is
// a damaged store, not a blank one, and must not be formatted over.
func HasLog(v Volume) (off int64, ok bool) {
	stripe, dataStart := layoutOf(v)
	probe := newHeaderProbe(v)
	at := func(off int64) bool { return probe.at(off) != nil }
	for off := dataStart; off < dataStart+probeSpan && off < v.Size(); off += stripe {
		if at(off) {
			return off, true
		}
	}
	for _, size := range []int64{8 << 20, 32 << 20} {
		size = (size + stripe - 1) / stripe * stripe
		for off := dataStart + size; off < v.Size(); off += size {
			if at(off) {
				return off, true
			}
		}
	}
	return 0, false
}

// CreateSafe is Create for a volume that did not open: it refuses, with
// ErrLogWithoutRoot, when HasLog finds a store's log on it.
func CreateSafe(v Volume, opts *CreateOptions) error {
	if off, ok := HasLog(v); ok {
		return fmt.Errorf("%w (a segment header at volume offset %d); not formatting over it: `postvault store repair` rewrites the superblocks from the log, `postvault recover --out DIR` exports the mail", ErrLogWithoutRoot, off)
	}
	return Create(v, opts)
}

// layoutOf returns v's stripe size (64 KiB when v does not tell) and
// dataStart, where Create puts segment 0: the first stripe boundary after
// the two superblock slots.
func layoutOf(v Volume) (stripe, dataStart int64) {
	stripe = 64 << 10
	if g, ok := v.(Geometry); ok && g.StripeSize() > 0 {
		stripe = g.StripeSize()
	}
	return stripe, (int64(2*superSize) + stripe - 1) / stripe * stripe
}

// headerProbe reads whatever segment header (of any store) lies at a
// volume offset, without reading ranges the volume's UseMap says hold
// nothing.
type headerProbe struct {
	v  Volume
	um UseMap
	b  []byte
}

func newHeaderProbe(v Volume) *headerProbe {
	um, _ := v.(UseMap)
	return &headerProbe{v: v, um: um, b: make([]byte, segHeaderSize)}
}

// at returns the segment header at off, or nil.
func (p *headerProbe) at(off int64) *segHeader {
	if off < 0 || off+segHeaderSize > p.v.Size() || (p.um != nil && !p.um.InUse(off, segHeaderSize)) {
		return nil
	}
	if _, err := p.v.ReadAt(p.b, off); err != nil {
		return nil
	}
	h, err := parseSegHeader(p.b)
	if err != nil {
		return nil
	}
	return h
}
