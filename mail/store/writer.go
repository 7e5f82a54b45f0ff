package store

import (
	"errors"
	"fmt"
)

// The writer: callers queue units of records (enqueue, commit); one
// goroutine (writeLoop) takes as many as fit a batch (takeLocked), holding
// back streamed data nobody waits for yet (lingerLocked), and writes,
// flushes and applies them (writeBatch, in log.go).

// unit is what a caller hands the writer: records that go into one batch
// together (so they are durable together), and, once done, what applying
// them did.
type unit struct {
	recs []rec
	data bool // chunk or checkpoint data: counts toward back-pressure, may wait for company
	// delivery marks new mail (its chunks and its append record): it may
	// not open a segment out of the reserve kept for compaction.
	delivery bool
	size     int  // bytes on the volume
	waited   bool // guarded by Store.qmu: a caller waits for this data unit (awaitData)

	// after lists data units queued before this one whose volume offsets
	// its record names (a chunked message's chunks, for its append
	// record), so that both can go in one batch. The writer calls fix
	// with their offsets, once it knows them (written before, or planned
	// in the batch it is taking), for the record, and sizes the unit by
	// it. If one of them fails, this unit fails with it.
	after []*unit
	fix   func(offs []int64) rec
	fixed []int64 // the offsets fix was last given (writer)
	at    int64   // volume offset planned for the unit in the batch being taken (writer)

	// Set by the writer before done is closed.
	offs    []int64 // volume offset of each record
	seq     uint64  // sequence number of the first record
	results []any
	events  []Event
	err     error
	done    chan struct{}
}

func newUnit(recs ...rec) *unit {
	u := &unit{recs: recs, done: make(chan struct{})}
	for _, r := range recs {
		u.size += recSize(r.len())
	}
	return u
}

const (
	maxBatchBytes   = 8 << 20
	maxBatchRecords = 60000
	maxQueuedData   = 16 << 20
	// lingerData is how much data may sit in the queue, nobody waiting
	// for it, before the writer writes it anyway. Message chunks arrive
	// as the client sends them and nobody waits for one until the last is
	// queued: written together, a message costs one commit instead of one
	// per chunk (on the RAID, each is a journaled partial-stripe write).
	// Below maxQueuedData, so that back-pressure never waits on it.
	lingerData = 4 << 20
)

// enqueue adds u to the writer's queue. Data units wait while too much data
// is queued (back-pressure for streamed messages).
func (s *Store) enqueue(u *unit) error {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for u.data && s.queuedData > maxQueuedData && s.failed == nil && !s.closing {
		s.qcond.Wait()
	}
	if s.failed != nil {
		return s.failed
	}
	if s.closing {
		return ErrClosed
	}
	if u.data {
		s.queuedData += int64(u.size)
	}
	s.queue = append(s.queue, u)
	s.qcond.Broadcast()
	return nil
}

// wait waits for u to be durable and applied. Data units are waited for
// with awaitData.
func (u *unit) wait() error {
	<-u.done
	return u.err
}

// awaitData waits for the data units us: it tells the writer that someone
// waits for them, so it stops holding them back for company.
func (s *Store) awaitData(us []*unit) error {
	s.qmu.Lock()
	for _, u := range us {
		u.waited = true
	}
	s.qcond.Broadcast()
	s.qmu.Unlock()
	for _, u := range us {
		if err := u.wait(); err != nil {
			return err
		}
	}
	return nil
}

// overlapFrom is how much must be queued for the writer to write a batch
// while the one before it is being flushed. Every flush round has a fixed
// cost (on the RAID about 3.5 ms, against 12-15 ms for 8 MiB), and a small
// batch goes through the RAID's journal, a round of its own: writing
// less would split the group that gathers meanwhile into more rounds. Half
// a batch did 360-439 deliveries/s of 1 MiB at 16 clients where 1 MiB did
// 314-397 (BENCHMARKS.md "Mail delivery vs Dovecot").
const overlapFrom = maxBatchBytes / 2

// queuedAtLeastLocked reports whether n bytes or more are queued. s.qmu
// held.
func (s *Store) queuedAtLeastLocked(n int) bool {
	for _, u := range s.queue {
		if n -= u.size; n <= 0 {
			return true
		}
	}
	return false
}

// lingerLocked says whether the writer should wait for more: everything
// queued is data nobody waits for yet, and not much of it. s.qmu held.
func (s *Store) lingerLocked() bool {
	if s.closing || s.failed != nil || s.queuedData >= lingerData {
		return false
	}
	for _, u := range s.queue {
		if !u.data || u.waited {
			return false
		}
	}
	return true
}

// commit enqueues records as one unit and waits until they are durable.
func (s *Store) commit(recs ...rec) (*unit, error) {
	u := newUnit(recs...)
	if err := s.enqueue(u); err != nil {
		return nil, err
	}
	return u, u.wait()
}

