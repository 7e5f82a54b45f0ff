package raid

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestReadStripeDegraded compares the fast degraded path with the volume's
// own reads, over random ranges, for every pattern of missing members.
func TestReadStripeDegraded(t *testing.T) {
	for _, tc := range []struct {
		level, n int
		gone     []int
	}{
		{5, 4, []int{3}}, {6, 5, []int{2, 4}}, {6, 6, []int{0, 5}},
	} {
		t.Run(fmt.Sprintf("raid%d without %v", tc.level, tc.gone), func(t *testing.T) {
			f := newFixture(t, tc.level, tc.n, 0, 1, 47)
			a, g := f.a, f.a.geo
			for _, r := range tc.gone {
				f.faulty[r].Vanish()
				a.failMember(r, errors.New("test"))
			}
			r := rand.New(rand.NewPCG(3, uint64(tc.n)))
			ss := g.stripeSize()
			for range 60 {
				s := r.Int64N(g.stripes)
				in := r.Int64N(ss)
				l := 1 + r.Int64N(ss-in)
				if r.IntN(4) == 0 {
					in, l = 0, ss // whole stripes, the common case
				}
				got := make([]byte, l)
				if err := a.readStripeDegraded(s, in, got); err != nil {
					t.Fatalf("stripe %d [%d,+%d): %v", s, in, l, err)
				}
				if want := f.want[s*ss+in : s*ss+in+l]; !bytes.Equal(got, want) {
					t.Fatalf("stripe %d [%d,+%d): differs at %d", s, in, l, firstDiff(got, want))
				}
			}
		})
	}
}

func TestReadStripeDegradedFallsBack(t *testing.T) {
	f := newFixture(t, 5, 4, 0, 1, 53)
	a, g := f.a, f.a.geo
	f.faulty[1].Vanish()
	a.failMember(1, errors.New("test"))
	f.faulty[2].FailRange(1, 0, 1<<30) // every read of role 2 fails
	if err := a.readStripeDegraded(0, 0, make([]byte, g.stripeSize())); !errors.Is(err, errNeedFullRead) {
		t.Errorf("with a second member unreadable: %v, want errNeedFullRead", err)
	}
}
