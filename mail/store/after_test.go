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
