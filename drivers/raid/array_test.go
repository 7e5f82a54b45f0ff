package raid

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// memMembers returns n zeroed in-memory members.
func memMembers(n int, size int64) []Member {
	out := make([]Member, n)
	for i := range out {
		out[i] = raidtest.NewMem(size)
	}
	return out
}

// reopen returns members holding the same bytes (a reboot).
func reopen(ms []Member) []Member {
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = m.(*raidtest.Mem).Reopen()
	}
	return out
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n]
}

// pcMembers returns pc's members as Members.
func pcMembers(pc *raidtest.PowerCut) []Member {
	var ms []Member
	for _, m := range pc.Members() {
		ms = append(ms, m)
	}
	return ms
}

// assembleAfterCut assembles what a power cut left on pc's members, without
// the members whose indexes are in gone (read-only when any is gone).
func assembleAfterCut(t *testing.T, pc *raidtest.PowerCut, gone []int) *Array {
	t.Helper()
	var have []Member
	for i, m := range pc.Reopen() {
		if !containsInt(gone, i) {
			have = append(have, m)
		}
	}
	b, err := Assemble(have, &AssembleOptions{ReadOnly: gone != nil})
	if err != nil {
		t.Fatal(gone, err)
	}
	return b
}

func mustRead(t *testing.T, a *Array, off int64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := a.ReadAt(b, off); err != nil {
		t.Fatalf("ReadAt(%d, %d): %v", off, n, err)
	}
	return b
}

func TestCreateWriteReadAssemble(t *testing.T) {
	for _, level := range []int{5, 6} {
		t.Run(map[int]string{5: "raid5", 6: "raid6"}[level], func(t *testing.T) {
			ms := memMembers(5, 3<<20)
			a, err := Create(ms, &CreateOptions{Level: level, Chunk: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, uint64(level)))
			model := make([]byte, a.Size())
			writes := []struct{ off, n int64 }{
				{0, a.StripeSize()}, {100, 5000}, {a.StripeSize() - 10, 70000},
				{a.Size() - 4096, 4096}, {3 * a.ChunkSize(), 2 * a.StripeSize()},
			}
			for _, w := range writes {
				b := randBytes(r, int(w.n))
				if _, err := a.WriteAt(b, w.off); err != nil {
					t.Fatalf("WriteAt(%d, %d): %v", w.off, w.n, err)
				}
				copy(model[w.off:], b)
			}
			if got := mustRead(t, a, 0, int(a.Size())); !bytes.Equal(got, model) {
				t.Fatal("volume differs from what was written")
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			// Reassembled in another order, and degraded.
			re := reopen(ms)
			order := []Member{re[3], re[0], re[4], re[2]} // re[1] missing
			b, err := Assemble(order, nil)
			if err != nil {
				t.Fatal(err)
			}
			if st := b.Status(); st.State != StateDegraded {
				t.Errorf("Status().State = %s, want degraded", st.State)
			}
			if got := mustRead(t, b, 0, int(b.Size())); !bytes.Equal(got, model) {
				t.Fatal("degraded volume differs from what was written")
			}
			// Degraded write, then read back with every member.
			w := randBytes(r, 300000)
			if _, err := b.WriteAt(w, 12345); err != nil {
				t.Fatal(err)
			}
			copy(model[12345:], w)
			if got := mustRead(t, b, 0, int(b.Size())); !bytes.Equal(got, model) {
				t.Fatal("volume differs after a degraded write")
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOpenFileLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m0")
	f, err := raidtest.CreateFile(p, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	a, err := OpenFile(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(p, false); err == nil {
		t.Fatal("second writable OpenFile succeeded, want an error naming the holder")
	} else if !bytes.Contains([]byte(err.Error()), []byte("pid")) {
		t.Errorf("error %q does not name the holder", err)
	}
	r, err := OpenFile(p, true)
	if err != nil {
		t.Fatalf("read-only open while locked: %v", err)
	}
	r.Close()
	a.Close()
	b, err := OpenFile(p, false)
	if err != nil {
		t.Fatalf("open after the holder closed: %v", err)
	}
	b.Close()
	_ = errors.New
}
