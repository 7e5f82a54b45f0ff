package store

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store/storetest"
)

// setVersion rewrites the version of the superblock in slot i (and its
// checksum), as a binary of that version would have written it.
func setVersion(t *testing.T, img []byte, slot int, v uint32) {
	t.Helper()
	b := img[slot*superSize : slot*superSize+superLen]
	binary.LittleEndian.PutUint32(b[8:], v)
	binary.LittleEndian.PutUint32(b[124:], crc(b[:124]))
}

// A version 1 store (before pad records and overlapped batches) opens and
// is marked version 2 by the first superblock written; a version this code
// does not know is refused with its number, and nothing is written.
func TestSuperblockVersions(t *testing.T) {
	v := storetest.NewMem(16<<20, 64<<10)
	if err := Create(v, &CreateOptions{SegmentSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	img := v.Image()
	if got := binary.LittleEndian.Uint32(img[superSize+8:]); got != 2 {
		t.Fatalf("Create wrote version %d, want 2", got)
	}

	setVersion(t, img, 1, 1)
	v1 := storetest.NewMemFrom(img, 64<<10)
	s, err := Open(v1, sealTestOpts())
	if err != nil {
		t.Fatalf("version 1 store: %v", err)
	}
	if err := s.AddUser(context.Background(), "a@x.org", "pw"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Deliver(context.Background(), []Delivery{{Recipient: "a@x.org"}}, time.Time{}, strings.NewReader("Subject: x\r\n\r\nbody\r\n"))
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	if err := s.Close(); err != nil { // a checkpoint: a superblock written
		t.Fatal(err)
	}
	after := v1.Image()
	if got := binary.LittleEndian.Uint32(after[8:]); got != 2 {
		t.Errorf("superblock written over a version 1 store says %d, want 2", got)
	}

	for _, bad := range []uint32{0, 3} {
		img := v.Image()
		setVersion(t, img, 1, bad)
		m := storetest.NewMemFrom(img, 64<<10)
		_, err := Open(m, sealTestOpts())
		if err == nil || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("version %d: Open = %v, want 'not supported'", bad, err)
		}
		if string(m.Image()) != string(img) {
			t.Errorf("version %d: the refused store was written to", bad)
		}
	}
}
