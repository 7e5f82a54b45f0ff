package raid

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// TestStripeCacheKeepsParity drives the cached write path (small appends
// and rewrites in the few stripes the cache holds, with discards and
// whole-stripe writes in between, as the store does) and then checks from
// the members alone: a check-only scrub finds no parity or checksum
// mismatch, the volume reads back as written after reassembly, and so it
// does with parity members missing, so every parity chunk the cache
// computed from rows is right.
func TestStripeCacheKeepsParity(t *testing.T) {
	for _, level := range []int{5, 6} {
		t.Run(fmt.Sprint("raid", level), func(t *testing.T) {
			ms := memMembers(5, 8<<20)
			a, err := Create(ms, &CreateOptions{Level: level, Chunk: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			ss := a.StripeSize()
			model := make([]byte, 12*ss)
			r := rand.New(rand.NewPCG(7, uint64(level)))
			off := int64(0)
			for i := range 300 {
				var o int64
				var b []byte
				switch k := r.IntN(20); {
				case k == 0: // free a stripe the cache may hold
					s := r.Int64N(12)
					if err := a.Discard(s*ss, ss); err != nil {
						t.Fatal(err)
					}
					clear(model[s*ss : (s+1)*ss]) // reads of a discarded stripe are not defined; rewrite it whole
					o, b = s*ss, make([]byte, ss)
				case k == 1: // a whole stripe
					s := r.Int64N(12)
					o, b = s*ss, randBytes(r, int(ss))
				case k < 5: // rewrite somewhere recent
					o = max(0, off-r.Int64N(3*ss))
					b = randBytes(r, 1+r.IntN(20000))
				default: // append
					o = off
					b = randBytes(r, 1+r.IntN(9000))
					off += int64(len(b))
				}
				if o+int64(len(b)) > int64(len(model)) {
					off = 0
					continue
				}
				if _, err := a.WriteAt(b, o); err != nil {
					t.Fatal(i, err)
				}
				copy(model[o:], b)
				if r.IntN(3) == 0 {
					if err := a.Flush(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := mustRead(t, a, 0, len(model)); !bytes.Equal(got, model) {
				t.Fatal("volume differs from what was written")
			}
			p, err := a.Scrub(context.Background(), &ScrubOptions{Restart: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Mismatches) != 0 {
				t.Fatalf("scrub found %d mismatches after cached writes, first %+v", len(p.Mismatches), p.Mismatches[0])
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			// Parity alone must carry every member's chunks: read with
			// each member missing in turn (and two at a time on RAID-6).
			sets := [][]int{{0}, {1}, {2}, {3}, {4}}
			if level == 6 {
				sets = append(sets, []int{0, 1}, []int{2, 4}, []int{1, 3})
			}
			for _, gone := range sets {
				re := reopen(ms)
				var have []Member
				for i, m := range re {
					if !containsInt(gone, i) {
						have = append(have, m)
					}
				}
				b, err := Assemble(have, &AssembleOptions{ReadOnly: true})
				if err != nil {
					t.Fatal(gone, err)
				}
				if got := mustRead(t, b, 0, len(model)); !bytes.Equal(got, model) {
					t.Fatalf("without members %v the volume differs", gone)
				}
				b.Close()
			}
		})
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestRewrittenStripeRetiresItsRecords: Flush after a journaled write does
// not checkpoint, so records stay replayable; a stripe discarded and then
// written whole without a record must not get its old record replayed
// over the new content at the next assembly (here after a crash: no
// Close).
func TestRewrittenStripeRetiresItsRecords(t *testing.T) {
	ms := memMembers(4, 8<<20)
	a, err := Create(ms, &CreateOptions{Level: 5, Chunk: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ss := a.StripeSize()
	r := rand.New(rand.NewPCG(3, 3))
	mustWrite := func(b []byte, off int64) {
		t.Helper()
		if _, err := a.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(randBytes(r, int(ss)), ss)      // stripe 1 holds data
	mustWrite(randBytes(r, 5000), ss+1000)    // a journaled write: its record stays above the checkpoint
	if err := a.Discard(ss, ss); err != nil { // stripe 1 freed ...
		t.Fatal(err)
	}
	want := randBytes(r, int(ss))
	mustWrite(want, ss)                 // ... and written whole, in place, without a record
	b, err := Assemble(reopen(ms), nil) // a crash: the old record is in the ring
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := mustRead(t, b, ss, int(ss)); !bytes.Equal(got, want) {
		t.Fatal("an old journal record was replayed over a stripe rewritten since")
	}
}

// TestBackgroundSyncCheckpoints: a journaled write leaves its record to
// replay only until the background sync, a few seconds later, has put it
// in place and checkpointed past it.
func TestBackgroundSyncCheckpoints(t *testing.T) {
	ms := memMembers(4, 8<<20)
	a, err := Create(ms, &CreateOptions{Level: 5, Chunk: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r := rand.New(rand.NewPCG(4, 4))
	for _, b := range [][]byte{randBytes(r, int(a.StripeSize())), randBytes(r, 3000)} {
		if _, err := a.WriteAt(b, 0); err != nil {
			t.Fatal(err)
		}
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() bool {
		a.jr.mu.Lock()
		defer a.jr.mu.Unlock()
		return a.jr.ckpt < a.jr.seq
	}
	if !pending() {
		t.Fatal("the journaled write was checkpointed at once: Flush should have had nothing to do")
	}
	deadline := time.Now().Add(syncDelay + 10*time.Second)
	for pending() {
		if time.Now().After(deadline) {
			t.Fatalf("no background checkpoint %v after the write", syncDelay+10*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestJournalRingWrapsUnderLoad: concurrent small writers fill the
// journal rings many times over (the writer that finds its ring full
// syncs and checkpoints in its path, the background sync runs beside
// them), on members with volatile write caches; after a power cut, with
// all members and with any two of them gone, every write that returned
// reads back.
func TestJournalRingWrapsUnderLoad(t *testing.T) {
	pc := raidtest.NewPowerCut(5, 8<<20, nil)
	a, err := Create(pcMembers(pc), &CreateOptions{Level: 6, Chunk: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ring := a.jr.ring
	const workers, writes = 4, 150
	want := writeDisjoint(t, a, workers, writes, 9, nil)
	a.jr.stopSync()
	pc.Cut() // no Flush, no Close
	if int64(workers*writes)*3*(jhdrSize+4096)/5 < 3*ring {
		t.Fatalf("the workload does not fill a ring of %d bytes three times", ring)
	}
	for _, gone := range [][]int{nil, {0, 1}, {2, 4}} {
		b := assembleAfterCut(t, pc, gone)
		if got := mustRead(t, b, 0, int(b.Size())); !bytes.Equal(got, want) {
			t.Fatalf("without members %v after a power cut: a journaled write that returned was lost", gone)
		}
		b.Close()
	}
}
