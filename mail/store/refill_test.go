package store_test

import (
	"bytes"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
)

// lockedBuf is a log sink safe to read while the store writes to it.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// refillBody is the body of message number n: its size class chosen by n
// (small, inline but larger than a segment's free room, or chunked over
// several segments) and bytes no other message has.
func refillBody(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	var size int
	switch n % 5 {
	case 0, 1:
		size = 2<<10 + r.IntN(60<<10)
	case 2, 3:
		size = 300<<10 + r.IntN(400<<10)
	default:
		size = 1200<<10 + r.IntN(1300<<10) // 5 to 10 chunks
	}
	var seed [32]byte
	seed[0], seed[1], seed[2] = byte(n), byte(n>>8), byte(n>>16)
	b := make([]byte, size)
	rand.NewChaCha8(seed).Read(b)
	return b
}

// A volume filled to ErrFull takes mail again by itself soon after an
// expunge: the background compaction starts at once, finds the space the
// reserve left it, and deliveries that fit succeed within seconds; nothing
// that was not expunged changes. Several fill/expunge cycles, then a reopen.
func TestFullVolumeRecoversAfterExpunge(t *testing.T) {
	v := newMem(t, 24<<20)
	logs := &lockedBuf{}
	opts := fastOpts()
	opts.CompactWhenFree = 0 // the default: background compaction on
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s, err := store.Open(v, opts)
	if err != nil {
		t.Fatal(err)
	}
	a := mustAccount(t, s, "a@x.org")
	live := map[uint32]int{} // UID -> message number
	next := 0
	rng := rand.New(rand.NewPCG(1, 2))
	deliver := func() error {
		_, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, bytes.NewReader(refillBody(next)))
		return err
	}
	// fill delivers until the volume stays full for half a second (the
	// background compaction may still be freeing segments when it is
	// first full).
	fill := func(cycle int) int64 {
		var bytesIn int64
		var fullSince time.Time
		for {
			body := refillBody(next)
			uid, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, bytes.NewReader(body))
			if errors.Is(err, store.ErrFull) {
				if fullSince.IsZero() {
					fullSince = time.Now()
				}
				if time.Since(fullSince) > 500*time.Millisecond {
					return bytesIn
				}
				time.Sleep(20 * time.Millisecond)
				continue
			}
			fullSince = time.Time{}
			if err != nil {
				t.Fatalf("cycle %d: append %d: %v", cycle, next, err)
			}
			live[uid] = next
			bytesIn += int64(len(body))
			next++
		}
	}
	check := func(a *store.Account, when string) {
		t.Helper()
		msgs, _, err := a.Messages("INBOX", nil)
		if err != nil || len(msgs) != len(live) {
			t.Fatalf("%s: %d messages (%v), want %d", when, len(msgs), err, len(live))
		}
		for _, m := range msgs {
			n, ok := live[m.UID]
			if !ok {
				t.Fatalf("%s: unexpected UID %d", when, m.UID)
			}
			if got := readAll(t, a, "INBOX", m.UID); got != string(refillBody(n)) {
				t.Fatalf("%s: UID %d (message %d) differs", when, m.UID, n)
			}
		}
	}
	fill(0)
	for cycle := 1; cycle <= 4; cycle++ {
		check(a, "full")
		// Expunge about two thirds, scattered over every segment.
		var gone store.UIDSet
		var freed int64
		uids := make([]uint32, 0, len(live))
		for uid := range live {
			uids = append(uids, uid)
		}
		slices.Sort(uids)
		for _, uid := range uids {
			if n := live[uid]; rng.IntN(3) != 0 {
				gone = append(gone, store.UIDRange{Start: uid, Stop: uid})
				freed += int64(len(refillBody(n)))
			}
		}
		start := time.Now()
		if _, err := a.Expunge(ctx, "INBOX", gone); err != nil {
			t.Fatalf("cycle %d: expunge on a full volume: %v", cycle, err)
		}
		for _, r := range gone {
			delete(live, r.Start)
		}
		// No Compact call: the store must notice by itself.
		for {
			err := deliver()
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrFull) {
				t.Fatalf("cycle %d: append after expunge: %v", cycle, err)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("cycle %d: still ErrFull %v after expunging %d bytes; stats %+v", cycle, time.Since(start), freed, s.Stats())
			}
			time.Sleep(20 * time.Millisecond)
		}
		msgs, _, _ := a.Messages("INBOX", nil)
		live[msgs[len(msgs)-1].UID] = next
		next++
		t.Logf("cycle %d: expunged %d KiB, first delivery after %v", cycle, freed>>10, time.Since(start))
		in := fill(cycle)
		// The refill must use the space expunged (minus what compaction
		// could not reclaim from segments still half live), not a few
		// crumbs at the head.
		if in < freed/3 {
			t.Fatalf("cycle %d: refill took %d KiB after %d KiB expunged", cycle, in>>10, freed>>10)
		}
		t.Logf("cycle %d: refilled %d KiB", cycle, in>>10)
		check(a, "refilled")
	}
	if l := logs.String(); strings.Contains(l, "could not move") || strings.Contains(l, "level=ERROR") {
		t.Fatalf("store logged trouble:\n%s", l)
	}
	s, _ = reopen(t, s, v)
	defer s.Close()
	a, err = s.Account("a@x.org")
	if err != nil {
		t.Fatal(err)
	}
	check(a, "reopened")
}
