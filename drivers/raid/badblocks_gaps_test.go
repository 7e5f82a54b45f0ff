package raid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// listBad lists n bytes of stripe s's chunk on role r, from byte lo, in the
// member's bad-block log and zeroes them on the member, as a rebuild that
// lost them leaves them. It returns the member range and the bytes that
// were there.
func listBad(t *testing.T, a *Array, m Member, r int, s, lo, n int64) (Range, []byte) {
	t.Helper()
	g := a.geo
	bad := Range{g.memberOffset(s, lo), n}
	was := make([]byte, n)
	if _, err := m.ReadAt(was, bad.Off); err != nil {
		t.Fatal(err)
	}
	if _, err := m.WriteAt(make([]byte, n), bad.Off); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	sl := a.roles[r]
	a.mu.Unlock()
	if err := a.addBadBlocks(sl, []Range{bad}); err != nil {
		t.Fatal(err)
	}
	return bad, was
}

// onlyBad returns the one device's list BadBlocks reports, failing when
// there is not exactly one.
func onlyBad(t *testing.T, a *Array) []Range {
	t.Helper()
	bb := a.BadBlocks()
	if len(bb) != 1 {
		t.Fatalf("BadBlocks() = %v, want one device listed", bb)
	}
	for _, rs := range bb {
		return rs
	}
	return nil
}

// sbFeatures reads the feature map of m's superblock.
func sbFeatures(t *testing.T, m Member) uint32 {
	t.Helper()
	sb, err := readSuperblock(m)
	if err != nil {
		t.Fatal(err)
	}
	return sb.FeatureMap
}

