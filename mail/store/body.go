package store

import (
	"errors"
	"fmt"
	"io"
)

// Body is an open message body: an io.ReaderAt and io.ReadSeeker over the
// message's bytes, streamed from the volume and verified by checksum. A
// small body is read whole at Open; a large one a chunk at a time. While a
// body is open the segments it reads from are not reused.
type Body struct {
	s        *Store
	size     int64
	inline   []byte
	chunks   []extent
	segs     []uint32 // pinned segments
	pos      int64
	cacheIdx int
	cache    []byte
	closed   bool
	who      Problem // what a read failure affects
}

var _ interface {
	io.ReaderAt
	io.ReadSeeker
	io.Closer
} = (*Body)(nil)

// Open opens one message's body for reading. Close it when done.
func (a *Account) Open(mailbox string, uid uint32) (*Body, error) {
	s := a.s
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.mu.Lock()
	mb, err := a.mailbox(mailbox)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	i, ok := mb.find(uid)
	if !ok {
		s.mu.Unlock()
		return nil, ErrNoSuchMessage
	}
	bl := mb.msgs[i].blob
	b := &Body{s: s, size: int64(bl.size), chunks: append([]extent(nil), bl.chunks...), cacheIdx: -1,
		who: Problem{Account: mb.acct.name, Mailbox: mb.name, UID: uid}}
	off, reclen := bl.off, bl.reclen
	if off < 0 {
		s.mu.Unlock()
		return nil, fmt.Errorf("store: message %s/%d: body lost to damage: %w", mb.name, uid, ErrCorrupt)
	}
	if len(b.chunks) == 0 {
		b.pin(off)
	}
	for _, x := range b.chunks {
		b.pin(x.off)
	}
	s.mu.Unlock()
	if len(b.chunks) == 0 {
		_, p, err := b.read(off, int(reclen), recAppend, recBlobMove)
		b.unpin()
		if err != nil {
			return nil, err
		}
		_, data, ok := splitBlob(p)
		if !ok || int64(len(data)) != b.size {
			return nil, b.damage(off, "message record malformed")
		}
		b.inline = data
	}
	return b, nil
}

// pin keeps the segment of off from reuse; s.mu held.
func (b *Body) pin(off int64) {
	seg := uint32((off - b.s.dataStart) / b.s.segSize)
	b.s.pins[seg]++
	b.segs = append(b.segs, seg)
}

func (b *Body) damage(off int64, detail string) error {
	p := b.who
	p.Offset, p.Detail = off, detail
	b.s.problem(p)
	return fmt.Errorf("store: message %s/%d at %d: %s: %w", p.Mailbox, p.UID, off, detail, ErrCorrupt)
}

// read reads and verifies one record of the body.
func (b *Body) read(off int64, n int, types ...uint8) (recHeader, []byte, error) {
	h, p, err := b.s.readRecord(off, n)
	if err != nil {
		return h, nil, b.damage(off, err.Error())
	}
	for _, t := range types {
		if h.typ == t {
			return h, p, nil
		}
	}
	return h, nil, b.damage(off, fmt.Sprintf("record type %d where the body should be", h.typ))
}

// ReadAt implements io.ReaderAt.
func (b *Body) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("store: negative offset")
	}
	if b.inline != nil || len(b.chunks) == 0 {
		if off >= b.size {
			return 0, io.EOF
		}
		n := copy(p, b.inline[off:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	if b.closed {
		return 0, ErrClosed
	}
	n := 0
	for n < len(p) {
		if off >= b.size {
			return n, io.EOF
		}
		i := int(off / blobChunk)
		if i >= len(b.chunks) {
			return n, b.damage(-1, "chunk list shorter than the body")
		}
		if i != b.cacheIdx {
			_, data, err := b.read(b.chunks[i].off, int(b.chunks[i].n), recBlobChunk)
			if err != nil {
				return n, err
			}
			b.cache, b.cacheIdx = data, i
		}
		co := int(off - int64(i)*blobChunk)
		if co >= len(b.cache) {
			return n, b.damage(b.chunks[i].off, "chunk shorter than expected")
		}
		k := copy(p[n:], b.cache[co:])
		n += k
		off += int64(k)
	}
	return n, nil
}

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) {
	if b.pos >= b.size {
		return 0, io.EOF
	}
	if int64(len(p)) > b.size-b.pos {
		p = p[:b.size-b.pos]
	}
	n, err := b.ReadAt(p, b.pos)
	b.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (b *Body) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += b.pos
	case io.SeekEnd:
		off += b.size
	default:
		return 0, errors.New("store: bad whence")
	}
	if off < 0 {
		return 0, errors.New("store: negative position")
	}
	b.pos = off
	return off, nil
}

// Size is the message size in bytes.
func (b *Body) Size() int64 { return b.size }

// Close releases the body.
func (b *Body) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	b.unpin()
	return nil
}

func (b *Body) unpin() {
	if len(b.segs) == 0 {
		return
	}
	b.s.mu.Lock()
	for _, seg := range b.segs {
		b.s.pins[seg]--
	}
	b.s.mu.Unlock()
	b.segs = nil
}
