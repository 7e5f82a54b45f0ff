package store

import (
	"hash/crc32"
	"sync"
)

// Message bodies are read into blob-chunk-sized buffers taken from a pool:
// a body up to maxInline bytes ends as the parts of its append record, a
// larger one as one chunk record per buffer. Either way the writer copies
// each part once, into the batch it writes, and gives the buffer back to
// the pool once the batch is on the volume. The CRC32C of each part is
// computed by the reader, right after reading, and the writer combines the
// parts' CRCs instead of reading the bytes again.
//
// Ownership: a part belongs to readBody until it is in a queued unit's
// records; from then on to the writer, which releases it after a
// successful write (a unit that fails or is refused leaves its buffers to
// the garbage collector). Nothing else may keep a part's bytes.

// part is a piece of a message body in a pooled buffer.
type part struct {
	b   []byte  // the bytes, a prefix of *buf
	crc uint32  // CRC32C of b
	buf *[]byte // the pooled buffer, blobChunk bytes
}

// chunkPool holds blobChunk-byte buffers. A package-level sync.Pool, as in
// the standard library: it holds no state anyone can observe, only spare
// memory, and lets every store share it.
var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, blobChunk)
	return &b
}}

// poison, when set (by the package's tests only), is copied over every
// buffer released, so that a buffer reused while something still reads it
// shows up as wrong bytes.
var poison []byte

// getChunk takes a blobChunk-byte buffer from the pool.
func getChunk() *[]byte {
	return chunkPool.Get().(*[]byte)
}

// releaseParts gives the parts' buffers back to the pool. The caller must
// be the parts' owner and nothing may read them afterwards.
func releaseParts(ps []part) {
	for i := range ps {
		putChunk(ps[i].buf)
		ps[i] = part{}
	}
}

func putChunk(b *[]byte) {
	if b == nil || len(*b) != blobChunk {
		return
	}
	copy(*b, poison)
	chunkPool.Put(b)
}

// partsLen is the number of bytes in ps.
func partsLen(ps []part) int {
	n := 0
	for _, p := range ps {
		n += len(p.b)
	}
	return n
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
