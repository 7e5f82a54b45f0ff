package raid

// A faster degraded read, for io.go's readStripe to call when a chunk
// cannot be read directly (RAID-B's proposal; see BenchmarkDegradedRead).
//
// The data chunks that can be read go straight into the caller's buffer, a
// missing one is reconstructed straight into it too, and only as many
// parity chunks are read as data chunks are missing, into pooled scratch.
// Nothing is allocated per call in the common case, and the bytes moved are
// those of a healthy read plus one parity chunk per missing data chunk.

import (
	"errors"
	"sync"
)

// errNeedFullRead says that the fast path cannot serve a read (a member
// failed to read, or too few chunks are left): readShardsLocked must, with
// its read-error repair.
var errNeedFullRead = errors.New("raid: degraded read needs the full path")

// scratchPool holds chunk-sized buffers, keyed by size.
var scratchPool sync.Map // int64 -> *sync.Pool

func getScratch(n int64) *[]byte {
	p, _ := scratchPool.LoadOrStore(n, &sync.Pool{New: func() any { b := make([]byte, n); return &b }})
	return p.(*sync.Pool).Get().(*[]byte)
}

func putScratch(n int64, b *[]byte) {
	if p, ok := scratchPool.Load(n); ok {
		p.(*sync.Pool).Put(b)
	}
}

// readStripeDegraded fills b with stripe s's data bytes from in, the caller
// holding the stripe's lock (shared is enough). It returns errNeedFullRead
// when it cannot.
func (a *Array) readStripeDegraded(s, in int64, b []byte) error {
	g := a.geo
	lo, hi := g.chunk, int64(0)
	for pos := int64(0); pos < int64(len(b)); {
		c := (in + pos) % g.chunk
		l := min(int64(len(b))-pos, g.chunk-c)
		lo, hi = min(lo, c), max(hi, c+l)
		pos += l
	}
	n := hi - lo
	shards := make([][]byte, g.disks)
	var scratch []*[]byte
	defer func() {
		for _, sb := range scratch {
			putScratch(g.chunk, sb)
		}
	}()
	buf := func() []byte {
		sb := getScratch(g.chunk)
		scratch = append(scratch, sb)
		return (*sb)[:n]
	}
	// inB returns where chunk k's bytes [lo, hi) sit in b, or -1.
	inB := func(k int) int64 {
		pos := int64(k)*g.chunk + lo - in
		if pos < 0 || pos+n > int64(len(b)) {
			return -1
		}
		return pos
	}
	missing := 0
	var members []Member
	for i := range g.disks {
		m, ok := a.usable(g.roleOf(s, i), s)
		members = append(members, m)
		if i < g.data && !ok {
			missing++
		}
	}
	for i := range g.disks {
		m := members[i]
		var dst []byte
		switch {
		case i >= g.data && (missing == 0 || m == nil):
			continue // parity not needed, or not there
		case i >= g.data:
			missing--
			dst = buf()
		case inB(i) >= 0:
			dst = b[inB(i) : inB(i)+n]
		default:
			dst = buf()
		}
		if m == nil {
			shards[i] = dst[:0] // missing data chunk: reconstructed into dst
			continue
		}
		if _, err := m.ReadAt(dst, g.memberOffset(s, lo)); err != nil {
			return errNeedFullRead
		}
		a.overlay.apply(s, g.roleOf(s, i), lo, dst)
		shards[i] = dst
	}
	if missing > 0 {
		return errNeedFullRead
	}
	if err := a.codec.reconstructData(shards); err != nil {
		return errNeedFullRead
	}
	for pos := int64(0); pos < int64(len(b)); {
		k := int((in + pos) / g.chunk)
		c := (in + pos) % g.chunk
		l := min(int64(len(b))-pos, g.chunk-c)
		if p := inB(k); p < 0 || p+c-lo != pos {
			copy(b[pos:pos+l], shards[k][c-lo:c-lo+l])
		}
		pos += l
	}
	return nil
}
