package raid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// corruptChunk flips bits in three places of the chunk of stripe s at
// stripe position i (data 0..k-1, then P, then Q), on the member itself.
func corruptChunk(t *testing.T, f *fixture, s int64, i int) (role int) {
	t.Helper()
	g := f.a.geo
	role = g.roleOf(s, i)
	m := f.faulty[role].Inner()
	for _, off := range []int64{0, 777, g.chunk - 1} {
		if err := raidtest.Corrupt(m, g.memberOffset(s, off), 0x5a); err != nil {
			t.Fatal(err)
		}
	}
	return role
}

func memberChunk(f *fixture, role int, s int64) []byte {
	g := f.a.geo
	b := make([]byte, g.chunk)
	f.faulty[role].Inner().ReadAt(b, g.memberOffset(s, 0))
	return b
}

func TestScrubFindsAndRepairs(t *testing.T) {
	for _, tc := range []struct {
		level, n  int
		wantCause string
	}{
		{5, 4, "checksum"},
		{6, 5, "parity"},
	} {
		t.Run(fmt.Sprintf("raid%d", tc.level), func(t *testing.T) {
			f := newFixture(t, tc.level, tc.n, 0, 1, 23)
			a, g := f.a, f.a.geo
			type hit struct {
				s    int64
				i    int
				kind string
			}
			hits := []hit{{3, 0, "data"}, {10, g.data - 1, "data"}, {20, g.data, "P"}}
			if tc.level == 6 {
				hits = append(hits, hit{31, g.data + 1, "Q"})
			}
			orig := map[int64][]byte{}
			roles := map[int64]int{}
			for _, h := range hits {
				r := g.roleOf(h.s, h.i)
				orig[h.s] = memberChunk(f, r, h.s)
				roles[h.s] = corruptChunk(t, f, h.s, h.i)
			}
			p, err := a.Scrub(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Mismatches) != len(hits) {
				t.Fatalf("found %d mismatches, want %d: %v", len(p.Mismatches), len(hits), p.Mismatches)
			}
			for k, h := range hits {
				m := p.Mismatches[k]
				if m.Stripe != h.s || m.Role != roles[h.s] || m.Kind != h.kind || m.Cause != tc.wantCause || m.Repaired {
					t.Errorf("mismatch %d = %v, want stripe %d role %d %s by %s", k, m, h.s, roles[h.s], h.kind, tc.wantCause)
				}
				if m.Member != (Range{g.memberOffset(h.s, 0), g.chunk}) {
					t.Errorf("mismatch %d member range %v", k, m.Member)
				}
				if h.kind == "data" && m.Volume != (Range{h.s*g.stripeSize() + int64(h.i)*g.chunk, g.chunk}) {
					t.Errorf("mismatch %d volume range %v", k, m.Volume)
				}
				if bytes.Equal(memberChunk(f, roles[h.s], h.s), orig[h.s]) {
					t.Errorf("a scrub without repair changed stripe %d", h.s)
				}
			}
			p, err = a.Scrub(context.Background(), &ScrubOptions{Repair: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range p.Mismatches {
				if !m.Repaired {
					t.Errorf("not repaired: %v", m)
				}
			}
			for _, h := range hits {
				if !bytes.Equal(memberChunk(f, roles[h.s], h.s), orig[h.s]) {
					t.Errorf("stripe %d's chunk on role %d not restored", h.s, roles[h.s])
				}
			}
			cleanScrub(t, a)
			f.check(a)
		})
	}
}

// Without checksums (as on an array md made) RAID-5 cannot tell which chunk
// is wrong: the mismatch is reported unlocated and repair rewrites parity,
// as md's repair does.
func TestScrubUnlocatedRewritesParity(t *testing.T) {
	f := newFixture(t, 5, 4, 0, 1, 29)
	a, g := f.a, f.a.geo
	for r := range g.disks {
		a.crcs.reset(r)
	}
	corruptChunk(t, f, 7, 1)
	p, err := a.Scrub(context.Background(), &ScrubOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Mismatches) != 1 || p.Mismatches[0].Cause != "unlocated" || p.Mismatches[0].Role != -1 || !p.Mismatches[0].Repaired {
		t.Fatalf("mismatches = %v, want one unlocated, repaired", p.Mismatches)
	}
	cleanScrub(t, a) // parity agrees with the (wrong) data now
}

func TestScrubDegradedRAID6(t *testing.T) {
	f := newFixture(t, 6, 5, 0, 1, 31)
	a, g := f.a, f.a.geo
	f.faulty[0].Vanish()
	a.failMember(0, errors.New("test"))
	s := int64(5)
	i := 0
	if g.roleOf(s, i) == 0 {
		i = 1
	}
	orig := memberChunk(f, g.roleOf(s, i), s)
	role := corruptChunk(t, f, s, i)
	p, err := a.Scrub(context.Background(), &ScrubOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Mismatches) != 1 || p.Mismatches[0].Role != role || p.Mismatches[0].Cause != "checksum" || !p.Mismatches[0].Repaired {
		t.Fatalf("mismatches = %v, want role %d by checksum, repaired", p.Mismatches, role)
	}
	if !bytes.Equal(memberChunk(f, role, s), orig) {
		t.Error("chunk not restored")
	}
	f.check(a)
}

func TestScrubReadError(t *testing.T) {
	f := newFixture(t, 5, 4, 0, 1, 37)
	g := f.a.geo
	f.faulty[2].FailRange(raidtest.Read, g.memberOffset(9, 4096), 512)
	p, err := f.a.Scrub(context.Background(), &ScrubOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Mismatches) != 1 || p.Mismatches[0].Role != 2 || p.Mismatches[0].Cause != "read error" || !p.Mismatches[0].Repaired {
		t.Fatalf("mismatches = %v", p.Mismatches)
	}
	if _, w, _ := f.faulty[2].Counts(); w == 0 {
		t.Error("the unreadable chunk was not rewritten")
	}
}

func TestScrubResumes(t *testing.T) {
	f := newFixture(t, 6, 5, 0, 1, 41)
	a := f.a
	ctx, cancel := context.WithCancel(context.Background())
	_, err := a.Scrub(ctx, &ScrubOptions{MinRate: 8 << 20, MaxRate: 8 << 20, CheckpointEvery: 1, Progress: func(p Progress) {
		if p.Done > p.Total/3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Scrub = %v, want context.Canceled", err)
	}
	first, _ := a.ScrubProgress()
	ck, ok := a.readScrubCheckpoint()
	if !ok || ck.row != first.Row || ck.flags&scrubFinished != 0 {
		t.Fatalf("checkpoint = %+v, %v; progress row %d", ck, ok, first.Row)
	}
	p, err := a.Scrub(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Total >= first.Total || p.Done != p.Total || p.Row != a.geo.stripes {
		t.Errorf("resumed scrub: %d of %d bytes, row %d; first run's total %d", p.Done, p.Total, p.Row, first.Total)
	}
	if ck, _ := a.readScrubCheckpoint(); ck.flags&scrubFinished == 0 {
		t.Error("finished scrub's checkpoint not marked finished")
	}
	if p, _ := a.Scrub(context.Background(), nil); p.Total != a.used.usedBytes() {
		t.Errorf("scrub after a finished one covered %d bytes, want all %d in use", p.Total, a.used.usedBytes())
	}
}

func TestScrubBusy(t *testing.T) {
	f := newFixture(t, 5, 4, 0, 1, 43)
	a := f.a
	if err := a.StartScrub(context.Background(), &ScrubOptions{MinRate: 1 << 20, MaxRate: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Scrub(context.Background(), nil); !errors.Is(err, ErrBusy) {
		t.Errorf("second scrub = %v, want ErrBusy", err)
	}
	if err := a.Rebuild(context.Background(), nil); !errors.Is(err, ErrBusy) {
		t.Errorf("rebuild during a scrub = %v, want ErrBusy", err)
	}
	mt := a.maint()
	mt.scrub.cancel()
	<-mt.scrub.done
	if p, _ := a.ScrubProgress(); p.Running || p.Err == "" {
		t.Errorf("stopped scrub progress = %+v", p)
	}
}
