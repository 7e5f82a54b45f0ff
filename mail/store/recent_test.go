package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

func appendN(t *testing.T, a *store.Account, mbox string, n int, flags ...string) []uint32 {
	t.Helper()
	var out []uint32
	for i := 0; i < n; i++ {
		uid, _, err := a.Append(ctx, mbox, flags, time.Time{}, strings.NewReader(fmt.Sprintf("m%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, uid)
	}
	return out
}

// reopenBoth returns the store reopened after a clean Close (the state in
// a checkpoint) and, from a copy taken before, after a power cut (the state
// replayed from the log).
func reopenBoth(t *testing.T, s *store.Store, v *storetest.Mem) (clean, cut *store.Store) {
	t.Helper()
	cut = open(t, storetest.NewMemFrom(v.Image(), 64<<10))
	clean, _ = reopen(t, s, v)
	return clean, cut
}

func TestClaimRecent(t *testing.T) {
	v := newMem(t, 16<<20)
	s := open(t, v)
	a := mustAccount(t, s, "a@x.org")
	claim := func(a *store.Account, upTo uint32, wantPrev, wantNow uint32) {
		t.Helper()
		prev, now, err := a.ClaimRecent(ctx, "INBOX", upTo)
		if err != nil || prev != wantPrev || now != wantNow {
			t.Fatalf("ClaimRecent(INBOX, %d) = %d, %d, %v, want %d, %d", upTo, prev, now, err, wantPrev, wantNow)
		}
	}
	claim(a, 10, 0, 0) // an empty mailbox: nothing to claim
	appendN(t, a, "INBOX", 5)
	claim(a, 3, 0, 3)
	claim(a, 2, 3, 3)   // below the mark: nothing
	claim(a, 100, 3, 5) // capped at the highest UID
	appendN(t, a, "INBOX", 2)
	if m, err := a.RecentMark("INBOX"); err != nil || m != 5 {
		t.Fatalf("RecentMark = %d, %v, want 5", m, err)
	}
	if _, _, err := a.ClaimRecent(ctx, "Nope", 1); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("ClaimRecent(Nope) = %v, want ErrNoSuchMailbox", err)
	}
	flush := s.Stats().NextSeq
	claim(a, 5, 5, 5)
	if s.Stats().NextSeq != flush {
		t.Fatal("a claim of nothing wrote a record")
	}
	before, _ := a.Status("INBOX")
	clean, cut := reopenBoth(t, s, v)
	defer clean.Close()
	defer cut.Close()
	for name, s2 := range map[string]*store.Store{"checkpoint": clean, "log": cut} {
		a2, _ := s2.Account("a@x.org")
		m, err := a2.RecentMark("INBOX")
		st, _ := a2.Status("INBOX")
		if err != nil || m != 5 || st.HighestModSeq != before.HighestModSeq {
			t.Errorf("%s: RecentMark = %d, %v, want 5; HIGHESTMODSEQ %d, want %d (a claim changes no modseq)",
				name, m, err, st.HighestModSeq, before.HighestModSeq)
		}
	}
	// Renaming INBOX carries what was claimed: 5 of its 7 messages.
	a2, _ := clean.Account("a@x.org")
	if err := a2.RenameMailbox(ctx, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	if m, _ := a2.RecentMark("Old"); m != 5 {
		t.Errorf("RecentMark(Old) after renaming INBOX = %d, want 5", m)
	}
	if m, _ := a2.RecentMark("INBOX"); m != 5 {
		t.Errorf("RecentMark(INBOX) after renaming it = %d, want 5", m)
	}
}

// Concurrent claims never hand a UID to two callers, and together they
// hand out every UID, while mail keeps arriving.
func TestClaimRecentConcurrent(t *testing.T) {
	s := open(t, newMem(t, 32<<20))
	defer s.Close()
	a := mustAccount(t, s, "a@x.org")
	const deliveries, claimers = 60, 6
	var mu sync.Mutex
	owner := map[uint32]int{}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for c := 0; c < claimers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				prev, now, err := a.ClaimRecent(ctx, "INBOX", ^uint32(0))
				if err != nil {
					t.Error(err)
					return
				}
				if m, err := a.RecentMark("INBOX"); err != nil || m < now {
					t.Errorf("RecentMark = %d, %v after a claim up to %d", m, err, now)
				}
				mu.Lock()
				for uid := prev + 1; uid <= now; uid++ {
					if o, ok := owner[uid]; ok {
						t.Errorf("UID %d claimed by %d and %d", uid, o, c)
					}
					owner[uid] = c
				}
				mu.Unlock()
			}
		}()
	}
	appendN(t, a, "INBOX", deliveries)
	close(done)
	wg.Wait()
	prev, now, err := a.ClaimRecent(ctx, "INBOX", ^uint32(0))
	if err != nil {
		t.Fatal(err)
	}
	for uid := prev + 1; uid <= now; uid++ {
		if _, ok := owner[uid]; ok {
			t.Errorf("UID %d claimed twice", uid)
		}
		owner[uid] = -1
	}
	for uid := uint32(1); uid <= deliveries; uid++ {
		if _, ok := owner[uid]; !ok {
			t.Errorf("UID %d claimed by no one", uid)
		}
	}
}

