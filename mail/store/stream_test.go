package store_test

import (
	"io"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// sampledReader yields n bytes of a repeating pattern and records the
// largest live heap it sees (after a collection) every few MiB.
type sampledReader struct {
	n, done int64
	next    int64
	peak    uint64
}

func (r *sampledReader) Read(p []byte) (int, error) {
	if r.done >= r.n {
		return 0, io.EOF
	}
	if r.done >= r.next {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		r.peak = max(r.peak, ms.HeapAlloc)
		r.next += 4 << 20
	}
	k := int(min(int64(len(p)), r.n-r.done))
	for i := range p[:k] {
		p[i] = byte('a' + (r.done+int64(i))%26)
	}
	r.done += int64(k)
	return k, nil
}

// A 50 MiB message is streamed into the store: the heap while it is read
// stays far below the message's size.
func TestAppendStreamsLargeMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 50 MiB message")
	}
	v, err := storetest.CreateFile(filepath.Join(t.TempDir(), "vol"), 256<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Create(v, &store.CreateOptions{SegmentSize: 8 << 20}); err != nil {
		t.Fatal(err)
	}
	s := open(t, v)
	defer s.Close()
	if err := s.AddUser(ctx, "big@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	a, err := s.Account("big@example.org")
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	const size = 50 << 20
	r := &sampledReader{n: size}
	uid, _, err := a.Append(ctx, "INBOX", nil, time.Now(), r)
	if err != nil {
		t.Fatal(err)
	}
	grew := int64(r.peak) - int64(before.HeapAlloc)
	t.Logf("heap grew by %d MiB while appending %d MiB", grew>>20, size>>20)
	// The bound is what the store may queue and batch (16 MiB of queued
	// chunks, an 8 MiB batch buffer) plus slack; it does not grow with the
	// message (150 MiB measured the same 28-31 MiB).
	if grew > 36<<20 {
		t.Errorf("heap grew by %d MiB while appending a %d MiB message, want well below its size", grew>>20, size>>20)
	}
	b, err := a.Open("INBOX", uid)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size() != size {
		t.Fatalf("stored size = %d, want %d", b.Size(), size)
	}
	buf := make([]byte, 1<<20)
	var off int64
	for {
		k, err := b.Read(buf)
		for i := range buf[:k] {
			if buf[i] != byte('a'+(off+int64(i))%26) {
				t.Fatalf("byte %d = %q, want %q", off+int64(i), buf[i], byte('a'+(off+int64(i))%26))
			}
		}
		off += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if off != size {
		t.Fatalf("read %d bytes back, want %d", off, size)
	}
}
