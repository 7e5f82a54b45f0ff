package raid

// Parity: md's P and Q over GF(2^8).
//
// A stripe holds k data chunks D_0..D_{k-1} (indexed by their position in
// the stripe, not by the member that holds them) and one (RAID-5) or two
// (RAID-6) parity chunks:
//
//	P = D_0 ^ D_1 ^ ... ^ D_{k-1}
//	Q = g^0·D_0 ^ g^1·D_1 ^ ... ^ g^{k-1}·D_{k-1}
//
// with g = 2 in GF(2^8) over the polynomial x^8+x^4+x^3+x^2+1 (0x11d), byte
// by byte. These are the rows {1,1,...,1} and {1,2,4,...,2^(k-1)} of a
// Reed-Solomon coding matrix, which klauspost/reedsolomon takes as a custom
// matrix (its default matrices give other parity). The codec runs on one
// goroutine: callers parallelise across stripes, where memory bandwidth, not
// arithmetic, is the limit.

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/klauspost/reedsolomon"
)

// gfPoly is md's field polynomial, x^8+x^4+x^3+x^2+1.
const gfPoly = 0x11d

// gfExp[i] = 2^i for i in 0..509 (doubled so that sums of logs need no
// modulo); gfLog[x] = i with 2^i = x, for x != 0.
var gfExp, gfLog = gfTables()

func gfTables() (exp [510]byte, log [256]byte) {
	x := 1
	for i := range 255 {
		exp[i] = byte(x)
		exp[i+255] = byte(x)
		log[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= gfPoly
		}
	}
	return exp, log
}

// errUnlocatable says that a stripe's parity disagrees with its data in a way
// that no single bad chunk explains (or, on RAID-5, that parity alone cannot
// tell which chunk is bad).
var errUnlocatable = errors.New("raid: parity mismatch not explained by a single bad chunk")

// codec computes md's parity for stripes of a fixed shape. It is safe for
// concurrent use: the encoder keeps no per-call state.
type codec struct {
	k, m int // data chunks, parity chunks (1 or 2)
	enc  reedsolomon.Encoder
}

// newCodec returns the codec for stripes of dataChunks data chunks and
// parityChunks (1 for RAID-5, 2 for RAID-6) parity chunks.
func newCodec(dataChunks, parityChunks int) (*codec, error) {
	if parityChunks != 1 && parityChunks != 2 {
		return nil, fmt.Errorf("raid: %d parity chunks per stripe, want 1 or 2", parityChunks)
	}
	if dataChunks < 1 || dataChunks > 253 {
		return nil, fmt.Errorf("raid: %d data chunks per stripe, want 1 to 253", dataChunks)
	}
	rows := make([][]byte, parityChunks)
	rows[0] = bytes.Repeat([]byte{1}, dataChunks)
	if parityChunks == 2 {
		rows[1] = make([]byte, dataChunks)
		for i := range rows[1] {
			rows[1][i] = gfExp[i]
		}
	}
	enc, err := reedsolomon.New(dataChunks, parityChunks,
		reedsolomon.WithCustomMatrix(rows),
		reedsolomon.WithMaxGoroutines(1),
		reedsolomon.WithInversionCache(true))
	if err != nil {
		return nil, fmt.Errorf("raid: parity codec: %w", err)
	}
	return &codec{k: dataChunks, m: parityChunks, enc: enc}, nil
}

// shape checks that shards has k+m entries and that the present ones (all,
// when full) share one length.
func (c *codec) shape(shards [][]byte, full bool) error {
	if len(shards) != c.k+c.m {
		return fmt.Errorf("raid: parity: %d chunks, want %d", len(shards), c.k+c.m)
	}
	size := -1
	for i, s := range shards {
		if len(s) == 0 {
			if full {
				return fmt.Errorf("raid: parity: chunk %d is empty", i)
			}
			continue
		}
		if size >= 0 && len(s) != size {
			return fmt.Errorf("raid: parity: chunk %d holds %d bytes, chunk 0 %d", i, len(s), size)
		}
		size = len(s)
	}
	return nil
}

// encode fills P (shards[k]) and, on RAID-6, Q (shards[k+1]) from the data
// chunks shards[0..k-1]. Every chunk must have the same, non-zero length.
func (c *codec) encode(shards [][]byte) error {
	if err := c.shape(shards, true); err != nil {
		return err
	}
	if err := c.enc.Encode(shards); err != nil {
		return fmt.Errorf("raid: parity: %w", err)
	}
	return nil
}

// reconstruct fills the missing chunks (len 0) of shards, data and parity.
// A missing chunk whose capacity suffices is filled in place (pass buf[:0]
// to avoid an allocation); otherwise a new slice is stored in shards. At most
// m chunks may be missing.
func (c *codec) reconstruct(shards [][]byte) error {
	if err := c.shape(shards, false); err != nil {
		return err
	}
	missing := 0
	for _, s := range shards {
		if len(s) == 0 {
			missing++
		}
	}
	if missing > c.m {
		return fmt.Errorf("raid: parity: %d chunks missing from a stripe that tolerates %d", missing, c.m)
	}
	if missing == 0 {
		return nil
	}
	if err := c.enc.Reconstruct(shards); err != nil {
		return fmt.Errorf("raid: parity: %w", err)
	}
	return nil
}

