package raid

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// TestWriteIsOneFlushRound: a write that changes the end of a stripe in
// use (journaled) and runs on into stripes that hold nothing (in place) is
// made durable by one flush of each member, in WriteAt, and Flush has
// nothing left to do. Before write.go it took a journal round and then a
// sync of every member.
func TestWriteIsOneFlushRound(t *testing.T) {
	ms := memMembers(5, 8<<20)
	a, err := Create(ms, &CreateOptions{Level: 6, Chunk: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.jr.stopSync() // no background sync counts in
	ss := a.StripeSize()
	r := rand.New(rand.NewPCG(5, 5))
	if _, err := a.WriteAt(randBytes(r, int(ss)), ss); err != nil { // stripe 1 in use
		t.Fatal(err)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	flushes := func() (n int) {
		for _, m := range ms {
			n += m.(*raidtest.Mem).Flushes()
		}
		return n
	}
	before := flushes()
	if _, err := a.WriteAt(randBytes(r, int(2*ss)), ss+ss/2); err != nil { // stripes 1 (end), 2, 3 (start)
		t.Fatal(err)
	}
	inWrite := flushes() - before
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if total := flushes() - before; inWrite != len(ms) || total != len(ms) {
		t.Fatalf("member flushes: %d in WriteAt, %d with Flush; want %d (one round)", inWrite, total, len(ms))
	}
}

// TestWriteDurableWithoutFlush: a write with a journaled part, cut off
// right after WriteAt returns (no Flush), reads back whole, with any two
// members gone, and so does the part that went in place beside it.
func TestWriteDurableWithoutFlush(t *testing.T) {
	for _, span := range []struct {
		name    string
		at, len int64 // in stripes
	}{
		{"tail of a stripe in use into empty ones", 3, 4},
		{"two stripes in use", 1, 2},
		{"stripes in use, whole ones between", 1, 10},
	} {
		t.Run(span.name, func(t *testing.T) {
			pc := raidtest.NewPowerCut(5, 2<<20, nil)
			a, err := Create(pcMembers(pc), &CreateOptions{Level: 6, Chunk: 16 << 10})
			if err != nil {
				t.Fatal(err)
			}
			ss := a.StripeSize()
			r := rand.New(rand.NewPCG(6, uint64(span.at)))
			want := randBytes(r, int(13*ss))
			if _, err := a.WriteAt(want[:4*ss], 0); err != nil { // stripes 0-3 in use
				t.Fatal(err)
			}
			if err := a.Flush(); err != nil {
				t.Fatal(err)
			}
			off, n := span.at*ss-ss/3, span.len*ss
			if _, err := a.WriteAt(want[off:off+n], off); err != nil {
				t.Fatal(err)
			}
			a.jr.stopSync()
			pc.Cut()
			for _, gone := range [][]int{nil, {0, 1}, {1, 3}, {2, 4}} {
				t.Run(fmt.Sprint(gone), func(t *testing.T) {
					b := assembleAfterCut(t, pc, gone)
					defer b.Close()
					if got := mustRead(t, b, 0, int(off+n)); !bytes.Equal(got, want[:off+n]) {
						t.Fatal("a write that returned was lost at a power cut without Flush")
					}
				})
			}
		})
	}
}
