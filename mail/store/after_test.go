package store

import (
	"errors"
	"slices"
	"sync"
	"testing"
)

// A unit that names a failed unit (its chunks refused, say) leaves the
// queue with that unit's error; the others stay, in order.
func TestDropBroken(t *testing.T) {
	s := &Store{}
	s.qcond = sync.NewCond(&s.qmu)
	failed := &unit{err: ErrFull}
	ok := &unit{offs: []int64{4096}}
	a := &unit{}
	dep := &unit{after: []*unit{ok, failed}}
	fine := &unit{after: []*unit{ok}}
	b := &unit{data: true, size: 100}
	s.queue = []*unit{a, dep, fine, b}
	s.queuedData = 100
	s.qmu.Lock()
	broken := s.dropBrokenLocked()
	s.qmu.Unlock()
	if len(broken) != 1 || broken[0] != dep || !errors.Is(dep.err, ErrFull) {
		t.Errorf("dropBrokenLocked() = %v, want the unit naming the failed one, with ErrFull", broken)
	}
	if want := []*unit{a, fine, b}; !slices.Equal(s.queue, want) {
		t.Errorf("queue after = %v, want %v", s.queue, want)
	}
	if s.queuedData != 100 {
		t.Errorf("queuedData = %d, want 100", s.queuedData)
	}
}

// resolve names written units where they are and units of the batch being
// taken where they are planned; checkAfter refuses a layout that differs.
func TestResolveAndCheckAfter(t *testing.T) {
	written := &unit{offs: []int64{1 << 20}, size: recSize(blobChunk)}
	planned := &unit{at: 3 << 20, size: recSize(100)}
	var got []int64
	u := &unit{after: []*unit{written, planned}}
	u.fix = func(offs []int64) rec {
		got = slices.Clone(offs)
		return rec{typ: recAppend, p: make([]byte, 40)}
	}
	u.resolve()
	if want := []int64{1 << 20, 3 << 20}; !slices.Equal(got, want) {
		t.Errorf("fix got offsets %v, want %v", got, want)
	}
	if u.size != recSize(40) || len(u.recs) != 1 {
		t.Errorf("resolved unit: size %d, %d records; want %d, 1", u.size, len(u.recs), recSize(40))
	}
	planned.offs = []int64{3 << 20}
	if err := u.checkAfter(); err != nil {
		t.Errorf("checkAfter with the planned layout: %v", err)
	}
	planned.offs = []int64{3<<20 + 64}
	if err := u.checkAfter(); err == nil {
		t.Error("checkAfter with a chunk elsewhere than its record says: no error")
	}
}

// freeAtLeastLocked answers as counting every free segment would, from
// any allocation cursor.
func TestFreeAtLeast(t *testing.T) {
	const n = 40
	s := &Store{segSeq: make([]uint64, n), segLive: make([]int64, n), reserved: make([]bool, n), pins: make([]int32, n)}
	s.keepFrom = 100
	for i := range n {
		switch i % 7 {
		case 1:
			s.segLive[i] = 10
		case 2:
			s.reserved[i] = true
		case 3:
			s.pins[i] = 1
		case 4:
			s.segSeq[i] = 200 // newer than keepFrom: still needed
		case 5:
			s.segSeq[i] = 50 // older: free
		}
	}
	s.headSeg, s.headNext = 6, 13
	free := s.freeSegmentsLocked()
	if free == 0 || free == n {
		t.Fatalf("test setup: %d of %d segments free", free, n)
	}
	for _, cursor := range []uint32{0, 1, 17, n - 1} {
		s.allocCursor = cursor
		for want := -1; want <= n+1; want++ {
			if got := s.freeAtLeastLocked(want); got != (free >= want) {
				t.Errorf("cursor %d: freeAtLeastLocked(%d) = %v with %d free", cursor, want, got, free)
			}
		}
	}
}
