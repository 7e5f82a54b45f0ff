package store

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store/storetest"
)

// gated is a Mem volume whose next WriteAt or Flush can be held until the
// test lets it go, so that a test can stop the writer with one batch in
// flight and the next one written.
type gated struct {
	*storetest.Mem
	mu         sync.Mutex
	holdWrite  chan struct{} // the next WriteAt waits for it to close
	holdFlush  chan struct{} // every Flush waits for it to close
	writes     int
	wroteFirst chan struct{} // closed when the held WriteAt is reached
}

func (g *gated) WriteAt(p []byte, off int64) (int, error) {
	g.mu.Lock()
	hold, reached := g.holdWrite, g.wroteFirst
	g.holdWrite, g.wroteFirst = nil, nil
	g.mu.Unlock()
	if hold != nil {
		close(reached)
		<-hold
	}
	n, err := g.Mem.WriteAt(p, off)
	g.mu.Lock()
	g.writes++
	g.mu.Unlock()
	return n, err
}

func (g *gated) Flush() error {
	g.mu.Lock()
	hold := g.holdFlush
	g.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return g.Mem.Flush()
}

func (g *gated) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writes
}

// overlapped delivers "first" and then, while its batch is being flushed,
// "second" (over 1 MiB) in a batch of its own (flagOverlap), and returns the volume's
// image at that moment, both unacknowledged, with the store (still
// running: its flushes are let go) and the delivery results to wait for.
func overlapped(t *testing.T) (img []byte, s *Store, g *gated, wait func() []error) {
	t.Helper()
	ctx := context.Background()
	g = &gated{Mem: storetest.NewMem(20<<20, 64<<10)}
	if err := Create(g, &CreateOptions{SegmentSize: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	o := sealTestOpts()
	o.overlapFrom = padFrom
	s, err := Open(g, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(ctx, "a@x.org", "pw"); err != nil {
		t.Fatal(err)
	}
	deliver := func(body string) error {
		res, err := s.Deliver(ctx, []Delivery{{Recipient: "a@x.org"}}, time.Time{}, strings.NewReader(body))
		if err == nil {
			err = res[0].Err
		}
		return err
	}
	if err := deliver("Subject: zero\r\n\r\nacknowledged before\r\n"); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	reached := make(chan struct{})
	g.mu.Lock()
	g.holdWrite, g.wroteFirst, g.holdFlush = release, reached, make(chan struct{})
	flushes := g.holdFlush
	g.mu.Unlock()
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = deliver("Subject: one\r\n\r\nFIRST BODY IN FLIGHT\r\n") })
	<-reached // the writer is writing the first batch
	// Large enough to be written beside a batch in flight (overlapFrom,
	// lowered to 1 MiB for this test).
	second := "Subject: two\r\n\r\nSECOND BODY OVERLAPPING\r\n" + strings.Repeat("second line\r\n", padFrom/13+1)
	wg.Go(func() { errs[1] = deliver(second) })
	deadline := time.Now().Add(10 * time.Second)
	for queued := false; !queued; {
		time.Sleep(time.Millisecond)
		s.qmu.Lock()
		queued = s.queuedAtLeastLocked(padFrom) && !s.lingerLocked()
		s.qmu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the second message was not queued")
		}
	}
	before := g.count()
	close(release) // the first batch is written; its flush waits
	for g.count() < before+2 {
		time.Sleep(time.Millisecond) // the second is written meanwhile
		if time.Now().After(deadline) {
			t.Fatal("the second batch was not written while the first was being flushed")
		}
	}
	img = g.Image()
	close(flushes)
	return img, s, g, func() []error { wg.Wait(); return errs }
}

// A batch written while the one before it was being flushed does not prove
// that one durable: when the power goes with the first torn (its body, or
// its batch header) and the second whole, the store opens at the end of the
// log before them (neither was acknowledged), reports no damage, and erases
// the second, so that no later replay takes it for part of the new log.
func TestOverlapTornFirstBatch(t *testing.T) {
	for _, torn := range []string{"body", "batch header"} {
		t.Run(torn, func(t *testing.T) { overlapTorn(t, torn) })
	}
}

