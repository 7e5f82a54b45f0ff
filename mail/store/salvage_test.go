package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store/storetest"
)

// newAccountStore creates a store with segments of segSize on a 40 MiB
// volume, opens it and adds the account a@x.org.
func newAccountStore(t testing.TB, segSize int64) (*Store, *storetest.Mem, *Account) {
	t.Helper()
	v := storetest.NewMem(40<<20, 64<<10)
	if err := Create(v, &CreateOptions{SegmentSize: segSize}); err != nil {
		t.Fatal(err)
	}
	s, err := Open(v, sealTestOpts())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(context.Background(), "a@x.org", "pw"); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Account("a@x.org")
	return s, v, a
}

// salvageImage writes a store over several 1 MiB segments: 24 messages of
// 100 KiB, two checkpoints between them, flags after the last one, and
// returns the volume's image as the power left it (no checkpoint at close)
// with the offsets of the checkpoint directories the two superblock slots
// name.
func salvageImage(t testing.TB, messages int) (img []byte, ckpts []int64) {
	t.Helper()
	ctx := context.Background()
	s, v, a := newAccountStore(t, 1<<20)
	for i := range messages {
		body := fmt.Sprintf("Subject: %d\r\n\r\nSALVAGE BODY %d\r\n%s", i, i, strings.Repeat("x", 100<<10))
		if _, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		if i == messages/3 || i == 2*messages/3 {
			if err := s.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			ckpts = append(ckpts, s.sb.ckptOff)
		}
	}
	if _, _, err := a.SetFlags(ctx, "INBOX", UIDSet{{Start: 2, Stop: 3}}, FlagsAdd, []string{FlagFlagged}, 0); err != nil {
		t.Fatal(err)
	}
	return v.Image(), ckpts
}

// checkSalvaged opens img read-only with Salvage and checks that every
// message and flag is there, the salvage is reported, and nothing was
// written.
func checkSalvaged(t *testing.T, img []byte, messages int) (detail string) {
	t.Helper()
	v := storetest.NewMemFrom(img, 64<<10)
	o := sealTestOpts()
	o.ReadOnly = true
	if _, err := Open(storetest.NewMemFrom(img, 64<<10), o); err == nil {
		t.Fatal("the damaged store opened without salvage")
	}
	o.Salvage = true
	s, err := Open(v, o)
	if err != nil {
		t.Fatalf("salvage: %v", err)
	}
	defer s.Close()
	a, err := s.Account("a@x.org")
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, err := a.Messages("INBOX", nil)
	if err != nil || len(msgs) != messages {
		t.Fatalf("%d messages (%v), want %d", len(msgs), err, messages)
	}
	if f := msgs[1].Flags; len(f) != 1 || f[0] != FlagFlagged {
		t.Errorf("UID 2 flags %q, want the \\Flagged set after the last checkpoint", f)
	}
	b, err := a.Open("INBOX", uint32(messages))
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 40)
	b.ReadAt(head, 0)
	b.Close()
	if want := fmt.Sprintf("SALVAGE BODY %d", messages-1); !bytes.Contains(head, []byte(want)) {
		t.Errorf("last message begins %q, want %q", head, want)
	}
	// The salvage is reported last; before it, at most the rotten
	// checkpoints that the replay went past.
	p := s.Problems()
	if len(p) == 0 || !strings.Contains(p[len(p)-1].Detail, "salvage") {
		t.Errorf("problems %+v, want the last saying the store was salvaged", p)
	}
	for _, q := range p[:max(len(p)-1, 0)] {
		if !strings.Contains(q.Detail, "checkpoint") {
			t.Errorf("problem %+v", q)
		}
	}
	if !bytes.Equal(v.Image(), img) {
		t.Error("salvage wrote to the volume")
	}
	if len(p) == 0 {
		return ""
	}
	return p[len(p)-1].Detail
}

// Both superblocks gone: the segments are found by their headers, the
// newest checkpoint by a scan, and the log after it replayed.
func TestSalvageWithoutSuperblocks(t *testing.T) {
	img, _ := salvageImage(t, 24)
	clear(img[:2*superSize])
	if d := checkSalvaged(t, img, 24); !strings.Contains(d, "from the checkpoint at") {
		t.Errorf("salvaged %q, want from the newest checkpoint", d)
	}
}

// Both superblocks readable, both their checkpoints rotten: an older
// checkpoint, or the log from its first record, serves.
func TestSalvageWithoutCheckpoints(t *testing.T) {
	img, ckpts := salvageImage(t, 24)
	for _, off := range ckpts {
		img[off+recHeaderSize+2] ^= 0x40
	}
	if d := checkSalvaged(t, img, 24); !strings.Contains(d, "start of the log") {
		t.Errorf("salvaged %q, want from the start of the log", d)
	}
}

