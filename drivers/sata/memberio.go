package sata

import (
	"errors"
	"io"
	"os"
	"time"
	"unsafe"
)

func (m *Member) aligned(off int64, p []byte) bool {
	a := int64(m.align)
	return off%a == 0 && int64(len(p))%a == 0 && (len(p) == 0 || uintptr(unsafe.Pointer(&p[0]))%uintptr(m.align) == 0)
}

// alignedBuf returns an n-byte buffer aligned to m.align, from a pool
// when n fits a pooled buffer (maxBounce); putBuf returns it.
func (m *Member) alignedBuf(n int) []byte {
	if n <= maxBounce {
		if b, ok := m.bounce.Get().(*[]byte); ok {
			return (*b)[:n]
		}
		b := m.newAligned(maxBounce)
		return b[:n]
	}
	return m.newAligned(n)
}

func (m *Member) newAligned(n int) []byte {
	b := make([]byte, n+m.align)
	skip := (m.align - int(uintptr(unsafe.Pointer(&b[0]))%uintptr(m.align))) % m.align
	return b[skip : skip+n : skip+n]
}

func (m *Member) putBuf(b []byte) {
	if cap(b) == maxBounce {
		b = b[:maxBounce]
		m.bounce.Put(&b)
	}
}

// ReadAt reads len(p) bytes at off. At the end of the member it returns
// the bytes there are and io.EOF.
func (m *Member) ReadAt(p []byte, off int64) (int, error) {
	if m.closed.Load() {
		return 0, m.fail("read", off, len(p), os.ErrClosed)
	}
	if off < 0 {
		return 0, &Error{Op: "read", Path: m.path, Off: off, Len: len(p), Kind: KindRange, Err: errors.New("negative offset")}
	}
	want := p
	var eof error
	if off >= m.size {
		return 0, io.EOF
	}
	if off+int64(len(p)) > m.size {
		want, eof = p[:m.size-off], io.EOF
	}
	start := time.Now()
	n, err := m.readAt(want, off)
	m.read.add(time.Since(start), n, err)
	if err != nil {
		return n, m.fail("read", off, len(p), err)
	}
	return n, eof
}

func (m *Member) readAt(p []byte, off int64) (int, error) {
	if !m.direct || m.aligned(off, p) {
		return m.preadFull(p, off)
	}
	a := int64(m.align)
	done := 0
	for done < len(p) {
		o := off + int64(done)
		lo := o - o%a
		hi := min(lo+maxBounce, roundUp(off+int64(len(p)), a))
		buf := m.alignedBuf(int(hi - lo))
		n, err := m.preadFull(buf, lo)
		if n > int(o-lo) {
			done += copy(p[done:], buf[o-lo:n])
		}
		m.putBuf(buf)
		if err != nil {
			return done, err
		}
		if n < len(buf) {
			return done, io.ErrUnexpectedEOF
		}
	}
	return done, nil
}

// preadFull reads until p is full, the end of the file or an error.
func (m *Member) preadFull(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := m.sys.pread(m.fd, p[done:], off+int64(done))
		if n > 0 {
			done += n
		}
		if err != nil {
			return done, err
		}
		if n == 0 {
			if off+int64(done) < m.size {
				return done, io.ErrUnexpectedEOF
			}
			break
		}
	}
	return done, nil
}

func roundUp(x, a int64) int64 { return (x + a - 1) / a * a }

// WriteAt writes len(p) bytes at off; a write past the end of the member
// fails with KindRange and writes nothing.
func (m *Member) WriteAt(p []byte, off int64) (int, error) {
	if m.closed.Load() {
		return 0, m.fail("write", off, len(p), os.ErrClosed)
	}
	if off < 0 || off+int64(len(p)) > m.size {
		return 0, &Error{Op: "write", Path: m.path, Off: off, Len: len(p), Kind: KindRange, Err: ErrRange}
	}
	start := time.Now()
	n, err := m.writeAt(p, off)
	m.write.add(time.Since(start), n, err)
	if err != nil {
		return n, m.fail("write", off, len(p), err)
	}
	return n, nil
}

func (m *Member) writeAt(p []byte, off int64) (int, error) {
	if !m.direct || m.aligned(off, p) {
		return m.pwriteFull(p, off)
	}
	a := int64(m.align)
	if off%a == 0 && int64(len(p))%a == 0 {
		// Aligned on the disk, not in memory: copy, no read needed.
		done := 0
		for done < len(p) {
			n := min(len(p)-done, maxBounce)
			buf := m.alignedBuf(n)
			copy(buf, p[done:done+n])
			w, err := m.pwriteFull(buf, off+int64(done))
			m.putBuf(buf)
			done += w
			if err != nil {
				return done, err
			}
		}
		return done, nil
	}
	// Partial blocks: read, patch, write. Serialised, so that two writes
	// sharing a block do not undo each other.
	m.rmw.Lock()
	defer m.rmw.Unlock()
	done := 0
	for done < len(p) {
		o := off + int64(done)
		lo := o - o%a
		hi := min(lo+maxBounce, roundUp(off+int64(len(p)), a))
		buf := m.alignedBuf(int(hi - lo))
		n, err := m.patch(buf, lo, o, p[done:])
		m.putBuf(buf)
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

func (m *Member) pwriteFull(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := m.sys.pwrite(m.fd, p[done:], off+int64(done))
		if n > 0 {
			done += n
		}
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, io.ErrShortWrite
		}
	}
	return done, nil
}

// patch writes src into the aligned piece buf at lo (src starting at o),
// reading first the blocks at the piece's ends that src covers only in
// part.
func (m *Member) patch(buf []byte, lo, o int64, src []byte) (int, error) {
	a := int64(m.align)
	hi := lo + int64(len(buf))
	end := min(o+int64(len(src)), hi)
	if o != lo {
		if _, err := m.preadFull(buf[:a], lo); err != nil {
			return 0, err
		}
	}
	if end != hi && (hi-a >= lo+a || o == lo) {
		if _, err := m.preadFull(buf[len(buf)-int(a):], hi-a); err != nil {
			return 0, err
		}
	}
	n := copy(buf[o-lo:], src)
	if _, err := m.pwriteFull(buf, lo); err != nil {
		return 0, err
	}
	return n, nil
}
