package store_test

import (
	"bytes"
	"fmt"
	"io"
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
// small messages (so that the writer often has one batch in flight while
// it writes the next, flagOverlap) into s until an error (the power is
// gone), and returns what was acknowledged: body by UID.
func cutDeliveries(s *store.Store, perClient int, seed uint64) map[uint32][]byte {
	var mu sync.Mutex
	acked := map[uint32][]byte{}
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			for i := range perClient {
				body := fmt.Appendf(nil, "Subject: c%d m%d\r\n\r\n%s\r\n", c, i, strings.Repeat("x", 100+rng.IntN(3000)))
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

// Concurrent deliveries with the power cut at a sample of the writes (all
// of them with POSTVAULT_EXHAUSTIVE=1): unflushed writes land whole, torn
// or not at all, so a batch can be torn while the one written during its
// flush lands whole. After each cut the store opens with every
// acknowledged message intact, reports no damage (a torn batch is not
// bit rot), checks clean, and takes mail again.
func TestOverlapPowerCuts(t *testing.T) {
	v := storetest.NewMem(8<<20, 64<<10)
	if err := store.Create(v, &store.CreateOptions{SegmentSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	s := open(t, v)
	mustAccount(t, s, "cut@x.org")
	base := v.Image()
	s.Close()

	const perClient = 12
	calib := storetest.NewPowerCut(base, 64<<10, 0, 1)
	s = open(t, calib)
	cutDeliveries(s, perClient, 1)
	s.Close()
	writes := calib.Writes()

	// The first writes and every sixth by default (the run is
	// nondeterministic: the writer's batches depend on the clients'
	// timing), every write with POSTVAULT_EXHAUSTIVE=1.
	var cuts []int
	for c := 1; c <= writes; c++ {
		if c <= 8 || c%6 == 0 || os.Getenv("POSTVAULT_EXHAUSTIVE") != "" {
			cuts = append(cuts, c)
		}
	}
	t.Logf("%d writes without a cut; cutting at %d of them", writes, len(cuts))
	for _, cut := range cuts {
		pc := storetest.NewPowerCut(base, 64<<10, cut, uint64(cut))
		s, err := store.Open(pc, fastOpts())
		if err != nil {
			t.Fatal(err)
		}
		acked := cutDeliveries(s, perClient, uint64(cut))
		s.Close()

		after := storetest.NewMemFrom(pc.Durable(), 64<<10)
		s2, err := store.Open(after, fastOpts())
		if err != nil {
			t.Fatalf("cut at write %d: open: %v", cut, err)
		}
		if p := s2.Problems(); len(p) > 0 {
			t.Errorf("cut at write %d: damage reported after a power cut: %+v", cut, p)
		}
		a, err := s2.Account("cut@x.org")
		if err != nil {
			t.Fatal(err)
		}
		for uid, want := range acked {
			m, err := a.Open("INBOX", uid)
			if err != nil {
				t.Fatalf("cut at write %d: acknowledged UID %d: %v", cut, uid, err)
			}
			got, err := io.ReadAll(io.NewSectionReader(m, 0, m.Size()))
			m.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("cut at write %d: UID %d reads back %d bytes (%v), want %d", cut, uid, len(got), err, len(want))
			}
		}
		if p, err := s2.Check(ctx); err != nil || len(p) > 0 {
			t.Errorf("cut at write %d: Check: %v %+v", cut, err, p)
		}
		n := s2.Stats().Messages
		if more := cutDeliveries(s2, 2, 99); len(more) != 16 {
			t.Errorf("cut at write %d: %d of 16 deliveries after reopening", cut, len(more))
		}
		img := after.Image()
		s2.Close()
		s3, err := store.Open(storetest.NewMemFrom(img, 64<<10), fastOpts())
		if err != nil {
			t.Fatalf("cut at write %d: second open: %v", cut, err)
		}
		if p := s3.Problems(); len(p) > 0 || s3.Stats().Messages != n+16 {
			t.Errorf("cut at write %d: second open: %d messages (want %d), problems %+v", cut, s3.Stats().Messages, n+16, p)
		}
		s3.Close()
	}
}
