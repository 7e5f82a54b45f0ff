package raid

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// crashModel tracks what the volume must hold after a crash: bytes made
// durable by a Flush, and the writes since, any of which may or may not
// have reached the media.
type crashModel struct {
	durable []byte
	care    []bool // durable bytes that must read back (not discarded)
	pending []pendingOp
	cur     []byte
	curCare []bool
}

type pendingOp struct {
	off  int64
	data []byte
}

func newCrashModel(size int64) *crashModel {
	return &crashModel{durable: make([]byte, size), care: make([]bool, size),
		cur: make([]byte, size), curCare: make([]bool, size)}
}

func (m *crashModel) write(off int64, b []byte) {
	copy(m.cur[off:], b)
	for i := range b {
		m.curCare[off+int64(i)] = true
	}
	m.pending = append(m.pending, pendingOp{off, append([]byte(nil), b...)})
}

// discard takes effect at once: the caller gave the bytes up, flushed or not.
func (m *crashModel) discard(off, n int64) {
	for i := off; i < off+n; i++ {
		m.curCare[i], m.care[i] = false, false
	}
}

func (m *crashModel) flushed() {
	copy(m.durable, m.cur)
	copy(m.care, m.curCare)
	m.pending = nil
}

// check compares the volume with the model: a durable byte must be intact
// unless a pending write covered it, in which case it may hold that
// write's byte instead.
func (m *crashModel) check(got []byte) error {
	for blk := 0; blk < len(got); blk += 4096 {
		end := min(blk+4096, len(got))
		if bytes.Equal(got[blk:end], m.durable[blk:end]) {
			continue
		}
		if err := m.checkBytes(got, blk, end); err != nil {
			return err
		}
	}
	return nil
}

