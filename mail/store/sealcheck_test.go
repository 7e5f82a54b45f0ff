package store

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store/storetest"
)

// sealTestStore is a store of 2 MiB segments on v, with the account
// a@x.org, filled by 16 concurrent deliveries of messages of about 300 KiB
// (unaligned sizes, so records end in padding), enough for several
// segments. It returns the store and the bodies delivered, by UID.
func sealTestStore(t *testing.T, v *storetest.Mem) (*Store, map[uint32][]byte) {
	t.Helper()
	ctx := context.Background()
	if err := Create(v, &CreateOptions{SegmentSize: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	s, err := Open(v, sealTestOpts())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(ctx, "a@x.org", "pw"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	bodies := map[uint32][]byte{}
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Go(func() {
			for i := range 4 {
				body := bytes.Repeat([]byte{byte('a' + c), byte('0' + i), '\r', '\n'}, 300<<10/4)[:300<<10-c-1]
				res, err := s.Deliver(ctx, []Delivery{{Recipient: "a@x.org"}}, time.Time{}, bytes.NewReader(body))
				if err == nil {
					err = res[0].Err
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				bodies[res[0].UID] = body
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return s, bodies
}

func sealTestOpts() *Options {
	return &Options{CheckpointInterval: -1, CompactWhenFree: -1, Password: PasswordCost{Time: 1, MemoryK: 64, Threads: 1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// sealedSegments returns, for every sealed segment of s, the offset of its
// seal record and how many records share the seal's batch.
func sealedSegments(t *testing.T, s *Store, img []byte) map[uint32][2]int {
	t.Helper()
	out := map[uint32][2]int{}
	for i := range s.segSeq {
		b := img[s.segOff(uint32(i)) : s.segOff(uint32(i))+s.segSize]
		if _, err := parseSegHeader(b); err != nil {
			continue
		}
		for off := segHeaderSize; off+recHeaderSize <= len(b); {
			h, err := parseRecHeader(b[off:], s.uuid)
			if err != nil || h.flags&flagBatchStart == 0 {
				break
			}
			o := off
			for range int(h.count) {
				rh, _ := parseRecHeader(b[o:], s.uuid)
				if rh.typ == recSeal {
					out[uint32(i)] = [2]int{o, int(h.count)}
				}
				o += recSize(int(rh.length))
			}
			off += int(h.batchLen)
		}
	}
	return out
}

// Under concurrent deliveries a batch that fills its segment carries the
// segment's seal (one flush instead of two); every seal, in a batch of its
// own or not, verifies (Check), and the store reopens with every message.
func TestSealInBatch(t *testing.T) {
	ctx := context.Background()
	v := storetest.NewMem(64<<20, 64<<10)
	s, bodies := sealTestStore(t, v)
	seals := sealedSegments(t, s, v.Image())
	shared := 0
	for _, x := range seals {
		if x[1] > 1 {
			shared++
		}
	}
	if len(seals) < 5 || shared == 0 {
		t.Errorf("%d segments sealed, %d of them by a batch of records: want at least 5, and some", len(seals), shared)
	}
	if probs, err := s.Check(ctx); err != nil || len(probs) > 0 {
		t.Errorf("Check: %v %+v", err, probs)
	}
	img := v.Image()
	s.Close()
	s2, err := Open(storetest.NewMemFrom(img, 64<<10), sealTestOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	a, err := s2.Account("a@x.org")
	if err != nil {
		t.Fatal(err)
	}
	for uid, want := range bodies {
		m, err := a.Open("INBOX", uid)
		if err != nil {
			t.Fatalf("UID %d: %v", uid, err)
		}
		got, err := io.ReadAll(io.NewSectionReader(m, 0, m.Size()))
		m.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("UID %d: %d bytes back (%v), want %d", uid, len(got), err, len(want))
		}
	}
}

// A sealed segment verifies alone: a flipped byte that no record's checksum
// covers (the padding after a message) is found by the seal's, and so are
// a damaged seal and a seal naming the wrong records.
func TestCheckFindsSealDamage(t *testing.T) {
	v := storetest.NewMem(64<<20, 64<<10)
	s, _ := sealTestStore(t, v)
	img := v.Image()
	seals := sealedSegments(t, s, img)
	var seg uint32
	for seg = range seals {
		break
	}
	base := s.segOff(seg)
	b := img[base : base+s.segSize]
	// The first padded record of the segment: a message (unaligned size).
	pad := -1
	for off := segHeaderSize; pad < 0; {
		h, err := parseRecHeader(b[off:], s.uuid)
		if err != nil {
			t.Fatal(err)
		}
		if n := int(h.length); n%recAlign != 0 {
			pad = off + recHeaderSize + n
		}
		off += recSize(int(h.length))
	}
	sealAt := seals[seg][0]
	tests := []struct {
		name string
		at   int
		want string
	}{
		{"padding", pad, "checksum of the"},
		{"seal payload", sealAt + recHeaderSize + 21, "damaged"},
		{"segment header", 30, "segment header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Clone(b)
			bad[tc.at] ^= 0x40
			detail := s.verifySealed(seg, bad)
			if !strings.Contains(detail, tc.want) {
				t.Errorf("damage at offset %d: %q, want it to mention %q", tc.at, detail, tc.want)
			}
			if s.verifySealed(seg, b) != "" {
				t.Errorf("the intact segment: %q", s.verifySealed(seg, b))
			}
		})
	}
	// The whole path: Check on the damaged volume names the segment.
	s.Close()
	v2 := storetest.NewMemFrom(img, 64<<10)
	v2.Corrupt(base+int64(pad), 0x40)
	s2, err := Open(v2, sealTestOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	probs, err := s2.Check(context.Background())
	if err != nil || len(probs) != 1 || !strings.Contains(probs[0].Detail, "checksum of the") || probs[0].Offset != base {
		t.Errorf("Check after flipping a padding byte of segment %d: %v %+v", seg, err, probs)
	}
}

func TestBatchLimit(t *testing.T) {
	tests := []struct{ room, want int }{
		{100 << 20, maxBatchBytes},
		{maxBatchBytes + maxBatchBytes/4, maxBatchBytes}, // a quarter batch left: its own batch
		{maxBatchBytes + maxBatchBytes/4 - 1, maxBatchBytes + maxBatchBytes/4 - 1},
		{maxBatchBytes + 4096, maxBatchBytes + 4096},
		{maxBatchBytes, maxBatchBytes},
		{1 << 20, maxBatchBytes}, // the room bounds it anyway
	}
	for _, tc := range tests {
		if got := batchLimit(tc.room); got != tc.want {
			t.Errorf("batchLimit(%d) = %d, want %d", tc.room, got, tc.want)
		}
	}
	if maxKeptBatchBuf < maxBatchBytes+maxBatchBytes/4+segHeaderSize+sealReserve {
		t.Errorf("maxKeptBatchBuf %d cannot hold the largest batch", maxKeptBatchBuf)
	}
}

// FuzzVerifySealed feeds verifySealed mutations of a real sealed segment
// (1 MiB, several batches, the seal in the last): it must never panic, and
// the unmutated segment verifies.
func FuzzVerifySealed(f *testing.F) {
	v := storetest.NewMem(8<<20, 64<<10)
	if err := Create(v, &CreateOptions{SegmentSize: 1 << 20}); err != nil {
		f.Fatal(err)
	}
	s, err := Open(v, sealTestOpts())
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	if err := s.AddUser(ctx, "a@x.org", "pw"); err != nil {
		f.Fatal(err)
	}
	head := func() uint32 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.headSeg
	}
	for i := 0; head() == 0 && i < 100; i++ {
		body := bytes.Repeat([]byte("fuzzed segment line\r\n"), 3000+i)
		if _, err := s.Deliver(ctx, []Delivery{{Recipient: "a@x.org"}}, time.Time{}, bytes.NewReader(body)); err != nil {
			f.Fatal(err)
		}
	}
	img := v.Image()
	seg := bytes.Clone(img[s.segOff(0) : s.segOff(0)+s.segSize])
	if d := s.verifySealed(0, seg); d != "" {
		f.Fatalf("segment 0 does not verify: %s", d)
	}
	f.Add(uint32(100), byte(1), uint32(0))
	f.Add(uint32(segHeaderSize+12), byte(0xff), uint32(0))
	f.Add(uint32(segHeaderSize+8), byte(0x7f), uint32(1<<20-100))
	f.Fuzz(func(t *testing.T, at uint32, mask byte, cut uint32) {
		b := bytes.Clone(seg)
		if mask != 0 {
			b[int(at)%len(b)] ^= mask
		}
		b = b[:len(b)-int(cut)%len(b)]
		s.verifySealed(0, b)
	})
}
