package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// Concurrent deliveries share flushes (group commit), get distinct,
// increasing UIDs, and all survive a reopen; a watcher sees every one.
func TestConcurrentDeliveriesShareFlushes(t *testing.T) {
	v := newMem(t, 32<<20)
	s := open(t, slowFlush{v})
	a := mustAccount(t, s, "a@x.org")
	w := a.Watch("INBOX")
	defer w.Close()
	const writers, each = 16, 25
	before := s.Stats().GroupCommits
	var wg sync.WaitGroup
	uids := make([][]uint32, writers)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				res, err := s.Deliver(ctx, []store.Delivery{{Recipient: "a@x.org"}}, time.Time{},
					strings.NewReader(fmt.Sprintf("from %d, number %d", g, i)))
				if err != nil || res[0].Err != nil {
					t.Errorf("deliver: %v %+v", err, res)
					return
				}
				uids[g] = append(uids[g], res[0].UID)
				if i%5 == 0 {
					a.SetFlags(ctx, "INBOX", store.UIDSet{{res[0].UID, res[0].UID}}, store.FlagsAdd, []string{store.FlagSeen}, 0)
				}
			}
		}()
	}
	wg.Wait()
	flushes := s.Stats().GroupCommits - before
	seen := map[uint32]bool{}
	for _, us := range uids {
		for i, u := range us {
			if seen[u] || (i > 0 && u <= us[i-1]) {
				t.Fatalf("UID %d handed out twice or out of order", u)
			}
			seen[u] = true
		}
	}
	if flushes >= writers*each/2 {
		t.Errorf("%d deliveries took %d flushes: no group commit", writers*each, flushes)
	}
	t.Logf("%d deliveries (+flag changes) in %d flushes", writers*each, flushes)
	news := 0
	deadline := time.After(5 * time.Second)
	for news < writers*each {
		select {
		case <-w.C():
			for _, e := range w.Events() {
				if e.Kind == store.EventNew {
					news++
				}
			}
		case <-deadline:
			t.Fatalf("watcher saw %d of %d deliveries", news, writers*each)
		}
	}
	s, _ = reopen(t, s, v)
	defer s.Close()
	a, _ = s.Account("a@x.org")
	msgs, st, _ := a.Messages("INBOX", nil)
	if len(msgs) != writers*each || st.UIDNext != uint32(writers*each+1) {
		t.Fatalf("after reopen: %d messages, UIDNEXT %d", len(msgs), st.UIDNext)
	}
}

// slowFlush makes Flush take as long as a disk's, so that callers pile up
// behind it as they do on real hardware.
type slowFlush struct{ *storetest.Mem }

func (v slowFlush) Flush() error {
	time.Sleep(2 * time.Millisecond)
	return v.Mem.Flush()
}
