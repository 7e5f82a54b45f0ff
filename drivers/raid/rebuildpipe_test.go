package raid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

func TestReconstructSomeFillsOnlyWhatIsNeeded(t *testing.T) {
	r := rand.NewChaCha8([32]byte{9})
	for _, tc := range []struct{ k, m int }{{3, 1}, {4, 2}, {6, 2}} {
		c, err := newCodec(tc.k, tc.m)
		if err != nil {
			t.Fatal(err)
		}
		want := randomStripe(r, tc.k, tc.m, 4096)
		if err := c.encode(want); err != nil {
			t.Fatal(err)
		}
		n := tc.k + tc.m
		for target := range n {
			for other := range n { // left unread and not needed (m = 2)
				if other == target || tc.m == 1 && other != (target+1)%n {
					continue
				}
				got := clone(want)
				need := make([]bool, n)
				got[target], need[target] = got[target][:0], true
				if tc.m == 2 {
					got[other] = nil
				}
				if err := c.reconstructSome(got, need); err != nil {
					t.Fatalf("k=%d m=%d target %d: %v", tc.k, tc.m, target, err)
				}
				if !bytes.Equal(got[target], want[target]) {
					t.Errorf("k=%d m=%d target %d without %d: wrong bytes", tc.k, tc.m, target, other)
				}
				if tc.m == 2 && len(got[other]) != 0 {
					t.Errorf("k=%d m=%d: chunk %d rebuilt though not needed", tc.k, tc.m, other)
				}
			}
		}
	}
}

func TestNeedsReconstruct(t *testing.T) {
	f := newFixture(t, 5, 4, 0, 0.2, 61)
	a, g := f.a, f.a.geo
	f.faulty[2].Vanish()
	a.failMember(2, errors.New("test"))
	ss := g.stripeSize()
	for s := range int64(8) {
		k := g.shardOf(s, 2)
		if got, want := a.needsReconstruct(s, 0, ss), k < g.data; got != want {
			t.Errorf("needsReconstruct(%d, whole stripe) = %v, want %v", s, got, want)
		}
		for i := range g.data {
			if got, want := a.needsReconstruct(s, int64(i)*g.chunk+5, 100), i == k; got != want {
				t.Errorf("needsReconstruct(%d, inside chunk %d) = %v, want %v", s, i, got, want)
			}
		}
	}
}

