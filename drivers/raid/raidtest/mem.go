package raidtest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Mem is a member held in memory. Writes are durable at once; Flush counts
// calls and does nothing else. It is safe for concurrent use.
type Mem struct {
	mu      sync.RWMutex // guards buf, closed, flushes
	buf     []byte
	closed  bool
	flushes int
}

var _ Member = (*Mem)(nil)

// NewMem returns a zeroed in-memory member of size bytes.
func NewMem(size int64) *Mem { return &Mem{buf: make([]byte, size)} }

// MemOf returns an in-memory member holding a copy of image.
func MemOf(image []byte) *Mem { return &Mem{buf: append([]byte(nil), image...)} }

// ReadAt implements io.ReaderAt.
func (m *Mem) ReadAt(p []byte, off int64) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0, ErrClosed
	}
	n, err := checkRange("read", off, len(p), int64(len(m.buf)))
	copy(p[:n], m.buf[off:])
	return n, err
}

// WriteAt implements io.WriterAt.
func (m *Mem) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	n, err := checkRange("write", off, len(p), int64(len(m.buf)))
	if err != nil {
		return 0, err
	}
	copy(m.buf[off:], p[:n])
	return n, nil
}

// Size returns the member's size in bytes.
func (m *Mem) Size() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return int64(len(m.buf))
}

// Flush counts the call; an in-memory write is already "durable".
func (m *Mem) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.flushes++
	return nil
}

// Close marks the member closed; later calls fail with ErrClosed. The bytes
// stay readable through Bytes.
func (m *Mem) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// Reopen returns a new open member sharing nothing with m, holding m's bytes.
func (m *Mem) Reopen() *Mem { return MemOf(m.Bytes()) }

// Flushes returns how many times Flush was called.
func (m *Mem) Flushes() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.flushes
}

// Bytes returns a copy of the member's contents.
func (m *Mem) Bytes() []byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append([]byte(nil), m.buf...)
}

// File is a member on a plain file. Flush is fdatasync (os.File.Sync).
type File struct {
	f    *os.File
	size int64
}

var _ Member = (*File)(nil)

// CreateFile creates (or truncates) path as a sparse file of size bytes and
// opens it as a member.
func CreateFile(path string, size int64) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("raidtest: %w", err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, fmt.Errorf("raidtest: %w", err)
	}
	return &File{f: f, size: size}, nil
}

// OpenFile opens an existing file as a member of its current size.
func OpenFile(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("raidtest: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("raidtest: %w", err)
	}
	return &File{f: f, size: st.Size()}, nil
}

// TempFiles creates n sparse files of size bytes under tb.TempDir(), named
// m0.img, m1.img, ..., and returns their paths. It fails the test on error.
func TempFiles(tb testing.TB, n int, size int64) []string {
	tb.Helper()
	dir := tb.TempDir()
	paths := make([]string, n)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("m%d.img", i))
		f, err := CreateFile(paths[i], size)
		if err != nil {
			tb.Fatal(err)
		}
		f.Close()
	}
	return paths
}

// ReadAt implements io.ReaderAt.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	n, err := checkRange("read", off, len(p), f.size)
	if n > 0 {
		got, rerr := f.f.ReadAt(p[:n], off)
		if rerr != nil {
			return got, rerr
		}
	}
	return n, err
}

// WriteAt implements io.WriterAt.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if _, err := checkRange("write", off, len(p), f.size); err != nil {
		return 0, err
	}
	return f.f.WriteAt(p, off)
}

// Size returns the file's size when it was opened.
func (f *File) Size() int64 { return f.size }

// Flush makes the file's written bytes durable.
func (f *File) Flush() error { return f.f.Sync() }

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Name returns the file's path.
func (f *File) Name() string { return f.f.Name() }
