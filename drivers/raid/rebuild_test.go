package raid

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// fixture is an array on faulty in-memory members plus the volume bytes a
// test wrote, to check against.
type fixture struct {
	t      *testing.T
	a      *Array
	faulty []*raidtest.Faulty // by creation order (role order, then spares)
	want   []byte
}

const fixMemberSize = 3 << 20

// newFixture creates a RAID-level array of n members (+ spares) with a
// 16 KiB chunk and fills frac of its volume, stripe-aligned at random
// places, with random bytes.
func newFixture(t *testing.T, level, n, spares int, frac float64, seed uint64) *fixture {
	t.Helper()
	f := emptyFixture(t, level, n, spares, fixMemberSize)
	a := f.a
	r := rand.New(rand.NewPCG(seed, 1))
	fill := rand.NewChaCha8([32]byte{byte(seed)})
	ss := a.StripeSize()
	stripes := a.Size() / ss
	for _, s := range r.Perm(int(stripes))[:int(float64(stripes)*frac)] {
		b := f.want[int64(s)*ss : int64(s+1)*ss]
		fill.Read(b)
		if _, err := a.WriteAt(b, int64(s)*ss); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	return f
}

// emptyFixture creates an array of n members and spares of size bytes
// (16 KiB chunks), each behind a Faulty, with nothing written.
func emptyFixture(t *testing.T, level, n, spares int, size int64) *fixture {
	t.Helper()
	f := &fixture{t: t}
	var ms, sp []Member
	for i := range n + spares {
		fm := raidtest.NewFaulty(raidtest.NewMem(size))
		f.faulty = append(f.faulty, fm)
		if i < n {
			ms = append(ms, fm)
		} else {
			sp = append(sp, fm)
		}
	}
	a, err := Create(ms, &CreateOptions{Level: level, Chunk: 16 << 10, Spares: sp})
	if err != nil {
		t.Fatal(err)
	}
	f.a = a
	f.want = make([]byte, a.Size())
	return f
}

// check reads the whole volume and compares it with what was written.
func (f *fixture) check(a *Array) {
	f.t.Helper()
	got := make([]byte, a.Size())
	if _, err := a.ReadAt(got, 0); err != nil {
		f.t.Fatalf("ReadAt: %v", err)
	}
	if i := firstDiff(got, f.want); i >= 0 {
		f.t.Fatalf("volume differs from what was written at byte %d", i)
	}
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// members returns the array's members (roles, then spares) unwrapped.
func arrayMembers(a *Array) []Member {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Member
	for _, s := range append(append([]*slot(nil), a.roles...), a.spares...) {
		if s.m != nil {
			out = append(out, unwrap(s.m))
		}
	}
	return out
}

func roleStates(a *Array) []MemberState {
	var out []MemberState
	for r := range a.geo.disks {
		m, st := a.memberAt(r)
		if m == nil {
			st = MemberMissing
		}
		out = append(out, st)
	}
	return out
}

func allInSync(a *Array) bool {
	for _, st := range roleStates(a) {
		if st != MemberInSync {
			return false
		}
	}
	return true
}

// cleanScrub fails the test unless every stripe in use checks out.
func cleanScrub(t *testing.T, a *Array) {
	t.Helper()
	p, err := a.Scrub(context.Background(), &ScrubOptions{Restart: true})
	if err != nil {
		t.Fatalf("Scrub: %v", err)
	}
	if len(p.Mismatches) > 0 {
		t.Fatalf("Scrub found %d mismatches, first %v", len(p.Mismatches), p.Mismatches[0])
	}
}

func TestRebuildOntoSpare(t *testing.T) {
	for _, tc := range []struct {
		name   string
		level  int
		n      int
		failed []int
	}{
		{"raid5", 5, 4, []int{1}},
		{"raid6 one", 6, 5, []int{3}},
		{"raid6 two", 6, 6, []int{0, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.level, tc.n, len(tc.failed), 0.6, 7)
			a := f.a
			for _, r := range tc.failed {
				f.faulty[r].Vanish()
				a.failMember(r, errors.New("test"))
			}
			f.check(a) // degraded
			var calls int
			err := a.Rebuild(context.Background(), &RebuildOptions{Progress: func(Progress) { calls++ }})
			if err != nil {
				t.Fatalf("Rebuild: %v", err)
			}
			if !allInSync(a) {
				t.Fatalf("after Rebuild roles are %v", roleStates(a))
			}
			p, ok := a.RebuildProgress()
			if !ok || p.Running || p.Done != p.Total || p.Total == 0 || calls == 0 || p.Rate <= 0 {
				t.Errorf("progress = %+v after %d callbacks", p, calls)
			}
			f.check(a)
			cleanScrub(t, a)
			if err := a.Close(); err != nil && !errors.Is(err, raidtest.ErrGone) {
				t.Fatal(err) // the vanished members fail to close, as pulled disks do
			}
			var ms []Member
			for _, m := range arrayMembers(a) {
				ms = append(ms, m.(*raidtest.Faulty).Inner().(*raidtest.Mem).Reopen())
			}
			b, err := Assemble(ms, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if !allInSync(b) {
				t.Fatalf("reassembled roles are %v", roleStates(b))
			}
			f.check(b)
		})
	}
}

func TestRebuildOnlyUsedSpace(t *testing.T) {
	f := newFixture(t, 5, 4, 1, 0.1, 3)
	f.faulty[2].Vanish()
	f.a.failMember(2, errors.New("test"))
	spare := f.faulty[4]
	_, w0, _ := spare.Counts()
	_, b0 := spare.Bytes()
	if err := f.a.Rebuild(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	_, w1, _ := spare.Counts()
	_, b1 := spare.Bytes()
	g := f.a.geo
	used := f.a.used.usedBytes() / g.stripeSize()
	if chunks := (b1 - b0) / g.chunk; chunks > used+16 || chunks < used {
		t.Errorf("rebuild wrote %d chunks' worth (%d writes) onto the spare, %d stripes in use", chunks, w1-w0, used)
	}
	f.check(f.a)
}

func TestRebuildResumesFromCheckpoint(t *testing.T) {
	f := newFixture(t, 6, 5, 1, 0.8, 11)
	f.faulty[1].Vanish()
	f.a.failMember(1, errors.New("test"))
	ctx, cancel := context.WithCancel(context.Background())
	err := f.a.Rebuild(ctx, &RebuildOptions{CheckpointEvery: time.Nanosecond, MinRate: 2 << 20, MaxRate: 2 << 20, Progress: func(p Progress) {
		if p.Done > p.Total/2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Rebuild = %v, want context.Canceled", err)
	}
	rows := f.a.recoveryRows(1)
	if rows == 0 || rows >= f.a.geo.stripes {
		t.Fatalf("recovery rows after a stop = %d of %d", rows, f.a.geo.stripes)
	}
	f.check(f.a)
	f.a.Close()
	var ms []Member
	for i, fm := range f.faulty {
		if i != 1 {
			ms = append(ms, fm.Inner().(*raidtest.Mem).Reopen())
		}
	}
	b, err := Assemble(ms, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := b.recoveryRows(1); got != rows {
		t.Fatalf("reassembled recovery rows = %d, want %d", got, rows)
	}
	f.check(b)
	if err := b.Rebuild(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	p, _ := b.RebuildProgress()
	if p.Row != b.geo.stripes || p.Total >= int64(float64(b.geo.stripes*b.geo.chunk)*0.8) {
		t.Errorf("resumed rebuild covered %d bytes of work, want less than the whole", p.Total)
	}
	if !allInSync(b) {
		t.Fatalf("roles %v", roleStates(b))
	}
	f.check(b)
	cleanScrub(t, b)
}

func TestRebuildUnreadableSector(t *testing.T) {
	for _, tc := range []struct {
		name     string
		level, n int
		wantLost bool
	}{
		{"raid5 loses the sectors", 5, 4, true},
		{"raid6 reconstructs them", 6, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.level, tc.n, 1, 1, 5)
			a := f.a
			g := a.geo
			f.faulty[0].Vanish()
			a.failMember(0, errors.New("test"))
			// role 2 cannot read 3 sectors of stripe 4's chunk, from byte 1024 of it
			bad := Range{g.memberOffset(4, 1024), 1536}
			f.faulty[2].FailRange(raidtest.Read, bad.Off, bad.Len)
			err := a.Rebuild(context.Background(), nil)
			var lost *LostDataError
			if !tc.wantLost {
				if err != nil {
					t.Fatalf("Rebuild = %v", err)
				}
				f.faulty[2].ClearFaults()
				f.check(a)
				return
			}
			if !errors.As(err, &lost) {
				t.Fatalf("Rebuild = %v, want a LostDataError", err)
			}
			// Lost: the chunks of roles 0 (missing) and 2 (unreadable) in those sectors.
			var want []Range
			for i := range g.data {
				if r := g.roleOf(4, i); r == 0 || r == 2 {
					want = append(want, Range{4*g.stripeSize() + int64(i)*g.chunk + 1024, 1536})
				}
			}
			if !slices.Equal(lost.Ranges, mergeRanges(want)) {
				t.Errorf("lost %v, want %v", lost.Ranges, mergeRanges(want))
			}
			if !allInSync(a) {
				t.Errorf("roles %v after a rebuild with losses", roleStates(a))
			}
			// the spare (now role 0) lists the sectors in md's bad-block log
			m, _ := a.memberAt(0)
			got, err := a.readBadBlocks(m)
			if err != nil {
				t.Fatal(err)
			}
			if wantBB := []Range{{g.memberOffset(4, 1024), 1536}}; !slices.Equal(got, wantBB) {
				t.Errorf("bad-block log = %v, want %v", got, wantBB)
			}
			// everything else is intact
			f.faulty[2].ClearFaults()
			for _, r := range want {
				clear(f.want[r.Off : r.Off+r.Len])
				got := make([]byte, r.Len)
				a.ReadAt(got, r.Off)
				copy(f.want[r.Off:], got)
			}
			f.check(a)
		})
	}
}

func TestStartRebuildWithForegroundIO(t *testing.T) {
	f := newFixture(t, 6, 5, 1, 0.5, 13)
	a := f.a
	f.faulty[4].Vanish()
	a.failMember(4, errors.New("test"))
	started, err := a.StartRebuild(context.Background(), &RebuildOptions{MaxRate: 8 << 20, MinRate: 2 << 20})
	if err != nil || !started {
		t.Fatalf("StartRebuild = %v, %v", started, err)
	}
	if again, err := a.StartRebuild(context.Background(), nil); !again || err != nil {
		t.Errorf("second StartRebuild = %v, %v, want true (running), nil", again, err)
	}
	r := rand.New(rand.NewPCG(2, 2))
	fill := rand.NewChaCha8([32]byte{2})
	buf := make([]byte, 5000)
	for {
		p, _ := a.RebuildProgress()
		if !p.Running {
			if p.Err != "" {
				t.Fatalf("rebuild: %s", p.Err)
			}
			break
		}
		off := r.Int64N(a.Size() - int64(len(buf)))
		fill.Read(buf)
		if _, err := a.WriteAt(buf, off); err != nil {
			t.Fatal(err)
		}
		copy(f.want[off:], buf)
		if _, err := a.ReadAt(buf, r.Int64N(a.Size()-int64(len(buf)))); err != nil {
			t.Fatal(err)
		}
	}
	if !allInSync(a) {
		t.Fatalf("roles %v", roleStates(a))
	}
	f.check(a)
	cleanScrub(t, a)
	if started, err := a.StartRebuild(context.Background(), nil); started || err != nil {
		t.Errorf("StartRebuild on a healthy array = %v, %v", started, err)
	}
}

func TestAddAndReplace(t *testing.T) {
	f := newFixture(t, 5, 4, 0, 0.7, 17)
	a := f.a
	if role, err := a.Add(raidtest.NewMem(fixMemberSize)); role != -1 || err != nil {
		t.Fatalf("Add to a healthy array = %d, %v, want -1 (spare)", role, err)
	}
	if err := a.Rebuild(context.Background(), nil); !errors.Is(err, ErrNothingToRebuild) {
		t.Errorf("Rebuild of a healthy array = %v", err)
	}
	if _, err := a.Add(raidtest.NewMem(1 << 20)); err == nil {
		t.Error("Add of a too small member succeeded")
	}
	// replace role 3, copying from it
	old := f.faulty[3]
	r0, _, _ := old.Counts()
	nm := raidtest.NewFaulty(raidtest.NewMem(fixMemberSize))
	if err := a.Replace(context.Background(), f.faulty[0], raidtest.NewMem(1<<20), nil); err == nil {
		t.Error("Replace with a new member smaller than needed succeeded")
	}
	if err := a.Replace(context.Background(), old, nm, nil); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	if m, st := a.memberAt(3); unwrap(m) != nm || st != MemberInSync {
		t.Fatalf("role 3 is %v (%s), want the new member in sync", m, st)
	}
	if r1, _, _ := old.Counts(); r1 == r0 {
		t.Error("Replace never read the old member")
	}
	f.check(a)
	cleanScrub(t, a)
	// a degraded array: Add fills the hole
	f.faulty[1].Vanish()
	a.failMember(1, errors.New("test"))
	if role, err := a.Add(raidtest.NewMem(fixMemberSize)); err != nil || role != 1 {
		// the spare added first takes it
		t.Fatalf("Add to a degraded array = %d, %v, want role 1", role, err)
	}
	if err := a.Rebuild(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	f.check(a)
}

func TestRebuildIntoReadOnly(t *testing.T) {
	f := newFixture(t, 6, 5, 0, 0.5, 19)
	f.a.Close()
	orig := f.faulty[2].Inner().(*raidtest.Mem).Bytes()
	var ms []Member
	for i, fm := range f.faulty {
		if i != 2 {
			ms = append(ms, fm.Inner().(*raidtest.Mem).Reopen())
		}
	}
	a, err := Assemble(ms, &AssembleOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dst := raidtest.NewMem(fixMemberSize)
	if err := a.RebuildInto(context.Background(), 2, dst, nil); err != nil {
		t.Fatal(err)
	}
	g := a.geo
	end := g.dataOffset + g.stripes*g.chunk
	if !bytes.Equal(dst.Bytes()[g.dataOffset:end], orig[g.dataOffset:end]) {
		t.Error("RebuildInto's data area differs from the original member's")
	}
}

func TestThrottleRates(t *testing.T) {
	mt := &maintenance{lat: newLatencyMonitor(0, nil, nil)}
	th := newThrottle(mt, 1<<20, 8<<20, time.Second)
	done := make(chan struct{})
	start := time.Now()
	for range 8 {
		th.wait(done, 128<<10) // 1 MiB at 8 MiB/s: ~125 ms
	}
	idle := time.Since(start)
	mt.total.Add(5) // foreground I/O
	start = time.Now()
	for range 2 {
		th.wait(done, 128<<10) // 256 KiB at 1 MiB/s: ~250 ms
	}
	busy := time.Since(start)
	if idle < 100*time.Millisecond || idle > 400*time.Millisecond {
		t.Errorf("1 MiB at the max rate took %v, want about 125ms", idle)
	}
	if busy < 200*time.Millisecond {
		t.Errorf("256 KiB at the min rate took %v, want about 250ms", busy)
	}
	close(done)
	if th.wait(done, 1<<30) {
		t.Error("wait did not return early when told to stop")
	}
}

func TestBadBlockLogRoundTrip(t *testing.T) {
	in := []Range{{512 * 100, 512 * 3}, {512 * 103, 512}, {512 * 5000, 512 * 700}, {1000, 10}}
	b, err := encodeBadBlocks(in, 4096, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeBadBlocks(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Range{{512, 512}, {512 * 100, 512 * 4}, {512 * 5000, 512 * 700}}
	if !slices.Equal(got, want) {
		t.Errorf("round trip = %v, want %v", got, want)
	}
	// md's entries: sector<<10 | count, at most 512 sectors each, then all ones
	for i, want := range []uint64{1<<10 | 1, 100<<10 | 4, 5000<<10 | 512, 5512<<10 | 188, ^uint64(0)} {
		if got := binary.LittleEndian.Uint64(b[8*i:]); got != want {
			t.Errorf("entry %d = %#x, want %#x", i, got, want)
		}
	}
	if _, err := encodeBadBlocks(in, 16, 0); err == nil {
		t.Error("a log too small for the entries was accepted")
	}
	if got, err := decodeBadBlocks(make([]byte, 4096), 0); err != nil || len(got) != 0 {
		t.Errorf("zeroed log = %v, %v, want empty", got, err)
	}
}

func FuzzDecodeBadBlocks(f *testing.F) {
	b, _ := encodeBadBlocks([]Range{{512 * 9, 4096}, {1 << 30, 512 * 600}}, 512, 0)
	f.Add(b, uint8(0))
	f.Add(make([]byte, 64), uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, shift uint8) {
		shift %= 8
		rs, err := decodeBadBlocks(b, shift)
		if err != nil {
			return
		}
		enc, err := encodeBadBlocks(rs, len(rs)*8*2+8, shift)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeBadBlocks(enc, shift)
		if err != nil || !slices.Equal(again, rs) {
			t.Fatalf("round trip %v -> %v (%v)", rs, again, err)
		}
	})
}