// A range listed in a member's bad-block log reads as the data that belongs
// there (reconstructed), never as what the member holds, on RAID-5 and on a
// degraded RAID-6; the list survives reassembly, only the member with
// entries carries md's bad-block bit, and the read's repair clears it.
func TestBadBlocksReadReconstructs(t *testing.T) {
	for _, tc := range []struct {
		level, n int
		fail     bool // one more member gone (RAID-6 still covers both)
	}{
		{5, 4, false},
		{6, 5, true},
	} {
		t.Run(fmt.Sprintf("raid%d", tc.level), func(t *testing.T) {
			f := smallFixture(t, tc.level, tc.n, 0, 8, uint64(50+tc.level))
			a, g := f.a, f.a.geo
			s := int64(3)
			r := g.roleOf(s, 1)
			gone := -1
			if tc.fail {
				gone = g.roleOf(s, 0)
				if err := a.Fail(f.faulty[gone]); err != nil {
					t.Fatal(err)
				}
			}
			bad, was := listBad(t, a, f.faulty[r].Inner(), r, s, 4096, 8192)
			if got := onlyBad(t, a); !slices.Equal(got, []Range{bad}) {
				t.Fatalf("BadBlocks = %v, want %v", got, []Range{bad})
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			var ms []Member
			var mems []*raidtest.Mem
			for i, fm := range f.faulty {
				mem := fm.Inner().(*raidtest.Mem).Reopen()
				mems = append(mems, mem)
				if i != gone {
					ms = append(ms, mem)
				}
			}
			for i, mem := range mems {
				if i == gone {
					continue
				}
				if got, want := sbFeatures(t, mem)&featBadBlocks != 0, i == r; got != want {
					t.Errorf("member %d: bad-block bit %v, want %v (set only where the log lists entries)", i, got, want)
				}
			}
			b, err := Assemble(ms, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if got := onlyBad(t, b); !slices.Equal(got, []Range{bad}) {
				t.Fatalf("after reassembly BadBlocks = %v, want %v", got, []Range{bad})
			}
			if got := b.Status().Members[r].BadBytes; got != bad.Len {
				t.Errorf("Status: role %d BadBytes = %d, want %d", r, got, bad.Len)
			}
			vol := s*g.stripeSize() + 1*g.chunk + 4096
			if got := mustRead(t, b, vol, int(bad.Len)); !bytes.Equal(got, f.want[vol:vol+bad.Len]) {
				t.Fatalf("the listed range read back wrong (zeros: %v)", !bytes.ContainsFunc(got, func(c rune) bool { return c != 0 }))
			}
			// The read rebuilt the range and rewrote it (md's read-error
			// repair): the entry is gone, from memory, log and bit.
			checkCleared(t, b, mems[r], bad, was)
			if sbFeatures(t, mems[r])&featBadBlocks != 0 {
				t.Error("bad-block bit still set with an empty log")
			}
			f.check(b)
		})
	}
}

// With more of a stripe gone than parity covers, a listed range fails with
// ErrUnreadable naming the stripe: never zeros. The rest of that chunk,
// and of the array, still reads, and the entry stays.
func TestBadBlocksBeyondParityUnreadable(t *testing.T) {
	f := smallFixture(t, 5, 4, 0, 8, 61)
	a, g := f.a, f.a.geo
	s, ss := int64(2), g.stripeSize()
	r, other := g.roleOf(s, 0), g.roleOf(s, 1)
	bad, _ := listBad(t, a, f.faulty[r].Inner(), r, s, 4096, 4096)
	if err := a.Fail(f.faulty[other]); err != nil {
		t.Fatal(err)
	}
	for _, rg := range []Range{{s*ss + 4096, 4096}, {s*ss + 6000, 100}, {s * ss, ss}, {s*ss + g.chunk + 4096, 512}} {
		b := make([]byte, rg.Len)
		n, err := a.ReadAt(b, rg.Off)
		if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), fmt.Sprintf("stripe %d", s)) {
			t.Errorf("ReadAt(%d bytes at %d) = %d, %v; want ErrUnreadable naming stripe %d", rg.Len, rg.Off, n, err, s)
		}
	}
	// Outside the listed range: the same chunk read directly, the failed
	// member's chunk reconstructed from bytes that are not listed.
	for _, rg := range []Range{{s * ss, 4096}, {s*ss + 8192, g.chunk - 8192}, {s*ss + g.chunk, 4096}, {0, s * ss}, {(s + 1) * ss, ss}} {
		if got := mustRead(t, a, rg.Off, int(rg.Len)); !bytes.Equal(got, f.want[rg.Off:rg.Off+rg.Len]) {
			t.Errorf("%d bytes at %d read wrong", rg.Len, rg.Off)
		}
	}
	if got := onlyBad(t, a); !slices.Equal(got, []Range{bad}) {
		t.Errorf("BadBlocks = %v, want %v kept", got, []Range{bad})
	}
	if err := a.Repair(s*ss, ss); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("stripe %d", s)) {
		t.Errorf("Repair of the lost stripe = %v, want an error naming it", err)
	}
	if st := a.Status(); st.Members[r].State != MemberInSync {
		t.Errorf("member with the listed range is %s, want in_sync", st.Members[r].State)
	}
}

// Rewriting a listed range from redundancy clears its entry, whichever
// path rewrites it: Repair, scrub's repair (which reports it as a bad
// block), a rebuild reading the member as a survivor, or a write.
func TestBadBlocksClearedByRewrite(t *testing.T) {
	for _, how := range []string{"repair", "scrub", "rebuild", "write"} {
		t.Run(how, func(t *testing.T) {
			spares := 0
			if how == "rebuild" {
				spares = 1
			}
			f := smallFixture(t, 6, 5, spares, 8, 67)
			a, g := f.a, f.a.geo
			s, ss := int64(4), g.stripeSize()
			r := g.roleOf(s, 2)
			bad, was := listBad(t, a, f.faulty[r].Inner(), r, s, 0, 2048)
			vol := s*ss + 2*g.chunk
			switch how {
			case "repair":
				if err := a.Repair(vol, 1); err != nil {
					t.Fatal(err)
				}
			case "scrub":
				p, err := a.Scrub(context.Background(), &ScrubOptions{Repair: true})
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Mismatches) != 1 || p.Mismatches[0].Cause != "bad block" || p.Mismatches[0].Role != r || !p.Mismatches[0].Repaired {
					t.Fatalf("mismatches = %v, want role %d's bad block, repaired", p.Mismatches, r)
				}
			case "rebuild":
				if err := a.Fail(f.faulty[g.roleOf(s, 0)]); err != nil {
					t.Fatal(err)
				}
				if err := a.Rebuild(context.Background(), nil); err != nil {
					t.Fatal(err)
				}
			case "write":
				w := randBytes(rand.New(rand.NewPCG(9, 9)), int(bad.Len))
				if _, err := a.WriteAt(w, vol); err != nil {
					t.Fatal(err)
				}
				copy(f.want[vol:], w)
				copy(was, w)
			}
			checkCleared(t, a, f.faulty[r].Inner(), bad, was)
			f.check(a)
		})
	}
}