// A keyword stays defined in its mailbox once used (RFC 9051 section
// 2.3.2), across restarts; removing an unknown keyword defines nothing; the
// set is capped at 64 whether or not messages still carry them.
func TestKeywordsStayDefined(t *testing.T) {
	v := newMem(t, 16<<20)
	s := open(t, v)
	a := mustAccount(t, s, "a@x.org")
	appendN(t, a, "INBOX", 2, "$Append")
	if _, _, err := a.SetFlags(ctx, "INBOX", store.UIDSet{{1, 1}}, store.FlagsAdd, []string{"$Added"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.SetFlags(ctx, "INBOX", nil, store.FlagsRemove, []string{"$Append", "$Added", "$NeverSet"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Copy(ctx, "INBOX", store.UIDSet{{1, 2}}, "Archive"); err != nil {
		t.Fatal(err)
	}
	uids := appendN(t, a, "Archive", 1, "$Gone")
	if _, err := a.Expunge(ctx, "Archive", store.UIDSet{{uids[0], uids[0]}}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"INBOX": {"$Added", "$Append"}, "Archive": {"$Gone"}}
	check := func(name string, s *store.Store) {
		t.Helper()
		a, _ := s.Account("a@x.org")
		for mbox, w := range want {
			got, err := a.Keywords(mbox)
			if err != nil || !slices.Equal(got, w) {
				t.Errorf("%s: Keywords(%s) = %v, %v, want %v", name, mbox, got, err, w)
			}
		}
	}
	check("running", s)
	clean, cut := reopenBoth(t, s, v)
	defer clean.Close()
	defer cut.Close()
	check("checkpoint", clean)
	check("log", cut)

	// The cap counts defined keywords, not those on messages.
	a2, _ := clean.Account("a@x.org")
	for i := 0; i < 62; i++ {
		if _, _, err := a2.SetFlags(ctx, "INBOX", store.UIDSet{{1, 1}}, store.FlagsReplace, []string{fmt.Sprintf("k%d", i)}, 0); err != nil {
			t.Fatalf("keyword %d: %v", i+3, err)
		}
	}
	if _, _, err := a2.SetFlags(ctx, "INBOX", store.UIDSet{{1, 1}}, store.FlagsAdd, []string{"one-too-many"}, 0); !errors.Is(err, store.ErrTooManyKeywords) {
		t.Fatalf("65th keyword: %v, want ErrTooManyKeywords", err)
	}
	if _, _, err := a2.SetFlags(ctx, "INBOX", store.UIDSet{{1, 1}}, store.FlagsRemove, []string{"one-too-many"}, 0); err != nil {
		t.Fatalf("removing an unknown keyword from a full mailbox: %v", err)
	}
	if kw, _ := a2.Keywords("INBOX"); len(kw) != 64 {
		t.Fatalf("%d keywords, want 64", len(kw))
	}
}