// A store that never filled its first segment has one segment header: its
// size is unknown and does not matter.
func TestSalvageOneSegment(t *testing.T) {
	ctx := context.Background()
	_, v, a := newAccountStore(t, 4<<20)
	for i := range 3 {
		if _, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nSALVAGE BODY %d\r\n", i, i))); err != nil {
			t.Fatal(err)
		}
	}
	a.SetFlags(ctx, "INBOX", UIDSet{{Start: 2, Stop: 2}}, FlagsAdd, []string{FlagFlagged}, 0)
	img := v.Image()
	clear(img[:2*superSize])
	checkSalvaged(t, img, 3)
}

// A volume that never held a store stays "not formatted", salvage or not.
func TestSalvageBlank(t *testing.T) {
	o := sealTestOpts()
	o.ReadOnly, o.Salvage = true, true
	_, err := Open(storetest.NewMem(8<<20, 64<<10), o)
	if !errors.Is(err, ErrNotFormatted) {
		t.Fatalf("Open of a blank volume = %v, want ErrNotFormatted", err)
	}
}

// lostHeader returns a salvage image (no superblocks) with the header of
// the segment holding message 18 cleared (not the newest segment), and
// that segment's offset.
func lostHeader(t *testing.T) ([]byte, int64) {
	img, _ := salvageImage(t, 24)
	clear(img[:2*superSize])
	segOf := func(i int) int64 { // dataStart 64 KiB, 1 MiB segments
		at := int64(bytes.Index(img, []byte(fmt.Sprintf("SALVAGE BODY %d\r\n", i))))
		return 64<<10 + (at-64<<10)/(1<<20)*(1<<20)
	}
	seg := segOf(18)
	if seg == segOf(23) {
		t.Fatal("messages 18 and 23 share a segment")
	}
	clear(img[seg : seg+segHeaderSize])
	return img, seg
}

