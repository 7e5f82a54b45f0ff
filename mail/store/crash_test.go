package store_test

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// The crash test replays one seeded workload many times on a volume that
// loses power at a different write each time, and checks after each cut
// that the reopened store holds exactly the state after the last
// acknowledged operation, or that plus the operation in flight, and that
// every body reads back intact.

const crashUsers = 2

type workload struct {
	seed uint64
	ops  int
}

// run applies the workload to s, calling after(i) once op i has returned.
// It stops at the first error (the power is gone).
func (w workload) run(s *store.Store, after func(i int)) (int, error) {
	rng := rand.New(rand.NewPCG(w.seed, 7))
	rng2 := rand.New(rand.NewPCG(w.seed, 11)) // \Recent claims, apart so the rest stays as it was
	mboxes := []string{"INBOX", "Archive", "Trash", "Work"}
	var accts []*store.Account
	step := func(i int) error {
		switch {
		case i < crashUsers:
			name := fmt.Sprintf("u%d@example.org", i)
			if err := s.AddUser(ctx, name, "pw"); err != nil {
				return err
			}
			a, err := s.Account(name)
			if err != nil {
				return err
			}
			accts = append(accts, a)
			return nil
		case i < 2*crashUsers:
			return accts[i-crashUsers].CreateMailbox(ctx, "Work", "")
		}
		if i%6 == 5 {
			a := accts[rng2.IntN(len(accts))]
			_, _, err := a.ClaimRecent(ctx, mboxes[rng2.IntN(len(mboxes))], uint32(rng2.IntN(30)))
			return err
		}
		a := accts[rng.IntN(len(accts))]
		mbox := mboxes[rng.IntN(len(mboxes))]
		switch k := rng.IntN(100); {
		case k < 40:
			size := 100 + rng.IntN(6000)
			if rng.IntN(7) == 0 {
				size = 200<<10 + rng.IntN(1200<<10)
			}
			body := fmt.Sprintf("X-Id: %d\r\n\r\n", i) + strings.Repeat(string(rune('a'+i%26)), size)
			var flags []string
			if rng.IntN(3) == 0 {
				flags = []string{store.FlagSeen, "$Label" + fmt.Sprint(rng.IntN(3))}
			}
			if rng.IntN(2) == 0 {
				_, _, err := a.Append(ctx, mbox, flags, time.Unix(1_700_000_000+int64(i), 0), strings.NewReader(body))
				return err
			}
			_, err := s.Deliver(ctx, []store.Delivery{{Recipient: a.Name(), Mailbox: mbox, Flags: flags}}, time.Unix(1_700_000_000, 0), strings.NewReader(body))
			return err
		case k < 60:
			ops := []store.FlagOp{store.FlagsAdd, store.FlagsRemove, store.FlagsReplace}
			fl := [][]string{{store.FlagSeen}, {store.FlagDeleted}, {store.FlagFlagged, "Work"}, {"$Label1"}}
			lo := uint32(1 + rng.IntN(20))
			_, _, err := a.SetFlags(ctx, mbox, store.UIDSet{{lo, lo + uint32(rng.IntN(5))}}, ops[rng.IntN(3)], fl[rng.IntN(len(fl))], 0)
			return err
		case k < 72:
			dst := mboxes[rng.IntN(len(mboxes))]
			if dst == mbox {
				return nil
			}
			lo := uint32(1 + rng.IntN(20))
			_, err := a.Move(ctx, mbox, store.UIDSet{{lo, lo + uint32(rng.IntN(4))}}, dst)
			return err
		case k < 78:
			dst := mboxes[rng.IntN(len(mboxes))]
			lo := uint32(1 + rng.IntN(20))
			_, err := a.Copy(ctx, mbox, store.UIDSet{{lo, lo + 1}}, dst)
			return err
		case k < 88:
			_, err := a.ExpungeDeleted(ctx, mbox, nil)
			return err
		case k < 91:
			lo := uint32(1 + rng.IntN(10))
			_, err := a.Expunge(ctx, mbox, store.UIDSet{{lo, lo + 8}})
			return err
		case k < 95:
			return s.Checkpoint(ctx)
		default:
			_, err := s.Compact(ctx)
			return err
		}
	}
	for i := 0; i < w.ops; i++ {
		if err := step(i); err != nil {
			return i, fmt.Errorf("op %d: %w", i, err)
		}
		after(i)
	}
	return w.ops, nil
}

// snapshot renders everything a client can see, bodies by checksum. Bodies
// never change, so with a cache each is read once.
func snapshot(t testing.TB, s *store.Store) string { return snapshotCached(t, s, nil) }

