package store

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// segStore is a Store with n segments and only the fields the free-space
// checks read. Segment i is used when used(i).
func segStore(n int, used func(i int) bool) *Store {
	s := &Store{segSeq: make([]uint64, n), segLive: make([]int64, n), reserved: make([]bool, n), pins: make([]int32, n),
		segSize: 32 << 20}
	s.headSeg, s.headNext = noSegment, noSegment
	for i := range n {
		if used(i) {
			s.segLive[i] = 1
		}
	}
	return s
}

// The reserve checks and shortLocked answer as counting every free
// segment would, for every number of free segments around their
// thresholds.
func TestReserveChecksAsCounting(t *testing.T) {
	const n = 24
	fracs := []float64{0, 0.1, 0.25, 1.0 / 3, 0.5, 0.99, 1, 1.5, math.Inf(1), math.NaN()}
	for free := 0; free <= n; free++ {
		for _, ckpt := range []uint32{0, 40 << 20} { // reserve 2, then 5
			for _, refused := range []bool{false, true} {
				// The free segments are spread out, and the cursor is
				// somewhere in the middle.
				s := segStore(n, func(i int) bool { return (i*7)%n >= free })
				s.allocCursor = 11
				s.ckptExt = []extent{{n: ckpt}}
				s.refused.Store(refused)
				if got := s.freeSegmentsLocked(); got != free {
					t.Fatalf("test setup: %d free, want %d", got, free)
				}
				reserve := s.reserveLocked()
				if got, want := s.deliveriesMaySeal(), free > reserve; got != want {
					t.Errorf("%d free: deliveriesMaySeal() = %v, want %v", free, got, want)
				}
				d := &unit{delivery: true, done: make(chan struct{})}
				other := &unit{done: make(chan struct{})}
				kept := s.keepOutOfReserve([]*unit{d, other})
				if inside := free < reserve; (len(kept) == 1) != inside || kept[len(kept)-1] != other {
					t.Errorf("%d free, reserve %d: keepOutOfReserve kept %d of 2 units", free, reserve, len(kept))
				}
				s.refused.Store(refused)
				for _, frac := range fracs {
					s.opts.CompactWhenFree = frac
					f := frac
					if f == 0 {
						f = 0.25
					}
					want := refused || float64(free) < f*float64(n)
					if math.IsNaN(f) {
						want = refused
					}
					if got := s.shortLocked(); got != want {
						t.Errorf("%d free, refused %v: shortLocked() with CompactWhenFree %v = %v, want %v", free, refused, frac, got, want)
					}
				}
			}
		}
	}
}

// On a large volume with room, the checks look at no more segments than
// they need: the per-segment state past those is cut off here, so that a
// look at any segment beyond them would panic.
func TestReserveChecksStopEarly(t *testing.T) {
	const n = 1 << 18 // 8 TiB in 32 MiB segments
	tests := []struct {
		name  string
		look  int // segments the check may look at
		check func(s *Store) bool
		want  bool
	}{
		{"keepOutOfReserve", 2, func(s *Store) bool {
			return len(s.keepOutOfReserve([]*unit{{delivery: true}})) == 1
		}, true},
		{"deliveriesMaySeal", 3, (*Store).deliveriesMaySeal, true},
		{"shortLocked", n / 4, (*Store).shortLocked, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := segStore(n, func(int) bool { return false })
			s.reserved, s.pins, s.segLive = s.reserved[:tc.look], s.pins[:tc.look], s.segLive[:tc.look]
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("looked past the first %d of %d segments: %v", tc.look, n, r)
				}
			}()
			if got := tc.check(s); got != tc.want {
				t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

// BenchmarkReserveCheck: what a delivery's batch pays to check the
// reserve (keepOutOfReserve) on a mostly free volume, against counting
// every segment (freeSegmentsLocked, what it did before) in the same run.
func BenchmarkReserveCheck(b *testing.B) {
	for _, n := range []int{1 << 15, 1 << 18} { // 1 TiB and 8 TiB in 32 MiB segments
		b.Run(fmt.Sprintf("segments=%d", n), func(b *testing.B) {
			s := segStore(n, func(i int) bool { return i%3 == 0 })
			s.allocCursor = uint32(n / 2)
			take := []*unit{{delivery: true}}
			count := perOp(b, func() {
				if s.freeSegmentsLocked() < s.reserveLocked() {
					b.Fatal("reserve reached")
				}
			})
			check := perOp(b, func() {
				if len(s.keepOutOfReserve(take)) != 1 {
					b.Fatal("delivery refused")
				}
			})
			b.ReportMetric(count, "count-ns/op")
			b.ReportMetric(check, "check-ns/op")
			b.ReportMetric(count/check, "x-faster")
		})
	}
}

// perOp runs f b.N times and returns the nanoseconds per call.
func perOp(b *testing.B, f func()) float64 {
	start := time.Now()
	for range b.N {
		f()
	}
	return float64(time.Since(start).Nanoseconds()) / float64(b.N)
}
