package store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

var ctx = context.Background()

// fastOpts keeps password hashing cheap in tests.
func fastOpts() *store.Options {
	return &store.Options{
		Password:           store.PasswordCost{Time: 1, MemoryK: 64, Threads: 1},
		CheckpointInterval: -1,
		CompactWhenFree:    -1,
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:                func() time.Time { return time.Unix(1_800_000_000, 0) },
	}
}

func newMem(t testing.TB, size int64) *storetest.Mem {
	t.Helper()
	v := storetest.NewMem(size, 64<<10)
	if err := store.Create(v, &store.CreateOptions{SegmentSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	return v
}

func open(t testing.TB, v store.Volume) *store.Store {
	t.Helper()
	s, err := store.Open(v, fastOpts())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// benchStore makes a store on v with the one account bench@example.org
// (password "pw"); the caller closes it.
func benchStore(b *testing.B, v store.Volume) *store.Store {
	b.Helper()
	if err := store.Create(v, nil); err != nil {
		b.Fatal(err)
	}
	s := open(b, v)
	if err := s.AddUser(ctx, "bench@example.org", "pw"); err != nil {
		b.Fatal(err)
	}
	return s
}

// reopen closes s (with or without its final checkpoint) and opens the
// volume's bytes again.
func reopen(t testing.TB, s *store.Store, v *storetest.Mem) (*store.Store, *storetest.Mem) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	v2 := storetest.NewMemFrom(v.Image(), 64<<10)
	s2 := open(t, v2)
	if p := s2.Problems(); len(p) > 0 {
		t.Fatalf("problems after a clean reopen: %+v", p)
	}
	return s2, v2
}

func readAll(t testing.TB, a *store.Account, mbox string, uid uint32) string {
	t.Helper()
	b, err := a.Open(mbox, uid)
	if err != nil {
		t.Fatalf("Open(%s, %d): %v", mbox, uid, err)
	}
	defer b.Close()
	p, err := io.ReadAll(b)
	if err != nil {
		t.Fatalf("read %s/%d: %v", mbox, uid, err)
	}
	return string(p)
}

func TestBasics(t *testing.T) {
	v := newMem(t, 64<<20)
	s := open(t, v)
	if err := s.AddUser(ctx, "Alice@Example.org", "secret"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(ctx, "alice@example.org", "x"); !errors.Is(err, store.ErrUserExists) {
		t.Fatalf("AddUser twice = %v, want ErrUserExists", err)
	}
	if _, err := s.Authenticate(ctx, "alice@example.org", "wrong", "test"); err != store.ErrAuthFailed {
		t.Fatalf("Authenticate(wrong) = %v", err)
	}
	if _, err := s.Authenticate(ctx, "bob@example.org", "secret", "test"); err != store.ErrAuthFailed {
		t.Fatalf("Authenticate(unknown) = %v", err)
	}
	a, err := s.Authenticate(ctx, "alice@example.org", "secret", "test")
	if err != nil {
		t.Fatal(err)
	}
	mbs, _ := a.Mailboxes()
	var names []string
	for _, m := range mbs {
		names = append(names, m.Name+m.SpecialUse)
	}
	if got, want := strings.Join(names, ","), `Archive\Archive,Drafts\Drafts,INBOX,Junk\Junk,Sent\Sent,Trash\Trash`; got != want {
		t.Fatalf("Mailboxes = %s, want %s", got, want)
	}
	uid, uv, err := a.Append(ctx, "INBOX", []string{store.FlagSeen, "$Forwarded"}, time.Time{}, strings.NewReader("Subject: hi\r\n\r\nhello\r\n"))
	if err != nil || uid != 1 || uv == 0 {
		t.Fatalf("Append = %d, %d, %v", uid, uv, err)
	}
	res, err := s.Deliver(ctx, []store.Delivery{{Recipient: "alice@example.org"}, {Recipient: "nobody@example.org"}, {Recipient: "x@elsewhere.net"}}, time.Time{}, strings.NewReader("second"))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].UID != 2 || res[0].Err != nil || !errors.Is(res[1].Err, store.ErrNoSuchUser) || !errors.Is(res[2].Err, store.ErrNotHosted) {
		t.Fatalf("Deliver = %+v", res)
	}
	if got := readAll(t, a, "INBOX", 2); got != "second" {
		t.Fatalf("body = %q", got)
	}
	s, v = reopen(t, s, v)
	a, _ = s.Account("alice@example.org")
	msgs, st, err := a.Messages("INBOX", nil)
	if err != nil || len(msgs) != 2 || st.UIDNext != 3 || st.Unseen != 1 {
		t.Fatalf("after reopen: %+v %+v %v", msgs, st, err)
	}
	if got := strings.Join(msgs[0].Flags, " "); got != `\Seen $Forwarded` {
		t.Fatalf("flags = %q", got)
	}
	if got := readAll(t, a, "INBOX", 1); got != "Subject: hi\r\n\r\nhello\r\n" {
		t.Fatalf("body = %q", got)
	}
	if u, _ := s.User("alice@example.org"); u.Usage != int64(len("Subject: hi\r\n\r\nhello\r\n")+len("second")) || u.Messages != 2 {
		t.Fatalf("usage = %+v", u)
	}
	_ = bytes.MinRead
	s.Close()
}
