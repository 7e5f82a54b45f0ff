package store

import (
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

// Message bodies are read into pooled buffers of blobChunk bytes (a
// body's first bytes go into a small buffer, and move to a chunk buffer
// only if more follow). A body up to maxInline bytes ends as the parts of
// its append record; a larger one as one chunk record per buffer. Either
// way the writer copies each part once, into the batch it writes, and
// gives the buffer back to its pool once the batch is on the volume. The
// CRC32C of each part is computed by the reader, right after reading, and
// the writer combines the parts' CRCs instead of reading the bytes again.
//
// Ownership: a part belongs to readBody (then store) until it is in a
// queued unit's records; from then on to the writer, which releases it
// after a successful write (a unit that fails or is refused leaves its
// buffers to the garbage collector). Nothing else may keep a part's bytes.
// The volume must not keep the batch buffer past WriteAt (io.WriterAt's
// rule): the writer reuses it for the next commit.

// part is a piece of a message body in a pooled buffer.
type part struct {
	b   []byte  // the bytes, a prefix of *buf
	crc uint32  // CRC32C of b
	buf *[]byte // the pooled buffer: smallBuf or blobChunk bytes
}

// smallBuf is the size of the buffer a body's first bytes are read into: a
// small message (most mail) never takes a chunk-sized buffer, which
// matters when many slow clients are sending at once.
const smallBuf = 16 << 10

// smallPool and chunkPool hold smallBuf- and blobChunk-byte buffers.
// Package-level sync.Pools, as in the standard library: they hold no state
// anyone can observe, only spare memory, and every store shares them.
var (
	smallPool = sync.Pool{New: func() any {
		b := make([]byte, smallBuf)
		return &b
	}}
	chunkPool = sync.Pool{New: func() any {
		b := make([]byte, blobChunk)
		return &b
	}}
)

// poison, when set (by the package's tests only), is copied over every
// buffer released, so that a buffer reused while something still reads it
// shows up as wrong bytes.
var poison []byte

// getBuf takes a buffer of size bytes (smallBuf or blobChunk) from its pool.
func getBuf(size int) *[]byte {
	if size == smallBuf {
		return smallPool.Get().(*[]byte)
	}
	return chunkPool.Get().(*[]byte)
}

// putBuf gives a buffer from getBuf back. Nothing may use it afterwards.
func putBuf(b *[]byte) {
	if b == nil {
		return
	}
	copy(*b, poison)
	switch len(*b) {
	case smallBuf:
		smallPool.Put(b)
	case blobChunk:
		chunkPool.Put(b)
	}
}

// releaseParts gives the parts' buffers back to their pools. The caller
// must be the parts' owner and nothing may read them afterwards.
func releaseParts(ps []part) {
	for i := range ps {
		putBuf(ps[i].buf)
		ps[i] = part{}
	}
}

// readPart reads the next part of a body from r: blobChunk bytes, fewer at
// the end of r (end is then set; a part of no bytes has no buffer). The
// first part starts in a small buffer and moves to a chunk buffer only if
// r has more.
func readPart(r io.Reader, first bool) (pt part, end bool, err error) {
	var buf *[]byte
	k := 0
	if first {
		small := getBuf(smallBuf)
		k, err = io.ReadFull(r, *small)
		buf = small
		if err == nil {
			buf = getBuf(blobChunk)
			copy(*buf, (*small)[:k])
			putBuf(small)
		}
	} else {
		buf = getBuf(blobChunk)
	}
	if err == nil {
		var more int
		more, err = io.ReadFull(r, (*buf)[k:])
		k += more
	}
	end = err == io.EOF || err == io.ErrUnexpectedEOF
	if err != nil && !end {
		putBuf(buf)
		return part{}, false, fmt.Errorf("store: reading message: %w", err)
	}
	if k == 0 {
		putBuf(buf)
		return part{}, true, nil
	}
	b := (*buf)[:k]
	return part{b: b, crc: crc(b), buf: buf}, end, nil
}

// partsLen is the number of bytes in ps.
func partsLen(ps []part) int {
	n := 0
	for _, p := range ps {
		n += len(p.b)
	}
	return n
}

// The batch buffer is the writer's (head.buf), reused from one commit to
// the next.

// runCRC is a running CRC32C over a buffer being filled: bytes up to pos
// are in crc.
type runCRC struct {
	crc uint32
	pos int
}

// upTo adds buf[pos:end].
func (c *runCRC) upTo(buf []byte, end int) {
	c.crc = crc32Update(c.crc, buf[c.pos:end])
	c.pos = end
}

// add adds the n bytes at pos, whose CRC32C is known.
func (c *runCRC) add(crcB uint32, n int) {
	c.crc = crc32Combine(c.crc, crcB, n)
	c.pos += n
}

// growBatch returns buf with room for need bytes, its content kept. It
// grows geometrically up to the size the writer keeps, so that a buffer in
// steady use is not reallocated.
func growBatch(buf []byte, need int) []byte {
	if cap(buf) >= need {
		return buf
	}
	c := need
	if need <= maxKeptBatchBuf {
		c = min(max(need, 2*cap(buf)), maxKeptBatchBuf)
	}
	nb := make([]byte, len(buf), c)
	copy(nb, buf)
	return nb
}

// keepBatch returns what the writer keeps of the batch buffer buf for the
// next commit: all of it, emptied, unless it is larger than a batch.
func keepBatch(buf []byte) []byte {
	if cap(buf) > maxKeptBatchBuf {
		return nil
	}
	return buf[:0]
}

// CRC32C combination: crc32Combine(crc(A), crc(B), len(B)) = crc(A||B).
// CRC arithmetic is polynomial arithmetic modulo the Castagnoli polynomial
// over GF(2), bits reflected (bit 31 is x^0): appending n bytes to A
// multiplies A's CRC by x^(8n), and B's CRC adds to that. The
// pre-conditioning and final inversion of the standard CRC cancel out.

// castagnoliReversed is the Castagnoli polynomial, bit-reversed.
const castagnoliReversed = crc32.Castagnoli

// gfMul returns a*b modulo the polynomial, both reflected.
func gfMul(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0 && a != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
			a &^= m
		}
		if b&1 != 0 {
			b = b>>1 ^ castagnoliReversed
		} else {
			b >>= 1
		}
	}
	return p
}

// x2k[k] is x^(2^k) modulo the polynomial, reflected.
var x2k = func() (t [67]uint32) {
	t[0] = 1 << 30 // x^1
	for k := 1; k < len(t); k++ {
		t[k] = gfMul(t[k-1], t[k-1])
	}
	return t
}()

// xPow8n returns x^(8n) modulo the polynomial, reflected.
func xPow8n(n uint64) uint32 {
	p := uint32(1) << 31 // x^0
	for k := 3; n != 0; k++ {
		if n&1 != 0 {
			p = gfMul(x2k[k], p)
		}
		n >>= 1
	}
	return p
}

// crc32Combine returns the CRC32C of A||B from crcA = CRC32C(A),
// crcB = CRC32C(B) and n = len(B).
func crc32Combine(crcA, crcB uint32, n int) uint32 {
	if n == 0 || crcA == 0 {
		return crcA ^ crcB
	}
	return gfMul(xPow8n(uint64(n)), crcA) ^ crcB
}
