package raid

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// closeCount counts the Close calls a member gets.
type closeCount struct {
	Member
	n atomic.Int32
}

func (c *closeCount) Close() error {
	c.n.Add(1)
	return c.Member.Close()
}

// counted makes an array of level over n members and spares, each counting
// its Close calls, and fills it.
func counted(t *testing.T, level, n, spares int) (*Array, []*closeCount, []byte) {
	t.Helper()
	var cs []*closeCount
	var ms, sp []Member
	for i := range n + spares {
		c := &closeCount{Member: raidtest.NewFaulty(raidtest.NewMem(2 << 20))}
		cs = append(cs, c)
		if i < n {
			ms = append(ms, c)
		} else {
			sp = append(sp, c)
		}
	}
	a, err := Create(ms, &CreateOptions{Level: level, Chunk: 16 << 10, Spares: sp})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, a.Size()/2)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if _, err := a.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	return a, cs, data
}

func memberState(a *Array, dev string) (int, MemberState, bool) {
	for _, m := range a.Status().Members {
		if m.Device == dev {
			return m.Role, m.State, true
		}
	}
	return 0, "", false
}

// promoteSpare takes a spare that can serve, not the first one listed: a
// spare that failed (its superblock write failed) is passed over.
func TestPromoteSkipsFailedSpare(t *testing.T) {
	a, cs, data := counted(t, 5, 4, 2)
	defer a.Close()
	cs[4].Member.(*raidtest.Faulty).Vanish()
	if err := a.Fail(cs[0]); err != nil { // rewrites superblocks: the gone spare fails
		t.Fatal(err)
	}
	if _, st, _ := memberState(a, "member 4"); st != MemberFaulty {
		t.Fatalf("gone spare is %s, want faulty", st)
	}
	ok, err := a.promoteSpare(0)
	if err != nil || !ok {
		t.Fatalf("promoteSpare(0) = %v, %v", ok, err)
	}
	if role, st, _ := memberState(a, "member 5"); role != 0 || st != MemberRebuilding {
		t.Errorf("member 5 is role %d %s, want role 0 rebuilding", role, st)
	}
	if role, st, _ := memberState(a, "member 4"); role != -1 || st != MemberFaulty {
		t.Errorf("member 4 is role %d %s, want still a faulty non-member", role, st)
	}
	if ok, err := a.promoteSpare(1); ok || err == nil {
		t.Errorf("promoteSpare of a role in sync = %v, %v; want refused", ok, err)
	}
	if err := a.Rebuild(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, a, 0, len(data)); string(got) != string(data) {
		t.Error("volume differs after the rebuild onto the second spare")
	}
	// Left among the spares: the gone spare and the closed member 0, both
	// faulty. Neither can take a role.
	if err := a.Fail(cs[1]); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.promoteSpare(1); ok || err != nil {
		t.Errorf("promoteSpare with only failed spares = %v, %v; want false, nil", ok, err)
	}
}

// The faulty member a spare replaces is closed then and there (once: Close
// of the array does not close it again) and stays listed as faulty; the
// member Replace copies from stays open until the array is closed.
func TestPromoteClosesReplacedMember(t *testing.T) {
	a, cs, data := counted(t, 6, 5, 1)
	if err := a.Fail(cs[1]); err != nil {
		t.Fatal(err)
	}
	if err := a.Rebuild(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if n := cs[1].n.Load(); n != 1 {
		t.Errorf("replaced faulty member closed %d times, want 1", n)
	}
	if role, st, ok := memberState(a, "member 1"); !ok || role != -1 || st != MemberFaulty {
		t.Errorf("replaced member listed %v as role %d %s, want faulty", ok, role, st)
	}
	repl := &closeCount{Member: raidtest.NewFaulty(raidtest.NewMem(2 << 20))}
	if err := a.Replace(context.Background(), cs[3], repl, nil); err != nil {
		t.Fatal(err)
	}
	if n := cs[3].n.Load(); n != 0 {
		t.Errorf("member replaced by Replace closed %d times before the array closed, want 0", n)
	}
	if got := mustRead(t, a, 0, len(data)); string(got) != string(data) {
		t.Error("volume differs after rebuild and replace")
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	for i, c := range append(cs, repl) {
		if n := c.n.Load(); n != 1 {
			t.Errorf("member %d closed %d times, want 1", i, n)
		}
	}
}

// RebuildInto on a read-only assembly writes only its destination, even
// when a survivor's sector is unreadable and parity restores it (the
// rewrite of that sector, md's read-error repair, waits for a writable
// assembly).
func TestRebuildIntoReadOnlyWritesNoMember(t *testing.T) {
	f := smallFixture(t, 6, 5, 0, 8, 79)
	g := f.a.geo
	if err := f.a.Close(); err != nil {
		t.Fatal(err)
	}
	var ro []*raidtest.Faulty
	var ms []Member
	for _, fm := range f.faulty {
		r := raidtest.NewFaulty(fm.Inner().(*raidtest.Mem).Reopen())
		ro, ms = append(ro, r), append(ms, r)
	}
	ro[1].FailRange(raidtest.Read, g.memberOffset(3, 4096), 512)
	a, err := Assemble(ms, &AssembleOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dst := raidtest.NewMem(f.faulty[0].Size())
	if err := a.RebuildInto(context.Background(), 0, dst, nil); err != nil {
		t.Fatal(err)
	}
	for i, r := range ro {
		if _, w, _ := r.Counts(); w != 0 {
			t.Errorf("member %d written %d times during a read-only RebuildInto", i, w)
		}
	}
	want, got := make([]byte, g.stripes*g.chunk), make([]byte, g.stripes*g.chunk)
	ro[0].Inner().ReadAt(want, g.dataOffset)
	dst.ReadAt(got, g.dataOffset)
	if i := firstDiff(got, want); i >= 0 {
		t.Errorf("rebuilt copy differs from role 0 at byte %d of the data area", i)
	}
}
