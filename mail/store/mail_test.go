package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
)

func mustAccount(t testing.TB, s *store.Store, name string) *store.Account {
	t.Helper()
	if err := s.AddUser(ctx, name, "pw"); err != nil && !errors.Is(err, store.ErrUserExists) {
		t.Fatal(err)
	}
	a, err := s.Account(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func uids(msgs []store.Message) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, m.UID)
	}
	return b.String()
}

func TestFlagsCopyMoveExpunge(t *testing.T) {
	v := newMem(t, 24<<20)
	s := open(t, v)
	a := mustAccount(t, s, "a@x.org")
	for i := 0; i < 5; i++ {
		if _, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, strings.NewReader(fmt.Sprint("msg ", i))); err != nil {
			t.Fatal(err)
		}
	}
	ch, _, err := a.SetFlags(ctx, "INBOX", store.UIDSet{{2, 3}}, store.FlagsAdd, []string{store.FlagDeleted, "Work"}, 0)
	if err != nil || uids(ch) != "2,3" {
		t.Fatalf("SetFlags = %v, %v", ch, err)
	}
	// CONDSTORE: message 2 changed after modseq of message 1.
	msgs, _, _ := a.Messages("INBOX", store.UIDSet{{1, 1}})
	_, failed, err := a.SetFlags(ctx, "INBOX", store.UIDSet{{1, 2}}, store.FlagsAdd, []string{store.FlagSeen}, msgs[0].ModSeq)
	if err != nil || len(failed) != 1 || failed[0] != 2 {
		t.Fatalf("SetFlags unchangedSince: failed = %v, %v", failed, err)
	}
	cr, err := a.Copy(ctx, "INBOX", store.UIDSet{{1, 2}}, "Archive")
	if err != nil || fmt.Sprint(cr.DstUIDs) != "[1 2]" {
		t.Fatalf("Copy = %+v, %v", cr, err)
	}
	mr, err := a.Move(ctx, "INBOX", store.UIDSet{{4, 0}}, "Trash")
	if err != nil || fmt.Sprint(mr.SrcUIDs, mr.DstUIDs) != "[4 5] [1 2]" {
		t.Fatalf("Move = %+v, %v", mr, err)
	}
	gone, err := a.ExpungeDeleted(ctx, "INBOX", nil)
	if err != nil || fmt.Sprint(gone) != "[2 3]" {
		t.Fatalf("ExpungeDeleted = %v, %v", gone, err)
	}
	check := func(s *store.Store) {
		t.Helper()
		a, _ := s.Account("a@x.org")
		for _, c := range []struct{ mbox, want string }{{"INBOX", "1"}, {"Archive", "1,2"}, {"Trash", "1,2"}} {
			msgs, st, err := a.Messages(c.mbox, nil)
			if err != nil || uids(msgs) != c.want {
				t.Fatalf("Messages(%s) = %s, %v, want %s", c.mbox, uids(msgs), err, c.want)
			}
			if c.mbox == "INBOX" && st.UIDNext != 6 {
				t.Fatalf("INBOX UIDNEXT = %d, want 6", st.UIDNext)
			}
		}
		msgs, _, _ := a.Messages("Archive", store.UIDSet{{2, 2}})
		if got := strings.Join(msgs[0].Flags, " "); got != `\Deleted Work` {
			t.Fatalf("copied flags = %q", got)
		}
		if got := readAll(t, a, "Trash", 2); got != "msg 4" {
			t.Fatalf("moved body = %q", got)
		}
		if u, _ := s.User("a@x.org"); u.Messages != 5 || u.Usage != 25 {
			t.Fatalf("usage = %+v", u)
		}
	}
	check(s)
	// Reopen from the log alone (no checkpoint), then from a checkpoint.
	s2 := open(t, storetest_clone(v))
	check(s2)
	s2.Close()
	s, v = reopen(t, s, v)
	check(s)
	// A new message never reuses an expunged UID.
	a, _ = s.Account("a@x.org")
	if uid, _, _ := a.Append(ctx, "INBOX", nil, time.Time{}, strings.NewReader("new")); uid != 6 {
		t.Fatalf("UID after expunge and reopen = %d, want 6", uid)
	}
	s.Close()
}

