package store_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// A message just over the inline limit (what an LMTP delivery of a 1 MiB
// message becomes once Received and Return-Path are added) is its chunk
// records and its append record: with nothing else queued, the writer
// takes them in one batch, so the delivery costs one flush, as an inline
// one does. Up to the chunk lingering limit (4 MiB) this holds for any size.
func TestChunkedMessageOneCommit(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		append bool // Account.Append instead of Store.Deliver
	}{
		{"inline limit plus one", 1<<20 + 1, false},
		{"LMTP 1 MiB", 1<<20 + 620, false},
		{"two MiB and a bit", 2<<20 + 5, false},
		{"two and a half MiB", 2<<20 + 512<<10, false},
		{"IMAP APPEND", 1<<20 + 300, true},
	}
	v := storetest.NewMem(48<<20, 64<<10)
	if err := store.Create(v, &store.CreateOptions{SegmentSize: 8 << 20}); err != nil { // all in one segment
		t.Fatal(err)
	}
	s := open(t, v)
	if err := s.AddUser(ctx, "big@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	a, err := s.Account("big@example.org")
	if err != nil {
		t.Fatal(err)
	}
	uids := make([]uint32, len(tests))
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := poolMessage(1000+i, tc.size)
			before := s.Stats().GroupCommits
			if tc.append {
				uids[i], _, err = a.Append(ctx, "INBOX", nil, time.Time{}, bytes.NewReader(body))
			} else {
				var res []store.DeliveryResult
				res, err = s.Deliver(ctx, []store.Delivery{{Recipient: "big@example.org"}}, time.Time{}, bytes.NewReader(body))
				if err == nil {
					uids[i], err = res[0].UID, res[0].Err
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := s.Stats().GroupCommits - before; n != 1 {
				t.Errorf("a %d-byte message took %d group commits, want 1", tc.size, n)
			}
			checkStored(t, s, stored{"big@example.org", uids[i], body})
		})
	}
	s.Close()
}

// A chunked message whose append record cannot be written with its chunks
// (the segment is full after them) still arrives whole: the writer seals
// the segment and writes the append record, naming the chunks where they
// were written, into the next.
func TestChunkedMessageAcrossSegments(t *testing.T) {
	v := storetest.NewMem(48<<20, 64<<10)
	if err := store.Create(v, &store.CreateOptions{SegmentSize: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	s := open(t, v)
	if err := s.AddUser(ctx, "big@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	var all []stored
	for i := range 8 {
		// Sizes that leave a segment's tail too short for the append
		// record after the chunks, at varying places.
		body := poolMessage(2000+i, 1<<20+1+i*(90<<10))
		res, err := s.Deliver(ctx, []store.Delivery{{Recipient: "big@example.org"}}, time.Time{}, bytes.NewReader(body))
		if err == nil {
			err = res[0].Err
		}
		if err != nil {
			t.Fatalf("delivery %d (%d bytes): %v", i, len(body), err)
		}
		all = append(all, stored{"big@example.org", res[0].UID, body})
	}
	for _, m := range all {
		checkStored(t, s, m)
	}
	s2, _ := reopen(t, s, v)
	defer s2.Close()
	for _, m := range all {
		checkStored(t, s2, m)
	}
}

// A chunked message and its append record share a batch: a power cut at
// any write leaves every acknowledged message whole and the one in flight
// whole or absent, never an append record without its chunks.
func TestChunkedMessagePowerCut(t *testing.T) {
	mem := storetest.NewMem(24<<20, 64<<10)
	if err := store.Create(mem, &store.CreateOptions{SegmentSize: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	s := open(t, mem)
	if err := s.AddUser(ctx, "big@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	base := mem.Image()
	sizes := []int{1<<20 + 1, 2<<20 + 5, 1<<20 + 620}
	deliver := func(s *store.Store, i int) error {
		res, err := s.Deliver(ctx, []store.Delivery{{Recipient: "big@example.org"}}, time.Time{}, bytes.NewReader(poolMessage(3000+i, sizes[i])))
		if err == nil {
			err = res[0].Err
		}
		return err
	}
	// Every write under POSTVAULT_EXHAUSTIVE=1, else a seeded few (and
	// the run past the last write, which checks the count).
	rng := rand.New(rand.NewPCG(5, 5))
	for cut := 1; ; cut++ {
		if os.Getenv("POSTVAULT_EXHAUSTIVE") == "" && cut > 1 && rng.IntN(4) != 0 {
			continue
		}
		pc := storetest.NewPowerCut(base, 64<<10, cut, uint64(cut))
		s := open(t, pc)
		acked := 0
		for acked < len(sizes) && deliver(s, acked) == nil {
			acked++
		}
		s.Close()
		if !pc.Cut() {
			if acked != len(sizes) {
				t.Fatalf("no power cut, but only %d of %d deliveries succeeded", acked, len(sizes))
			}
			t.Logf("%d writes in all", pc.Writes())
			break
		}
		s2, err := store.Open(storetest.NewMemFrom(pc.Durable(), 64<<10), fastOpts())
		if err != nil {
			t.Fatalf("cut at write %d: reopen: %v", cut, err)
		}
		if p := s2.Problems(); len(p) > 0 {
			t.Errorf("cut at write %d: problems: %+v", cut, p)
		}
		a, err := s2.Account("big@example.org")
		if err != nil {
			t.Fatal(err)
		}
		msgs, _, err := a.Messages("INBOX", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != acked && len(msgs) != acked+1 {
			t.Errorf("cut at write %d after %d acknowledged deliveries: %d messages", cut, acked, len(msgs))
		}
		for i, m := range msgs {
			checkStored(t, s2, stored{"big@example.org", m.UID, poolMessage(3000+i, sizes[i])})
		}
		s2.Close()
	}
}
