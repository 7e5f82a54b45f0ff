// Package storetest holds volumes for testing the mail store without the
// RAID: one in memory, one on a plain file, and a power-cut simulator that
// drops unflushed writes and tears the write in flight.
package storetest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Mem is a volume in memory. Writes are durable at once; Flush only counts.
type Mem struct {
	mu        sync.RWMutex // guards b, flushes
	b         []byte
	stripe    int64
	flushes   int
	discarded int64
	closed    bool
}

// NewMem returns a zeroed volume of size bytes. stripe is what StripeSize
// reports (0 means 64 KiB).
func NewMem(size, stripe int64) *Mem {
	if stripe <= 0 {
		stripe = 64 << 10
	}
	return &Mem{b: make([]byte, size), stripe: stripe}
}

// NewMemFrom returns a volume holding a copy of img.
func NewMemFrom(img []byte, stripe int64) *Mem {
	m := NewMem(int64(len(img)), stripe)
	copy(m.b, img)
	return m
}

func checkRange(off int64, n int, size int64) error {
	if off < 0 || off+int64(n) > size {
		return fmt.Errorf("storetest: range %d+%d outside volume of %d bytes", off, n, size)
	}
	return nil
}

// ReadAt implements io.ReaderAt.
func (m *Mem) ReadAt(p []byte, off int64) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0, os.ErrClosed
	}
	if err := checkRange(off, len(p), int64(len(m.b))); err != nil {
		return 0, err
	}
	return copy(p, m.b[off:]), nil
}

// WriteAt implements io.WriterAt.
func (m *Mem) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, os.ErrClosed
	}
	if err := checkRange(off, len(p), int64(len(m.b))); err != nil {
		return 0, err
	}
	return copy(m.b[off:], p), nil
}

// Flush counts flushes.
func (m *Mem) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.flushes++
	return nil
}

// Flushes reports how many times Flush was called.
func (m *Mem) Flushes() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.flushes
}

// Size implements the volume's Size.
func (m *Mem) Size() int64 { return int64(len(m.b)) }

// StripeSize reports the stripe size given to NewMem.
func (m *Mem) StripeSize() int64 { return m.stripe }

// ChunkSize reports a quarter of the stripe (as if four data members).
func (m *Mem) ChunkSize() int64 { return m.stripe / 4 }

// Discard zeroes the range, so that a store that discards something it
// still needs reads zeros (and fails its checksums) in tests.
func (m *Mem) Discard(off, length int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := checkRange(off, int(length), int64(len(m.b))); err != nil {
		return err
	}
	clear(m.b[off : off+length])
	m.discarded += length
	return nil
}

// Discarded reports how many bytes Discard was given.
func (m *Mem) Discarded() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.discarded
}

// Close marks the volume closed; its bytes stay readable with Image.
func (m *Mem) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// Image returns a copy of the volume's bytes.
func (m *Mem) Image() []byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append([]byte(nil), m.b...)
}

// Corrupt flips the bits of mask in the byte at off (bit rot).
func (m *Mem) Corrupt(off int64, mask byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.b[off] ^= mask
}

// File is a volume on a plain file; Flush is fdatasync.
type File struct {
	f    *os.File
	size int64
}

// CreateFile creates (or truncates) path as a volume of size bytes. The
// space is allocated up front where the file system can (fallocate), as on
// a disk, so that flushes do not pay for block allocation.
func CreateFile(path string, size int64) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		err = f.Truncate(size)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &File{f: f, size: size}, nil
}

// OpenFile opens an existing file volume; readOnly opens it O_RDONLY.
func OpenFile(path string, readOnly bool) (*File, error) {
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &File{f: f, size: st.Size()}, nil
}

// ReadAt implements io.ReaderAt.
func (v *File) ReadAt(p []byte, off int64) (int, error) {
	n, err := v.f.ReadAt(p, off)
	if err == io.EOF && n == len(p) {
		err = nil
	}
	return n, err
}

// WriteAt implements io.WriterAt.
func (v *File) WriteAt(p []byte, off int64) (int, error) {
	if err := checkRange(off, len(p), v.size); err != nil {
		return 0, err
	}
	return v.f.WriteAt(p, off)
}

// Flush makes the writes durable with fdatasync.
func (v *File) Flush() error {
	for {
		err := unix.Fdatasync(int(v.f.Fd()))
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// Size implements the volume's Size.
func (v *File) Size() int64 { return v.size }

// Close closes the file.
func (v *File) Close() error { return v.f.Close() }
