package store_test

import (
	"bytes"
	"errors"
	"io"
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
	if v.Discarded() == 0 {
		t.Fatal("compaction freed segments without telling the volume")
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

// A body open for reading keeps its segments from reuse even after its
// message is expunged and compaction runs.
func TestOpenBodySurvivesCompaction(t *testing.T) {
	v := newMem(t, 12<<20)
	s := open(t, v)
	defer s.Close()
	a := mustAccount(t, s, "a@x.org")
	want := bytes.Repeat([]byte("0123456789"), 150_000) // 1.5 MB: chunked
	a.Append(ctx, "INBOX", nil, time.Time{}, bytes.NewReader(want))
	b, err := a.Open("INBOX", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a.Expunge(ctx, "INBOX", store.UIDSet{{1, 1}})
	filler := bytes.Repeat([]byte("f"), 900<<10)
	for i := 0; i < 6; i++ {
		a.Append(ctx, "Trash", nil, time.Time{}, bytes.NewReader(filler))
		a.Expunge(ctx, "Trash", store.UIDSet{{1, 0}})
		if _, err := s.Compact(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read after expunge and compaction: %d bytes, %v", len(got), err)
	}
}
