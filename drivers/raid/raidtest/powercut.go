package raidtest

import (
	"fmt"
	"sync"
)

// PowerCutOptions tune a PowerCut. The zero value (or nil) drops every
// unflushed write at the cut and keeps the torn write's first half, rounded
// down to whole 512-byte sectors.
type PowerCutOptions struct {
	// Tear returns how many leading bytes of the write in flight at the cut
	// (n bytes long) reach the medium, 0..n.
	Tear func(n int) int
	// KeepUnflushed, if set, is asked at the cut about every write not yet
	// flushed (its member and its number in the global count); true means the
	// disk had written it back from its cache before the power went. Kept
	// writes are applied in their original order. Nil drops them all.
	KeepUnflushed func(member int, write int64) bool
}

// PowerCut is a set of in-memory members with volatile write caches and one
// write counter across the set. A write is visible to reads at once but
// reaches the medium only when its member is flushed. See the package
// comment for how tests use it. It is safe for concurrent use.
type PowerCut struct {
	opts PowerCutOptions

	mu      sync.Mutex // guards everything below
	media   [][]byte   // what survives a cut
	visible [][]byte   // media with the cached writes applied
	pending [][]pendingWrite
	writes  int64
	cutAt   int64 // 0: no cut armed
	cut     bool
}

type pendingWrite struct {
	seq  int64
	off  int64
	data []byte
}

// NewPowerCut returns n zeroed members of size bytes each.
func NewPowerCut(n int, size int64, o *PowerCutOptions) *PowerCut {
	images := make([][]byte, n)
	for i := range images {
		images[i] = make([]byte, size)
	}
	return NewPowerCutOf(images, o)
}

// NewPowerCutOf returns members whose media start as copies of images
// (everything on them counts as flushed).
func NewPowerCutOf(images [][]byte, o *PowerCutOptions) *PowerCut {
	pc := &PowerCut{pending: make([][]pendingWrite, len(images))}
	if o != nil {
		pc.opts = *o
	}
	for _, img := range images {
		pc.media = append(pc.media, append([]byte(nil), img...))
		pc.visible = append(pc.visible, append([]byte(nil), img...))
	}
	return pc
}

// Members returns the set's members, in order.
func (pc *PowerCut) Members() []Member {
	out := make([]Member, len(pc.media))
	for i := range out {
		out[i] = pc.Member(i)
	}
	return out
}

// Member returns member i of the set.
func (pc *PowerCut) Member(i int) Member { return &pcMember{pc: pc, i: i} }

// CutAt arms a cut at write n (counted from 1 since the set was made, over
// all members): that write is torn and the power goes. n <= Writes() cuts
// at the next write.
func (pc *PowerCut) CutAt(n int64) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.cutAt = n
}

// Cut cuts the power now, between writes: nothing is torn, unflushed writes
// are lost.
func (pc *PowerCut) Cut() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.cutLocked(-1, 0, nil)
}

// IsCut reports whether the power has been cut.
func (pc *PowerCut) IsCut() bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.cut
}

// Writes returns how many writes the set has seen (the one torn at the cut
// included; writes refused after the cut not).
func (pc *PowerCut) Writes() int64 {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.writes
}

// Images returns copies of the bytes on the media: after a cut, what
// survived it; before, what a cut now would leave.
func (pc *PowerCut) Images() [][]byte {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	out := make([][]byte, len(pc.media))
	for i, m := range pc.media {
		out[i] = append([]byte(nil), m...)
	}
	return out
}

// Reopen returns fresh in-memory members holding Images(), as the disks
// would be found at the next boot.
func (pc *PowerCut) Reopen() []*Mem {
	images := pc.Images()
	out := make([]*Mem, len(images))
	for i, img := range images {
		out[i] = &Mem{buf: img}
	}
	return out
}

// cutLocked cuts the power: kept unflushed writes reach the media, then the
// torn prefix of the write in flight (member torn, at off), if any.
func (pc *PowerCut) cutLocked(torn int, off int64, data []byte) {
	var kept []struct {
		m int
		w pendingWrite
	}
	for m, list := range pc.pending {
		for _, w := range list {
			if pc.opts.KeepUnflushed != nil && pc.opts.KeepUnflushed(m, w.seq) {
				kept = append(kept, struct {
					m int
					w pendingWrite
				}{m, w})
			}
		}
	}
	// apply in global order
	for len(kept) > 0 {
		first := 0
		for i := range kept {
			if kept[i].w.seq < kept[first].w.seq {
				first = i
			}
		}
		copy(pc.media[kept[first].m][kept[first].w.off:], kept[first].w.data)
		kept = append(kept[:first], kept[first+1:]...)
	}
	if torn >= 0 {
		keep := (len(data) / 2) &^ 511
		if pc.opts.Tear != nil {
			keep = min(max(pc.opts.Tear(len(data)), 0), len(data))
		}
		copy(pc.media[torn][off:], data[:keep])
	}
	for i := range pc.pending {
		pc.pending[i] = nil
		pc.visible[i] = nil
	}
	pc.cut = true
}

type pcMember struct {
	pc *PowerCut
	i  int
}

func (m *pcMember) ReadAt(p []byte, off int64) (int, error) {
	pc := m.pc
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.cut {
		return 0, ErrPowerCut
	}
	n, err := checkRange("read", off, len(p), int64(len(pc.media[m.i])))
	copy(p[:n], pc.visible[m.i][off:])
	return n, err
}

func (m *pcMember) WriteAt(p []byte, off int64) (int, error) {
	pc := m.pc
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.cut {
		return 0, ErrPowerCut
	}
	if _, err := checkRange("write", off, len(p), int64(len(pc.media[m.i]))); err != nil {
		return 0, err
	}
	pc.writes++
	if pc.cutAt > 0 && pc.writes >= pc.cutAt {
		pc.cutLocked(m.i, off, p)
		return 0, fmt.Errorf("raidtest: write %d: %w", pc.writes, ErrPowerCut)
	}
	copy(pc.visible[m.i][off:], p)
	pc.pending[m.i] = append(pc.pending[m.i], pendingWrite{pc.writes, off, append([]byte(nil), p...)})
	return len(p), nil
}

func (m *pcMember) Size() int64 { return int64(len(m.pc.media[m.i])) }

func (m *pcMember) Flush() error {
	pc := m.pc
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.cut {
		return ErrPowerCut
	}
	for _, w := range pc.pending[m.i] {
		copy(pc.media[m.i][w.off:], w.data)
	}
	pc.pending[m.i] = nil
	return nil
}

func (m *pcMember) Close() error { return nil }