// writeLoop is the writer goroutine: it takes as many queued units as fit,
// writes them as one batch, flushes once (group commit), applies them to the
// index and wakes their callers.
func (s *Store) writeLoop() {
	defer close(s.writerDone)
	for {
		s.qmu.Lock()
		if f := s.flight; f != nil {
			// A batch is being flushed: write the next one beside it
			// once overlapFrom bytes are queued, else land it when its
			// flush returns.
			from := overlapFrom
			if s.opts.overlapFrom > 0 {
				from = s.opts.overlapFrom
			}
			enough := func() bool { return s.queuedAtLeastLocked(from) && !s.lingerLocked() }
			for !f.flushDone && !enough() && !s.closing && s.failed == nil {
				s.qcond.Wait()
			}
			if f.flushDone || !enough() {
				s.qmu.Unlock()
				if err := s.land(); err != nil {
					s.fail(err)
				}
				continue
			}
		}
		for (len(s.queue) == 0 && !s.closing) || (len(s.queue) > 0 && s.lingerLocked()) {
			s.qcond.Wait()
		}
		if len(s.queue) == 0 {
			s.qmu.Unlock()
			return
		}
		if s.failed != nil {
			q := s.queue
			s.queue, s.queuedData = nil, 0
			s.qcond.Broadcast()
			err := s.failed
			s.qmu.Unlock()
			failUnits(q, err)
			continue
		}
		if broken := s.dropBrokenLocked(); len(broken) > 0 {
			s.qmu.Unlock()
			for _, u := range broken {
				close(u.done)
			}
			continue
		}
		take, full := s.takeLocked()
		if len(take) == 0 {
			first := s.queue[0]
			empty := s.head.pos.off <= segHeaderSize
			if empty {
				s.queue = s.queue[1:]
				if first.data {
					s.queuedData -= int64(first.size)
				}
			}
			s.qmu.Unlock()
			if empty {
				first.err = fmt.Errorf("store: %d-byte unit larger than a segment", first.size)
				close(first.done)
				continue
			}
			if first.delivery && !s.deliveriesMaySeal() {
				// Only the reserve is left: it is compaction's. Refuse
				// new mail (SMTP answers 4xx), keep everything else.
				s.refuse(func(u *unit) bool { return u.delivery })
				continue
			}
			if err := s.seal(); errors.Is(err, ErrFull) {
				// No segment to go on to: refuse what is queued, keep the
				// store (expunges and compaction may make room).
				s.refuse(func(*unit) bool { return true })
			} else if err != nil {
				s.fail(err)
			}
			continue
		}
		s.queue = s.queue[len(take):]
		for _, u := range take {
			if u.data {
				s.queuedData -= int64(u.size)
			}
		}
		s.qcond.Broadcast()
		s.qmu.Unlock()
		n := len(take)
		if take = s.keepOutOfReserve(take); len(take) == 0 {
			continue
		}
		// Close a full segment in the same batch, saving the seal a flush
		// of its own, when new mail may open the next one (else the seal
		// path above decides).
		closeSeg := full && len(take) == n && s.deliveriesMaySeal()
		if err := s.writeBatch(take, closeSeg); err != nil {
			s.fail(err)
		}
	}
}

// takeLocked returns the units at the head of the queue that go in the
// next batch: as many as fit the segment and a batch. It plans where each
// goes, and fixes the records that name units planned before them. full
// says the batch ends because the next queued unit does not fit the
// segment: the batch may close the segment with its seal.
// s.qmu held; the writer only.
func (s *Store) takeLocked() (take []*unit, full bool) {
	room := s.room()
	base := s.segOff(s.head.pos.seg) + max(s.head.pos.off, segHeaderSize)
	limit := batchLimit(room)
	size, nrec := 0, 0
	for _, u := range s.queue {
		if u.fix != nil {
			u.resolve()
		}
		if size+u.size > room {
			return take, len(take) > 0
		}
		if len(take) > 0 && (size+u.size > limit || nrec+len(u.recs) > maxBatchRecords) {
			break
		}
		u.at = base + int64(size)
		take = append(take, u)
		size += u.size
		nrec += len(u.recs)
	}
	return take, false
}

// batchLimit is how many record bytes the next batch may take, given room
// in its segment: maxBatchBytes, or the whole room when a batch of
// maxBatchBytes would leave a sliver of the segment (less than a quarter
// of a batch) for a batch of its own, costing a flush of its own.
func batchLimit(room int) int {
	if room-maxBatchBytes < maxBatchBytes/4 {
		return max(room, maxBatchBytes)
	}
	return maxBatchBytes
}

// fail stops all writing: the in-memory index may be ahead of the volume or
// the volume is gone; the store must be reopened.
func (s *Store) fail(err error) {
	s.qmu.Lock()
	if s.failed == nil {
		s.failed = fmt.Errorf("store: writing stopped: %w", err)
		s.log.Error("store: writing stopped", "err", err)
	}
	s.qcond.Broadcast()
	s.qmu.Unlock()
}

// dropBrokenLocked takes out of the queue the units that name a unit
// which failed (refused, or the store stopped) and returns them, their
// error set, for the caller to close once s.qmu is released. s.qmu held;
// the writer only (it alone fails units).
func (s *Store) dropBrokenLocked() []*unit {
	var broken []*unit
	keep := s.queue[:0]
	for _, u := range s.queue {
		for _, d := range u.after {
			if d.err != nil {
				u.err = d.err
				break
			}
		}
		if u.err != nil {
			broken = append(broken, u)
			if u.data {
				s.queuedData -= int64(u.size)
			}
			continue
		}
		keep = append(keep, u)
	}
	if len(broken) > 0 {
		clear(s.queue[len(keep):])
		s.queue = keep
		s.qcond.Broadcast()
	}
	return broken
}
