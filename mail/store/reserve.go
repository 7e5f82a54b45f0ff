package store

import "slices"

// The reserve: new mail leaves the last free segments to compaction and
// metadata (docs/store-format.md, Compaction), so that compaction can
// always run on a full volume.

// refuse fails the queued units that match with ErrFull and notes it for
// the background compaction.
func (s *Store) refuse(match func(*unit) bool) {
	s.qmu.Lock()
	var out []*unit
	keep := s.queue[:0]
	for _, u := range s.queue {
		if !match(u) {
			keep = append(keep, u)
			continue
		}
		out = append(out, u)
		if u.data {
			s.queuedData -= int64(u.size)
		}
	}
	clear(s.queue[len(keep):])
	s.queue = keep
	s.qcond.Broadcast()
	s.qmu.Unlock()
	for _, u := range out {
		u.err = ErrFull
		close(u.done)
	}
	s.refused.Store(true)
}

// keepOutOfReserve refuses the new mail in take, with ErrFull, when fewer
// segments are free than the reserve (compaction or metadata has opened
// one of it): the room left is compaction's. It returns the rest.
func (s *Store) keepOutOfReserve(take []*unit) []*unit {
	if !slices.ContainsFunc(take, func(u *unit) bool { return u.delivery }) {
		return take
	}
	s.mu.RLock()
	inside := !s.freeAtLeastLocked(s.reserveLocked())
	s.mu.RUnlock()
	if !inside {
		return take
	}
	keep := take[:0:0]
	for _, u := range take {
		if !u.delivery {
			keep = append(keep, u)
			continue
		}
		u.err = ErrFull
		close(u.done)
	}
	s.refused.Store(true)
	return keep
}

// deliveriesMaySeal says whether new mail may open another segment: more
// segments are free than the compaction reserve.
func (s *Store) deliveriesMaySeal() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.freeAtLeastLocked(s.reserveLocked() + 1)
}

// reserveLocked is how many free segments new mail leaves to compaction:
// room for the two checkpoints a pass writes and the bodies it moves (see
// Compact), at least 2, at most half the segments. s.mu held.
func (s *Store) reserveLocked() int {
	var ck int64
	for _, x := range s.ckptExt {
		ck += int64(x.n)
	}
	r := 2 + int((2*ck+s.segSize-1)/s.segSize)
	return min(r, max(2, len(s.segSeq)/2))
}
