package store_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// trickle hands out its bytes in small pieces with a pause between them,
// as a message arrives over a slow connection.
type trickle struct {
	r     io.Reader
	piece int
	pause time.Duration
}

func (t *trickle) Read(p []byte) (int, error) {
	time.Sleep(t.pause)
	return t.r.Read(p[:min(len(p), t.piece)])
}

// TestStreamedMessageOneCommit: the chunks of a message that arrives slowly
// are held until the message is complete and written in one group commit
// together with its append record, not one commit per chunk, for any size
// whose chunks stay under the lingering limit; and the message reads back
// intact.
func TestStreamedMessageOneCommit(t *testing.T) {
	largest := 4 << 20
	for !store.LingeredWhole(largest) {
		largest -= 4 << 10
	}
	tests := []struct {
		name string
		size int
	}{
		{"1 MiB and a header", 1<<20 + 16},
		{"two and a half MiB", 2<<20 + 512<<10 + 3},
		{"largest under the linger limit", largest},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := storetest.NewMem(64<<20, 64<<10)
			if err := store.Create(v, &store.CreateOptions{SegmentSize: 8 << 20}); err != nil { // no seal in the way
				t.Fatal(err)
			}
			s := open(t, v)
			defer s.Close()
			ctx := context.Background()
			if err := s.AddUser(ctx, "slow@example.org", "pw"); err != nil {
				t.Fatal(err)
			}
			msg := poolMessage(2000+i, tc.size)
			before := s.Stats().GroupCommits
			res, err := s.Deliver(ctx, []store.Delivery{{Recipient: "slow@example.org"}}, time.Time{},
				&trickle{r: bytes.NewReader(msg), piece: 64 << 10, pause: 2 * time.Millisecond})
			if err != nil || res[0].Err != nil {
				t.Fatal(err, res)
			}
			if n := s.Stats().GroupCommits - before; n != 1 {
				t.Errorf("a %d-byte streamed message took %d group commits, want 1 (its chunks and append record in one batch)", len(msg), n)
			}
			a, err := s.Account("slow@example.org")
			if err != nil {
				t.Fatal(err)
			}
			b, err := a.Open("INBOX", res[0].UID)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			got, err := io.ReadAll(b)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("read back %d bytes (err %v), want the %d delivered", len(got), err, len(msg))
			}
		})
	}
}
