package store

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store/storetest"
)

// A checkpoint whose log was overwritten by a later use of its segments
// (what freeing segments too early did) must not open: replaying another
// stretch of the log onto it would be a wrong state. Open refuses it and
// every slot like it, rather than opening a store with changes missing or
// applied out of order.
func TestReusedSegmentIsNotReplayed(t *testing.T) {
	ctx := context.Background()
	opts := &Options{CheckpointInterval: -1, CompactWhenFree: -1, Password: PasswordCost{Time: 1, MemoryK: 64, Threads: 1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	v := storetest.NewMem(16<<20, 64<<10)
	if err := Create(v, &CreateOptions{SegmentSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	s, err := Open(v, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(ctx, "a@x.org", "pw"); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Account("a@x.org")
	for i := 0; i < 3; i++ {
		if _, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, strings.NewReader("before")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, strings.NewReader("after")); err != nil {
		t.Fatal(err)
	}
	s.mu.RLock()
	replay, uuid := s.sb.replay, s.uuid
	s.mu.RUnlock()
	img := v.Image() // the power goes: no checkpoint at close
	s.Close()

	// The segment both slots replay from, as a later use would leave it:
	// an intact header with a higher sequence.
	h := segHeader{uuid: uuid, index: replay.seg, next: noSegment, segSeq: replay.segSeq + 5, firstSeq: replay.seq + 500}
	v2 := storetest.NewMemFrom(img, 64<<10)
	if _, err := v2.WriteAt(h.marshal(), s.segOff(replay.seg)); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(v2, opts); err == nil || !strings.Contains(err.Error(), "reused") {
		if err == nil {
			a2, _ := s2.Account("a@x.org")
			msgs, _, _ := a2.Messages("INBOX", nil)
			s2.Close()
			t.Fatalf("Open succeeded with %d messages, want an error naming the reused segment", len(msgs))
		}
		t.Fatalf("Open = %v, want an error naming the reused segment", err)
	}
}
