package store_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// cutDeliveries runs 8 concurrent clients, each delivering up to perClient
// messages of a few KiB or a few hundred (so that the writer often has one
// batch in flight while it writes the next, flagOverlap) into s until an error (the power is
// gone), and returns what was acknowledged: body by UID.
func cutDeliveries(s *store.Store, perClient int, seed uint64) map[uint32][]byte {
	var mu sync.Mutex
	acked := map[uint32][]byte{}
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			for i := range perClient {
				n := 100 + rng.IntN(3000)
				if rng.IntN(2) == 0 {
					n = 100<<10 + rng.IntN(200<<10) // a queue of 1 MiB and more: overlap
				}
				body := fmt.Appendf(nil, "Subject: c%d m%d\r\n\r\n%s\r\n", c, i, strings.Repeat("x", n))
				// Arrivals spread over the (slow) flushes, so that a
				// batch's worth queues up while one is in flight.
				time.Sleep(time.Duration(rng.IntN(4000)) * time.Microsecond)
				res, err := s.Deliver(ctx, []store.Delivery{{Recipient: "cut@x.org"}}, time.Time{}, bytes.NewReader(body))
				if err == nil {
					err = res[0].Err
				}
				if err != nil {
					return
				}
				mu.Lock()
				acked[res[0].UID] = body
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return acked
}

// Concurrent deliveries, some batches written while the one before is
// being flushed, with the power cut at a sample of the writes and of the
// flushes (all of them with POSTVAULT_EXHAUSTIVE=1): at a cut, unflushed
// writes land whole, torn or not at all. After each cut the store opens
// with every acknowledged message intact, reports no damage (a torn batch
// is not bit rot), checks clean, and takes mail again. The run is not
// deterministic (batches follow the clients' timing), so the torn batch
// with the one after it whole is made on purpose in
// TestOverlapTornFirstBatch.
func TestOverlapPowerCuts(t *testing.T) {
	v := storetest.NewMem(16<<20, 64<<10)
	if err := store.Create(v, &store.CreateOptions{SegmentSize: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	s := open(t, v)
	mustAccount(t, s, "cut@x.org")
	base := v.Image()
	s.Close()

	const perClient = 4
	const flushTime = 3 * time.Millisecond
	// Batches beside one in flight from 1 MiB queued (the default is half
	// a batch, which these few clients seldom queue).
	opts := store.OverlapFrom(fastOpts(), 1<<20)
	calib := storetest.NewPowerCut(base, 64<<10, 0, 1)
	calib.CutAtFlush(0, flushTime)
	s, err := store.Open(calib, opts)
	if err != nil {
		t.Fatal(err)
	}
	cutDeliveries(s, perClient, 1)
	s.Close()
	writes, flushes := calib.Writes(), calib.Flushes()

	// The first writes and every sixth by default (the run is
	// nondeterministic: the writer's batches depend on the clients'
	// timing), every write with POSTVAULT_EXHAUSTIVE=1.
	// The first writes, every eighth and every third flush by default.
	// A cut during a flush (each taking flushTime) is what finds a batch
	// torn with the one written during its flush whole; a cut at a write
	// tears that write.
	type cutAt struct{ write, flush int }
	var cuts []cutAt
	all := os.Getenv("POSTVAULT_EXHAUSTIVE") != ""
	for c := 1; c <= writes; c++ {
		if c <= 2 || c%8 == 0 || all {
			cuts = append(cuts, cutAt{write: c})
		}
	}
	for c := 1; c <= flushes; c++ {
		if c%3 == 0 || all {
			cuts = append(cuts, cutAt{flush: c})
		}
	}
	t.Logf("%d writes and %d flushes without a cut; cutting at %d of them", writes, flushes, len(cuts))
	for i, c := range cuts {
		cut := fmt.Sprintf("write %d", c.write)
		pc := storetest.NewPowerCut(base, 64<<10, c.write, uint64(i))
		if c.flush > 0 {
			cut = fmt.Sprintf("flush %d", c.flush)
			pc.CutAtFlush(c.flush, flushTime)
		}
		s, err := store.Open(pc, opts)
		if err != nil {
			t.Fatal(err)
		}
		acked := cutDeliveries(s, perClient, uint64(i))
		s.Close()

		after := storetest.NewMemFrom(pc.Durable(), 64<<10)
		s2, err := store.Open(after, opts)
		if err != nil {
			t.Fatalf("cut at %s: open: %v", cut, err)
		}
		if p := s2.Problems(); len(p) > 0 {
			t.Errorf("cut at %s: damage reported after a power cut: %+v", cut, p)
		}
		for uid, want := range acked {
			checkStored(t, s2, stored{"cut@x.org", uid, want})
		}
		if t.Failed() {
			t.Fatalf("cut at %s: acknowledged mail lost", cut)
		}
		if p, err := s2.Check(ctx); err != nil || len(p) > 0 {
			t.Errorf("cut at %s: Check: %v %+v", cut, err, p)
		}
		n := s2.Stats().Messages
		if more := cutDeliveries(s2, 2, 99); len(more) != 16 {
			t.Errorf("cut at %s: %d of 16 deliveries after reopening", cut, len(more))
		}
		img := after.Image()
		s2.Close()
		s3, err := store.Open(storetest.NewMemFrom(img, 64<<10), opts)
		if err != nil {
			t.Fatalf("cut at %s: second open: %v", cut, err)
		}
		if p := s3.Problems(); len(p) > 0 || s3.Stats().Messages != n+16 {
			t.Errorf("cut at %s: second open: %d messages (want %d), problems %+v", cut, s3.Stats().Messages, n+16, p)
		}
		s3.Close()
	}
}
