package imap_test

import (
	"context"
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/postvault/postvault/mail/store"
)

var fetchUIDFlagsRE = regexp.MustCompile(`^\* (\d+) FETCH \(UID (\d+) FLAGS \(([^)]*)\)\)$`)

// Sessions changing one mailbox at once, with SMTP deliveries and POP3-like
// expunges straight through the store in between, all end with the store's
// view: after a NOOP, sequence number i is the i-th UID and carries the
// stored flags (RFC 9051 section 7.5.1 and 2.3.1.2).
func TestConcurrentSessionsConverge(t *testing.T) {
	e := newEnv(t, nil)
	for i := 0; i < 10; i++ {
		e.deliver(alice, msg(fmt.Sprint("m", i), "x"))
	}
	const sessions, steps = 4, 40
	rs := make([]*raw, sessions)
	for i := range rs {
		rs[i] = e.rawLogin(alice)
		rs[i].ok("SELECT INBOX")
	}
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Add(1)
		go func(i int, r *raw) {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(int64(i)))
			for k := 0; k < steps; k++ {
				switch rnd.Intn(6) {
				case 0:
					r.do(`STORE 1:* +FLAGS.SILENT ($k%d)`, rnd.Intn(3))
				case 1:
					r.do(`STORE %d FLAGS (\Seen)`, 1+rnd.Intn(3))
				case 2:
					r.do("APPEND INBOX {3+}\r\nabc")
				case 3:
					r.do(`STORE %d +FLAGS.SILENT (\Deleted)`, 1+rnd.Intn(3))
					r.do("EXPUNGE")
				case 4:
					r.do("NOOP")
				case 5:
					r.do("FETCH 1:* (UID FLAGS)")
				}
			}
		}(i, r)
	}
	// Another protocol at the same time: deliveries and a POP3-style DELE.
	acct, err := e.st.Account(alice)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 10; k++ {
		e.deliver(alice, msg("smtp", "y"))
		if msgs, _, err := acct.Messages("INBOX", nil); err == nil && len(msgs) > 5 {
			acct.Expunge(context.Background(), "INBOX", store.UIDSet{{Start: msgs[0].UID, Stop: msgs[0].UID}})
		}
	}
	wg.Wait()
	msgs, _, err := acct.Messages("INBOX", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		r.ok("NOOP")
		u := r.ok("FETCH 1:* (UID FLAGS)")
		var got []string
		for _, l := range u {
			if m := fetchUIDFlagsRE.FindStringSubmatch(l); m != nil {
				flags := strings.Fields(strings.ReplaceAll(m[3], `\Recent`, ""))
				got = append(got, m[1]+":"+m[2]+":"+strings.Join(flags, " "))
			}
		}
		var want []string
		for j, m := range msgs {
			want = append(want, fmt.Sprintf("%d:%d:%s", j+1, m.UID, strings.Join(m.Flags, " ")))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("session %d sees\n%v\nthe store has\n%v", i, got, want)
		}
	}
}
