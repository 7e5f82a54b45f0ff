package store_test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// newestCheckpoint returns the volume offset of the checkpoint directory
// record that the newest valid superblock names (docs/store-format.md).
func newestCheckpoint(t *testing.T, img []byte) int64 {
	t.Helper()
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	var gen uint64
	var off int64
	for slot := 0; slot < 2; slot++ {
		b := img[slot*4096 : slot*4096+128]
		if string(b[:8]) != "PVSTORE1" || crc32.Checksum(b[:124], castagnoli) != binary.LittleEndian.Uint32(b[124:]) {
			continue
		}
		if g := binary.LittleEndian.Uint64(b[32:]); g > gen {
			gen, off = g, int64(binary.LittleEndian.Uint64(b[64:]))
		}
	}
	if off == 0 {
		t.Fatal("no superblock names a checkpoint")
	}
	return off
}

// The older superblock slot is the fallback when the newest checkpoint
// rots: its checkpoint and every segment of the log after it must survive
// compaction and segment reuse until a newer checkpoint supersedes it. Each
// round appends, expunges and compacts on a volume of few segments (so
// freed segments are reused at once), sometimes restarts, then rots the
// newest checkpoint of a copy of the volume and reopens it: every
// acknowledged change must be there.
func TestFallbackCheckpointSurvivesReuse(t *testing.T) {
	v := newMem(t, 12<<20)
	s := open(t, v)
	defer func() { s.Close() }()
	a := mustAccount(t, s, "a@x.org")
	body := func(tag string) string { return tag + "\r\n\r\n" + strings.Repeat(tag, 120<<10/len(tag)) }
	n := 0
	var freed int
	var moved int64
	var prev [2]uint32 // the last round's survivors
	for round := 0; round < 8; round++ {
		var uids []uint32
		for i := 0; i < 5; i++ {
			n++
			uid, _, err := a.Append(ctx, "INBOX", []string{fmt.Sprintf("$R%d", round%3)}, time.Time{}, strings.NewReader(body(fmt.Sprintf("m%d-", n))))
			if err != nil {
				t.Fatalf("round %d: append: %v", round, err)
			}
			uids = append(uids, uid)
		}
		// Two of five stay for a round; one in every fourth round stays
		// for good, for compaction to move. Most segments die whole.
		gone := store.UIDSet{{uids[0], uids[0]}, {uids[2], uids[3]}}
		if round%4 != 1 {
			gone = append(gone, store.UIDRange{Start: prev[0], Stop: prev[0]})
		}
		gone = append(gone, store.UIDRange{Start: prev[1], Stop: prev[1]})
		prev = [2]uint32{uids[1], uids[4]}
		if _, err := a.Expunge(ctx, "INBOX", gone); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.ClaimRecent(ctx, "INBOX", uids[2]); err != nil {
			t.Fatal(err)
		}
		switch round % 3 {
		case 0:
			cs, err := s.Compact(ctx)
			if err != nil {
				t.Fatalf("round %d: compact: %v", round, err)
			}
			freed += cs.SegmentsFreed
			moved += cs.BytesMoved
		case 1:
			if err := s.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		case 2:
			s, v = reopen(t, s, v)
			a, _ = s.Account("a@x.org")
		}
		// A change after the newest checkpoint, in its log tail.
		if _, _, err := a.SetFlags(ctx, "INBOX", nil, store.FlagsAdd, []string{store.FlagSeen}, 0); err != nil {
			t.Fatal(err)
		}
		want := snapshot(t, s) + recentLine(t, a)
		img := v.Image()
		rot := storetest.NewMemFrom(img, 64<<10)
		rot.Corrupt(newestCheckpoint(t, img)+40, 0x20)
		s2, err := store.Open(rot, fastOpts())
		if err != nil {
			t.Fatalf("round %d: open with the newest checkpoint rotten: %v", round, err)
		}
		a2, _ := s2.Account("a@x.org")
		got := snapshot(t, s2) + recentLine(t, a2)
		probs := s2.Problems()
		s2.Close()
		if got != want {
			t.Fatalf("round %d: state from the older checkpoint\n got:\n%s\nwant:\n%s", round, got, want)
		}
		if !strings.Contains(fmt.Sprint(probs), "newest checkpoint unreadable") {
			t.Errorf("round %d: problems %+v, want the unreadable checkpoint", round, probs)
		}
	}
	if freed == 0 || moved == 0 {
		t.Fatalf("compaction freed %d segments, moved %d bytes: the test does not exercise it", freed, moved)
	}
}

func recentLine(t *testing.T, a *store.Account) string {
	t.Helper()
	m, err := a.RecentMark("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	kw, err := a.Keywords("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("recent mark %d, keywords %v\n", m, kw)
}

// Compaction after a restart reclaims the segments written before it: at
// open, replay learns only the segments from the replay start on, and the
// older ones must still be candidates.
func TestCompactAfterReopen(t *testing.T) {
	v := newMem(t, 16<<20)
	s := open(t, v)
	a := mustAccount(t, s, "a@x.org")
	var uids []uint32
	for i := 0; i < 20; i++ {
		uid, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, strings.NewReader(fmt.Sprintf("%d\r\n\r\n%s", i, strings.Repeat("x", 200<<10))))
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, uid)
	}
	// Two checkpoints (this and Close's): both slots start after the bodies.
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	s, _ = reopen(t, s, v)
	defer s.Close()
	a, _ = s.Account("a@x.org")
	for i, uid := range uids {
		if i%5 != 0 {
			if _, err := a.Expunge(ctx, "INBOX", store.UIDSet{{uid, uid}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var cs store.CompactStats
	for i := 0; i < 2; i++ { // the second frees what the first left to the older checkpoint
		c, err := s.Compact(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cs.BytesMoved += c.BytesMoved
		cs.SegmentsFreed += c.SegmentsFreed
	}
	if cs.BytesMoved == 0 || cs.SegmentsFreed < 2 {
		t.Fatalf("compaction after a restart: %+v, want bodies moved and segments freed", cs)
	}
	msgs, _, _ := a.Messages("INBOX", nil)
	for _, m := range msgs {
		if got := readAll(t, a, "INBOX", m.UID); !strings.HasPrefix(got, fmt.Sprint(m.UID-1, "\r\n")) {
			t.Fatalf("body %d after compaction = %.10q", m.UID, got)
		}
	}
}
