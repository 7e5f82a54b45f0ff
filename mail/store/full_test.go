package store_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
)

// A full volume refuses new mail with ErrFull (SMTP answers 4xx), keeps
// everything it acknowledged, and takes mail again once expunged mail has
// been compacted away.
func TestVolumeFull(t *testing.T) {
	v := newMem(t, 8<<20+64<<10)
	s := open(t, v)
	defer s.Close()
	a := mustAccount(t, s, "a@x.org")
	body := bytes.Repeat([]byte("x"), 300<<10)
	n := 0
	var err error
	for ; n < 100; n++ {
		if _, _, err = a.Append(ctx, "INBOX", nil, time.Time{}, bytes.NewReader(body)); err != nil {
			break
		}
	}
	if !errors.Is(err, store.ErrFull) || n < 5 {
		t.Fatalf("after %d appends: %v, want ErrFull", n, err)
	}
	if _, err := a.Expunge(ctx, "INBOX", store.UIDSet{{1, uint32(n - 2)}}); err != nil {
		t.Fatalf("expunge on a full volume: %v", err)
	}
	for i := 0; i < 3; i++ {
		if _, err := s.Compact(ctx); err != nil {
			t.Fatalf("compact: %v", err)
		}
	}
	if _, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, bytes.NewReader(body)); err != nil {
		t.Fatalf("append after compaction: %v", err)
	}
	msgs, _, _ := a.Messages("INBOX", nil)
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3", len(msgs))
	}
	for _, m := range msgs {
		if got := readAll(t, a, "INBOX", m.UID); len(got) != len(body) {
			t.Fatalf("message %d: %d bytes", m.UID, len(got))
		}
	}
}
