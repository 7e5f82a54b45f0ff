package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// compactBelow is the share of live bytes under which a sealed segment is
// compacted.
const compactBelow = 0.5

// move is one body to copy out of a segment being emptied, named by one
// message that holds it.
type move struct {
	acct, mbox, uid uint32
	b               blob // a copy of the body's location
}

// maxPasses bounds the passes of one Compact call.
const maxPasses = 8

// Compact reclaims the space of expunged mail: it moves the live records out
// of mostly dead segments, writes a checkpoint and discards the freed
// segments. Readers are never blocked. A pass moves no more than the free
// segments hold; while a pass leaves victims for want of room and frees
// some, another follows.
func (s *Store) Compact(ctx context.Context) (CompactStats, error) {
	if err := s.writable(); err != nil {
		return CompactStats{}, err
	}
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	var cs CompactStats
	s.refused.Store(false)
	// Segments sealed since the newest checkpoint's replay start cannot be
	// emptied (replay from it reads them): a checkpoint first makes the
	// mostly dead ones eligible, so that one pass frees the space an
	// expunge just released.
	if s.recentVictims() {
		if err := s.checkpointLocked(); err != nil {
			return cs, err
		}
	}
	for range maxPasses {
		freed := cs.SegmentsFreed
		more, err := s.compactPass(ctx, &cs)
		if err != nil || !more || cs.SegmentsFreed == freed {
			return cs, err
		}
	}
	return cs, nil
}

// compactPass moves the bodies out of the victims that fit, checkpoints and
// frees; more says victims were left for want of room. s.ckptMu held.
func (s *Store) compactPass(ctx context.Context, cs *CompactStats) (more bool, err error) {
	s.mu.RLock()
	busy := make([]bool, len(s.segSeq))
	for i := range busy {
		busy[i] = !s.freeLocked(uint32(i))
	}
	s.mu.RUnlock()
	moves, more := s.victims()
	var units []*unit
	var moved int64
	for _, m := range moves {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		u, n, err := s.moveBody(m)
		if err != nil {
			s.log.Warn("store: compaction could not move a body", "account", m.acct, "mailbox", m.mbox, "uid", m.uid, "err", err)
			continue
		}
		units = append(units, u)
		cs.BytesMoved += n
		moved += n
	}
	for _, u := range units {
		if err := u.wait(); err != nil {
			return false, err
		}
	}
	if err := s.checkpointLocked(); err != nil {
		return false, err
	}
	// Everything before the kept log with nothing live is now free: tell
	// the volume. segSeq 0 marks a segment already discarded, or one
	// before the replay start at Open that held live bodies until now.
	var free []uint32
	s.mu.Lock()
	for i := range s.segSeq {
		if (s.segSeq[i] != 0 || busy[i]) && s.freeLocked(uint32(i)) {
			free = append(free, uint32(i))
			s.segSeq[i] = 0
		}
	}
	s.mu.Unlock()
	d, canDiscard := s.v.(Discarder)
	for _, i := range free {
		cs.SegmentsFreed++
		cs.BytesFreed += s.segSize
		if canDiscard {
			if err := d.Discard(s.segOff(i), s.segSize); err != nil {
				s.log.Warn("store: discard", "segment", i, "err", err)
				continue
			}
			s.discarded.Add(s.segSize)
		}
	}
	s.compacted.Add(moved)
	s.lastCompact.Store(time.Now().UnixNano())
	return more, nil
}

// recentVictims reports whether a sealed segment at or after the newest
// replay start is mostly dead (it would be a victim but for its age).
func (s *Store) recentVictims() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ckpt := s.ckptSegsLocked()
	for i, seq := range s.segSeq {
		c := uint32(i)
		if seq != 0 && seq >= s.sb.replay.segSeq && c != s.headSeg && c != s.headNext &&
			!ckpt[c] && float64(s.segLive[i]) < compactBelow*float64(s.segSize) {
			return true
		}
	}
	return false
}

func (s *Store) ckptSegsLocked() map[uint32]bool {
	ckpt := map[uint32]bool{}
	for _, x := range s.ckptExt {
		ckpt[s.segOf(x.off)] = true
	}
	return ckpt
}