func snapshotCached(t testing.TB, s *store.Store, cache map[string]string) string {
	t.Helper()
	var b strings.Builder
	for _, u := range s.Users() {
		fmt.Fprintf(&b, "user %s usage=%d n=%d\n", u.Name, u.Usage, u.Messages)
		a, err := s.Account(u.Name)
		if err != nil {
			t.Fatal(err)
		}
		mbs, _ := a.Mailboxes()
		for _, mb := range mbs {
			msgs, st, err := a.Messages(mb.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			mark, err := a.RecentMark(mb.Name)
			if err != nil {
				t.Fatal(err)
			}
			kws, err := a.Keywords(mb.Name)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, " %s uv=%d next=%d n=%d unseen=%d size=%d recent=%d keywords=%v\n", mb.Name, st.UIDValidity, st.UIDNext, st.Messages, st.Unseen, st.Size, mark, kws)
			for _, m := range msgs {
				key := fmt.Sprint(u.Name, mb.Name, st.UIDValidity, m.UID)
				if line, ok := cache[key]; ok {
					fmt.Fprintf(&b, "  %d %v %s\n", m.UID, m.Flags, line)
					continue
				}
				body, err := a.Open(mb.Name, m.UID)
				if err != nil {
					fmt.Fprintf(&b, "  %d OPEN ERROR %v\n", m.UID, err)
					continue
				}
				h := crc32.NewIEEE()
				_, err = io.Copy(h, body)
				body.Close()
				line := fmt.Sprintf("%d %08x %v", m.Size, h.Sum32(), err)
				if cache != nil && err == nil {
					cache[key] = line
				}
				fmt.Fprintf(&b, "  %d %v %s\n", m.UID, m.Flags, line)
			}
		}
	}
	return b.String()
}

func crashBase(t testing.TB) []byte {
	v := storetest.NewMem(32<<20, 64<<10)
	if err := store.Create(v, &store.CreateOptions{SegmentSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	return v.Image()
}

func TestCrashAtEveryWrite(t *testing.T) {
	w := workload{seed: 2, ops: 120}
	base := crashBase(t)
	// Reference run: the state after each op and the writes it took.
	ref := storetest.NewPowerCut(base, 64<<10, 0, 1)
	s := open(t, ref)
	var states []string
	cache := map[string]string{}
	states = append(states, snapshotCached(t, s, cache))
	if _, err := w.run(s, func(i int) {
		states = append(states, snapshotCached(t, s, cache))
	}); err != nil {
		t.Fatal(err)
	}
	total := ref.Writes()
	st := s.Stats()
	t.Logf("reference: %+v", st)
	if st.CompactedBytes == 0 && !testing.Short() {
		t.Fatal("the workload no longer makes compaction move anything; pick another seed")
	}
	s.Close()
	if last := states[len(states)-1]; !strings.Contains(last, "recent=") || strings.Count(last, "recent=0 ") == strings.Count(last, "recent=") ||
		strings.Count(last, "keywords=[]") == strings.Count(last, "keywords=") {
		t.Fatalf("the workload no longer claims \\Recent or sets keywords; final state:\n%s", last)
	}

	cuts := make([]int, 0, total)
	for c := 1; c <= total; c++ {
		cuts = append(cuts, c)
	}
	if os.Getenv("POSTVAULT_EXHAUSTIVE") == "" {
		rng := rand.New(rand.NewPCG(99, 1))
		rng.Shuffle(len(cuts), func(i, j int) { cuts[i], cuts[j] = cuts[j], cuts[i] })
		n := 6
		if testing.Short() {
			n = 4
		}
		cuts = cuts[:min(n, len(cuts))]
		sort.Ints(cuts)
	}
	t.Logf("workload: %d ops, %d writes; cutting at %d of them", w.ops, total, len(cuts))
	for _, c := range cuts {
		pc := storetest.NewPowerCut(base, 64<<10, c, uint64(c))
		s := open(t, pc)
		op, err := w.run(s, func(int) {})
		if err == nil || !pc.Cut() {
			// Batching of streamed chunks varies, so a run may take fewer
			// writes than the reference.
			s.Close()
			continue
		}
		s.Close()
		k := op + 1 // states[k-1] is before the op in flight, states[k] after
		img := pc.Durable()
		v := storetest.NewMemFrom(img, 64<<10)
		s2, err := store.Open(v, fastOpts())
		if err != nil {
			t.Fatalf("cut %d (op %d): reopen: %v", c, k, err)
		}
		got := snapshot(t, s2)
		if p := s2.Problems(); len(p) > 0 {
			t.Errorf("cut %d: problems after a power cut: %+v", c, p)
		}
		if got != states[k-1] && (k >= len(states) || got != states[k]) {
			t.Fatalf("cut at write %d (during op %d): state is neither before nor after the op\n got:\n%s\nbefore:\n%s", c, k-1, got, states[k-1])
		}
		// The recovered store keeps working and survives a clean reopen.
		a, err := s2.Account("u0@example.org")
		if err == nil {
			if _, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, bytes.NewReader([]byte("after the cut"))); err != nil {
				t.Fatalf("cut %d: append after recovery: %v", c, err)
			}
		}
		want := snapshot(t, s2)
		s2.Close()
		s3, err := store.Open(storetest.NewMemFrom(v.Image(), 64<<10), fastOpts())
		if err != nil {
			t.Fatalf("cut %d: second reopen: %v", c, err)
		}
		if again := snapshot(t, s3); again != want {
			t.Fatalf("cut %d: state changed across a clean reopen after recovery\n got:\n%s\nwant:\n%s", c, again, want)
		}
		s3.Close()
	}
}