// A RAID-6 rebuild of one member reads data-count chunks per row, not
// every survivor's.
func TestRebuildReadsOnlyWhatItNeeds(t *testing.T) {
	f := newFixture(t, 6, 6, 1, 1, 67)
	a, g := f.a, f.a.geo
	f.faulty[2].Vanish()
	a.failMember(2, errors.New("test"))
	var before int64
	for i, fm := range f.faulty {
		if i != 2 {
			r, _ := fm.Bytes()
			before += r
		}
	}
	if err := a.Rebuild(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var read int64
	for i, fm := range f.faulty {
		if i != 2 {
			r, _ := fm.Bytes()
			read += r
		}
	}
	read -= before
	need := int64(g.data) * g.stripes * g.chunk
	if read < need || read > need+need/16 {
		t.Errorf("rebuild read %d bytes from the survivors, want about %d (%d of %d per row)", read, need, g.data, g.disks-1)
	}
	f.check(a)
	cleanScrub(t, a)
}

// After a rebuild and a power cut, the rebuilt member holds its chunks and
// their checksums: with two other members gone, the volume reads back.
func TestRebuildDurableAcrossPowerCut(t *testing.T) {
	pc := raidtest.NewPowerCut(6, fixMemberSize, nil)
	ms := pcMembers(pc)
	a, err := Create(ms[:5], &CreateOptions{Level: 6, Chunk: 16 << 10, Spares: ms[5:]})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, a.Size())
	rand.NewChaCha8([32]byte{71}).Read(want[:a.Size()*7/10])
	if _, err := a.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	a.failMember(1, errors.New("test"))
	if err := a.Rebuild(context.Background(), &RebuildOptions{CheckpointEvery: 1}); err != nil {
		t.Fatal(err)
	}
	pc.Cut()
	imgs := pc.Reopen()
	b, err := Assemble([]Member{imgs[0], imgs[2], imgs[3], imgs[4], imgs[5]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !allInSync(b) {
		t.Fatalf("roles after the cut: %v", roleStates(b))
	}
	g := b.geo
	m, _ := b.memberAt(1)
	chunk := make([]byte, g.chunk)
	for s := range g.stripes {
		if !b.used.used(s*g.stripeSize(), g.stripeSize()) {
			continue
		}
		if _, err := m.ReadAt(chunk, g.memberOffset(s, 0)); err != nil {
			t.Fatal(err)
		}
		if crc, ok := b.chunkCRC(1, s); !ok || crc != crc32c(chunk) {
			t.Fatalf("stripe %d: rebuilt chunk's checksum %08x (recorded: %v), chunk's %08x", s, crc, ok, crc32c(chunk))
		}
	}
	b.failMember(0, errors.New("test"))
	b.failMember(3, errors.New("test"))
	got := make([]byte, b.Size())
	if _, err := b.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if i := firstDiff(got, want); i >= 0 {
		t.Fatalf("volume differs at byte %d after the cut", i)
	}
}

// Two members rebuilt at once from different rows: one was half done when
// the other failed. Batches must not mix rows where the first is read with
// rows where it is rebuilt.
func TestRebuildTwoTargetsFromDifferentRows(t *testing.T) {
	f := newFixture(t, 6, 6, 2, 0.8, 73)
	a := f.a
	f.faulty[1].Vanish()
	a.failMember(1, errors.New("test"))
	ctx, cancel := context.WithCancel(context.Background())
	err := a.Rebuild(ctx, &RebuildOptions{CheckpointEvery: 1, MinRate: 4 << 20, MaxRate: 4 << 20,
		Progress: func(p Progress) {
			if p.Done > p.Total*2/5 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Rebuild = %v, want context.Canceled", err)
	}
	rows := a.recoveryRows(1)
	if rows == 0 || rows >= a.geo.stripes {
		t.Fatalf("recovery rows = %d of %d", rows, a.geo.stripes)
	}
	f.faulty[4].Vanish()
	a.failMember(4, errors.New("test"))
	if err := a.Rebuild(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if !allInSync(a) {
		t.Fatalf("roles %v", roleStates(a))
	}
	f.check(a)
	cleanScrub(t, a)
	// and each rebuilt member alone carries its chunks: lose two others
	for _, gone := range [][]int{{0, 2}, {3, 5}} {
		t.Run(fmt.Sprint("without", gone), func(t *testing.T) {
			got := make([]byte, a.Size())
			for s := range a.geo.stripes {
				ss := a.geo.stripeSize()
				b := got[s*ss : (s+1)*ss]
				if err := a.readWithout(s, b, gone); err != nil {
					t.Fatal(err)
				}
			}
			if i := firstDiff(got, f.want); i >= 0 {
				t.Fatalf("differs at %d", i)
			}
		})
	}
}

// readWithout reads stripe s's data as if the roles in gone were missing.
func (a *Array) readWithout(s int64, b []byte, gone []int) error {
	g := a.geo
	shards := make([][]byte, g.disks)
	for i := range g.disks {
		r := g.roleOf(s, i)
		skip := false
		for _, x := range gone {
			skip = skip || x == r
		}
		if skip {
			continue
		}
		m, _ := a.memberAt(r)
		shards[i] = make([]byte, g.chunk)
		if _, err := m.ReadAt(shards[i], g.memberOffset(s, 0)); err != nil {
			return err
		}
	}
	if err := a.codec.reconstructData(shards); err != nil {
		return err
	}
	for i := range g.data {
		copy(b[int64(i)*g.chunk:], shards[i])
	}
	return nil
}
