package sata_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/postvault/postvault/drivers/sata"
)

// raidMember is drivers/raid's Member interface, restated: drivers/sata may
// not import drivers/raid, and must fit it.
type raidMember interface {
	io.ReaderAt
	io.WriterAt
	Size() int64
	Flush() error
	Close() error
}

var _ raidMember = (*sata.Member)(nil)

func tempMember(t *testing.T, size int64, o *sata.Options) (*sata.Member, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "member.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(size)
	f.Close()
	m, err := sata.OpenDisk(p, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, p
}

func TestMemberRandomIO(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
		o    *sata.Options
	}{
		{"direct", 4 << 20, nil},
		{"buffered", 4 << 20, &sata.Options{Buffered: true}},
		{"odd size", 4<<20 + 1000, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, p := tempMember(t, tc.size, tc.o)
			if tc.name == "direct" && !m.Direct() {
				t.Logf("the file system of %s refuses O_DIRECT: buffered I/O tested instead", p)
			}
			if tc.name != "direct" && m.Direct() {
				t.Errorf("Direct() = true, want false")
			}
			if m.Size() != tc.size {
				t.Errorf("Size() = %d, want %d", m.Size(), tc.size)
			}
			model := make([]byte, tc.size)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := 0; i < 300; i++ {
				off := rng.Int64N(tc.size)
				n := rng.IntN(3*4096 + 1)
				if i%3 == 0 { // aligned requests too
					off, n = off&^4095, (n+4095)&^4095
				}
				n = int(min(int64(n), tc.size-off))
				if rng.IntN(2) == 0 {
					b := make([]byte, n)
					for j := range b {
						b[j] = byte(rng.Uint32())
					}
					if w, err := m.WriteAt(b, off); err != nil || w != n {
						t.Fatalf("WriteAt(%d bytes, %d) = %d, %v", n, off, w, err)
					}
					copy(model[off:], b)
				} else {
					b := make([]byte, n+1)[1:] // unaligned memory
					if r, err := m.ReadAt(b, off); err != nil || r != n {
						t.Fatalf("ReadAt(%d bytes, %d) = %d, %v", n, off, r, err)
					}
					if !bytes.Equal(b, model[off:off+int64(n)]) {
						t.Fatalf("ReadAt(%d bytes, %d) differs from what was written", n, off)
					}
				}
			}
			if err := m.Flush(); err != nil {
				t.Fatal(err)
			}
			m.Close()
			disk, _ := os.ReadFile(p)
			if !bytes.Equal(disk, model) {
				t.Error("file content differs from the writes")
			}
		})
	}
}

func TestMemberBounds(t *testing.T) {
	m, p := tempMember(t, 1<<20, nil)
	if _, err := m.WriteAt(make([]byte, 8192), 1<<20-4096); !errors.Is(err, sata.ErrRange) {
		t.Errorf("WriteAt past the end = %v, want ErrRange", err)
	}
	if st, _ := os.Stat(p); st.Size() != 1<<20 {
		t.Errorf("file grew to %d", st.Size())
	}
	b := make([]byte, 8192)
	if n, err := m.ReadAt(b, 1<<20-100); n != 100 || err != io.EOF {
		t.Errorf("ReadAt across the end = %d, %v; want 100, EOF", n, err)
	}
	if _, err := sata.OpenDisk(p, nil); err == nil {
		t.Error("second OpenDisk of a locked file succeeded")
	}
	if _, err := sata.OpenDisk(filepath.Dir(p), nil); err == nil {
		t.Error("OpenDisk(folder) succeeded")
	}
	m.Close()
	if _, err := m.ReadAt(b, 0); err == nil {
		t.Error("ReadAt after Close succeeded")
	}
}

// Unaligned writes that share blocks must not undo each other.
func TestMemberConcurrentSharedBlocks(t *testing.T) {
	m, _ := tempMember(t, 1<<20, nil)
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := bytes.Repeat([]byte{byte(i + 1)}, 100)
			if _, err := m.WriteAt(b, int64(i*100)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got := make([]byte, 6400)
	m.ReadAt(got, 0)
	for i := 0; i < 64; i++ {
		if got[i*100] != byte(i+1) || got[i*100+99] != byte(i+1) {
			t.Fatalf("write %d lost", i)
		}
	}
	s := m.Stats()
	if s.Write.Count != 64 || s.Write.Bytes != 6400 || s.Read.Count != 1 || s.Write.Quantile(0.5) <= 0 || s.Write.Max < s.Write.Mean() {
		t.Errorf("Stats() = %+v", s.Write)
	}
}

// Unaligned requests longer than one bounce buffer go in pieces; the bytes
// around them stay as they were.
func TestMemberLongUnaligned(t *testing.T) {
	m, _ := tempMember(t, 8<<20, nil)
	fill := bytes.Repeat([]byte{0xee}, 8<<20)
	if _, err := m.WriteAt(fill, 0); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 5<<19+7)
	for i := range want {
		want[i] = byte(i * 7)
	}
	if _, err := m.WriteAt(want[1:], 4099); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 8<<20)
	if _, err := m.ReadAt(got[3:], 3); err != nil {
		t.Fatal(err)
	}
	copy(got[:3], fill)
	exp := bytes.Clone(fill)
	copy(exp[4099:], want[1:])
	if !bytes.Equal(got, exp) {
		for i := range got {
			if got[i] != exp[i] {
				t.Fatalf("byte %d = %#x, want %#x", i, got[i], exp[i])
			}
		}
	}
}
