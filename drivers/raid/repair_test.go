package raid

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// filled returns an array of level over n in-memory members (wrapped in
// Faulty), filled with random bytes and flushed, and those bytes.
func filled(t *testing.T, level, n int) (*Array, []*raidtest.Faulty, []byte) {
	t.Helper()
	var fs []*raidtest.Faulty
	var ms []Member
	for range n {
		f := raidtest.NewFaulty(raidtest.NewMem(2 << 20))
		fs = append(fs, f)
		ms = append(ms, f)
	}
	a, err := Create(ms, &CreateOptions{Level: level, Chunk: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(rand.New(rand.NewPCG(uint64(level), uint64(n))), int(a.Size()))
	if _, err := a.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	return a, fs, data
}

func TestRepairFindsSilentCorruption(t *testing.T) {
	for _, level := range []int{5, 6} {
		t.Run(fmt.Sprintf("raid%d", level), func(t *testing.T) {
			a, fs, data := filled(t, level, 5)
			defer a.Close()
			g := a.geo
			for _, c := range []struct {
				s     int64
				shard int
			}{{3, 0}, {4, g.data}, {7, g.disks - 1}} {
				r := g.roleOf(c.s, c.shard)
				if err := raidtest.Corrupt(fs[r].Inner(), g.memberOffset(c.s, 1000), 0x5a); err != nil {
					t.Fatal(err)
				}
			}
			chk, err := a.repairStripe(3, false)
			if err != nil || len(chk.Bad) != 1 || chk.Bad[0] != g.roleOf(3, 0) {
				t.Fatalf("repairStripe(3, check only) = %+v, %v; want role %d bad", chk, err, g.roleOf(3, 0))
			}
			if err := a.Repair(0, a.Size()); err != nil {
				t.Fatalf("Repair: %v", err)
			}
			for s := int64(0); s < g.stripes; s++ {
				if chk, err := a.repairStripe(s, false); err != nil || len(chk.Bad) != 0 {
					t.Fatalf("after Repair, stripe %d: %+v, %v", s, chk, err)
				}
			}
			if got := mustRead(t, a, 0, int(a.Size())); !bytes.Equal(got, data) {
				t.Fatal("volume differs after Repair")
			}
		})
	}
}

func TestRepairRAID5WithoutChecksumFails(t *testing.T) {
	a, fs, _ := filled(t, 5, 4)
	defer a.Close()
	g := a.geo
	r := g.roleOf(2, 1)
	a.setChunkCRC(r, 2, 0) // no checksum recorded: parity alone cannot blame a chunk
	if err := raidtest.Corrupt(fs[r].Inner(), g.memberOffset(2, 5), 1); err != nil {
		t.Fatal(err)
	}
	err := a.Repair(2*a.StripeSize(), 1)
	if err == nil || !strings.Contains(err.Error(), "stripe 2") {
		t.Fatalf("Repair = %v, want an error naming stripe 2", err)
	}
}

func TestWriteErrorFailsMember(t *testing.T) {
	a, fs, data := filled(t, 6, 5)
	g := a.geo
	fs[2].FailRange(raidtest.Write, g.dataOffset, g.stripes*g.chunk)
	w := randBytes(rand.New(rand.NewPCG(5, 5)), int(a.StripeSize())*3+777)
	if _, err := a.WriteAt(w, 1234); err != nil {
		t.Fatalf("WriteAt with one failing member: %v", err)
	}
	copy(data[1234:], w)
	st := a.Status()
	if st.State != StateDegraded || st.Members[2].State != MemberFaulty {
		t.Fatalf("Status = %s, member 2 %s; want degraded, faulty", st.State, st.Members[2].State)
	}
	if got := mustRead(t, a, 0, int(a.Size())); !bytes.Equal(got, data) {
		t.Fatal("volume differs after a member failed")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// The others' superblocks record role 2 as faulty (0xfffe).
	for i, f := range fs {
		if i == 2 {
			continue
		}
		sb, err := readSuperblock(f.Inner().(*raidtest.Mem).Reopen())
		if err != nil {
			t.Fatal(err)
		}
		if got := sb.DevRoles[2]; got != RoleFaulty {
			t.Errorf("member %d: dev_roles[2] = %#x, want 0xfffe", i, got)
		}
	}
	var ms []Member
	for _, f := range fs {
		ms = append(ms, f.Inner().(*raidtest.Mem).Reopen())
	}
	b, err := Assemble(ms, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := mustRead(t, b, 0, int(b.Size())); !bytes.Equal(got, data) {
		t.Fatal("volume differs after reassembly")
	}
	if st := b.Status(); st.Members[2].State == MemberInSync {
		t.Error("the failed member came back in sync")
	}
}

func TestReadErrorRepaired(t *testing.T) {
	a, fs, data := filled(t, 5, 4)
	defer a.Close()
	g := a.geo
	r := g.roleOf(1, 0)
	bad := g.memberOffset(1, 8192)
	fs[r].FailRange(raidtest.Read, bad, 512)
	if got := mustRead(t, a, 0, int(a.Size())); !bytes.Equal(got, data) {
		t.Fatal("volume differs with a read error")
	}
	fs[r].ClearFaults()
	// The bad sector was rewritten from redundancy.
	b := make([]byte, 512)
	fs[r].Inner().ReadAt(b, bad)
	off := a.StripeSize() + 8192
	if !bytes.Equal(b, data[off:off+512]) {
		t.Error("the unreadable sector was not rewritten")
	}
	if st := a.Status(); st.State != StateClean {
		t.Errorf("State = %s, want clean (a repaired read error keeps the member)", st.State)
	}
}

func TestAssembleRules(t *testing.T) {
	ms := memMembers(4, 2<<20)
	a, err := Create(ms, &CreateOptions{Level: 5, Chunk: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteAt(make([]byte, 4096), 0); err != nil {
		t.Fatal(err)
	}
	// Crash: no Close, so the array stays dirty.
	a.Flush()
	crashed := reopen(ms)

	t.Run("dirty and degraded refused", func(t *testing.T) {
		_, err := Assemble(reopen(crashed)[1:], nil)
		if !errors.Is(err, ErrDirtyDegraded) || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("Assemble = %v, want ErrDirtyDegraded explaining --force", err)
		}
		b, err := Assemble(reopen(crashed)[1:], &AssembleOptions{Force: true})
		if err != nil {
			t.Fatalf("forced: %v", err)
		}
		b.Close()
	})
	t.Run("foreign member refused and untouched", func(t *testing.T) {
		other := memMembers(3, 2<<20)
		o, err := Create(other, &CreateOptions{Level: 5, Chunk: 16 << 10})
		if err != nil {
			t.Fatal(err)
		}
		o.Close()
		set := reopen(crashed)
		foreign := other[0].(*raidtest.Mem).Reopen()
		before := foreign.Bytes()
		_, err = Assemble(append(set, foreign), &AssembleOptions{Force: true})
		if !errors.Is(err, ErrForeign) {
			t.Fatalf("Assemble = %v, want ErrForeign", err)
		}
		if !bytes.Equal(before, foreign.Bytes()) {
			t.Fatal("the foreign member was written")
		}
	})
	t.Run("stale member not trusted", func(t *testing.T) {
		set := reopen(crashed)
		old := set[3].(*raidtest.Mem).Reopen()
		b, err := Assemble(set[:3], &AssembleOptions{Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.WriteAt(bytes.Repeat([]byte{7}, 4096), 0); err != nil {
			t.Fatal(err)
		}
		b.Close() // events move on by more than one
		set2 := reopen(set[:3])
		c, err := Assemble(append(set2, old), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if st := c.Status(); st.Members[3].State == MemberInSync {
			t.Errorf("the member that missed writes is %s, want it not in sync", st.Members[3].State)
		}
		if got := mustRead(t, c, 0, 4096); !bytes.Equal(got, bytes.Repeat([]byte{7}, 4096)) {
			t.Error("read used the stale member")
		}
	})
	t.Run("more than one event behind is stale", func(t *testing.T) {
		set := reopen(crashed)
		for _, m := range set[:3] {
			sb, err := readSuperblock(m)
			if err != nil {
				t.Fatal(err)
			}
			sb.Events += 2
			if err := writeSuperblock(m, sb, true); err != nil {
				t.Fatal(err)
			}
		}
		b, err := Assemble(set, &AssembleOptions{ReadOnly: true, Force: true})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if st := b.Status(); st.Members[3].State != MemberRebuilding || st.State != StateRebuilding {
			t.Errorf("Status = %s, stale member %s; want rebuilding, rebuilding", st.State, st.Members[3].State)
		}
	})
	t.Run("truncated member refused", func(t *testing.T) {
		set := reopen(crashed)
		img := set[1].(*raidtest.Mem).Bytes()
		set[1] = raidtest.MemOf(img[:len(img)-100000])
		if _, err := Assemble(set, &AssembleOptions{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("Assemble = %v, want an error about a truncated member", err)
		}
	})
	t.Run("torn superblock keeps identity", func(t *testing.T) {
		set := reopen(crashed)
		m := set[2].(*raidtest.Mem)
		garbage := bytes.Repeat([]byte{0xee}, 300)
		m.WriteAt(garbage, sbOffset+100) // a torn primary superblock
		b, err := Assemble(set, &AssembleOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if st := b.Status(); st.State != StateClean || st.Members[2].State != MemberInSync {
			t.Errorf("Status = %s, member 2 %s; want clean, in_sync", st.State, st.Members[2].State)
		}
	})
}

// TestReadOnlyNeverWrites assembles, read-only, an array that crashed with
// journal records not yet checkpointed and a member missing: reads see the
// journaled writes, and no member is written.
func TestReadOnlyNeverWrites(t *testing.T) {
	ms := memMembers(4, 2<<20)
	a, err := Create(ms, &CreateOptions{Level: 5, Chunk: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(8, 8))
	data := randBytes(r, int(a.Size()))
	if _, err := a.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	var before [][]byte
	for _, m := range ms {
		before = append(before, m.(*raidtest.Mem).Bytes())
	}
	patch := randBytes(r, 5000)
	if _, err := a.WriteAt(patch, 70000); err != nil { // journaled, never checkpointed
		t.Fatal(err)
	}
	copy(data[70000:], patch)
	var images [][]byte
	var ro []Member
	for i, m := range ms[1:] {
		// The crash came before any in-place write reached the media: the
		// data area is as before the patch, the journal holds the record.
		img := m.(*raidtest.Mem).Bytes()
		copy(img[a.geo.dataOffset:], before[i+1][a.geo.dataOffset:])
		images = append(images, img)
		f := raidtest.NewFaulty(raidtest.MemOf(img))
		f.FailRange(raidtest.Write, 0, 1<<40) // any write fails the test below
		ro = append(ro, f)
	}
	b, err := Assemble(ro, &AssembleOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, b, 0, int(b.Size())); !bytes.Equal(got, data) {
		t.Error("read-only degraded volume differs from what was written")
	}
	if st := b.Status(); !st.Dirty || st.State != StateDegraded {
		t.Errorf("Status = dirty %v, %s; want dirty, degraded", st.Dirty, st.State)
	}
	b.Close()
	for i, f := range ro {
		if _, w, _ := f.(*raidtest.Faulty).Counts(); w != 0 {
			t.Errorf("member %d: %d writes during a read-only assembly", i, w)
		}
		if !bytes.Equal(f.(*raidtest.Faulty).Inner().(*raidtest.Mem).Bytes(), images[i]) {
			t.Errorf("member %d changed", i)
		}
	}
}

// A read error that redundancy cannot cover (RAID-5 already degraded) loses
// only that range: the read fails with ErrUnreadable, the member that
// failed the read stays in the array, and every other stripe still reads.
func TestUnreadableRangeKeepsArray(t *testing.T) {
	a, fs, data := filled(t, 5, 4)
	defer a.Close()
	g := a.geo
	gone := g.roleOf(1, 1)
	if err := a.Fail(fs[gone]); err != nil {
		t.Fatal(err)
	}
	r := g.roleOf(1, 0)
	fs[r].FailRange(raidtest.Read, g.memberOffset(1, 8192), 512)
	ss := a.StripeSize()
	b := make([]byte, 4096)
	if _, err := a.ReadAt(b, ss+8192); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("ReadAt of the lost range = %v, want ErrUnreadable", err)
	}
	for _, s := range []int64{0, 2} {
		if got := mustRead(t, a, s*ss, int(ss)); !bytes.Equal(got, data[s*ss:(s+1)*ss]) {
			t.Errorf("stripe %d differs after a lost range in stripe 1", s)
		}
	}
	st := a.Status()
	if st.State != StateDegraded {
		t.Errorf("State = %s, want degraded (one member failed, not two)", st.State)
	}
	for _, m := range st.Members {
		if m.Role == r && m.State != MemberInSync {
			t.Errorf("member of role %d is %s after one unreadable sector, want in_sync", r, m.State)
		}
	}
}
