package store_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// mirrored is a Mem volume with a pristine copy, standing in for RAID
// redundancy: Repair restores a range from the copy.
type mirrored struct {
	*storetest.Mem
	mu      sync.Mutex
	good    []byte
	repairs int
}

var _ store.Repairer = (*mirrored)(nil)

func (m *mirrored) Repair(off, n int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.repairs++
	_, err := m.Mem.WriteAt(m.good[off:off+n], off)
	return err
}

// findBody returns the volume offset of the first occurrence of marker.
func findBody(t *testing.T, img []byte, marker string) int64 {
	t.Helper()
	i := bytes.Index(img, []byte(marker))
	if i < 0 {
		t.Fatalf("marker %q not on the volume", marker)
	}
	return int64(i)
}

// rotStore writes three messages with no checkpoint after them, so that
// they are replayed from the log at open.
func rotStore(t *testing.T) []byte {
	v := newMem(t, 16<<20)
	s := open(t, v)
	a := mustAccount(t, s, "a@x.org")
	for _, b := range []string{"first message", "SECOND MESSAGE BODY", "third message"} {
		if _, _, err := a.Append(ctx, "INBOX", nil, time.Time{}, strings.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	a.SetFlags(ctx, "INBOX", store.UIDSet{{3, 3}}, store.FlagsAdd, []string{store.FlagSeen}, 0)
	return v.Image() // as if the power went: no checkpoint at close
}

func TestBitRotInLogIsReported(t *testing.T) {
	img := rotStore(t)
	v := storetest.NewMemFrom(img, 64<<10)
	v.Corrupt(findBody(t, img, "SECOND")+3, 0x10)
	s := open(t, v)
	defer s.Close()
	probs := s.Problems()
	if len(probs) != 1 || probs[0].Account != "a@x.org" || probs[0].Mailbox != "INBOX" || probs[0].UID != 2 {
		t.Fatalf("Problems = %+v, want one naming a@x.org INBOX 2", probs)
	}
	a, _ := s.Account("a@x.org")
	msgs, _, _ := a.Messages("INBOX", nil)
	if uids(msgs) != "1,2,3" || len(msgs[2].Flags) != 1 {
		t.Fatalf("messages after rot = %+v (the records after the bad one must apply)", msgs)
	}
	if _, err := a.Open("INBOX", 2); err == nil {
		t.Fatal("damaged body opened without error")
	}
	if got := readAll(t, a, "INBOX", 3); got != "third message" {
		t.Fatalf("body 3 = %q", got)
	}
}

func TestBitRotRepairedByVolume(t *testing.T) {
	img := rotStore(t)
	m := &mirrored{Mem: storetest.NewMemFrom(img, 64<<10), good: img}
	m.Corrupt(findBody(t, img, "SECOND")+3, 0x10)
	s := open(t, m)
	defer s.Close()
	if p := s.Problems(); len(p) != 0 || m.repairs == 0 {
		t.Fatalf("problems %+v, repairs %d: the store must ask the volume to repair", p, m.repairs)
	}
	a, _ := s.Account("a@x.org")
	if got := readAll(t, a, "INBOX", 2); got != "SECOND MESSAGE BODY" {
		t.Fatalf("repaired body = %q", got)
	}
}

func TestBitRotInBatchHeader(t *testing.T) {
	img := rotStore(t)
	v := storetest.NewMemFrom(img, 64<<10)
	// The record header in front of the second body: the whole batch
	// becomes unreadable, the store opens with what follows.
	at := findBody(t, img, "SECOND")
	hdr := bytes.LastIndex(img[:at], []byte("PVR1"))
	v.Corrupt(int64(hdr)+16, 0x01) // its sequence number
	s := open(t, v)
	defer s.Close()
	if len(s.Problems()) == 0 {
		t.Fatal("no problem reported for a damaged batch header")
	}
	a, _ := s.Account("a@x.org")
	msgs, _, _ := a.Messages("INBOX", nil)
	if uids(msgs) != "1,3" || len(msgs[1].Flags) != 1 {
		t.Fatalf("messages = %+v, want 1 and 3 (seen)", msgs)
	}
}

func TestCheckFindsRotAfterCheckpoint(t *testing.T) {
	v := newMem(t, 16<<20)
	s := open(t, v)
	a := mustAccount(t, s, "a@x.org")
	a.Append(ctx, "Sent", nil, time.Time{}, strings.NewReader("ROTTING BODY"))
	s.Close()
	img := v.Image()
	v2 := storetest.NewMemFrom(img, 64<<10)
	v2.Corrupt(findBody(t, img, "ROTTING")+2, 0x40)
	s2 := open(t, v2)
	defer s2.Close()
	probs, err := s2.Check(ctx)
	if err != nil || len(probs) != 1 || probs[0].Mailbox != "Sent" || probs[0].UID != 1 {
		t.Fatalf("Check = %+v, %v", probs, err)
	}
}