// victims picks the sealed segments before the replay start whose live
// share is low, emptiest first, and lists the bodies to move out of them:
// no more than fit in the free segments beside the checkpoint that ends
// the pass (the reserve deliveries leave guarantees that much).
func (s *Store) victims() (out []move, more bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	victim := make([]bool, len(s.segSeq))
	ckpt := s.ckptSegsLocked()
	var cands []int
	for i := range s.segSeq {
		// segSeq 0 with live bodies: a segment before the replay start at
		// Open (replay learns the sequence only of the segments it reads).
		old := s.segSeq[i] == 0 || s.segSeq[i] < s.sb.replay.segSeq
		if old && s.segLive[i] > 0 && !ckpt[uint32(i)] &&
			float64(s.segLive[i]) < compactBelow*float64(s.segSize) {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return nil, false
	}
	var ck int64
	for _, x := range s.ckptExt {
		ck += int64(x.n)
	}
	// One segment of slack: each segment loses its tail to the next
	// record that does not fit.
	budget := int64(s.freeSegmentsLocked()-1)*s.segSize - ck
	sort.Slice(cands, func(a, b int) bool { return s.segLive[cands[a]] < s.segLive[cands[b]] })
	var sum int64
	for _, i := range cands {
		if sum+s.segLive[i] > budget {
			more = true
			break
		}
		sum += s.segLive[i]
		victim[i] = true
	}
	in := func(b *blob) bool {
		if b.off < 0 {
			return false
		}
		if b.reclen > 0 && victim[s.segOf(b.off)] {
			return true
		}
		for _, x := range b.chunks {
			if victim[s.segOf(x.off)] {
				return true
			}
		}
		return false
	}
	seen := map[*blob]bool{}
	moved := int64(0)
	for _, a := range s.st.accounts {
		for _, mb := range a.mailboxes {
			for i := range mb.msgs {
				m := &mb.msgs[i]
				if !seen[m.blob] && in(m.blob) {
					seen[m.blob] = true
					if moved += int64(m.blob.size); moved > budget {
						more = true
						continue
					}
					b := *m.blob
					b.chunks = append([]extent(nil), b.chunks...)
					out = append(out, move{a.id, mb.id, m.uid, b})
				}
			}
		}
	}
	return out, more
}

func (s *Store) segOf(off int64) uint32 { return uint32((off - s.dataStart) / s.segSize) }

// moveBody copies one body to the head of the log and enqueues the record
// that points its messages at the copy.
func (s *Store) moveBody(m move) (*unit, int64, error) {
	mv := &recBlobMoveP{size: m.b.size, from: m.b.where(), acct: m.acct, mbox: m.mbox, uid: m.uid}
	if len(m.b.chunks) == 0 {
		h, p, err := s.readRecord(m.b.off, int(m.b.reclen))
		if err != nil {
			return nil, 0, err
		}
		if h.typ != recAppend && h.typ != recBlobMove {
			return nil, 0, fmt.Errorf("store: body record type %d", h.typ)
		}
		_, data, ok := splitBlob(p)
		if !ok || uint32(len(data)) != m.b.size {
			return nil, 0, fmt.Errorf("store: body record malformed")
		}
		mv.data = data
	} else {
		var units []*unit
		for _, x := range m.b.chunks {
			h, p, err := s.readRecord(x.off, int(x.n))
			if err != nil {
				return nil, 0, err
			}
			if h.typ != recBlobChunk {
				return nil, 0, fmt.Errorf("store: chunk record type %d", h.typ)
			}
			u := newUnit(rec{typ: recBlobChunk, p: p})
			u.data = true
			if err := s.enqueue(u); err != nil {
				return nil, 0, err
			}
			units = append(units, u)
		}
		if err := s.awaitData(units); err != nil {
			return nil, 0, err
		}
		for _, u := range units {
			mv.chunks = append(mv.chunks, extent{u.offs[0], uint32(u.size)})
		}
	}
	u := newUnit(mkrec(mv))
	if err := s.enqueue(u); err != nil {
		return nil, 0, err
	}
	return u, int64(m.b.size), nil
}

// Check reads every message of every account and verifies its checksums,
// and every sealed segment the store needs (checkSeals), returning the
// problems found.
func (s *Store) Check(ctx context.Context) ([]Problem, error) {
	type ref struct {
		acct, mbox string
		uid        uint32
	}
	var refs []ref
	s.mu.RLock()
	for _, a := range s.st.accounts {
		for _, mb := range a.mailboxes {
			for i := range mb.msgs {
				refs = append(refs, ref{a.name, mb.name, mb.msgs[i].uid})
			}
		}
	}
	s.mu.RUnlock()
	var out []Problem
	buf := make([]byte, 64<<10)
	for _, r := range refs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		a, err := s.Account(r.acct)
		if err != nil {
			continue
		}
		b, err := a.Open(r.mbox, r.uid)
		if err == nil {
			for off := int64(0); off < b.Size() && err == nil; off += int64(len(buf)) {
				_, err = b.ReadAt(buf, off)
				if err == io.EOF {
					err = nil
				}
			}
			b.Close()
		}
		if errors.Is(err, ErrCorrupt) {
			out = append(out, Problem{Account: r.acct, Mailbox: r.mbox, UID: r.uid, Detail: err.Error()})
		} else if err != nil && !errors.Is(err, ErrNoSuchMessage) && !errors.Is(err, ErrNoSuchMailbox) {
			return out, err
		}
	}
	seals, err := s.checkSeals(ctx)
	return append(out, seals...), err
}