func salvageRO(t *testing.T, img []byte) *Store {
	t.Helper()
	o := sealTestOpts()
	o.ReadOnly, o.Salvage = true, true
	s, err := Open(storetest.NewMemFrom(img, 64<<10), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hasProblem(s *Store, text string) bool {
	for _, p := range s.Problems() {
		if strings.Contains(p.Detail, text) {
			return true
		}
	}
	return false
}

// A segment in the middle of the log whose header is lost is read from its
// records' own headers (salvage only): every message comes back.
func TestSalvageBridgesALostHeader(t *testing.T) {
	img, _ := lostHeader(t)
	s := salvageRO(t, img)
	defer s.Close()
	if n := s.Stats().Messages; n != 24 || !hasProblem(s, "no readable header") {
		t.Errorf("%d messages, problems %+v; want 24 and the lost header reported", n, s.Problems())
	}
}

// When the log cannot be followed to its newest segment (here the lost
// header's segment has its first batch damaged too), the salvaged store
// says which records it leaves out.
func TestSalvageSaysWhatIsMissing(t *testing.T) {
	img, seg := lostHeader(t)
	img[seg+segHeaderSize] ^= 0xff // the first batch's record magic
	s := salvageRO(t, img)
	defer s.Close()
	if n := s.Stats().Messages; n >= 24 || n < 9 {
		t.Errorf("%d messages, want those up to the broken segment", n)
	}
	if !hasProblem(s, "could not be followed") {
		t.Errorf("problems %+v do not say what is missing", s.Problems())
	}
}

// HasLog finds a store's log near the start of the data area, or where a
// default-sized segment would start anywhere on the volume, and nothing
// on a blank one; CreateSafe then refuses.
func TestHasLog(t *testing.T) {
	const stripe = 192 << 10
	blank := storetest.NewMem(400<<20, stripe)
	if off, ok := HasLog(blank); ok {
		t.Fatalf("blank volume: log at %d", off)
	}
	dataStart := int64(stripe)
	seg := int64((8<<20 + stripe - 1) / stripe * stripe)
	for _, at := range []int64{dataStart, dataStart + 7*stripe, dataStart + 40*seg} { // the last past probeSpan
		v := storetest.NewMem(400<<20, stripe)
		h := segHeader{index: 3, segSeq: 9, firstSeq: 100}
		v.WriteAt(h.marshal(), at)
		if off, ok := HasLog(v); !ok || off != at {
			t.Errorf("header at %d: HasLog = %d, %v", at, off, ok)
		}
		if err := CreateSafe(v, nil); !errors.Is(err, ErrLogWithoutRoot) {
			t.Errorf("header at %d: CreateSafe = %v", at, err)
		}
	}
	if err := CreateSafe(blank, nil); err != nil {
		t.Fatalf("CreateSafe on a blank volume: %v", err)
	}
}

// usedOnly is a volume with a used map: reads outside the used range are
// counted (HasLog must not make them).
type usedOnly struct {
	*storetest.Mem
	lo, hi      int64
	wastedReads int
}

func (u *usedOnly) InUse(off, n int64) bool { return off < u.hi && off+n > u.lo }

func (u *usedOnly) ReadAt(p []byte, off int64) (int, error) {
	if !u.InUse(off, int64(len(p))) {
		u.wastedReads++
	}
	return u.Mem.ReadAt(p, off)
}

// On a volume that keeps a used map, HasLog reads only what is in use: a
// blank array is answered without reading it through.
func TestHasLogReadsOnlyUsedRanges(t *testing.T) {
	const stripe = 64 << 10
	blank := &usedOnly{Mem: storetest.NewMem(600<<20, stripe)}
	if _, ok := HasLog(blank); ok || blank.wastedReads > 0 {
		t.Fatalf("blank: found %v after %d reads of unused ranges", ok, blank.wastedReads)
	}
	at := int64(stripe + 40*(8<<20))
	v := &usedOnly{Mem: storetest.NewMem(600<<20, stripe), lo: at, hi: at + 1<<20}
	h := segHeader{index: 40}
	v.WriteAt(h.marshal(), at)
	if off, ok := HasLog(v); !ok || off != at || v.wastedReads > 0 {
		t.Fatalf("HasLog = %d, %v after %d reads of unused ranges", off, ok, v.wastedReads)
	}
}

// A read-write salvage (store repair) writes a checkpoint and superblock:
// the store then opens without salvage, with every message, and takes
// new mail.
func TestSalvageRepairs(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(img []byte, ckpts []int64)
	}{
		{"superblocks gone", func(img []byte, _ []int64) { clear(img[:2*superSize]) }},
		{"checkpoints rotten", func(img []byte, ckpts []int64) {
			for _, off := range ckpts {
				img[off+recHeaderSize+2] ^= 0x40
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			img, ckpts := salvageImage(t, 24)
			c.damage(img, ckpts)
			v := storetest.NewMemFrom(img, 64<<10)
			o := sealTestOpts()
			o.Salvage = true
			s, err := Open(v, o)
			if err != nil {
				t.Fatalf("repair: %v", err)
			}
			if !s.Salvaged() {
				t.Fatal("Salvaged() = false")
			}
			res, err := s.Deliver(ctx, []Delivery{{Recipient: "a@x.org"}}, time.Time{}, strings.NewReader("Subject: after\r\n\r\nAFTER REPAIR\r\n"))
			if err != nil || res[0].Err != nil {
				t.Fatal(err, res)
			}
			after := v.Image() // the power goes: no checkpoint at close
			s.Close()
			s2, err := Open(storetest.NewMemFrom(after, 64<<10), sealTestOpts())
			if err != nil {
				t.Fatalf("open after repair: %v", err)
			}
			defer s2.Close()
			if s2.Salvaged() || s2.Stats().Messages != 25 {
				t.Errorf("after repair: salvaged %v, %d messages; want a normal open with 25", s2.Salvaged(), s2.Stats().Messages)
			}
			for _, p := range s2.Problems() {
				if !strings.Contains(p.Detail, "checkpoint") { // the rotten ones may be passed in the log
					t.Errorf("problem after repair: %+v", p)
				}
			}
		})
	}
}

// A read-write salvage refuses, writing nothing, when it cannot follow the
// log to its newest segment (the segments it did not reach would be
// written over as free) or had to read a segment without its header (the
// header would stay lost); read-only, both open.
func TestSalvageRepairRefusesBrokenChain(t *testing.T) {
	bridged, seg := lostHeader(t)
	broken := bytes.Clone(bridged)
	broken[seg+segHeaderSize] ^= 0xff
	for name, img := range map[string][]byte{"lost header": bridged, "broken chain": broken} {
		v := storetest.NewMemFrom(img, 64<<10)
		o := sealTestOpts()
		o.Salvage = true
		if s, err := Open(v, o); err == nil {
			s.Close()
			t.Errorf("%s: read-write salvage opened a log it could not follow whole", name)
		}
		if !bytes.Equal(v.Image(), img) {
			t.Errorf("%s: the refused repair wrote to the volume", name)
		}
	}
}

// Salvage reads whatever is on the volume: damaged segment headers,
// records and checkpoints anywhere must give an error or a store, never
// a panic or a write.
func FuzzSalvage(f *testing.F) {
	img, _ := salvageImage(f, 12)
	clear(img[:2*superSize])
	f.Add(uint32(64<<10+3), byte(0x10), uint32(0), byte(0))
	f.Add(uint32(64<<10+1<<20+30), byte(0xff), uint32(2<<20+100), byte(0x01))
	f.Add(uint32(0), byte(0), uint32(4<<20), byte(0x80))
	o := sealTestOpts()
	o.ReadOnly, o.Salvage = true, true
	f.Fuzz(func(t *testing.T, at uint32, mask byte, at2 uint32, mask2 byte) {
		b := bytes.Clone(img)
		b[int(at)%len(b)] ^= mask
		b[int(at2)%len(b)] ^= mask2
		v := storetest.NewMemFrom(b, 64<<10)
		if s, err := Open(v, o); err == nil {
			s.Stats()
			s.Close()
		}
		if !bytes.Equal(v.Image(), b) {
			t.Fatal("salvage wrote to the volume")
		}
	})
}
