package appliance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/drivers/raid/raidtest"
	"github.com/postvault/postvault/mail/store"
)

// TestStoreOnRAIDSurvivesPowerCuts runs the appliance's stack below the
// protocols, the mail store on a RAID-6 of five members with volatile
// write caches (the RAID's default chunk, its journal and write rounds),
// through deliveries of small, medium and chunked messages, and cuts the
// power at a sample of its member writes (every one with
// POSTVAULT_EXHAUSTIVE=1): the write in flight is torn, unflushed writes
// are lost. After each cut, with all members and with two of them gone,
// the store opens and every delivery that returned reads back byte for
// byte.
func TestStoreOnRAIDSurvivesPowerCuts(t *testing.T) {
	const account = "cut@example.org"
	images := func() [][]byte {
		pc := raidtest.NewPowerCut(5, 12<<20, nil)
		a, err := raid.Create(cutMembers(pc), &raid.CreateOptions{Level: 6})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Create(a, &store.CreateOptions{SegmentSize: 2 << 20}); err != nil {
			t.Fatal(err)
		}
		s, err := store.Open(a, cutStoreOptions(false))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddUser(context.Background(), account, "pw"); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil { // closes the array too
			t.Fatal(err)
		}
		return pc.Images()
	}()
	// run delivers the seeded workload until the power goes (cut 0: never)
	// and returns what was acknowledged, by UID.
	run := func(cut int64) (*raidtest.PowerCut, map[uint32][]byte) {
		pc := raidtest.NewPowerCutOf(images, nil)
		if cut > 0 {
			pc.CutAt(cut)
		}
		acked := map[uint32][]byte{}
		a, err := raid.Assemble(cutMembers(pc), nil)
		if err != nil {
			t.Fatalf("cut %d: assemble before the cut: %v", cut, err)
		}
		s, err := store.Open(a, cutStoreOptions(false))
		if err != nil {
			a.Close()
			if pc.IsCut() {
				return pc, acked
			}
			t.Fatalf("open before the cut: %v", err)
		}
		r := rand.New(rand.NewPCG(11, 12))
		to := []store.Delivery{{Recipient: account}}
		for i := range 24 {
			size := []int{900, 20 << 10, 150 << 10, 1<<20 + 5000}[r.IntN(4)]
			msg := fmt.Appendf(nil, "Subject: %d\r\n\r\n", i)
			for len(msg) < size {
				msg = fmt.Appendf(msg, "line %d of message %d %x\r\n", len(msg), i, r.Uint64())
			}
			res, err := s.Deliver(context.Background(), to, time.Time{}, bytes.NewReader(msg))
			if err == nil {
				err = res[0].Err
			}
			if err != nil {
				break
			}
			acked[res[0].UID] = msg
		}
		// After a cut the close fails, but it stops the store's and the
		// array's goroutines, which would hold the run's members.
		s.Close()
		return pc, acked
	}
	pc, all := run(0)
	total := pc.Writes()
	if len(all) != 24 {
		t.Fatalf("the workload without a cut delivered %d of 24", len(all))
	}
	var cuts []int64
	if os.Getenv("POSTVAULT_EXHAUSTIVE") == "1" {
		for n := int64(1); n <= total; n++ {
			cuts = append(cuts, n)
		}
	} else {
		r := rand.New(rand.NewPCG(5, 6))
		for range 6 {
			cuts = append(cuts, 1+r.Int64N(total))
		}
	}
	t.Logf("%d member writes in the workload, %d cut points", total, len(cuts))
	for _, cut := range cuts {
		pc, acked := run(cut)
		if !pc.IsCut() {
			t.Fatalf("cut %d: the power was not cut", cut)
		}
		for _, gone := range [][]int{nil, {int(cut) % 5, (int(cut) + 2) % 5}} {
			var have []raid.Member
			for i, m := range pc.Reopen() {
				if gone == nil || (i != gone[0] && i != gone[1]) {
					have = append(have, m)
				}
			}
			a, err := raid.Assemble(have, &raid.AssembleOptions{ReadOnly: gone != nil, Force: gone != nil})
			if err != nil {
				t.Fatalf("cut %d of %d, without %v: assemble: %v", cut, total, gone, err)
			}
			s, err := store.Open(a, cutStoreOptions(gone != nil))
			if err != nil {
				a.Close()
				t.Fatalf("cut %d of %d, without %v: open: %v", cut, total, gone, err)
			}
			acc, err := s.Account(account)
			if err != nil {
				t.Fatal(err)
			}
			for uid, want := range acked {
				b, err := acc.Open("INBOX", uid)
				if err != nil {
					t.Fatalf("cut %d of %d, without %v: acknowledged UID %d: %v", cut, total, gone, uid, err)
				}
				got, err := io.ReadAll(b)
				b.Close()
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("cut %d of %d, without %v: acknowledged UID %d reads back wrong (%d bytes, %v)", cut, total, gone, uid, len(got), err)
				}
			}
			s.Close()
		}
	}
}

func cutMembers(pc *raidtest.PowerCut) []raid.Member {
	var ms []raid.Member
	for _, m := range pc.Members() {
		ms = append(ms, m)
	}
	return ms
}

func cutStoreOptions(readOnly bool) *store.Options {
	return &store.Options{
		ReadOnly:           readOnly,
		Password:           store.PasswordCost{Time: 1, MemoryK: 64, Threads: 1},
		CheckpointInterval: -1,
		CompactWhenFree:    -1,
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}