func (m *crashModel) checkBytes(got []byte, from, to int) error {
	for i := from; i < to; i++ {
		if !m.care[i] || got[i] == m.durable[i] {
			continue
		}
		ok := false
		for _, p := range m.pending {
			if int64(i) >= p.off && int64(i) < p.off+int64(len(p.data)) && p.data[int64(i)-p.off] == got[i] {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("byte %d = %#x, want %#x (durable since a Flush)", i, got[i], m.durable[i])
		}
	}
	return nil
}

// crashWorkload runs a seeded mix of partial writes, whole-stripe writes,
// discards and flushes, stopping at the first error (the power cut).
func crashWorkload(a *Array, m *crashModel, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	ss, size := a.StripeSize(), a.Size()
	for op := 0; op < 40; op++ {
		switch k := r.IntN(10); {
		case k < 5: // partial write, often inside stripes that hold data
			n := int64(1 + r.IntN(int(a.ChunkSize())*2))
			off := r.Int64N(size - n)
			b := randBytes(r, int(n))
			m.write(off, b) // the write in flight at a cut may land, whole or in part
			if _, err := a.WriteAt(b, off); err != nil {
				return
			}
		case k < 7: // whole stripes, one to three (several go in parallel)
			nst := 1 + r.Int64N(3)
			off := r.Int64N(size/ss-nst+1) * ss
			b := randBytes(r, int(nst*ss))
			m.write(off, b)
			if _, err := a.WriteAt(b, off); err != nil {
				return
			}
		case k < 8: // discard a whole stripe
			off := r.Int64N(size/ss) * ss
			if err := a.Discard(off, ss); err != nil {
				return
			}
			m.discard(off, ss)
		default:
			if err := a.Flush(); err != nil {
				return
			}
			m.flushed()
		}
	}
	if a.Flush() == nil {
		m.flushed()
	}
}

func TestNoWriteHole(t *testing.T) {
	for _, level := range []int{5, 6} {
		t.Run(fmt.Sprintf("raid%d", level), func(t *testing.T) {
			t.Parallel()
			testNoWriteHole(t, level)
		})
	}
}

func testNoWriteHole(t *testing.T, level int) {
	const disks = 5
	base := memMembers(disks, 1<<20+256<<10)
	a, err := Create(base, &CreateOptions{Level: level, Chunk: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	// Fill with flushed data so that later writes are journaled.
	fill := randBytes(rand.New(rand.NewPCG(9, 9)), int(a.Size()))
	if _, err := a.WriteAt(fill, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	var images [][]byte
	for _, m := range base {
		images = append(images, m.(*raidtest.Mem).Bytes())
	}
	run := func(cut int64) (*raidtest.PowerCut, *crashModel) {
		pc := raidtest.NewPowerCutOf(images, nil)
		if cut > 0 {
			pc.CutAt(cut)
		}
		var ms []Member
		for _, m := range pc.Members() {
			ms = append(ms, m)
		}
		arr, err := Assemble(ms, nil)
		if err != nil {
			t.Fatalf("assemble before the cut: %v", err)
		}
		m := newCrashModel(arr.Size())
		copy(m.cur, fill)
		for i := range m.curCare {
			m.curCare[i] = true
		}
		m.flushed()
		crashWorkload(arr, m, uint64(level))
		return pc, m
	}
	pc, _ := run(0)
	total := pc.Writes()
	cuts := []int64{}
	exhaustive := os.Getenv("POSTVAULT_EXHAUSTIVE") == "1"
	if exhaustive {
		for n := int64(1); n <= total; n++ {
			cuts = append(cuts, n)
		}
	} else {
		r := rand.New(rand.NewPCG(uint64(level), 42))
		samples := 12
		if raceOn {
			samples = 6
		}
		for range samples {
			cuts = append(cuts, 1+r.Int64N(total))
		}
	}
	t.Logf("RAID-%d: %d writes in the workload, %d cut points", level, total, len(cuts))
	for _, cut := range cuts {
		pc, model := run(cut)
		if !pc.IsCut() {
			t.Fatalf("cut %d: the power was not cut", cut)
		}
		imgs := pc.Reopen()
		for _, lost := range lossSets(level, disks, cut, exhaustive) {
			var ms []Member
			for i, m := range imgs {
				if !lost[i] {
					if exhaustive {
						m = m.Reopen() // every loss set starts from the images
					}
					ms = append(ms, m)
				}
			}
			arr, err := Assemble(ms, &AssembleOptions{Force: true})
			if err != nil {
				t.Fatalf("cut %d, lost %v: assemble: %v", cut, lost, err)
			}
			got := make([]byte, arr.Size())
			if _, err := arr.ReadAt(got, 0); err != nil {
				t.Fatalf("cut %d, lost %v: read: %v", cut, lost, err)
			}
			if err := model.check(got); err != nil {
				t.Fatalf("cut %d of %d, lost members %v: %v", cut, total, lost, err)
			}
			arr.Close()
		}
	}
}

// lossSets returns which members to lose after a cut: one (RAID-5) or two
// (RAID-6), picked by the cut; every such set when exhaustive.
func lossSets(level, disks int, cut int64, exhaustive bool) []map[int]bool {
	var all []map[int]bool
	for i := range disks {
		if level == 5 {
			all = append(all, map[int]bool{i: true})
			continue
		}
		for j := i + 1; j < disks; j++ {
			all = append(all, map[int]bool{i: true, j: true})
		}
	}
	if exhaustive {
		return all
	}
	return all[int(cut)%len(all) : int(cut)%len(all)+1]
}

func TestNoWriteHoleModelCatchesAHole(t *testing.T) {
	// The checker must fail when a durable byte changes.
	m := newCrashModel(8)
	m.write(0, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	m.flushed()
	m.write(0, []byte{9})
	if err := m.check([]byte{9, 2, 3, 4, 5, 6, 7, 8}); err != nil {
		t.Errorf("pending byte rejected: %v", err)
	}
	if err := m.check([]byte{1, 2, 3, 0, 5, 6, 7, 8}); err == nil {
		t.Error("a changed durable byte was accepted")
	}
}
