package store_test

import (
	"bytes"
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
	s2, _ := reopen(t, s, v)
	defer s2.Close()
	for i, tc := range tests {
		checkStored(t, s2, stored{"big@example.org", uids[i], poolMessage(1000+i, tc.size)})
	}
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
	for i := range 12 {
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