func TestMailboxes(t *testing.T) {
	v := newMem(t, 16<<20)
	s := open(t, v)
	a := mustAccount(t, s, "a@x.org")
	for _, n := range []string{"Work/2025/Q1", "Work/2026", "Привет/日本"} {
		if err := a.CreateMailbox(ctx, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.CreateMailbox(ctx, "work/2026", ""); err != nil {
		t.Fatalf("names are case-sensitive except INBOX: %v", err)
	}
	if err := a.CreateMailbox(ctx, "inbox", ""); !errors.Is(err, store.ErrMailboxExists) {
		t.Fatalf("CreateMailbox(inbox) = %v", err)
	}
	a.Append(ctx, "Work/2025/Q1", nil, time.Time{}, strings.NewReader("q1"))
	st0, _ := a.Status("Work/2025/Q1")
	if err := a.RenameMailbox(ctx, "Work", "Jobs/Old"); err != nil {
		t.Fatal(err)
	}
	st1, err := a.Status("Jobs/Old/2025/Q1")
	if err != nil || st1.UIDValidity != st0.UIDValidity || st1.Messages != 1 {
		t.Fatalf("renamed child status = %+v, %v", st1, err)
	}
	if _, err := a.Status("Work/2026"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("old child still there: %v", err)
	}
	a.Append(ctx, "INBOX", nil, time.Time{}, strings.NewReader("in"))
	if err := a.RenameMailbox(ctx, "INBOX", "Old Inbox"); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.Status("INBOX"); st.Messages != 0 {
		t.Fatalf("INBOX after rename has %d messages", st.Messages)
	}
	if got := readAll(t, a, "Old Inbox", 1); got != "in" {
		t.Fatalf("renamed INBOX body %q", got)
	}
	if err := a.DeleteMailbox(ctx, "Jobs/Old/2025"); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteMailbox(ctx, "INBOX"); err == nil {
		t.Fatal("deleted INBOX")
	}
	a.Unsubscribe(ctx, "Junk")
	a.Subscribe(ctx, "Jobs/Old")
	// A recreated mailbox gets a new UIDVALIDITY.
	a.CreateMailbox(ctx, "Jobs/Old/2025", "")
	st2, _ := a.Status("Jobs/Old/2025")
	s, v = reopen(t, s, v)
	a, _ = s.Account("a@x.org")
	mbs, _ := a.Mailboxes()
	var names []string
	for _, m := range mbs {
		names = append(names, m.Name)
	}
	want := "Archive,Drafts,INBOX,Jobs,Jobs/Old,Jobs/Old/2025,Jobs/Old/2025/Q1,Jobs/Old/2026,Junk,Old Inbox,Sent,Trash,work,work/2026,Привет,Привет/日本"
	if got := strings.Join(names, ","); got != want {
		t.Fatalf("Mailboxes =\n%s\nwant\n%s", got, want)
	}
	subs, _ := a.Subscriptions()
	if got := strings.Join(subs, ","); got != "Archive,Drafts,INBOX,Jobs/Old,Sent,Trash" {
		t.Fatalf("Subscriptions = %s", got)
	}
	st3, _ := a.Status("Jobs/Old/2025")
	if st3.UIDValidity != st2.UIDValidity || st2.UIDValidity == 0 {
		t.Fatalf("UIDVALIDITY %d after reopen, %d before", st3.UIDValidity, st2.UIDValidity)
	}
	s.Close()
}

func TestAccountsAliasesQuota(t *testing.T) {
	v := newMem(t, 16<<20)
	s := open(t, v)
	mustAccount(t, s, "a@x.org")
	mustAccount(t, s, "b@y.org")
	if err := s.AddAlias(ctx, "postmaster@x.org", "a@x.org"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAlias(ctx, "@y.org", "b@y.org"); err != nil {
		t.Fatal(err)
	}
	mustAccount(t, s, "c+d@x.org") // an account with "+" in its name is its own
	for _, c := range []struct {
		addr, want string
		err        error
	}{
		{"A@X.org", "a@x.org", nil},
		{"postmaster@x.org", "a@x.org", nil},
		{"anything@y.org", "b@y.org", nil},
		{"nobody@x.org", "", store.ErrNoSuchUser},
		{"a@z.org", "", store.ErrNotHosted},
		// Subaddresses (RFC 5233) reach the address before the "+".
		{"a+lists@x.org", "a@x.org", nil},
		{"A+Lists+More@X.org", "a@x.org", nil},
		{"postmaster+abuse@x.org", "a@x.org", nil},
		{"c+d@x.org", "c+d@x.org", nil},
		{"c+e@x.org", "", store.ErrNoSuchUser},
		{"+a@x.org", "", store.ErrNoSuchUser},
		{"nobody+a@x.org", "", store.ErrNoSuchUser},
		{"b+x@y.org", "b@y.org", nil},
		{"a+x@z.org", "", store.ErrNotHosted},
	} {
		got, err := s.ResolveRecipient(c.addr)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("ResolveRecipient(%s) = %q, %v, want %q, %v", c.addr, got, err, c.want, c.err)
		}
	}
	if err := s.SetQuota(ctx, "a@x.org", 10); err != nil {
		t.Fatal(err)
	}
	res, _ := s.Deliver(ctx, []store.Delivery{{Recipient: "a@x.org"}}, time.Time{}, strings.NewReader("12345678901"))
	if !errors.Is(res[0].Err, store.ErrQuota) {
		t.Fatalf("over quota delivery = %+v", res[0])
	}
	s.SetDisabled(ctx, "b@y.org", true)
	if _, err := s.Authenticate(ctx, "b@y.org", "pw", "t"); err != store.ErrAuthFailed {
		t.Fatalf("disabled login = %v", err)
	}
	if err := s.SetPassword(ctx, "a@x.org", "new"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "tls/cert", []byte("PEM")); err != nil {
		t.Fatal(err)
	}
	s, v = reopen(t, s, v)
	if _, err := s.Authenticate(ctx, "a@x.org", "new", "t"); err != nil {
		t.Fatalf("new password after reopen: %v", err)
	}
	if val, ok := s.Setting("tls/cert"); !ok || string(val) != "PEM" {
		t.Fatalf("setting = %q %v", val, ok)
	}
	if err := s.DelUser(ctx, "b@y.org"); err != nil {
		t.Fatal(err)
	}
	if s.Hosted("y.org") || len(s.Aliases()) != 1 {
		t.Fatalf("after DelUser: hosted %v, aliases %v", s.Hosted("y.org"), s.Aliases())
	}
	s.Close()
}

func TestLargeMessageStreams(t *testing.T) {
	v := newMem(t, 48<<20)
	s := open(t, v)
	a := mustAccount(t, s, "a@x.org")
	const size = 5<<20 + 12345
	src := rand.New(rand.NewPCG(1, 2))
	want := make([]byte, size)
	for i := range want {
		want[i] = byte(src.Uint32())
	}
	uid, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	check := func(s *store.Store) {
		a, _ := s.Account("a@x.org")
		b, err := a.Open("INBOX", uid)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		got, err := io.ReadAll(b)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("large body: %d bytes, err %v, equal %v", len(got), err, bytes.Equal(got, want))
		}
		p := make([]byte, 1000)
		if _, err := b.ReadAt(p, 3<<20-500); err != nil || !bytes.Equal(p, want[3<<20-500:3<<20+500]) {
			t.Fatalf("ReadAt across chunks: %v", err)
		}
	}
	check(s)
	s, v = reopen(t, s, v)
	check(s)
	s.Close()
}

func TestWatch(t *testing.T) {
	v := newMem(t, 16<<20)
	s := open(t, v)
	a := mustAccount(t, s, "a@x.org")
	w := a.Watch("INBOX")
	all := a.Watch("")
	defer w.Close()
	a.Append(ctx, "INBOX", nil, time.Time{}, strings.NewReader("x"))
	a.Append(ctx, "Sent", nil, time.Time{}, strings.NewReader("y"))
	a.SetFlags(ctx, "INBOX", nil, store.FlagsAdd, []string{store.FlagSeen}, 0)
	a.Expunge(ctx, "INBOX", store.UIDSet{{1, 1}})
	select {
	case <-w.C():
	case <-time.After(5 * time.Second):
		t.Fatal("no signal")
	}
	var kinds []store.EventKind
	for _, e := range w.Events() {
		kinds = append(kinds, e.Kind)
	}
	if fmt.Sprint(kinds) != fmt.Sprint([]store.EventKind{store.EventNew, store.EventFlags, store.EventExpunge}) {
		t.Fatalf("events = %v", kinds)
	}
	if n := len(all.Events()); n != 4 {
		t.Fatalf("account-wide watcher got %d events, want 4", n)
	}
	all.Close()
	s.Close()
}