// A rebuild that meets a listed range on a survivor beyond what parity
// covers loses it: the new member lists it in turn, and reads of it fail
// instead of returning the zeros written there.
func TestRebuildKeepsLostRangeUnreadable(t *testing.T) {
	f := smallFixture(t, 5, 4, 1, 8, 71)
	a, g := f.a, f.a.geo
	s, ss := int64(5), g.stripeSize()
	r, gone := g.roleOf(s, 0), g.roleOf(s, 1)
	listBad(t, a, f.faulty[r].Inner(), r, s, 1024, 1536)
	if err := a.Fail(f.faulty[gone]); err != nil {
		t.Fatal(err)
	}
	err := a.Rebuild(context.Background(), nil)
	var lost *LostDataError
	if !errors.As(err, &lost) {
		t.Fatalf("Rebuild = %v, want a LostDataError", err)
	}
	want := mergeRanges([]Range{{s*ss + 1024, 1536}, {s*ss + g.chunk + 1024, 1536}})
	if !slices.Equal(lost.Ranges, want) {
		t.Errorf("lost %v, want %v", lost.Ranges, want)
	}
	if n := len(a.BadBlocks()); n != 2 {
		t.Errorf("BadBlocks lists %d devices, want the survivor and the new member: %v", n, a.BadBlocks())
	}
	for _, rg := range lost.Ranges {
		if _, err := a.ReadAt(make([]byte, rg.Len), rg.Off); !errors.Is(err, ErrUnreadable) {
			t.Errorf("ReadAt of lost range %v = %v, want ErrUnreadable", rg, err)
		}
	}
	for _, rg := range []Range{{0, s * ss}, {(s + 1) * ss, a.Size() - (s+1)*ss}, {s * ss, 1024}, {s*ss + g.chunk, 1024}} {
		if got := mustRead(t, a, rg.Off, int(rg.Len)); !bytes.Equal(got, f.want[rg.Off:rg.Off+rg.Len]) {
			t.Errorf("%d bytes at %d read wrong", rg.Len, rg.Off)
		}
	}
}