func overlapTorn(t *testing.T, torn string) {
	img, s, _, wait := overlapped(t)
	for i, err := range wait() {
		if err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
	}
	s.Close()
	second := bytes.Index(img, []byte("SECOND BODY OVERLAPPING"))
	first := bytes.Index(img, []byte("FIRST BODY IN FLIGHT"))
	if first < 0 || second < first {
		t.Fatalf("bodies at %d and %d", first, second)
	}
	at := first
	if torn == "batch header" {
		// The first batch is its append record: the header before the body.
		at = bytes.LastIndex(img[:first], []byte("PVR1")) + 1
	}
	img[at] ^= 0x20

	v := storetest.NewMemFrom(img, 64<<10)
	s2, err := Open(v, sealTestOpts())
	if err != nil {
		t.Fatal(err)
	}
	if p := s2.Problems(); len(p) > 0 {
		t.Errorf("a torn batch reported as damage: %+v", p)
	}
	if n := s2.Stats().Messages; n != 1 {
		t.Errorf("%d messages after the cut, want the one acknowledged before", n)
	}
	if bytes.Contains(v.Image(), []byte("SECOND BODY OVERLAPPING")) {
		t.Error("the batch after the torn one is still on the volume")
	}
	// The log goes on from there, and opens again whole.
	res, err := s2.Deliver(context.Background(), []Delivery{{Recipient: "a@x.org"}}, time.Time{}, strings.NewReader("Subject: three\r\n\r\nafter\r\n"))
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	img2 := v.Image()
	s2.Close()
	s3, err := Open(storetest.NewMemFrom(img2, 64<<10), sealTestOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if p := s3.Problems(); len(p) > 0 || s3.Stats().Messages != 2 {
		t.Errorf("reopened: %d messages, problems %+v; want 2 and none", s3.Stats().Messages, p)
	}
}

// Once a later batch proves the first one was flushed (here the third,
// written after the first landed), damage to the first is rot: reported by
// UID, and the batches after it applied.
func TestOverlapRotProvenByLaterBatch(t *testing.T) {
	_, s, g, wait := overlapped(t)
	for i, err := range wait() {
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	res, err := s.Deliver(context.Background(), []Delivery{{Recipient: "a@x.org"}}, time.Time{}, strings.NewReader("Subject: three\r\n\r\nTHIRD\r\n"))
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	img := g.Image() // no checkpoint: replayed from the log
	s.Close()
	first := bytes.Index(img, []byte("FIRST BODY IN FLIGHT"))
	img[first] ^= 0x20

	s2, err := Open(storetest.NewMemFrom(img, 64<<10), sealTestOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	p := s2.Problems()
	if len(p) != 1 || p[0].UID != 2 || p[0].Account != "a@x.org" {
		t.Errorf("problems %+v, want the first overlapped message (UID 2) damaged", p)
	}
	if n := s2.Stats().Messages; n != 4 {
		t.Errorf("%d messages, want 4 (one of them damaged)", n)
	}
}

// mended is a volume with redundancy that can mend what was written: its
// Repair restores a range from a copy taken when the test says so.
type mended struct {
	*storetest.Mem
	good    []byte
	repairs int
}

func (m *mended) Repair(off, n int64) error {
	m.repairs++
	_, err := m.Mem.WriteAt(m.good[off:off+n], off)
	return err
}

// When both overlapped batches were acknowledged and nothing came after
// them, rot in the first looks like a torn write; a volume that can mend
// it is asked first, and both messages stay.
func TestOverlapRotMendedBeforeTornRule(t *testing.T) {
	_, s, g, wait := overlapped(t)
	for i, err := range wait() {
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	good := g.Image() // both landed; no checkpoint: replayed from the log
	s.Close()
	img := bytes.Clone(good)
	img[bytes.Index(img, []byte("FIRST BODY IN FLIGHT"))] ^= 0x20

	v := &mended{Mem: storetest.NewMemFrom(img, 64<<10), good: good}
	s2, err := Open(v, sealTestOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if p := s2.Problems(); len(p) > 0 {
		t.Errorf("problems %+v after the volume mended the batch", p)
	}
	if n := s2.Stats().Messages; n != 3 || v.repairs == 0 {
		t.Errorf("%d messages after %d repairs, want 3 acknowledged and a repair", n, v.repairs)
	}
}
