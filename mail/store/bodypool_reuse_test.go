package store_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// choppyReader hands out its bytes in reads of random sizes, as a network
// connection does, so that pooled buffers fill over several reads.
type choppyReader struct {
	b   []byte
	rng *rand.Rand
}

func (r *choppyReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), len(r.b), 1+r.rng.IntN(96<<10))
	copy(p, r.b[:k])
	r.b = r.b[k:]
	return k, nil
}

// poolMessage is message i's body: a random block of its own, repeated
// with an odd period so that no two buffers of one message agree either.
func poolMessage(i, size int) []byte {
	rng := rand.New(rand.NewPCG(uint64(i), 99))
	block := make([]byte, 8191)
	for j := range block {
		block[j] = byte(rng.Uint32())
	}
	return bytes.Repeat(block, size/len(block)+1)[:size]
}

type stored struct {
	acct string
	uid  uint32
	body []byte
}

// Body buffers come from a pool and go back once written. Many distinct
// messages of every size class (inline, exactly maxInline, chunked, with a
// short last chunk) delivered concurrently, by Deliver to two recipients
// and by Append, read back byte for byte while more arrive and again after
// a reopen: a buffer recycled while a unit, the batch or the volume write
// still needed it would show as another message's bytes or as the poison
// the package's tests write over released buffers (bodypool_test.go).
func TestPooledBodyBuffersNotReusedEarly(t *testing.T) {
	sizes := []int{0, 1, 4099, 256<<10 - 1, 256 << 10, 256<<10 + 1, 1<<20 - 9, 1 << 20,
		1<<20 + 1, 1<<20 + 256<<10 + 5, 2<<20 + 17}
	const workers, perWorker = 4, 4
	v := storetest.NewMem(48<<20, 64<<10)
	if err := store.Create(v, &store.CreateOptions{SegmentSize: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	s := open(t, v)
	for _, u := range []string{"alice@example.org", "bob@example.org"} {
		if err := s.AddUser(ctx, u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan stored, workers*perWorker*2)
	var all []stored
	readerDone := make(chan struct{})
	go func() { // reads each message back as soon as it is acknowledged
		defer close(readerDone)
		for m := range got {
			checkStored(t, s, m)
			all = append(all, m)
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for k := range perWorker {
				i := w*perWorker + k
				body := poolMessage(i, sizes[(w+k*workers)%len(sizes)])
				if err := deliverOne(s, i, body, rng, got); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(got)
	<-readerDone
	if t.Failed() {
		return
	}
	s2, _ := reopen(t, s, v)
	defer s2.Close()
	for _, m := range all {
		checkStored(t, s2, m)
	}
	if len(all) != workers*perWorker*3/2 {
		t.Errorf("stored %d copies, want %d", len(all), workers*perWorker*3/2)
	}
}

// deliverOne stores message i: even ones by Deliver to both users, odd
// ones by Append for alice.
func deliverOne(s *store.Store, i int, body []byte, rng *rand.Rand, got chan<- stored) error {
	r := &choppyReader{b: body, rng: rng}
	if i%2 == 1 {
		a, err := s.Account("alice@example.org")
		if err != nil {
			return err
		}
		uid, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, r)
		if err != nil {
			return fmt.Errorf("Append of message %d (%d bytes): %w", i, len(body), err)
		}
		got <- stored{"alice@example.org", uid, body}
		return nil
	}
	to := []store.Delivery{{Recipient: "alice@example.org"}, {Recipient: "bob@example.org"}}
	res, err := s.Deliver(ctx, to, time.Time{}, r)
	if err != nil {
		return fmt.Errorf("Deliver of message %d (%d bytes): %w", i, len(body), err)
	}
	for j, x := range res {
		if x.Err != nil {
			return fmt.Errorf("Deliver of message %d to %s: %w", i, to[j].Recipient, x.Err)
		}
		got <- stored{to[j].Recipient, x.UID, body}
	}
	return nil
}

func checkStored(t *testing.T, s *store.Store, m stored) {
	t.Helper()
	a, err := s.Account(m.acct)
	if err != nil {
		t.Error(err)
		return
	}
	b, err := a.Open("INBOX", m.uid)
	if err != nil {
		t.Errorf("Open(%s UID %d): %v", m.acct, m.uid, err)
		return
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		t.Errorf("reading %s UID %d: %v", m.acct, m.uid, err)
		return
	}
	if !bytes.Equal(data, m.body) {
		at := 0
		for at < min(len(data), len(m.body)) && data[at] == m.body[at] {
			at++
		}
		t.Errorf("%s UID %d: %d bytes read back, want %d; first difference at byte %d", m.acct, m.uid, len(data), len(m.body), at)
	}
}