// A log that the bad-block bit points at but that makes no sense leaves its
// member untrusted rather than read as data.
func TestBadBlocksMalformedLogNotTrusted(t *testing.T) {
	f := smallFixture(t, 5, 4, 0, 8, 73)
	a := f.a
	listBad(t, a, f.faulty[1].Inner(), 1, 0, 0, 512)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	var ms []Member
	for _, fm := range f.faulty {
		ms = append(ms, fm.Inner().(*raidtest.Mem).Reopen())
	}
	off, _, _, _ := a.badBlockLogAt()
	ms[1].WriteAt([]byte{0, 0xfc, 0, 0, 0, 0, 0, 0}, off) // count 0: malformed
	b, err := Assemble(ms, &AssembleOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if st := b.Status(); st.Members[1].State != MemberFaulty || !strings.Contains(st.Members[1].Err, "bad-block") {
		t.Errorf("member with a malformed log: %s (%q), want faulty naming the bad-block log", st.Members[1].State, st.Members[1].Err)
	}
}

// Debian's mdadm sees the bad-block bit on the member whose log lists
// entries, and only there, and reads the entries postvault wrote.
func TestMdadmSeesBadBlocks(t *testing.T) {
	mdadm, err := exec.LookPath("mdadm")
	if err != nil {
		t.Skip("mdadm is not installed (make deps installs it)")
	}
	paths := raidtest.TempFiles(t, 4, 8<<20)
	var ms []Member
	for _, p := range paths {
		m, err := OpenFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	a, err := Create(ms, &CreateOptions{Level: 5, Chunk: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteAt(make([]byte, 500000), 0); err != nil {
		t.Fatal(err)
	}
	bad, _ := listBad(t, a, ms[2], 2, 1, 8192, 4096)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		out := mdadmExamine(t, mdadm, p)
		log := examineField(string(out), "Bad Block Log")
		if !strings.Contains(log, "entries available") {
			t.Errorf("%s: Bad Block Log = %q, want md's log described", filepath.Base(p), log)
		}
		if got := strings.Contains(log, "bad blocks present"); got != (i == 2) {
			t.Errorf("%s: mdadm says bad blocks present = %v, want %v (%q)", filepath.Base(p), got, i == 2, log)
		}
	}
	out, err := exec.Command(mdadm, "--examine-badblocks", paths[2]).CombinedOutput()
	if err != nil {
		t.Fatalf("mdadm --examine-badblocks: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("%d for %d sectors", bad.Off/512, bad.Len/512); !strings.Contains(string(out), want) {
		t.Errorf("mdadm --examine-badblocks = %q, want it to list %q", out, want)
	}
}

// smallFixture is newFixture made light for these tests: members of
// 1.5 MiB and only the first rows stripes written (one write), the rest
// never written.
func smallFixture(t *testing.T, level, n, spares, rows int, seed uint64) *fixture {
	t.Helper()
	f := emptyFixture(t, level, n, spares, 3<<19)
	a := f.a
	w := f.want[:int64(rows)*a.StripeSize()]
	rand.NewChaCha8([32]byte{byte(seed)}).Read(w)
	if _, err := a.WriteAt(w, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBadRangeArithmetic(t *testing.T) {
	list := []Range{{1024, 1024}, {4096, 2048}}
	for _, tc := range []struct {
		name       string
		off, n     int64
		overlaps   bool
		rest       []Range
		subtracted bool
	}{
		{"before", 0, 1024, false, list, false},
		{"between", 2048, 2048, false, list, false},
		{"first whole", 1024, 1024, true, []Range{{4096, 2048}}, true},
		{"covers both", 0, 8192, true, nil, true},
		{"middle of second", 4608, 512, true, []Range{{1024, 1024}, {4096, 512}, {5120, 1024}}, true},
		{"whole units only", 4097, 1535, true, []Range{{1024, 1024}, {4096, 512}, {5632, 512}}, true},
		{"less than a unit", 1100, 300, true, list, false},
		{"last byte", 6143, 1, true, list, false},
		{"after", 6144, 100, false, list, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := overlaps(list, tc.off, tc.n); got != tc.overlaps {
				t.Errorf("overlaps(%d, %d) = %v, want %v", tc.off, tc.n, got, tc.overlaps)
			}
			rest, ok := subtract(list, tc.off, tc.n, 512)
			if ok != tc.subtracted || !slices.Equal(rest, tc.rest) {
				t.Errorf("subtract(%d, %d) = %v, %v; want %v, %v", tc.off, tc.n, rest, ok, tc.rest, tc.subtracted)
			}
		})
	}
	if got, want := roundOut([]Range{{100, 10}, {600, 1000}}, 512), []Range{{0, 2048}}; !slices.Equal(got, want) {
		t.Errorf("roundOut = %v, want %v", got, want)
	}
}

// checkCleared checks that a rewrite cleared the listed range bad of member
// m: no entry in memory or in m's log, and m holds was there.
func checkCleared(t *testing.T, a *Array, m Member, bad Range, was []byte) {
	t.Helper()
	if bb := a.BadBlocks(); len(bb) != 0 {
		t.Errorf("after the rewrite BadBlocks = %v, want none", bb)
	}
	if got, err := a.readBadBlocks(m); err != nil || len(got) != 0 {
		t.Errorf("log after the rewrite = %v, %v; want empty", got, err)
	}
	now := make([]byte, bad.Len)
	m.ReadAt(now, bad.Off)
	if !bytes.Equal(now, was) {
		t.Error("the member's listed range does not hold its data")
	}
}