// update folds the change of data chunk idx into parity (P, and Q on
// RAID-6) for a read-modify-write: delta is old XOR new contents of the
// chunk's bytes, parity the matching bytes of P (and Q), updated in place.
func (c *codec) update(idx int, delta []byte, parity [][]byte) error {
	if len(parity) != c.m {
		return fmt.Errorf("raid: parity: %d parity chunks, want %d", len(parity), c.m)
	}
	if idx < 0 || idx >= c.k {
		return fmt.Errorf("raid: parity: data chunk %d out of range 0..%d", idx, c.k-1)
	}
	for i, p := range parity {
		if len(p) != len(delta) {
			return fmt.Errorf("raid: parity: parity chunk %d holds %d bytes, delta %d", i, len(p), len(delta))
		}
	}
	if err := c.enc.EncodeIdx(delta, idx, parity); err != nil {
		return fmt.Errorf("raid: parity: %w", err)
	}
	return nil
}

// verify reports whether the parity chunks of a full stripe match its data.
// scratch holds m buffers at least as long as a chunk; they are overwritten.
// Encoding into scratch and comparing is several times faster than the
// library's Verify.
func (c *codec) verify(shards, scratch [][]byte) (bool, error) {
	if err := c.shape(shards, true); err != nil {
		return false, err
	}
	if err := c.parityInto(shards, scratch); err != nil {
		return false, err
	}
	for j := range c.m {
		if !bytes.Equal(shards[c.k+j], scratch[j][:len(shards[c.k+j])]) {
			return false, nil
		}
	}
	return true, nil
}

// parityInto computes the parity of shards' data chunks into scratch.
func (c *codec) parityInto(shards, scratch [][]byte) error {
	if len(scratch) < c.m {
		return fmt.Errorf("raid: parity: %d scratch buffers, want %d", len(scratch), c.m)
	}
	n := len(shards[0])
	tmp := make([][]byte, c.k+c.m)
	copy(tmp, shards[:c.k])
	for j := range c.m {
		if len(scratch[j]) < n {
			return fmt.Errorf("raid: parity: scratch buffer of %d bytes, want %d", len(scratch[j]), n)
		}
		tmp[c.k+j] = scratch[j][:n]
	}
	if err := c.enc.Encode(tmp); err != nil {
		return fmt.Errorf("raid: parity: %w", err)
	}
	return nil
}

// locate finds the one chunk of a full RAID-6 stripe that disagrees with the
// rest, as md's raid6check does: with Δp = P ^ P' and Δq = Q ^ Q' (P', Q'
// computed from the data), a byte where only Δp is non-zero blames P, only Δq
// blames Q, and both blame data chunk z where g^z = Δq/Δp. It returns -1 when
// the stripe is consistent, the index of the bad chunk (0..k-1 data, k P,
// k+1 Q) when every differing byte blames the same chunk, and errUnlocatable
// otherwise (always on RAID-5 when parity disagrees, since one parity chunk
// cannot point at a culprit). scratch is as for verify.
func (c *codec) locate(shards, scratch [][]byte) (int, error) {
	if err := c.shape(shards, true); err != nil {
		return 0, err
	}
	if err := c.parityInto(shards, scratch); err != nil {
		return 0, err
	}
	p, pc := shards[c.k], scratch[0][:len(shards[c.k])]
	if c.m == 1 {
		if bytes.Equal(p, pc) {
			return -1, nil
		}
		return 0, errUnlocatable
	}
	q, qc := shards[c.k+1], scratch[1][:len(shards[c.k+1])]
	if bytes.Equal(p, pc) && bytes.Equal(q, qc) {
		return -1, nil
	}
	bad := -1
	for i := range p {
		dp, dq := p[i]^pc[i], q[i]^qc[i]
		var z int
		switch {
		case dp == 0 && dq == 0:
			continue
		case dq == 0:
			z = c.k
		case dp == 0:
			z = c.k + 1
		default:
			z = (int(gfLog[dq]) - int(gfLog[dp]) + 255) % 255
			if z >= c.k {
				return 0, errUnlocatable
			}
		}
		if bad >= 0 && bad != z {
			return 0, errUnlocatable
		}
		bad = z
	}
	return bad, nil
}

// reconstructData fills only the missing data chunks (len 0) of shards;
// missing parity chunks stay empty. Capacity is reused as in reconstruct.
func (c *codec) reconstructData(shards [][]byte) error {
	if err := c.shape(shards, false); err != nil {
		return err
	}
	if err := c.enc.ReconstructData(shards); err != nil {
		return fmt.Errorf("raid: parity: %w", err)
	}
	return nil
}

// reconstructSome fills the chunks of shards marked in need (missing ones,
// len 0) from the others, and no other missing chunk; a chunk neither
// present nor needed may be nil. Capacity is reused as in reconstruct.
func (c *codec) reconstructSome(shards [][]byte, need []bool) error {
	if err := c.shape(shards, false); err != nil {
		return err
	}
	if !slices.Contains(need, true) {
		return nil
	}
	if err := c.enc.ReconstructSome(shards, need); err != nil {
		return fmt.Errorf("raid: parity: %w", err)
	}
	return nil
}
